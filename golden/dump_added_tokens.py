#!/usr/bin/env python3
"""golden/dump_added_tokens.py -- a tokenizer with more entries than the text encoder's embedding table.

transformers' tokenizer.add_tokens([...]) gives new ids after the last one of the vocabulary without
resizing the text encoder's embeddings. Such a pipeline loads and runs in diffusers as long as the
prompt does not produce one of those ids; a prompt that does fails in the embedding lookup
(torch's IndexError "index out of range in self").

Writes
  golden/ckpt/tokenizer-added/         the tokenizer of golden/ckpt/sana-tiny with ADDED tokens
      (save_pretrained): len(tokenizer) = 420 + len(ADDED) > text_encoder vocab_size = 420.
      The pipeline folder is sana-tiny with this tokenizer: the script (and tests/test-pipeline.c, case
      "added") assemble it from symlinks, so no weights are duplicated.
  golden/pipeline/e2e_added.safetensors(.gz)  in the format of golden/dump_pipeline.py (its run_case):
      latents, image and the call as JSON (checkpoint "added-tokens"), plus prompt_embeds /
      prompt_attention_mask of encode_prompt with the default complex human instruction, for a prompt
      without the added tokens; and in the "config" JSON: "bad_prompt", a prompt that produces an added
      token, "bad_ids" (the ids past the table it produces), "bad_error" (what diffusers raises for it),
      "vocab_size" (the text encoder's), "tokenizer_len" and "added_tokens".

Run from anywhere:  python3 golden/dump_added_tokens.py
"""
import json
import os
import shutil
import sys
import tempfile

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import dump_pipeline  # noqa: E402

CKPT = os.path.join(HERE, "ckpt")
TINY = os.path.join(CKPT, "sana-tiny")
TOK_OUT = os.path.join(CKPT, "tokenizer-added")
ADDED = ["<sparkle>", "zorblax"]
CASE = ("added", "SanaPipeline", "added-tokens",
        dict(prompt="a red fox in the snow, watercolor", num_inference_steps=2, guidance_scale=4.5, height=64,
             width=96, use_resolution_binning=False, seed=17))
BAD_PROMPT = "a zorblax fox in the snow"


def make_tokenizer():
    from transformers import AutoTokenizer
    tok = AutoTokenizer.from_pretrained(os.path.join(TINY, "tokenizer"))
    n = tok.add_tokens(ADDED)
    assert n == len(ADDED), n
    if os.path.isdir(TOK_OUT):
        shutil.rmtree(TOK_OUT)
    tok.save_pretrained(TOK_OUT)
    return len(tok)


def assemble(dst):
    """sana-tiny with the tokenizer of TOK_OUT, as symlinks (what the test does)."""
    for name in os.listdir(TINY):
        src = TOK_OUT if name == "tokenizer" else os.path.join(TINY, name)
        os.symlink(src, os.path.join(dst, name))


def main():
    torch.set_num_threads(2)
    ntok = make_tokenizer()
    with open(os.path.join(TINY, "text_encoder", "config.json")) as f:
        vocab = json.load(f)["vocab_size"]
    assert ntok > vocab, (ntok, vocab)
    tmp = tempfile.mkdtemp()
    try:
        assemble(tmp)
        from diffusers import SanaPipeline
        pipe = SanaPipeline.from_pretrained(tmp, torch_dtype=torch.float32)
        ids = pipe.tokenizer(BAD_PROMPT).input_ids
        bad_ids = [i for i in ids if i >= vocab]
        assert bad_ids, ids
        assert all(i < vocab for i in pipe.tokenizer(CASE[3]["prompt"]).input_ids)
        try:
            pipe.encode_prompt(BAD_PROMPT, do_classifier_free_guidance=False)
            err = "none"
        except Exception as e:  # noqa: BLE001 -- what diffusers raises is the point
            err = f"{type(e).__name__}: {e}"
        assert err.startswith("IndexError"), err
        name, cls, ckpt, args = CASE
        dump_pipeline.run_case(name, cls, ckpt, args, ckpt_dir=tmp,
                               config_extra=dict(bad_prompt=BAD_PROMPT, bad_ids=bad_ids, bad_error=err,
                                                 tokenizer_len=ntok, vocab_size=vocab, added_tokens=ADDED),
                               script=__file__)
    finally:
        shutil.rmtree(tmp)
    print("tokenizer:", ntok, "entries; text encoder vocab_size:", vocab, "; bad ids", bad_ids, "->", err)
    return bad_ids, err


if __name__ == "__main__":
    main()
