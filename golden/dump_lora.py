#!/usr/bin/env python3
"""golden/dump_lora.py -- LoRA goldens (issue 17): diffusers' SanaPipeline.load_lora_weights on the
tiny checkpoint golden/ckpt/sana-tiny, with two LoRAs at user scales, as `sana generate --lora`.

  lora/a.safetensors   PEFT LoRA of rank 4, lora_alpha 8 (scaling 2) on attn1/attn2 to_q, to_k, to_v,
                       to_out.0 and GLUMBConv's conv_inverted / conv_point (1x1 convolutions), saved by
                       SanaPipeline.save_lora_weights with its adapter metadata (diffusers' own format:
                       "transformer.<module>.lora_A.weight" / "lora_B.weight", F32)
  lora/b.safetensors   rank 2 on attn2.to_q and to_out.0 of block 1, saved without metadata (diffusers then
                       takes lora_alpha = the rank: scaling 1), in bfloat16
  lora/a-kohya.safetensors   a.safetensors under kohya-style names ("lora_transformer_<module with _>"
                       .lora_down / .lora_up, and .alpha = 8): not a format diffusers loads for Sana, so
                       its golden is a's: libsana must give the same image from it
  pipeline/e2e_lora.safetensors   latents and image of
      load_lora_weights(a, adapter_name="first_lora"); load_lora_weights(b, adapter_name="second_lora");
      set_adapters(["a", "b"], adapter_weights=[0.7, 1.5]); pipe(prompt, 3 steps, CFG 4.5, 96x160, seed 42)
  and its config (the call, the LoRA files and scales).
(Adapter names that are not substrings of module names: PEFT's get_peft_model_state_dict removes
".<adapter_name>" from every key, so an adapter called "a" turns "blocks.0.attn1" into "blocks.0ttn1".)
LoRA weights are random (init_lora_weights=False, then scaled so the deltas are ~10% of the weights).
"""
import json
import os
import sys

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from common import save  # noqa: E402

CKPT = os.path.join(HERE, "ckpt", "sana-tiny")
OUT = os.path.join(HERE, "lora")


def make_lora(pipe, name, r, alpha, targets, seed, dtype, metadata):
    from peft import LoraConfig
    from peft.utils import get_peft_model_state_dict
    from diffusers import SanaPipeline
    torch.manual_seed(seed)
    cfg = LoraConfig(r=r, lora_alpha=alpha, target_modules=targets, init_lora_weights=False)
    pipe.transformer.add_adapter(cfg, adapter_name=name)
    sd = get_peft_model_state_dict(pipe.transformer, adapter_name=name)
    with torch.no_grad():
        for k, v in sd.items():
            v.mul_(0.3)
    sd = {k: v.to(dtype) for k, v in get_peft_model_state_dict(pipe.transformer, adapter_name=name).items()}
    pipe.transformer.delete_adapters(name)
    kw = {"transformer_lora_adapter_metadata": cfg.to_dict()} if metadata else {}
    d = os.path.join(OUT, "tmp-" + name)
    SanaPipeline.save_lora_weights(d, transformer_lora_layers=sd, **kw)
    path = os.path.join(OUT, {"first_lora": "a", "second_lora": "b"}[name] + ".safetensors")
    os.replace(os.path.join(d, "pytorch_lora_weights.safetensors"), path)
    os.rmdir(d)
    print(path, os.path.getsize(path), "bytes")
    return path


def to_kohya(src, dst, alpha):
    from safetensors.torch import load_file, save_file
    sd = load_file(src)
    out = {}
    for k, v in sd.items():
        mod, kind = k.removeprefix("transformer.").split(".lora_")
        flat = "lora_transformer_" + mod.replace(".", "_")
        out[flat + (".lora_down.weight" if kind.startswith("A") else ".lora_up.weight")] = v
        out[flat + ".alpha"] = torch.tensor(float(alpha))
    save_file(out, dst)
    print(dst, os.path.getsize(dst), "bytes")


def main():
    from diffusers import SanaPipeline
    os.makedirs(OUT, exist_ok=True)
    pipe = SanaPipeline.from_pretrained(CKPT, torch_dtype=torch.float32)
    pipe.set_progress_bar_config(disable=True)
    a = make_lora(pipe, "first_lora", 4, 8, ["to_q", "to_k", "to_v", "to_out.0", "conv_inverted", "conv_point"], 1,
                  torch.float32, True)
    b = make_lora(pipe, "second_lora", 2, 2, ["transformer_blocks.1.attn2.to_q", "transformer_blocks.1.attn2.to_out.0"], 2,
                  torch.bfloat16, False)
    to_kohya(a, os.path.join(OUT, "a-kohya.safetensors"), 8)
    pipe = SanaPipeline.from_pretrained(CKPT, torch_dtype=torch.float32)
    pipe.set_progress_bar_config(disable=True)
    pipe.load_lora_weights(a, adapter_name="first_lora")
    pipe.load_lora_weights(b, adapter_name="second_lora")
    scales = [0.7, 1.5]
    pipe.set_adapters(["first_lora", "second_lora"], adapter_weights=scales)
    args = dict(prompt="a red fox in the snow, watercolor", negative_prompt="blurry, low quality",
                num_inference_steps=3, guidance_scale=4.5, height=96, width=160, use_resolution_binning=False)
    seed = 42
    tensors = {}
    for ot in ("latent", "np"):
        out = pipe(**args, output_type=ot, generator=torch.Generator("cpu").manual_seed(seed)).images
        if ot == "latent":
            tensors["latents"] = out.float()
        else:
            tensors["image"] = torch.from_numpy(np.ascontiguousarray((out * 255).round().astype("uint8")))
    # the same call without LoRA: the LoRAs must move the latents (a test that could not fail otherwise)
    pipe.set_adapters(["first_lora", "second_lora"], adapter_weights=[0.0, 0.0])
    tensors["latents_nolora"] = pipe(**args, output_type="latent",
                                     generator=torch.Generator("cpu").manual_seed(seed)).images.float()
    cfg = dict(args, seed=seed, checkpoint="sana-tiny", lora=["lora/a.safetensors", "lora/b.safetensors"],
               lora_scales=scales, lora_kohya="lora/a-kohya.safetensors")
    save("pipeline/e2e_lora.safetensors", tensors, __file__, config=cfg)


if __name__ == "__main__":
    main()
