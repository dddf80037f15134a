#!/usr/bin/env python3
"""golden/dump_controlnet.py -- SanaControlNetModel and SanaControlNetPipeline (issue 16), diffusers 0.35.2,
float32 on the CPU.

    python3 dump_controlnet.py       # ckpt/controlnet-tiny/, ckpt/sana-tiny-controlnet/, controlnet/*.png,
                                     # dit/controlnet.safetensors, pipeline/e2e_cn_*.safetensors

Writes:
  ckpt/controlnet-tiny/         SanaControlNetModel with sana-tiny's transformer config (num_layers 2), random
                                weights, saved with save_pretrained in float16 (half the bytes; diffusers
                                loads it with torch_dtype=float32 as libsana does: exact). The zero-initialised
                                input_block and controlnet_blocks are overwritten with seeded random values
                                first: with zeros the ControlNet adds nothing and no test could fail.
  ckpt/sana-tiny-controlnet/    SanaControlNetPipeline: model_index.json, controlnet/ -> ../controlnet-tiny,
                                the other components symlinks to ../sana-tiny/ (the folder diffusers'
                                save_pretrained would write, without copying sana-tiny's files).
  controlnet/*.png              control images: HED-like white strokes on black, of several sizes.
  dit/controlnet.safetensors    the model alone: controlnet(x, enc, t, cond, scale, mask) block samples and
                                transformer(x, ..., controlnet_block_samples) of sana-tiny's transformer.
  pipeline/e2e_cn_<case>        SanaControlNetPipeline.__call__(control_image=load_image(png), ...):
                                latents (output_type="latent") and the uint8 image, with the call as
                                "config" metadata (read by tests/test-pipeline.c and test-cli-pipeline.sh).
"""
import json
import os
import sys

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from common import pipeline_outputs, save  # noqa: E402

CKPT = os.path.join(HERE, "ckpt")
CN_DIR = os.path.join(CKPT, "controlnet-tiny")
PIPE_DIR = os.path.join(CKPT, "sana-tiny-controlnet")
PARTS = ["scheduler", "text_encoder", "tokenizer", "transformer", "vae"]

# (case, control image (file, width, height), call arguments)
CASES = [
    # square, CFG, the control image at the generated size (no resize), default conditioning scale
    ("cn_cfg", ("edges64.png", 64, 64),
     dict(prompt="a red fox in the snow, watercolor", negative_prompt="blurry, low quality", num_inference_steps=3,
          guidance_scale=4.5, height=64, width=64, use_resolution_binning=False, seed=42)),
    # non-square, no CFG, a control image that is resized (50x30 -> 96x64), conditioning scale 0.7
    ("cn_rect", ("edges50x30.png", 50, 30),
     dict(prompt="a cup of coffee on a wooden table", num_inference_steps=2, guidance_scale=1.0, height=64,
          width=96, use_resolution_binning=False, seed=7, controlnet_conditioning_scale=0.7)),
    # binning (200x300 -> the 512 bin 416x608), CFG, two images, scale 1.5: the control image is resized
    # to the bin; latents only (the image would be 416x608)
    ("cn_bin", ("edges40x56.png", 40, 56),
     dict(prompt="a lighthouse on a cliff at sunset", num_inference_steps=2, guidance_scale=3.0, height=200,
          width=300, use_resolution_binning=True, num_images_per_prompt=2, seed=11,
          controlnet_conditioning_scale=1.5, latent_only=True)),
]


