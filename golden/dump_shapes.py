#!/usr/bin/env python3
"""golden/dump_shapes.py -- the end-to-end golden of the trained toy checkpoint golden/ckpt/sana-shapes
(train/train.py): diffusers' SanaPipeline on the demo prompt of `make demo`, with the defaults of
`sana generate` (512x512 = the model's own size, resolution binning, 20 DPM-Solver steps, CFG 4.5,
negative "", the complex human instruction), seed 42.

golden/pipeline/e2e_shapes.safetensors(.gz), in the format of golden/dump_pipeline.py (its run_case
makes it): latents [1, 8, 16, 16] (output_type="latent"), image [1, 512, 512, 3] uint8, and the call
as JSON in __metadata__ "config" (checkpoint "sana-shapes").
"""
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from dump_pipeline import run_case  # noqa: E402

DEMO_PROMPT = "a white triangle on a green background"
CASE = ("shapes", "SanaPipeline", "sana-shapes",
        dict(prompt=DEMO_PROMPT, num_inference_steps=20, guidance_scale=4.5, height=512, width=512,
             use_resolution_binning=True, seed=42))

if __name__ == "__main__":
    import torch
    torch.set_num_threads(2)
    run_case(*CASE)
