#!/usr/bin/env python3
"""Goldens of image input: PNG files of every kind, what diffusers' load_image makes of them, PIL's
Lanczos resize, and VaeImageProcessor.preprocess.

Writes golden/image/*.png (the test files, written by the small encoder below so that every bit
depth, colour type, filter, Adam7 and chunk placement is exercised) and golden/image/image.safetensors[.gz]:
  <case>.rgb         U8 [H, W, 3]: np.asarray(diffusers.utils.load_image("image/<case>.png"))
                     (PIL.Image.open, ImageOps.exif_transpose, convert("RGB"))
  resize.src         U8 [48, 64, 3]: the source of the resizes
  resize.<w>x<h>     U8 [h, w, 3]: Image.fromarray(src).resize((w, h), resample=Image.LANCZOS)
  pre.rgb            U8: the image given to preprocess (load_image("image/rgb8-64x48.png"))
  pre.args           I64 [3]: height, width asked, vae_scale_factor
  pre.out            F32 [1, 3, h, w]: VaeImageProcessor(vae_scale_factor=32).preprocess(image, height, width)
  norm.lut           F32 [256]: VaeImageProcessor.normalize(pil_to_numpy(image of the values 0..255))
Every case is checked bit for bit by tests/test-image.c.
"""
import json
import os
import struct
import zlib

import numpy as np
import PIL
import torch
from PIL import Image
from diffusers.image_processor import VaeImageProcessor
from diffusers.utils import load_image

from common import GOLDEN_DIR, save

OUT = os.path.join(GOLDEN_DIR, "image")
rng = np.random.default_rng(2024)

# ------------------------------------------------------------------ a small PNG encoder
ADAM7 = [(0, 0, 8, 8), (4, 0, 8, 8), (0, 4, 4, 8), (2, 0, 4, 4), (0, 2, 2, 4), (1, 0, 2, 2), (0, 1, 1, 2)]
CHANNELS = {0: 1, 2: 3, 3: 1, 4: 2, 6: 4}


def chunk(kind, data):
    body = kind + data
    return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body) & 0xFFFFFFFF)


