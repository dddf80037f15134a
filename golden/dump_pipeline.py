#!/usr/bin/env python3
"""golden/dump_pipeline.py -- end-to-end goldens of diffusers' SanaPipeline, SanaPAGPipeline and
SanaSprintPipeline run from prompt strings on the tiny checkpoints of golden/make_tiny_pipeline.py.

One file per case, golden/pipeline/e2e_<case>.safetensors(.gz):
  latents [B, C, h, w]   output_type="latent" (what goes into VAE decode)
  image   [B, H, W, 3]   uint8, output_type="np" then (x * 255).round() as numpy_to_pil does
and __metadata__ "config": the call as JSON (pipeline class, checkpoint, arguments), which
tests/test-pipeline.c reads to make the same call through libsana.
Case "cfg" (and "added", golden/dump_added_tokens.py) also holds prompt_embeds / prompt_attention_mask
as encode_prompt returns them with the default complex human instruction of __call__ (for
`sana encode`), and case "given" the latents and prompt_embeds it passes in.
"""
import json
import os
import sys

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from common import pipeline_outputs, save  # noqa: E402

CKPT = os.path.join(HERE, "ckpt")

# (name, pipeline, checkpoint, call arguments). "scheduler": "euler" swaps in
# FlowMatchEulerDiscreteScheduler(shift=<the checkpoint's flow_shift>), as `sana --scheduler euler` does.
CASES = [
    ("cfg", "SanaPipeline", "sana-tiny",
     dict(prompt="a red fox in the snow, watercolor", negative_prompt="blurry, low quality",
          num_inference_steps=3, guidance_scale=4.5, height=96, width=160, use_resolution_binning=False, seed=42)),
    ("nocfg", "SanaPipeline", "sana-tiny",
     dict(prompt="a cup of coffee on a wooden table", num_inference_steps=2, guidance_scale=1.0, height=128,
          width=96, use_resolution_binning=False, seed=7)),
    ("bin", "SanaPipeline", "sana-tiny",
     dict(prompt="a lighthouse on a cliff at sunset, oil painting", num_inference_steps=2, guidance_scale=4.5,
          height=256, width=384, use_resolution_binning=True, seed=11)),
    # an asked size below 32 px with binning: diffusers generates at the bin of 20x12's aspect ratio
    # and resizes the image down to 20x12 (resize_and_crop_tensor)
    ("bin_small", "SanaPipeline", "sana-tiny",
     dict(prompt="a lighthouse on a cliff at sunset, oil painting", num_inference_steps=2, guidance_scale=4.5,
          height=20, width=12, use_resolution_binning=True, seed=12)),
    ("two", "SanaPipeline", "sana-tiny",
     dict(prompt="an astronaut riding a horse on the moon", num_inference_steps=2, guidance_scale=3.0,
          num_images_per_prompt=2, height=64, width=64, use_resolution_binning=False, seed=3)),
    ("euler", "SanaPipeline", "sana-tiny",
     dict(prompt="a small robot reading a book in a library", num_inference_steps=3, guidance_scale=4.5,
          height=128, width=128, use_resolution_binning=False, seed=5, scheduler="euler")),
    ("nochi", "SanaPipeline", "sana-tiny",
     dict(prompt="a red fox in the snow", num_inference_steps=2, guidance_scale=4.5, height=64, width=64,
          use_resolution_binning=False, seed=9, complex_human_instruction=None, max_sequence_length=64)),
    ("pag", "SanaPAGPipeline", "sana-tiny",
     dict(prompt="a red fox in the snow, watercolor", num_inference_steps=2, guidance_scale=4.5, pag_scale=3.0,
          pag_applied_layers=["transformer_blocks.1"], height=128, width=96, use_resolution_binning=False,
          seed=21)),
    ("pag_adaptive", "SanaPAGPipeline", "sana-tiny",
     dict(prompt="a cup of coffee on a wooden table", num_inference_steps=3, guidance_scale=1.0, pag_scale=2.0,
          pag_adaptive_scale=0.002, height=96, width=128, use_resolution_binning=False, seed=22)),
    ("sprint2", "SanaSprintPipeline", "sana-tiny-sprint",
     dict(prompt="a lighthouse on a cliff at sunset", num_inference_steps=2, guidance_scale=4.5, height=128,
          width=128, use_resolution_binning=False, seed=31)),
    ("sprint1", "SanaSprintPipeline", "sana-tiny-sprint",
     dict(prompt="a red fox in the snow", num_inference_steps=1, intermediate_timesteps=None, guidance_scale=3.0,
          height=96, width=128, use_resolution_binning=False, seed=32)),
    ("sprint_bin", "SanaSprintPipeline", "sana-tiny-sprint",
     dict(prompt="a small robot", num_inference_steps=2, guidance_scale=4.5, height=512, width=768,
          use_resolution_binning=True, seed=33, latent_only=True)),
    ("fp16", "SanaPipeline", "sana-tiny",
     dict(prompt="a cup of coffee on a wooden table", negative_prompt="blurry", num_inference_steps=2,
          guidance_scale=4.5, height=64, width=96, use_resolution_binning=False, seed=13, variant="fp16")),
    ("given", "SanaPipeline", "sana-tiny",
     dict(prompt=None, negative_prompt="blurry", num_inference_steps=2, guidance_scale=4.5, height=64, width=64,
          use_resolution_binning=False, seed=0, given=True)),
    # binning at a size that is not a multiple of 32: generated at the bin (384x640), then
    # resize_and_crop_tensor back to 200x328
    ("bin_any", "SanaPipeline", "sana-tiny",
     dict(prompt="a lighthouse on a cliff at sunset, oil painting", num_inference_steps=2, guidance_scale=4.5,
          height=200, width=328, use_resolution_binning=True, seed=12)),
]


