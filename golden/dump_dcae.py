#!/usr/bin/env python3
"""golden/dump_dcae.py -- goldens of the DC-AE family (diffusers AutoencoderDC).

Writes, deterministically (fixed seeds, float32 CPU):
  golden/dcae/ops.safetensors       the primitive operators alone (norms over
                                    channels, pixel (un)shuffle, nearest
                                    upsampling, the space<->channel shortcuts,
                                    activations, the two attention kernels)
  golden/dcae/blocks.safetensors    each block type alone, built from the
                                    diffusers classes: ResBlock, GLUMBConv,
                                    SanaMultiscaleLinearAttention (linear and
                                    quadratic paths), EfficientViTBlock,
                                    DCUpBlock2d, DCDownBlock2d
  golden/ckpt/dcae-<name>/          tiny AutoencoderDC checkpoints written by
                                    save_pretrained (config.json +
                                    diffusion_pytorch_model.safetensors)
  golden/dcae/<name>.safetensors    inputs and outputs of those checkpoints
                                    (decode, encode, tiled decode/encode)

The "mid" checkpoint has decoder widths like the real model (128, 256, 512);
its weights are stored in bfloat16 to fit the golden budget, and diffusers is
run on the weights upcast to float32 (from_pretrained(torch_dtype=float32)),
which is exactly what libsana computes (bf16 -> f32 is lossless).

Large inputs of the tiling goldens are not stored: they are the formula
x[b, c, i, j] = 0.9 * sin(0.05 i + 0.07 j + 0.5 c + 0.3 b), evaluated in
float64 and rounded to float32 (tests/test-dcae.c computes the same).

    python3 golden/dump_dcae.py                      # all goldens
    python3 golden/dump_dcae.py --real-ckpt DIR      # random-weight checkpoint of the real
                                                     # dc-ae-f32c32-sana-1.0 config (bench only;
                                                     # about 1.3 GB, never committed)
"""
import argparse
import json
import os
import sys

import numpy as np
import torch
from common import metadata  # noqa: E402
import torch.nn.functional as F

from diffusers import AutoencoderDC
from diffusers.models.attention_processor import SanaMultiscaleLinearAttention
from diffusers.models.autoencoders.autoencoder_dc import (DCDownBlock2d, DCUpBlock2d, EfficientViTBlock,
                                                          ResBlock)
from diffusers.models.normalization import RMSNorm
from diffusers.models.transformers.sana_transformer import GLUMBConv
from safetensors.torch import save_file

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "dcae")
CKPT = os.path.join(HERE, "ckpt")
SCRIPT = "golden/dump_dcae.py"

# The published config of mit-han-lab/dc-ae-f32c32-sana-1.0-diffusers (config.json on the
# Hugging Face hub, as also spelled out by diffusers' scripts/convert_dcae_to_diffusers.py,
# get_ae_config("dc-ae-f32c32-sana-1.0"), and by the original efficientvit dc_ae_f32c32()).
# Note the capital C of "Conv": diffusers only compares with "pixel_unshuffle".
REAL_SANA_CONFIG = {
    "_class_name": "AutoencoderDC",
    "attention_head_dim": 32,
    "decoder_act_fns": "silu",
    "decoder_block_out_channels": [128, 256, 512, 512, 1024, 1024],
    "decoder_block_types": ["ResBlock", "ResBlock", "ResBlock",
                            "EfficientViTBlock", "EfficientViTBlock", "EfficientViTBlock"],
    "decoder_layers_per_block": [3, 3, 3, 3, 3, 3],
    "decoder_norm_types": "rms_norm",
    "decoder_qkv_multiscales": [[], [], [], [5], [5], [5]],
    "downsample_block_type": "Conv",
    "encoder_block_out_channels": [128, 256, 512, 512, 1024, 1024],
    "encoder_block_types": ["ResBlock", "ResBlock", "ResBlock",
                            "EfficientViTBlock", "EfficientViTBlock", "EfficientViTBlock"],
    "encoder_layers_per_block": [2, 2, 2, 3, 3, 3],
    "encoder_qkv_multiscales": [[], [], [], [5], [5], [5]],
    "in_channels": 3,
    "latent_channels": 32,
    "scaling_factor": 0.41407,
    "upsample_block_type": "interpolate",
}