def pack_rows(samples, depth):
    """samples [h, w, c] integers -> one byte string per row (MSB-first bit packing below 8 bits)."""
    rows = []
    for y in range(samples.shape[0]):
        s = samples[y].reshape(-1)
        if depth == 16:
            rows.append(s.astype(">u2").tobytes())
        elif depth == 8:
            rows.append(s.astype(np.uint8).tobytes())
        else:
            per = 8 // depth
            out = bytearray((len(s) + per - 1) // per)
            for i, v in enumerate(s):
                out[i // per] |= int(v) << (8 - depth * (i % per + 1))
            rows.append(bytes(out))
    return rows


def paeth(a, b, c):
    p = a + b - c
    pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
    if pa <= pb and pa <= pc:
        return a
    return b if pb <= pc else c


def filter_rows(rows, bpp):
    """Each row with the next of the five filters in turn (None, Sub, Up, Average, Paeth)."""
    out = bytearray()
    prev = bytes(len(rows[0]))
    for i, row in enumerate(rows):
        ft = i % 5
        out.append(ft)
        for x in range(len(row)):
            a = row[x - bpp] if x >= bpp else 0
            b = prev[x]
            c = prev[x - bpp] if x >= bpp else 0
            pred = (0, a, b, (a + b) // 2, paeth(a, b, c))[ft]
            out.append((row[x] - pred) & 0xFF)
        prev = row
    return bytes(out)


def encode(samples, depth, ctype, palette=None, trns=None, interlace=False, before=(), after=()):
    """samples [h, w, channels] (palette indices for ctype 3); before/after: (kind, data) chunks
    placed before / after the image data."""
    h, w, c = samples.shape
    assert c == CHANNELS[ctype]
    bpp = max(1, depth * c // 8)
    if interlace:
        raw = b"".join(filter_rows(pack_rows(samples[y0::dy, x0::dx], depth), bpp)
                       for x0, y0, dx, dy in ADAM7 if samples[y0::dy, x0::dx].size)
    else:
        raw = filter_rows(pack_rows(samples, depth), bpp)
    png = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, depth, ctype, 0, 0, int(interlace)))
    for kind, data in before:
        png += chunk(kind, data)
    if palette is not None:
        png += chunk(b"PLTE", np.asarray(palette, dtype=np.uint8).tobytes())
    if trns is not None:
        png += chunk(b"tRNS", trns)
    z = zlib.compress(raw, 9)
    png += chunk(b"IDAT", z[: len(z) // 2]) + chunk(b"IDAT", z[len(z) // 2:])  # split, as encoders do
    for kind, data in after:
        png += chunk(kind, data)
    return png + chunk(b"IEND", b"")


def exif(value, endian="MM", kind=3):
    """A TIFF block with IFD0 holding one Orientation entry (SHORT, or LONG when kind=4)."""
    e = ">" if endian == "MM" else "<"
    val = struct.pack(e + "HH", value, 0) if kind == 3 else struct.pack(e + "I", value)
    return (endian.encode() + struct.pack(e + "HI", 42, 8) + struct.pack(e + "H", 1)
            + struct.pack(e + "HHI", 0x0112, kind, 1) + val + struct.pack(e + "I", 0))


def xmp(value):
    return (b"XML:com.adobe.xmp\0\0\0\0\0<x:xmpmeta><rdf:Description tiff:Orientation=\"%d\"/>"
            b"</x:xmpmeta>" % value)


def raw_profile(block):
    h = block.hex()
    text = "\nexif\n%8d\n" % len(block) + "\n".join(h[i:i + 72] for i in range(0, len(h), 72)) + "\n"
    return b"Raw profile type exif\0" + text.encode()


# ------------------------------------------------------------------ the cases
def rand(h, w, c, top):
    return rng.integers(0, top, (h, w, c))


def cases():
    """(name, png bytes)."""
    W, H = 23, 17
    out = []
    for d in (1, 2, 4, 8):
        out.append((f"gray{d}", encode(rand(H, W, 1, 2 ** d), d, 0)))
    g = rand(H, W, 1, 256)
    out.append(("gray8-trns", encode(g, 8, 0, trns=struct.pack(">H", int(g[0, 0, 0])))))
    # 16-bit gray: half the pixels small (Pillow keeps them), half anywhere (Pillow clips to 255)
    g16 = np.where(rand(H, W, 1, 2) == 1, rand(H, W, 1, 512), rand(H, W, 1, 65536))
    out.append(("gray16", encode(g16, 16, 0, trns=struct.pack(">H", 300))))
    out.append(("ga8", encode(rand(H, W, 2, 256), 8, 4)))
    out.append(("ga16", encode(rand(H, W, 2, 65536), 16, 4)))
    c = rand(H, W, 3, 256)
    out.append(("rgb8", encode(c, 8, 2)))
    out.append(("rgb8-trns", encode(c, 8, 2, trns=struct.pack(">HHH", *map(int, c[1, 1])))))
    out.append(("rgb16", encode(rand(H, W, 3, 65536), 16, 2)))
    out.append(("rgba8", encode(rand(H, W, 4, 256), 8, 6)))
    out.append(("rgba16", encode(rand(H, W, 4, 65536), 16, 6)))
    for d in (1, 2, 4):
        out.append((f"pal{d}", encode(rand(H, W, 1, 2 ** d), d, 3, palette=rand(2 ** d, 1, 3, 256)[:, 0])))
    out.append(("pal8-trns", encode(rand(H, W, 1, 256), 8, 3, palette=rand(256, 1, 3, 256)[:, 0],
                                    trns=bytes(rand(100, 1, 1, 256).reshape(-1).astype(np.uint8)))))
    # PLTE of 7 entries, indices up to 15: the missing entries are black
    out.append(("pal8-short", encode(rand(H, W, 1, 16), 8, 3, palette=rand(7, 1, 3, 256)[:, 0])))
    out.append(("rgb8-adam7", encode(rand(19, 31, 3, 256), 8, 2, interlace=True)))
    out.append(("pal2-adam7", encode(rand(19, 31, 1, 4), 2, 3, palette=rand(4, 1, 3, 256)[:, 0], interlace=True)))
    out.append(("ga16-adam7", encode(rand(5, 3, 2, 65536), 16, 4, interlace=True)))
    # orientation: a 7x5 RGB image
    o = rand(5, 7, 3, 256)
    for v in range(1, 10):
        out.append((f"exif{v}", encode(o, 8, 2, before=[(b"eXIf", exif(v))])))
    out.append(("exif6-late", encode(o, 8, 2, after=[(b"eXIf", exif(6))])))
    out.append(("exif8-prefixed", encode(o, 8, 2, before=[(b"eXIf", b"Exif\0\0" + exif(8))])))
    out.append(("exif5-II-long", encode(o, 8, 2, before=[(b"eXIf", exif(5, "II", 4))])))
    out.append(("exif-last-wins", encode(o, 8, 2, before=[(b"eXIf", exif(6))], after=[(b"eXIf", exif(3))])))
    out.append(("xmp6", encode(o, 8, 2, before=[(b"iTXt", xmp(6))])))
    out.append(("exif1-xmp6", encode(o, 8, 2, before=[(b"eXIf", exif(1)), (b"iTXt", xmp(6))])))
    out.append(("rawprofile7", encode(o, 8, 2, before=[(b"tEXt", raw_profile(b"Exif\0\0" + exif(7)))])))
    # 16-bit gray with orientation, to see the conversion and the transposition together
    out.append(("gray16-exif6", encode(rand(3, 4, 1, 400), 16, 0, after=[(b"eXIf", exif(6))])))
    # the source of the resizes and of preprocess: smooth gradients plus noise, with clipping at both ends
    yy, xx = np.mgrid[0:48, 0:64]
    base = np.stack([xx * 4, yy * 5, (xx + yy) * 2.3], axis=-1)
    src = np.clip(base + rng.normal(0, 40, base.shape), 0, 255).astype(np.uint8)
    out.append(("rgb8-64x48", encode(src, 8, 2)))
    return out


def main():
    os.makedirs(OUT, exist_ok=True)
    t = {}
    names = []
    for name, png in cases():
        path = os.path.join(OUT, name + ".png")
        with open(path, "wb") as f:
            f.write(png)
        img = load_image(path)
        arr = np.asarray(img).copy()
        assert arr.dtype == np.uint8 and arr.shape[2] == 3
        t[name + ".rgb"] = torch.from_numpy(arr)
        names.append(name)
    src = t["rgb8-64x48.rgb"].numpy()
    t["resize.src"] = torch.from_numpy(src.copy())
    # Pillow 13 runs the vertical pass first when the height loses more than twice as many pixels as
    # the width: (128, 20), (60, 20), (100, 47), (55, 29) do; (54, 28) sits on the boundary and does not
    sizes = [(23, 17), (40, 48), (64, 31), (64, 48), (100, 70), (5, 3), (1, 1), (128, 20), (37, 96), (63, 47),
             (60, 20), (100, 47), (54, 28), (55, 29)]
    pil = Image.fromarray(src)
    for w, h in sizes:
        r = pil.resize((w, h), resample=Image.LANCZOS)
        t[f"resize.{w}x{h}"] = torch.from_numpy(np.asarray(r).copy())
    # preprocess as SanaControlNetPipeline / SanaSprintImg2ImgPipeline call it (vae_scale_factor 32)
    proc = VaeImageProcessor(vae_scale_factor=32)
    pre_img = load_image(os.path.join(OUT, "rgb8-64x48.png"))
    height, width = 40, 70
    t["pre.rgb"] = torch.from_numpy(np.asarray(pre_img).copy())
    t["pre.args"] = torch.tensor([height, width, 32], dtype=torch.int64)
    t["pre.out"] = proc.preprocess(pre_img, height=height, width=width).contiguous()
    lut_img = Image.fromarray(np.repeat(np.arange(256, dtype=np.uint8).reshape(16, 16, 1), 3, axis=2))
    t["norm.lut"] = VaeImageProcessor.normalize(VaeImageProcessor.numpy_to_pt(VaeImageProcessor.pil_to_numpy(lut_img)))[0, 0].reshape(-1).contiguous()
    config = {"pillow": PIL.__version__, "numpy": np.__version__, "cases": names,
              "resize_sizes": sizes, "resample": "LANCZOS"}
    save("image/image.safetensors", t, __file__, config)


if __name__ == "__main__":
    main()