def control_png(name, w, h, seed):
    """A HED-like edge map: white strokes (lines, an ellipse) on black, deterministic."""
    from PIL import Image, ImageDraw
    rng = np.random.RandomState(seed)
    im = Image.new("RGB", (w, h), (0, 0, 0))
    d = ImageDraw.Draw(im)
    for _ in range(4):
        x0, x1 = sorted(rng.randint(0, w, 2))
        y0, y1 = sorted(rng.randint(0, h, 2))
        d.line([(int(x0), int(y0)), (int(x1), int(y1))], fill=(255, 255, 255), width=2)
    d.ellipse([w // 4, h // 4, 3 * w // 4, 3 * h // 4], outline=(220, 220, 220), width=1)
    path = os.path.join(HERE, "controlnet", name)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    im.save(path, optimize=True)
    print(f"controlnet/{name}: {os.path.getsize(path)} bytes")
    return path


def make_controlnet():
    """ckpt/controlnet-tiny: sana-tiny's transformer config, 2 blocks, non-zero controlnet linears."""
    from diffusers import SanaControlNetModel
    with open(os.path.join(CKPT, "sana-tiny", "transformer", "config.json")) as f:
        tc = json.load(f)
    keys = ["in_channels", "out_channels", "num_attention_heads", "attention_head_dim", "num_cross_attention_heads",
            "cross_attention_head_dim", "cross_attention_dim", "caption_channels", "mlp_ratio", "dropout",
            "attention_bias", "sample_size", "patch_size", "norm_elementwise_affine", "norm_eps",
            "interpolation_scale"]
    cfg = {k: tc[k] for k in keys}
    cfg["num_layers"] = 2
    torch.manual_seed(1601)
    cn = SanaControlNetModel(**cfg).eval()
    g = torch.Generator("cpu").manual_seed(1602)
    with torch.no_grad():
        for lin in [cn.input_block] + list(cn.controlnet_blocks):
            lin.weight.copy_(torch.randn(lin.weight.shape, generator=g) * 0.2)
            lin.bias.copy_(torch.randn(lin.bias.shape, generator=g) * 0.1)
    cn.to(torch.float16).save_pretrained(CN_DIR, safe_serialization=True)
    print("ckpt/controlnet-tiny:", sorted(os.listdir(CN_DIR)))


def make_pipeline_folder():
    """ckpt/sana-tiny-controlnet: model_index.json of SanaControlNetPipeline over symlinked components."""
    os.makedirs(PIPE_DIR, exist_ok=True)
    with open(os.path.join(CKPT, "sana-tiny", "model_index.json")) as f:
        mi = json.load(f)
    mi["_class_name"] = "SanaControlNetPipeline"
    mi["controlnet"] = ["diffusers", "SanaControlNetModel"]
    mi = dict(sorted(mi.items(), key=lambda kv: (not kv[0].startswith("_"), kv[0])))
    with open(os.path.join(PIPE_DIR, "model_index.json"), "w") as f:
        json.dump(mi, f, indent=2)
        f.write("\n")
    links = {p: os.path.join("..", "sana-tiny", p) for p in PARTS}
    links["controlnet"] = os.path.join("..", "controlnet-tiny")
    for name, target in links.items():
        dst = os.path.join(PIPE_DIR, name)
        if os.path.islink(dst):
            os.remove(dst)
        os.symlink(target, dst)


def dump_model():
    """dit/controlnet.safetensors: the ControlNet's block samples and the transformer fed with them."""
    from diffusers import SanaControlNetModel, SanaTransformer2DModel
    cn = SanaControlNetModel.from_pretrained(CN_DIR, torch_dtype=torch.float32).eval()
    tr = SanaTransformer2DModel.from_pretrained(os.path.join(CKPT, "sana-tiny", "transformer"),
                                                torch_dtype=torch.float32).eval()
    g = torch.Generator("cpu").manual_seed(1603)
    B, C, H, W, L = 2, 4, 3, 5, 6
    x = torch.randn(B, C, H, W, generator=g)
    cond = torch.randn(B, C, H, W, generator=g)
    enc = torch.randn(B, L, 32, generator=g)
    mask = torch.tensor([[1, 1, 1, 1, 0, 0], [1, 1, 1, 1, 1, 1]], dtype=torch.int64)
    t = torch.tensor([999.0, 640.5])
    scale = 0.8
    with torch.no_grad():
        samples = cn(x, encoder_hidden_states=enc, timestep=t, controlnet_cond=cond, conditioning_scale=scale,
                     encoder_attention_mask=mask, return_dict=False)[0]
        out = tr(x, encoder_hidden_states=enc, timestep=t, encoder_attention_mask=mask,
                 controlnet_block_samples=tuple(samples), return_dict=False)[0]
        plain = tr(x, encoder_hidden_states=enc, timestep=t, encoder_attention_mask=mask, return_dict=False)[0]
    tensors = {"x": x, "cond": cond, "enc": enc, "mask": mask.float(), "t": t,
               "samples": torch.stack(list(samples)), "out": out, "out_plain": plain}
    save("dit/controlnet.safetensors", tensors, __file__,
         config=dict(B=B, C=C, H=H, W=W, L=L, conditioning_scale=scale, controlnet="ckpt/controlnet-tiny",
                     transformer="ckpt/sana-tiny/transformer", controlnet_config=dict(cn.config)))


def dump_case(pipe, name, image, args):
    from diffusers.utils import load_image
    args = dict(args)
    seed = args.pop("seed")
    latent_only = args.pop("latent_only", False)
    fname, w, h = image
    path = control_png(fname, w, h, seed)
    control = load_image(path)
    tensors = pipeline_outputs(pipe, dict(args, control_image=control), seed, latent_only)
    meta = dict(args, seed=seed, pipeline="SanaControlNetPipeline", checkpoint="sana-tiny-controlnet",
                latent_only=latent_only, control_image=f"controlnet/{fname}")
    meta.setdefault("controlnet_conditioning_scale", 1.0)
    save(f"pipeline/e2e_{name}.safetensors", tensors, __file__, config=meta)
    print(name, {k: tuple(v.shape) for k, v in tensors.items()})


def main():
    only = set(sys.argv[1:])
    make_controlnet()
    make_pipeline_folder()
    dump_model()
    from diffusers import SanaControlNetPipeline
    pipe = SanaControlNetPipeline.from_pretrained(PIPE_DIR, torch_dtype=torch.float32)
    pipe.set_progress_bar_config(disable=True)
    for name, image, args in CASES:
        if only and name not in only:
            continue
        dump_case(pipe, name, image, args)


if __name__ == "__main__":
    main()
