#!/usr/bin/env python3
"""golden/dump_img2img.py -- end-to-end goldens of diffusers' SanaSprintImg2ImgPipeline (issue 16).

The pipeline is loaded from golden/ckpt/sana-tiny-sprint-img2img: sana-tiny-sprint's components (relative
symlinks, no weights duplicated) under a model_index.json whose _class_name is SanaSprintImg2ImgPipeline,
as a folder saved from that class would be. The input image is golden/image/rgb8-64x48.png (dump_image.py),
read with diffusers.utils.load_image, so every case resizes it (Lanczos) to the generated size.

One file per case, golden/pipeline/e2e_<case>.safetensors(.gz), as golden/dump_pipeline.py writes them:
  latents [B, C, h, w]   output_type="latent"
  image   [B, H, W, 3]   uint8 (not for latent_only cases)
and __metadata__ "config": the call (tests/test-img2img.c and tests/test-cli-img2img.sh repeat it).
"strength" is recorded only where the call passes it: the others run with diffusers' default (0.6).

    python3 dump_img2img.py            # all cases
    python3 dump_img2img.py i2i_sq     # some
"""
import os
import sys

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from common import pipeline_outputs, save  # noqa: E402

CKPT = "sana-tiny-sprint-img2img"
IMAGE = "image/rgb8-64x48.png"

# (name, call arguments). vae_tiling: pipe.enable_vae_tiling() before the call (tiled encode above 512 px,
# as `sana --tiled-decode`); latent_only: no image stored.
CASES = [
    # square, default strength 0.6 (2 steps: both run, from max_timesteps)
    ("i2i_sq", dict(prompt="a lighthouse on a cliff at sunset", num_inference_steps=2, guidance_scale=4.5,
                    height=96, width=96, use_resolution_binning=False, seed=41)),
    # non-square, strength 0.4: get_timesteps drops the first of 2 steps, the image is noised to t = 1.3;
    # 2 images per prompt (the image latents repeated, one noise draw)
    ("i2i_rect", dict(prompt="a red fox in the snow", strength=0.4, num_inference_steps=2, guidance_scale=4.5,
                      height=64, width=128, num_images_per_prompt=2, use_resolution_binning=False, seed=42)),
    # 1 step (intermediate None) from max_timesteps 1.0, where cos(t) keeps much of the image
    ("i2i_one", dict(prompt="a cup of coffee on a wooden table", strength=0.75, num_inference_steps=1,
                     intermediate_timesteps=None, max_timesteps=1.0, guidance_scale=3.0, height=128, width=96,
                     use_resolution_binning=False, seed=43)),
    # binning at 200x328 (generated at the 768x1280 bin: the image is resized to the bin) with VAE tiling,
    # so the encoder runs in tiles; strength 0.5 starts at t = 1.3
    ("i2i_bin", dict(prompt="a small robot", strength=0.5, num_inference_steps=2, guidance_scale=4.5,
                     height=200, width=328, use_resolution_binning=True, seed=44, vae_tiling=True,
                     latent_only=True)),
]


def run_case(name, args):
    import diffusers
    from diffusers.utils import load_image
    args = dict(args)
    seed = args.pop("seed")
    latent_only = args.pop("latent_only", False)
    tiling = args.pop("vae_tiling", False)
    pipe = diffusers.SanaSprintImg2ImgPipeline.from_pretrained(os.path.join(HERE, "ckpt", CKPT),
                                                               torch_dtype=torch.float32)
    pipe.set_progress_bar_config(disable=True)
    if tiling:
        pipe.enable_vae_tiling()
    image = load_image(os.path.join(HERE, IMAGE))
    tensors = pipeline_outputs(pipe, dict(args, image=image), seed, latent_only)
    import PIL
    meta_case = dict(args, seed=seed, pipeline="SanaSprintImg2ImgPipeline", checkpoint=CKPT, image=IMAGE,
                     latent_only=latent_only, vae_tiling=tiling, pillow=PIL.__version__)
    save(f"pipeline/e2e_{name}.safetensors", tensors, __file__, config=meta_case, gz=True)
    print(name, {k: tuple(v.shape) for k, v in tensors.items()})


def main():
    only = set(sys.argv[1:])
    for name, args in CASES:
        if not only or name in only:
            run_case(name, args)


if __name__ == "__main__":
    main()