def run_case(name, cls_name, ckpt, args, ckpt_dir=None, config_extra=None, script=None):
    """One case; ckpt_dir: the folder when it is not CKPT/ckpt (ckpt is then only its name in the
    config); config_extra: more entries of the "config" metadata; script: the one to record, when
    another script calls this."""
    from diffusers import FlowMatchEulerDiscreteScheduler
    args = dict(args)
    seed = args.pop("seed")
    latent_only = args.pop("latent_only", False)
    given = args.pop("given", False)
    sched = args.pop("scheduler", None)
    pag_layers = args.pop("pag_applied_layers", None)
    variant = args.pop("variant", None)
    import diffusers
    cls = getattr(diffusers, cls_name)
    kw = {}
    if pag_layers is not None:
        kw["pag_applied_layers"] = pag_layers
    if variant is not None:
        kw["variant"] = variant  # fp16 files, computed in float32 (torch_dtype)
    pipe = cls.from_pretrained(ckpt_dir or os.path.join(CKPT, ckpt), torch_dtype=torch.float32, **kw)
    pipe.set_progress_bar_config(disable=True)
    if sched == "euler":
        shift = pipe.scheduler.config.flow_shift
        pipe.scheduler = FlowMatchEulerDiscreteScheduler(shift=shift)
    tensors = {}
    call = dict(args)
    if given:
        # latents and prompt_embeds given by the caller (as `sana --latents F --prompt-embeds F`)
        g = torch.Generator("cpu").manual_seed(1234)
        lat = torch.randn(1, 4, 2, 2, generator=g)
        emb, mask, _, _ = pipe.encode_prompt("a cup of coffee on a wooden table", do_classifier_free_guidance=False)
        call.update(latents=lat, prompt_embeds=emb, prompt_attention_mask=mask)
        tensors["given_latents"] = lat
        tensors["given_prompt_embeds"] = emb
        tensors["given_prompt_attention_mask"] = mask.to(torch.int64)
    if name in ("cfg", "added"):
        # as `sana encode` runs it: the complex human instruction of __call__'s defaults
        import inspect
        chi = inspect.signature(type(pipe).__call__).parameters["complex_human_instruction"].default
        emb, mask, _, _ = pipe.encode_prompt(args["prompt"], do_classifier_free_guidance=False,
                                             complex_human_instruction=chi)
        tensors["prompt_embeds"] = emb
        tensors["prompt_attention_mask"] = mask.to(torch.int64)
    tensors.update(pipeline_outputs(pipe, call, seed, latent_only))
    meta_case = dict(args, seed=seed, pipeline=cls_name, checkpoint=ckpt, latent_only=latent_only, given=given,
                     scheduler=sched or "", pag_applied_layers=pag_layers, variant=variant or "")
    if "complex_human_instruction" in args:
        meta_case["chi"] = "none"
        del meta_case["complex_human_instruction"]
    meta_case.update(config_extra or {})
    save(f"pipeline/e2e_{name}.safetensors", tensors, script or __file__, config=meta_case)
    shapes = {k: tuple(v.shape) for k, v in tensors.items()}
    print(name, shapes)


def main():
    only = set(sys.argv[1:])
    for name, cls_name, ckpt, args in CASES:
        if only and name not in only:
            continue
        run_case(name, cls_name, ckpt, args)


if __name__ == "__main__":
    main()
