#!/usr/bin/env python3
"""bench/generate_ckpt.py DIR [CONFIG] -- a random-weight checkpoint shaped like a published one, for
bench/generate.sh and bench/compare.py. Not a test; never committed. CONFIG (default 600m-512):
  600m-512    Efficient-Large-Model/Sana_600M_512px_diffusers
  600m-1024   Efficient-Large-Model/Sana_600M_1024px_diffusers
  1600m-1024  Efficient-Large-Model/Sana_1600M_1024px_diffusers

Same folder layout and configs as the published checkpoint (save_pretrained): transformer (590 M
parameters, float32), vae (dc-ae-f32c32-sana-1.0 config of golden/dump_dcae.py, float32), text_encoder
(Gemma-2-2B shape, 2.6 B parameters, saved in bfloat16 as the published Sana text encoders are),
the Flow-DPM-Solver scheduler config, and a small trained tokenizer (golden/make_tokenizer.py, 700 pieces; the
encoder's vocabulary keeps Gemma's 256000 rows, so timing is that of the real model). About 9 GB.
"""
import os
import sys

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "golden"))

# Sana_600M_512px_diffusers/transformer/config.json
TRANSFORMER = dict(attention_bias=False, attention_head_dim=32, caption_channels=2304, cross_attention_dim=1152,
                   cross_attention_head_dim=72, dropout=0.0, in_channels=32, mlp_ratio=2.5,
                   norm_elementwise_affine=False, norm_eps=1e-6, num_attention_heads=36,
                   num_cross_attention_heads=16, num_layers=28, out_channels=32, patch_size=1, sample_size=16)
# the transformer config of each published checkpoint that differs from the 600M 512px one
TRANSFORMERS = {
    "600m-512": TRANSFORMER,
    "600m-1024": dict(TRANSFORMER, sample_size=32),
    "1600m-1024": dict(TRANSFORMER, num_attention_heads=70, cross_attention_dim=2240, num_cross_attention_heads=20,
                       cross_attention_head_dim=112, num_layers=20, sample_size=32),
}
# google/gemma-2-2b-it (the Sana text encoder)
GEMMA = dict(vocab_size=256000, hidden_size=2304, intermediate_size=9216, num_hidden_layers=26,
             num_attention_heads=8, num_key_value_heads=4, head_dim=256, query_pre_attn_scalar=256,
             sliding_window=4096, attn_logit_softcapping=50.0, final_logit_softcapping=30.0,
             max_position_embeddings=8192, pad_token_id=0, bos_token_id=2, eos_token_id=1)


def main(out, config="600m-512"):
    from diffusers import AutoencoderDC, DPMSolverMultistepScheduler, SanaPipeline, SanaTransformer2DModel
    from transformers import Gemma2Config, Gemma2Model, GemmaTokenizerFast
    from make_tokenizer import make_tokenizer
    from make_tiny_pipeline import CORPUS, DPM_CONFIG
    from dump_dcae import REAL_SANA_CONFIG
    torch.manual_seed(0)
    tok_dir = out + ".tokenizer"
    # 700 pieces: the complex human instruction becomes 250 tokens, about what a 256k-entry Gemma
    # vocabulary makes of its 166 English words (word level would be 206; the 420 pieces used until
    # 2026-12-08 gave 513, which inflated the encode of both sides and the padding-free share of ours)
    make_tokenizer(tok_dir, CORPUS, vocab_size=700)
    tok = GemmaTokenizerFast.from_pretrained(tok_dir)
    te = Gemma2Model._from_config(Gemma2Config(**GEMMA), torch_dtype=torch.bfloat16).eval()
    tr = SanaTransformer2DModel(**TRANSFORMERS[config]).eval()
    vae = AutoencoderDC(**{k: v for k, v in REAL_SANA_CONFIG.items() if not k.startswith("_")}).eval()
    pipe = SanaPipeline(tokenizer=tok, text_encoder=te, vae=vae, transformer=tr,
                        scheduler=DPMSolverMultistepScheduler(**DPM_CONFIG))
    pipe.save_pretrained(out)
    import shutil
    shutil.rmtree(tok_dir)
    print(f"wrote {out}")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "/tmp/sana-600m-random", sys.argv[2] if len(sys.argv) > 2 else "600m-512")
