"""Shared helpers of the golden dump scripts: versions, metadata, saving.

Every golden is a safetensors file (gzip-compressed when that saves space) with
the generating script, the library versions and the module config in
__metadata__. Run the scripts from anywhere with the reference environment
(diffusers 0.35.2, transformers, torch, float32 on CPU).
"""
import gzip
import json
import os

import torch
from safetensors.torch import save_file

GOLDEN_DIR = os.path.dirname(os.path.abspath(__file__))


def versions():
    v = {"torch": torch.__version__}
    try:
        import diffusers
        v["diffusers"] = diffusers.__version__
    except ImportError:
        pass
    try:
        import transformers
        v["transformers"] = transformers.__version__
    except ImportError:
        pass
    return v


def metadata(script, config=None, extra=None):
    """__metadata__ of a golden: the script, the library versions, the module config (JSON)."""
    meta = {"script": script}
    meta.update(versions())
    if config is not None:
        meta["config"] = json.dumps(config, sort_keys=True)
    if extra:
        meta.update(extra)
    return meta


def save(relpath, tensors, script, config=None, gz=None):
    """Write GOLDEN_DIR/relpath (.safetensors); gzip it when gz is True, or when
    gz is None and compression saves at least a quarter of the size."""
    path = os.path.join(GOLDEN_DIR, relpath)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    meta = metadata(os.path.basename(script), config)
    tensors = {k: v.detach().contiguous().cpu() for k, v in tensors.items()}
    save_file(tensors, path, metadata=meta)
    raw = os.path.getsize(path)
    with open(path, "rb") as f:
        packed = gzip.compress(f.read(), compresslevel=9, mtime=0)
    for old in (path + ".gz",):
        if os.path.exists(old):
            os.remove(old)
    if gz or (gz is None and len(packed) < 0.75 * raw):
        with open(path + ".gz", "wb") as f:
            f.write(packed)
        os.remove(path)
        path += ".gz"
    print(f"{os.path.relpath(path, GOLDEN_DIR)}: {os.path.getsize(path)} bytes")
    return path


def seeded(seed):
    torch.manual_seed(seed)
    return torch.Generator("cpu").manual_seed(seed)


def pipeline_outputs(pipe, call, seed, latent_only=False):
    """A pipeline call's goldens: "latents" (output_type="latent") and, unless latent_only, "image"
    (output_type="np" as uint8, the PNG a C run writes), each from torch.Generator("cpu").manual_seed(seed)."""
    import numpy as np
    import torch
    tensors = {}
    for output_type in (["latent"] if latent_only else ["latent", "np"]):
        out = pipe(**call, output_type=output_type, generator=torch.Generator("cpu").manual_seed(seed)).images
        if output_type == "latent":
            tensors["latents"] = out.float()
        else:
            u8 = (out * 255).round().astype("uint8")
            tensors["image"] = torch.from_numpy(np.ascontiguousarray(u8))
    return tensors