def meta(config):
    return metadata(SCRIPT, config)


def save(tensors, name, config):
    os.makedirs(OUT, exist_ok=True)
    path = os.path.join(OUT, name)
    t = {k: v.detach().to(torch.float32).contiguous() if v.is_floating_point() else v.contiguous()
         for k, v in tensors.items()}
    save_file(t, path, metadata=meta(config))
    print(f"wrote {path} ({os.path.getsize(path)} bytes)")


def randomize_norms(module, seed):
    """Give every norm non-trivial parameters (weight ~ 1 + 0.2 N, bias ~ 0.2 N) and
    BatchNorm running statistics (mean ~ 0.2 N, var ~ 0.5 + U); other parameters
    keep diffusers' own (seeded) initialisation."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for m in module.modules():
            if isinstance(m, (RMSNorm, torch.nn.BatchNorm2d, torch.nn.LayerNorm)):
                if getattr(m, "weight", None) is not None:
                    m.weight.copy_(1 + 0.2 * torch.randn(m.weight.shape, generator=g))
                if getattr(m, "bias", None) is not None:
                    m.bias.copy_(0.2 * torch.randn(m.bias.shape, generator=g))
            if isinstance(m, torch.nn.BatchNorm2d):
                m.running_mean.copy_(0.2 * torch.randn(m.running_mean.shape, generator=g))
                m.running_var.copy_(0.5 + torch.rand(m.running_var.shape, generator=g))
    module.eval()
    return module


def randn(shape, seed, scale=1.0):
    return scale * torch.randn(shape, generator=torch.Generator().manual_seed(seed))


def formula_image(B, C, H, W):
    """x[b,c,i,j] = 0.9 sin(0.05 i + 0.07 j + 0.5 c + 0.3 b) in float64, rounded to float32."""
    b, c, i, j = np.meshgrid(np.arange(B), np.arange(C), np.arange(H), np.arange(W), indexing="ij")
    x = 0.9 * np.sin(0.05 * i + 0.07 * j + 0.5 * c + 0.3 * b)
    return torch.from_numpy(x.astype(np.float32))


# ---------------------------------------------------------------------------- operators
def dump_ops():
    t, cfg = {}, {}
    # pixel_shuffle / pixel_unshuffle / nearest x2
    x = randn((2, 12, 3, 5), 1)
    t["pixel_shuffle.x"], t["pixel_shuffle.y"] = x, F.pixel_shuffle(x, 2)
    x = randn((2, 3, 6, 10), 2)
    t["pixel_unshuffle.x"], t["pixel_unshuffle.y"] = x, F.pixel_unshuffle(x, 2)
    x = randn((2, 3, 4, 5), 3)
    t["upsample_nearest.x"], t["upsample_nearest.y"] = x, F.interpolate(x, scale_factor=2, mode="nearest")
    # shortcut of DCUpBlock2d: repeat_interleave over channels then pixel_shuffle
    x = randn((2, 8, 3, 4), 4)
    t["shortcut_up.x"] = x
    t["shortcut_up.y"] = F.pixel_shuffle(x.repeat_interleave(2, dim=1), 2)
    cfg["shortcut_up"] = {"repeats": 2, "factor": 2}
    # shortcut of Decoder.conv_in: repeat_interleave only
    x = randn((2, 4, 3, 3), 5)
    t["shortcut_in.x"], t["shortcut_in.y"] = x, x.repeat_interleave(3, dim=1)
    cfg["shortcut_in"] = {"repeats": 3, "factor": 1}
    # shortcut of DCDownBlock2d: pixel_unshuffle then mean over channel groups
    x = randn((2, 4, 6, 8), 6)
    t["shortcut_down.x"] = x
    t["shortcut_down.y"] = F.pixel_unshuffle(x, 2).unflatten(1, (-1, 2)).mean(dim=2)
    cfg["shortcut_down"] = {"group": 2, "factor": 2}
    # shortcut of Encoder.conv_out: mean over channel groups
    x = randn((2, 16, 3, 3), 7)
    t["shortcut_out.x"], t["shortcut_out.y"] = x, x.unflatten(1, (-1, 4)).mean(dim=2)
    cfg["shortcut_out"] = {"group": 4, "factor": 1}
    # RMSNorm over channels (as ResBlock / GLUMBConv / Decoder.norm_out apply it)
    torch.manual_seed(8)
    norm = randomize_norms(RMSNorm(24, 1e-5, elementwise_affine=True, bias=True), 8)
    x = randn((2, 24, 5, 7), 9, 2.0)
    t["rms_norm_2d.x"], t["rms_norm_2d.weight"], t["rms_norm_2d.bias"] = x, norm.weight, norm.bias
    t["rms_norm_2d.y"] = norm(x.movedim(1, -1)).movedim(-1, 1)
    # BatchNorm2d in inference mode
    bn = randomize_norms(torch.nn.BatchNorm2d(24, eps=1e-5), 10)
    x = randn((2, 24, 5, 7), 11, 2.0)
    t["batch_norm_2d.x"] = x
    for k in ("weight", "bias", "running_mean", "running_var"):
        t["batch_norm_2d." + k] = getattr(bn, k)
    t["batch_norm_2d.y"] = bn(x)
    # activations that diffusers' get_activation knows beyond silu/relu
    x = randn((1000,), 12, 3.0)
    t["act.x"] = x
    t["act.gelu"], t["act.mish"] = F.gelu(x), F.mish(x)
    t["act.silu"], t["act.relu"] = F.silu(x), F.relu(x)
    # attention kernels, through the diffusers methods, on qkv [B, nh*3d, N]
    attn = SanaMultiscaleLinearAttention(16, 16, attention_head_dim=4, kernel_sizes=(5,))
    for name, N, fn in (("linear_attn", 35, attn.apply_linear_attention),
                        ("quadratic_attn", 4, attn.apply_quadratic_attention)):
        B, nh, d = 2, 3, 4
        qkv = randn((B, nh * 3 * d, N), 14 + N)
        q, k, v = qkv.reshape(B, nh, 3 * d, N).chunk(3, dim=2)
        out = fn(F.relu(q), F.relu(k), v)
        t[name + ".qkv"], t[name + ".y"] = qkv, out.reshape(B, nh * d, N)
        cfg[name] = {"B": B, "heads": nh, "head_dim": d, "N": N, "eps": attn.eps}
    save(t, "ops.safetensors", cfg)


# ---------------------------------------------------------------------------- blocks
def dump_blocks():
    t, cfg = {}, {}

    def add(name, module, x, kwargs):
        module = randomize_norms(module, 100 + len(cfg))
        with torch.no_grad():
            y = module(x)
        for k, v in module.state_dict().items():
            if k.endswith("num_batches_tracked"):
                continue
            t[f"{name}.{k}"] = v
        t[name + ".x"], t[name + ".y"] = x, y
        cfg[name] = kwargs

    def block(name, cls, x, **kw):
        torch.manual_seed(1000 + len(cfg))
        add(name, cls(**kw), x, {"class": cls.__name__, **kw})

    block("resblock_rms", ResBlock, randn((2, 16, 7, 9), 21),
          in_channels=16, out_channels=16, norm_type="rms_norm", act_fn="silu")
    block("resblock_bn", ResBlock, randn((2, 16, 6, 5), 22),
          in_channels=16, out_channels=16, norm_type="batch_norm", act_fn="relu")
    block("glumbconv", GLUMBConv, randn((2, 16, 5, 6), 23),
          in_channels=16, out_channels=16, norm_type="rms_norm")
    block("msla_lin", SanaMultiscaleLinearAttention, randn((2, 32, 6, 7), 24),
          in_channels=32, out_channels=32, attention_head_dim=8, norm_type="rms_norm",
          kernel_sizes=(5,), residual_connection=True)
    block("msla_lin2", SanaMultiscaleLinearAttention, randn((2, 32, 5, 4), 25),
          in_channels=32, out_channels=32, attention_head_dim=8, norm_type="batch_norm",
          kernel_sizes=(3, 5), residual_connection=True)
    # H*W = 6 <= attention_head_dim = 8: diffusers takes the quadratic path
    block("msla_quad", SanaMultiscaleLinearAttention, randn((2, 32, 2, 3), 26),
          in_channels=32, out_channels=32, attention_head_dim=8, norm_type="rms_norm",
          kernel_sizes=(5,), residual_connection=True)
    block("evit", EfficientViTBlock, randn((2, 32, 5, 7), 27),
          in_channels=32, attention_head_dim=8, qkv_multiscales=(5,), norm_type="rms_norm")
    block("evit_noms", EfficientViTBlock, randn((1, 16, 4, 6), 28),
          in_channels=16, attention_head_dim=8, qkv_multiscales=(), norm_type="batch_norm")
    block("up_interp", DCUpBlock2d, randn((2, 32, 3, 5), 29),
          in_channels=32, out_channels=16, interpolate=True, shortcut=True)
    block("up_ps", DCUpBlock2d, randn((2, 32, 3, 5), 30),
          in_channels=32, out_channels=16, interpolate=False, shortcut=True)
    block("up_ps_noshort", DCUpBlock2d, randn((1, 16, 4, 3), 31),
          in_channels=16, out_channels=3, interpolate=False, shortcut=False)
    block("down_conv", DCDownBlock2d, randn((2, 16, 6, 10), 32),
          in_channels=16, out_channels=32, downsample=False, shortcut=True)
    block("down_unshuffle", DCDownBlock2d, randn((2, 16, 6, 10), 33),
          in_channels=16, out_channels=32, downsample=True, shortcut=True)
    block("down_unshuffle_noshort", DCDownBlock2d, randn((1, 3, 8, 6), 34),
          in_channels=3, out_channels=16, downsample=True, shortcut=False)
    save(t, "blocks.safetensors", cfg)


# ---------------------------------------------------------------------------- whole autoencoders
TINY = {
    # Layout of dc-ae-f32c32-sana-1.0 at tiny widths: interpolate up, "Conv" down, several
    # EfficientViT blocks, a stage with two qkv multiscales.
    "dcae-tiny-sana": dict(
        in_channels=3, latent_channels=8, attention_head_dim=8,
        encoder_block_types=["ResBlock", "ResBlock", "ResBlock",
                             "EfficientViTBlock", "EfficientViTBlock", "EfficientViTBlock"],
        decoder_block_types=["ResBlock", "ResBlock", "ResBlock",
                             "EfficientViTBlock", "EfficientViTBlock", "EfficientViTBlock"],
        encoder_block_out_channels=[4, 8, 8, 16, 16, 16],
        decoder_block_out_channels=[4, 8, 8, 16, 16, 16],
        encoder_layers_per_block=[1, 1, 1, 1, 2, 1],
        decoder_layers_per_block=[1, 1, 1, 2, 1, 1],
        encoder_qkv_multiscales=[[], [], [], [5], [3, 5], [5]],
        decoder_qkv_multiscales=[[], [], [], [3, 5], [5], [5]],
        upsample_block_type="interpolate", downsample_block_type="Conv",
        decoder_norm_types="rms_norm", decoder_act_fns="silu", scaling_factor=0.41407),
    # Layout of dc-ae-f32c32-in-1.0 at tiny widths: pixel_shuffle / pixel_unshuffle, no
    # layers in stage 0 (DCDown conv_in, DCUp conv_out), batch_norm + relu stages, EfficientViT
    # blocks without multiscale aggregation, one norm_out in batch_norm.
    "dcae-tiny-in": dict(
        in_channels=3, latent_channels=8, attention_head_dim=8,
        encoder_block_types=["ResBlock", "ResBlock", "ResBlock",
                             "EfficientViTBlock", "EfficientViTBlock", "EfficientViTBlock"],
        decoder_block_types=["ResBlock", "ResBlock", "ResBlock",
                             "EfficientViTBlock", "EfficientViTBlock", "EfficientViTBlock"],
        encoder_block_out_channels=[4, 8, 8, 16, 16, 32],
        decoder_block_out_channels=[4, 8, 8, 16, 16, 32],
        encoder_layers_per_block=[0, 1, 2, 1, 1, 1],
        decoder_layers_per_block=[0, 2, 1, 1, 1, 2],
        encoder_qkv_multiscales=[[], [], [], [], [], []],
        decoder_qkv_multiscales=[[], [], [], [], [], []],
        upsample_block_type="pixel_shuffle", downsample_block_type="pixel_unshuffle",
        decoder_norm_types=["batch_norm", "batch_norm", "batch_norm", "rms_norm", "batch_norm", "rms_norm"],
        decoder_act_fns=["relu", "ReLU", "relu", "silu", "silu", "silu"],
        scaling_factor=0.3189),
    # Per-model strings instead of lists, no in/out shortcuts, all-EfficientViT decoder with
    # batch_norm; H*W <= attention_head_dim at the latent stage: the quadratic attention path.
    "dcae-tiny-noshort": dict(
        in_channels=3, latent_channels=4, attention_head_dim=8,
        encoder_block_types="ResBlock", decoder_block_types="EfficientViTBlock",
        encoder_block_out_channels=[8, 8, 16], decoder_block_out_channels=[8, 8, 16],
        encoder_layers_per_block=[1, 1, 1], decoder_layers_per_block=[1, 1, 2],
        encoder_qkv_multiscales=[[], [], []], decoder_qkv_multiscales=[[3, 5], [], [5]],
        upsample_block_type="pixel_shuffle", downsample_block_type="pixel_unshuffle",
        decoder_norm_types="batch_norm", decoder_act_fns="silu", decoder_conv_act_fn="silu",
        encoder_out_shortcut=False, decoder_in_shortcut=False),
    # Compression 32 like the real model, one image channel to keep the tiled goldens small.
    "dcae-tiny-tile": dict(
        in_channels=1, latent_channels=4, attention_head_dim=8,
        encoder_block_types=["ResBlock", "ResBlock", "ResBlock",
                             "EfficientViTBlock", "EfficientViTBlock", "EfficientViTBlock"],
        decoder_block_types=["ResBlock", "ResBlock", "ResBlock",
                             "EfficientViTBlock", "EfficientViTBlock", "EfficientViTBlock"],
        # 16 channels at full resolution: with 4, the final RMSNorm over channels amplifies
        # float32 rounding (torch float32 itself was 6e-6 away from float64 there).
        encoder_block_out_channels=[16] * 6, decoder_block_out_channels=[16] * 6,
        encoder_layers_per_block=[1, 1, 1, 1, 1, 1], decoder_layers_per_block=[1, 1, 1, 1, 1, 1],
        encoder_qkv_multiscales=[[], [], [], [5], [5], [5]],
        decoder_qkv_multiscales=[[], [], [], [5], [5], [5]],
        upsample_block_type="interpolate", downsample_block_type="Conv",
        decoder_norm_types="rms_norm", decoder_act_fns="silu", scaling_factor=0.41407),
    # Real decoder widths (128, 256: the first two stages of the real model, 32 latent channels,
    # head dim 32) at a small spatial size, bf16 weights (to fit the golden budget; a 512-wide
    # stage would need a 512->256 upsampling conv of 1.2M weights more); a small encoder.
    "dcae-mid": dict(
        in_channels=3, latent_channels=32, attention_head_dim=32,
        encoder_block_types="ResBlock",
        decoder_block_types=["ResBlock", "EfficientViTBlock"],
        encoder_block_out_channels=[16, 32], decoder_block_out_channels=[128, 256],
        encoder_layers_per_block=[1, 1], decoder_layers_per_block=[1, 1],
        encoder_qkv_multiscales=[[], []], decoder_qkv_multiscales=[[], [5]],
        upsample_block_type="interpolate", downsample_block_type="Conv",
        decoder_norm_types="rms_norm", decoder_act_fns="silu", scaling_factor=0.41407),
}


def make_ckpt(name, kwargs, seed, dtype=torch.float32):
    torch.manual_seed(seed)
    ae = randomize_norms(AutoencoderDC(**kwargs), seed)
    path = os.path.join(CKPT, name)
    ae.to(dtype).save_pretrained(path, safe_serialization=True)
    # Reload as diffusers users do: weights upcast to float32.
    ae = AutoencoderDC.from_pretrained(path, torch_dtype=torch.float32).eval()
    with open(os.path.join(path, "config.json")) as f:
        config = json.load(f)
    return ae, config


@torch.no_grad()
def dump_bad_chain():
    """golden/ckpt/dcae-bad-chain: a middle stage without layers between stages of different
    widths. diffusers builds and saves it, but its decode fails in torch; libsana must refuse
    to load it (tests/test-dcae.c)."""
    kw = dict(in_channels=3, latent_channels=4, attention_head_dim=4, encoder_block_out_channels=[4, 8, 16],
              decoder_block_out_channels=[4, 8, 16], encoder_layers_per_block=[1, 1, 1],
              decoder_layers_per_block=[1, 0, 1], encoder_qkv_multiscales=[[], [], []],
              decoder_qkv_multiscales=[[], [], []])
    ae, _ = make_ckpt("dcae-bad-chain", kw, 900)
    try:
        ae.decode(torch.zeros(1, 4, 2, 2))
    except RuntimeError as e:
        print(f"dcae-bad-chain: diffusers decode fails as expected ({str(e).splitlines()[0][:60]}...)")
    else:
        raise SystemExit("dcae-bad-chain: diffusers decoded it; the test premise is wrong")


@torch.no_grad()
def dump_models():
    for seed, (name, kw) in enumerate(TINY.items()):
        dtype = torch.bfloat16 if name == "dcae-mid" else torch.float32
        ae, config = make_ckpt(name, kw, 500 + seed, dtype)
        r = ae.spatial_compression_ratio
        t = {}
        if name == "dcae-tiny-tile":
            # Tiled decode of a 17x15 latent: 2x2 tiles of 16 latents, stride 14, blended over
            # 64 pixels (enable_tiling() defaults). Tiled encode of a 600x540 image: tiles of
            # 512 at stride 448, the edge tiles padded to a multiple of 32.
            z = randn((1, 4, 17, 15), 600)
            x = formula_image(1, 1, 600, 540)
            ae.enable_tiling()
            t["tiled.z"] = z
            t["tiled.img"] = ae.decode(z).sample
            t["tiled.latent"] = ae.encode(x).latent
            ae.disable_tiling()
            t["plain.z"] = randn((1, 4, 2, 3), 601)
            t["plain.img"] = ae.decode(t["plain.z"]).sample
        else:
            B, h, w = {"dcae-tiny-sana": (2, 2, 3), "dcae-tiny-in": (1, 2, 3),
                       "dcae-tiny-noshort": (2, 2, 3), "dcae-mid": (1, 8, 6)}[name]
            z = randn((B, kw["latent_channels"], h, w), 700 + seed)
            t["z"] = z
            t["img"] = ae.decode(z).sample
            x = randn((B, kw["in_channels"], h * r, w * r), 800 + seed, 0.6).clamp(-1, 1)
            t["x"] = x
            t["latent"] = ae.encode(x).latent
        save(t, name + ".safetensors", config)


def write_real_config():
    """golden/dcae/real-sana-config.json: the published config, for the config-reading test."""
    os.makedirs(OUT, exist_ok=True)
    path = os.path.join(OUT, "real-sana-config.json")
    with open(path, "w") as f:
        json.dump({**REAL_SANA_CONFIG, "_diffusers_version": "0.32.0.dev0"}, f, indent=2, sort_keys=True)
        f.write("\n")
    print(f"wrote {path}")


@torch.no_grad()
def real_ckpt(out_dir):
    torch.manual_seed(0)
    cfg = {k: v for k, v in REAL_SANA_CONFIG.items() if not k.startswith("_")}
    ae = randomize_norms(AutoencoderDC(**cfg), 0)
    ae.save_pretrained(out_dir, safe_serialization=True)
    n = sum(p.numel() for p in ae.parameters())
    print(f"wrote {out_dir} ({n} parameters)")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--real-ckpt", metavar="DIR", help="only write the random real-config checkpoint to DIR")
    args = ap.parse_args()
    torch.set_num_threads(max(1, min(2, os.cpu_count() or 1)))
    if args.real_ckpt:
        real_ckpt(args.real_ckpt)
        return 0
    write_real_config()
    dump_ops()
    dump_blocks()
    dump_models()
    dump_bad_chain()
    return 0


if __name__ == "__main__":
    sys.exit(main())
