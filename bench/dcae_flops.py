#!/usr/bin/env python3
"""bench/dcae_flops.py -- stages, shapes and FLOPs of an AutoencoderDC decode (for doc/dcae.md).

Counts multiply-adds as 2 FLOPs, following the structure diffusers v0.35.2 builds from a
config.json (Decoder.__init__): convolutions, the to_q/k/v/out projections, multi-scale
aggregation, linear attention (padded trick: (d+1) x d x N twice per head), GLUMBConv.
Elementwise work (norms, activations, shortcuts) is listed separately; it is < 1 % here.

    python3 bench/dcae_flops.py golden/dcae/real-sana-config.json 1024 1024
    python3 bench/dcae_flops.py golden/dcae/real-sana-config.json 512 512 --convs

--convs: the dense 3x3 convolutions instead, grouped by shape (Cin -> Cout at the output size)
with their share of the decode's FLOPs: the shapes a convolution kernel must be fast at.
"""
import json
import sys


def decode_flops(cfg, H, W):
    r = 2 ** (len(cfg["encoder_block_out_channels"]) - 1)
    ch = cfg["decoder_block_out_channels"]
    nl = cfg["decoder_layers_per_block"]
    n = len(ch)
    types = cfg["decoder_block_types"]
    types = [types] * n if isinstance(types, str) else types
    ms = cfg["decoder_qkv_multiscales"]
    d = cfg["attention_head_dim"]
    lat = cfg["latent_channels"]
    interp = cfg.get("upsample_block_type", "pixel_shuffle") == "interpolate"
    h, w = H // r, W // r
    rows = []
    conv = lambda cin, cout, k, hw: 2 * cin * cout * k * k * hw

    rows.append(("conv_in", f"[1, {lat}, {h}, {w}] -> [1, {ch[-1]}, {h}, {w}]", conv(lat, ch[-1], 3, h * w)))
    for i in reversed(range(n)):
        if i < n - 1 and nl[i] > 0:
            h, w = 2 * h, 2 * w
            cin, cout = ch[i + 1], ch[i]
            f = conv(cin, cout, 3, h * w) if interp else conv(cin, 4 * cout, 3, h * w // 4)
            rows.append((f"up_blocks.{i}.0 DCUpBlock2d", f"[1, {cin}, {h // 2}, {w // 2}] -> [1, {cout}, {h}, {w}]", f))
        C, N = ch[i], h * w
        for l in range(nl[i]):
            if types[i] == "ResBlock":
                f = 2 * conv(C, C, 3, N)
                kind = "ResBlock"
            else:
                S = len(ms[i])
                heads = C // d
                inner = heads * d
                f = 3 * 2 * C * inner * N                                   # to_q, to_k, to_v
                f += S * (2 * 3 * inner * sum(k * k for k in ms[i]) // max(S, 1) * N + 2 * 3 * inner * d * N)
                f += (1 + S) * heads * 4 * (d + 1) * d * N                  # linear attention
                f += 2 * inner * (1 + S) * C * N                            # to_out
                f += 2 * C * 8 * C * N + 2 * 8 * C * 9 * N + 2 * 4 * C * C * N  # GLUMBConv
                kind = "EfficientViTBlock"
            rows.append((f"up_blocks.{i}.{l + (1 if i < n - 1 and nl[i] > 0 else 0)} {kind}",
                         f"[1, {C}, {h}, {w}]", f))
    c0 = ch[0] if nl[0] > 0 else ch[1]
    if nl[0] > 0:
        rows.append(("norm_out, relu, conv_out", f"[1, {c0}, {h}, {w}] -> [1, 3, {h}, {w}]", conv(c0, 3, 3, h * w)))
    else:
        rows.append(("norm_out, relu, conv_out (DCUp)", f"[1, {c0}, {h}, {w}] -> [1, 3, {2 * h}, {2 * w}]",
                     conv(c0, 12, 3, h * w)))
    return rows


def conv3_shapes(cfg, H, W):
    """The decoder's dense 3x3 convolutions: {(cin, cout, h, w): count} (ResBlocks, DCUpBlock2d, conv_in/out)."""
    r = 2 ** (len(cfg["encoder_block_out_channels"]) - 1)
    ch, nl = cfg["decoder_block_out_channels"], cfg["decoder_layers_per_block"]
    n = len(ch)
    types = cfg["decoder_block_types"]
    types = [types] * n if isinstance(types, str) else types
    interp = cfg.get("upsample_block_type", "pixel_shuffle") == "interpolate"
    h, w = H // r, W // r
    out = {}
    add = lambda k: out.__setitem__(k, out.get(k, 0) + 1)
    add((cfg["latent_channels"], ch[-1], h, w))
    for i in reversed(range(n)):
        if i < n - 1 and nl[i] > 0:
            h, w = 2 * h, 2 * w
            add((ch[i + 1], ch[i], h, w) if interp else (ch[i + 1], 4 * ch[i], h // 2, w // 2))
        if types[i] == "ResBlock":
            for _ in range(2 * nl[i]):
                add((ch[i], ch[i], h, w))
    add((ch[0] if nl[0] > 0 else ch[1], 3, h, w))
    return out


def main():
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    path = args[0] if args else "golden/dcae/real-sana-config.json"
    H = int(args[1]) if len(args) > 1 else 1024
    W = int(args[2]) if len(args) > 2 else H
    cfg = json.load(open(path))
    rows = decode_flops(cfg, H, W)
    total = sum(f for _, _, f in rows)
    if "--convs" in sys.argv:
        convs = conv3_shapes(cfg, H, W)
        print("| 3x3 conv | output | count | GFLOP | share of the decode |\n|---|---|---:|---:|---:|")
        for (ci, co, h, w), k in sorted(convs.items(), key=lambda kv: -kv[1] * kv[0][0] * kv[0][1] * kv[0][2] * kv[0][3]):
            f = k * 2 * ci * co * 9 * h * w
            print(f"| {ci} -> {co} | {h}x{w} | {k} | {f / 1e9:.1f} | {100 * f / total:.1f} % |")
        return
    print(f"| layer | shape | GFLOP |\n|---|---|---:|")
    for name, shape, f in rows:
        print(f"| {name} | {shape} | {f / 1e9:.1f} |")
    print(f"| **total** | {H}x{W} decode | **{total / 1e9:.0f}** |")


if __name__ == "__main__":
    main()
