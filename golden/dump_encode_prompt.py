#!/usr/bin/env python3
"""golden/dump_encode_prompt.py -- goldens of SanaPipeline.encode_prompt (diffusers v0.35.2).

Writes
  golden/ckpt/text-encode/tokenizer/     a tiny Gemma-style tokenizer (golden/make_tokenizer.py)
  golden/ckpt/text-encode/text_encoder/  a tiny Gemma2Model, variant "bf16" (model.bf16.safetensors)
  golden/text/encode-prompt.safetensors  for each case: the token ids and mask of the whole
      sequence (before select_index), and prompt_embeds + prompt_attention_mask as
      SanaPipeline.encode_prompt returns them (float32), under sdpa (what SanaPipeline runs
      with transformers 4.57) and, for one case, eager attention
  golden/text/encode-lower.safetensors   Python's text.lower().strip() of a UTF-8 test text

encode_prompt is called on a SanaPipeline built from the tokenizer and text encoder only
(transformer, vae and scheduler are None: encode_prompt does not touch them).

Run from the repository root:  python3 golden/dump_encode_prompt.py
"""
import json
import math
import os
import shutil
import sys

import numpy as np
import torch
from common import metadata  # noqa: E402
from safetensors.torch import save_file
from transformers import AutoTokenizer, Gemma2Config, Gemma2Model
from diffusers import SanaPipeline

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "golden"))
from make_tokenizer import make_tokenizer  # noqa: E402

OUT = os.path.join(ROOT, "golden", "text")
CKPT = os.path.join(ROOT, "golden", "ckpt", "text-encode")

# The default complex_human_instruction of SanaPipeline.__call__, read from its signature.
import inspect  # noqa: E402
CHI = inspect.signature(SanaPipeline.__call__).parameters["complex_human_instruction"].default

CORPUS = "\n".join(CHI) + "\n" + "\n".join([
    "a cat sleeping on a warm windowsill",
    "a small fluffy white cat curled up in a round shape",
    "a bustling city street scene at dusk with glowing street lamps",
    "a red flower in a blue pot, photographed from above",
    "portrait of an astronaut riding a horse on the moon",
    "the quick brown fox jumps over the lazy dog",
    "colors, shapes, sizes, textures and spatial relationships",
])

CONFIG = dict(
    hidden_size=64,
    intermediate_size=96,
    num_hidden_layers=2,
    num_attention_heads=4,
    num_key_value_heads=2,
    head_dim=16,
    query_pre_attn_scalar=20,
    sliding_window=48,
    attn_logit_softcapping=4.0,
    rope_theta=10000.0,
    rms_norm_eps=1e-6,
    max_position_embeddings=1024,
    pad_token_id=0,
    bos_token_id=2,
    eos_token_id=1,
)

# (name, prompt, chi, max_sequence_length, also_eager)
CASES = [
    ("chi", "  A Cat sleeping on a WINDOWSILL\t\n", CHI, 300, True),
    ("neg", "", None, 300, False),
    ("nochi", "  A Cat sleeping on a WINDOWSILL\t\n", None, 300, False),
    # A short max_sequence_length: the prompt is truncated and select_index keeps tokens.
    ("chi_short", "Portrait of an astronaut riding a horse on the moon, photographed from above at dusk", CHI, 12,
     False),
    # Own instruction whose last token merges with the prompt's first: CHI + prompt tokenizes
    # differently from CHI alone at the boundary.
    ("chi_own", "cat in a pot", ["Describe the scene:", "A red flower"], 24, False),
    # An empty instruction list means no instruction (`if not complex_human_instruction`).
    ("chi_empty", "a red flower", [], 16, False),
]

LOWER_TEXT = ("\u00a0\u3000 Hello WORLD ÀÉÎÕÜ ÆØÅ ŒŸ İstanbul ΟΔΥΣΣΕΥΣ ΣΑΣ Σ. ΑΣ' ΑΣ\u0301 Σ ΑΣb "
              "ДОБРЫЙ ДЕНЬ Ǆ ǅ Ⅻ Ⓐ ＡＢＣ 𐐀𐐁 Ꭰ ẞ K Å \u2126 \t\n\u2029")


