#!/usr/bin/env python3
"""Goldens of resolution binning and postprocessing, from diffusers' own functions.

Writes golden/pipeline/binning.safetensors:
  classify_<ss>_in [n, 2] (height, width) and classify_<ss>_out [n, 2] for each sample_size 16/32/64/128
      (PixArtImageProcessor.classify_height_width_bin over the table the SANA pipeline picks);
  resize_<k>_in [B, 3, H, W], resize_<k>_out [B, 3, h, w], resize_<k>_size [2] (h, w)
      (PixArtImageProcessor.resize_and_crop_tensor);
  short_<k>_in/_out/_size: the same where int() makes a side one short of the asked size (diffusers returns
      a 1-pixel-high image there); the output is F.interpolate at the asked side and the centre crop;
  post_in [B, 3, H, W] and post_u8 [B, H, W, 3] (VaeImageProcessor.postprocess(output_type="pil") as uint8,
      i.e. numpy_to_pil's array) and post_np (output_type="np").
"""
import json
import os

import numpy as np
import torch
import diffusers
from diffusers.image_processor import PixArtImageProcessor, VaeImageProcessor
from diffusers.pipelines.pixart_alpha.pipeline_pixart_alpha import ASPECT_RATIO_512_BIN, ASPECT_RATIO_1024_BIN
from diffusers.pipelines.pixart_alpha.pipeline_pixart_sigma import ASPECT_RATIO_2048_BIN
from diffusers.pipelines.sana.pipeline_sana import ASPECT_RATIO_4096_BIN
from safetensors.torch import save_file

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "pipeline")


def main():
    os.makedirs(OUT, exist_ok=True)
    torch.manual_seed(0)
    t = {}
    queries = [(512, 512), (1024, 1024), (512, 768), (768, 512), (256, 1024), (1024, 256), (64, 96), (96, 64),
               (480, 640), (1080, 1920), (1920, 1080), (2048, 1024), (300, 301), (32, 4096), (4096, 32),
               (704, 352), (352, 704), (999, 1000), (1000, 999), (640, 384), (384, 640), (160, 96)]
    # pairs whose ratio falls exactly halfway between two keys (first entry wins)
    queries += [(265, 1000), (300, 1000), (545, 1000), (1100, 1000), (2045, 1000)]
    for ss, table in ((16, ASPECT_RATIO_512_BIN), (32, ASPECT_RATIO_1024_BIN), (64, ASPECT_RATIO_2048_BIN),
                      (128, ASPECT_RATIO_4096_BIN)):
        outs = [PixArtImageProcessor.classify_height_width_bin(h, w, ratios=table) for h, w in queries]
        t[f"classify_{ss}_in"] = torch.tensor(queries, dtype=torch.int64)
        t[f"classify_{ss}_out"] = torch.tensor(outs, dtype=torch.int64)
    # binned size -> asked size, the way the pipeline calls it: (image, orig_width, orig_height)
    cases = [((1, 3, 32, 48), (32, 40)), ((2, 3, 48, 32), (50, 30)), ((1, 3, 32, 32), (32, 32)),
             ((1, 3, 16, 32), (20, 36)), ((1, 3, 24, 20), (15, 25)), ((1, 3, 32, 32), (48, 32))]
    for k, (shape, (h, w)) in enumerate(cases):
        x = torch.randn(shape).clamp(-1.5, 1.5)
        y = PixArtImageProcessor.resize_and_crop_tensor(x, w, h)
        t[f"resize_{k}_in"] = x
        t[f"resize_{k}_out"] = y.contiguous()
        t[f"resize_{k}_size"] = torch.tensor([h, w], dtype=torch.int64)
    x = torch.randn(2, 3, 16, 24) * 0.8
    # values at and near the rounding boundaries of 255 * (x / 2 + 0.5)
    edge = (torch.arange(0, 256, dtype=torch.float32) + 0.5) / 255 * 2 - 1
    flat = x.view(-1)
    flat[: edge.numel()] = edge
    flat[edge.numel(): 2 * edge.numel()] = torch.nextafter(edge, torch.tensor(2.0))
    flat[-4:] = torch.tensor([-3.0, 3.0, -1.0, 1.0])
    proc = VaeImageProcessor(vae_scale_factor=32)
    npimg = proc.postprocess(x.clone(), output_type="np")
    u8 = (npimg * 255).round().astype("uint8")
    pil = proc.postprocess(x.clone(), output_type="pil")
    assert np.array_equal(np.stack([np.asarray(p) for p in pil]), u8)
    t["post_in"] = x
    t["post_np"] = torch.from_numpy(npimg.copy())
    t["post_u8"] = torch.from_numpy(u8.astype(np.float32))
    # Where the truncating int() of resize_and_crop_tensor makes the side that sets the ratio one short
    # (13 * (15 / 13) = 14.99..: diffusers then slices [-1:new-1] and returns an image 1 pixel high),
    # libsana resizes that side to the asked size: short_<k>_out is F.interpolate at that covering size
    # and the same centre crop. Own generator, so that the tensors above stay as they were.
    gen = torch.Generator().manual_seed(1)
    for k, (shape, (h, w)) in enumerate([((1, 3, 13, 19), (15, 20)), ((1, 3, 13, 19), (30, 12))]):
        x = torch.randn(shape, generator=gen).clamp(-1.5, 1.5)
        H, W = shape[2], shape[3]
        ratio = max(h / H, w / W)
        rh, rw = int(H * ratio), int(W * ratio)
        assert rh < h or rw < w
        assert PixArtImageProcessor.resize_and_crop_tensor(x, w, h).shape[2:] != (h, w)
        rh, rw = max(rh, h), max(rw, w)
        y = torch.nn.functional.interpolate(x, size=(rh, rw), mode="bilinear", align_corners=False)
        y0, x0 = (rh - h) // 2, (rw - w) // 2
        t[f"short_{k}_in"] = x
        t[f"short_{k}_out"] = y[:, :, y0:y0 + h, x0:x0 + w].contiguous()
        t[f"short_{k}_size"] = torch.tensor([h, w], dtype=torch.int64)
    meta = {"script": "golden/dump_binning.py", "diffusers": diffusers.__version__, "torch": torch.__version__,
            "config": json.dumps({"queries": len(queries), "resize_cases": len(cases)})}
    save_file({k: v.contiguous().clone() for k, v in t.items()}, os.path.join(OUT, "binning.safetensors"), metadata=meta)


if __name__ == "__main__":
    main()