def meta(extra=None):
    return metadata("golden/dump_encode_prompt.py", CONFIG, extra)


def build_ckpt():
    if os.path.isdir(CKPT):
        shutil.rmtree(CKPT)
    tok_dir = os.path.join(CKPT, "tokenizer")
    make_tokenizer(tok_dir, CORPUS, vocab_size=400)
    tok = AutoTokenizer.from_pretrained(tok_dir)
    cfg = Gemma2Config(vocab_size=len(tok), **CONFIG)
    torch.manual_seed(0)
    model = Gemma2Model(cfg)
    g = torch.Generator().manual_seed(5)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if p.ndim == 2 and "embed" not in name:
                p.copy_(torch.randn(p.shape, generator=g) * (1.5 / math.sqrt(p.shape[1])))
            elif p.ndim == 2:
                p.copy_(torch.randn(p.shape, generator=g))
            else:
                p.copy_(torch.randn(p.shape, generator=g) * 0.3)
    model.to(torch.bfloat16).save_pretrained(os.path.join(CKPT, "text_encoder"), variant="bf16")
    return tok_dir, os.path.join(CKPT, "text_encoder")


def pipeline(tok_dir, te_dir, attn):
    tok = AutoTokenizer.from_pretrained(tok_dir)
    te = Gemma2Model.from_pretrained(te_dir, variant="bf16", torch_dtype=torch.float32, attn_implementation=attn)
    te.eval()
    return SanaPipeline(tokenizer=tok, text_encoder=te, vae=None, transformer=None, scheduler=None)


def main():
    tok_dir, te_dir = build_ckpt()
    t = {}
    cases_meta = []
    for attn in ("sdpa", "eager"):
        pipe = pipeline(tok_dir, te_dir, attn)
        for name, prompt, chi, M, also_eager in CASES:
            if attn == "eager" and not also_eager:
                continue
            tag = name if attn == "sdpa" else name + "_eager"
            with torch.no_grad():
                emb, mask, _, _ = pipe.encode_prompt(prompt, do_classifier_free_guidance=False,
                                                     device=torch.device("cpu"), max_sequence_length=M,
                                                     complex_human_instruction=chi)
                # The whole sequence before select_index, as _get_gemma_prompt_embeds tokenizes it.
                _, full_mask = pipe._get_gemma_prompt_embeds(prompt, torch.device("cpu"), torch.float32,
                                                             max_sequence_length=M,
                                                             complex_human_instruction=chi)
            text = pipe._text_preprocessing(prompt)[0]
            if chi:
                text = "\n".join(chi) + text
                L = len(pipe.tokenizer.encode("\n".join(chi))) + M - 2
            else:
                L = M
            ids = pipe.tokenizer(text, padding="max_length", max_length=L, truncation=True,
                                 add_special_tokens=True, return_tensors="pt").input_ids[0]
            t[f"{tag}_embeds"] = emb[0].float().contiguous()
            t[f"{tag}_mask"] = mask[0].to(torch.int32)
            if attn == "sdpa":
                t[f"{tag}_ids"] = ids.to(torch.int32)
                t[f"{tag}_full_mask"] = full_mask[0].to(torch.int32)
                cases_meta.append({"name": name, "prompt": prompt, "chi": chi, "max_sequence_length": M,
                                   "eager": also_eager})
            print(tag, "L", ids.shape[0], "tokens", int(full_mask.sum()), "selected", tuple(emb.shape),
                  "mask sum", int(mask.sum()))
    os.makedirs(OUT, exist_ok=True)
    save_file(t, os.path.join(OUT, "encode-prompt.safetensors"),
              metadata=meta({"cases": json.dumps(cases_meta), "checkpoint": "golden/ckpt/text-encode",
                             "variant": "bf16"}))

    src = LOWER_TEXT.encode("utf-8")
    dst = LOWER_TEXT.lower().strip().encode("utf-8")
    save_file({"text_in": torch.from_numpy(np.frombuffer(src, dtype=np.uint8).copy()),
               "text_lower": torch.from_numpy(np.frombuffer(dst, dtype=np.uint8).copy())},
              os.path.join(OUT, "encode-lower.safetensors"), metadata=meta())


if __name__ == "__main__":
    main()
