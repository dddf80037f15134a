#!/usr/bin/env python3
"""bench/quantize.py -- what `--quantize` costs and gains, measured: for each choice (none, int8 and q4
on the transformer, the text encoder, both) one `sana generate` on the same checkpoint, prompt and
seed, with the time of each phase, the peak RSS, and the quality against float32 (the `none` run):
the relative error of the final latents (max |d| / max |ref| and RMS) and the PSNR of the decoded
image. Optionally diffusers float32 in the same run for the ratios. Not a test: doc/quantization.md
holds its output.

    bench/quantize.py BUILD_DIR --ckpt DIR [--steps 20] [--size 512] [--threads N] [--diffusers]
                      [--choices none,transformer=int8,...] [--backend cpu]

Each choice is one whole generation to a PNG (times, peak RSS, PSNR); with --latents a second run with
`--output-type latent` gives the latents' error. The VAE stays float32 in every choice.
"""
import argparse
import os
import re
import subprocess
import sys
import tempfile

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import compare  # noqa: E402  (run, diffusers, PROMPTS)

CHOICES = ["none", "transformer=int8", "text_encoder=int8", "int8", "transformer=q4", "text_encoder=q4", "q4"]


def read_latents(path):
    from safetensors.numpy import load_file
    return load_file(path)["latents"].astype(np.float64)


def read_png(path):
    from PIL import Image
    return np.asarray(Image.open(path).convert("RGB")).astype(np.float64)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("build")
    ap.add_argument("--ckpt", required=True)
    ap.add_argument("--steps", type=int, default=20)
    ap.add_argument("--size", type=int, default=512)
    ap.add_argument("--threads", type=int, default=os.cpu_count())
    ap.add_argument("--backend", default="cpu")
    ap.add_argument("--choices", default=",".join(CHOICES))
    ap.add_argument("--prompt", default=compare.PROMPTS[0])
    ap.add_argument("--diffusers", action="store_true")
    ap.add_argument("--latents", action="store_true", help="also a --output-type latent run per choice, for the "
                    "latents' error (twice the time)")
    a = ap.parse_args()
    sana = os.path.join(os.path.abspath(a.build), "src", "sana")
    env = dict(os.environ, OMP_NUM_THREADS=str(a.threads))
    tmp = tempfile.mkdtemp(prefix="sana-quantize-")
    cpu = open("/proc/cpuinfo").read()
    model = re.search(r"model name\s*: (.*)", cpu).group(1)
    flags = [f for f in ("avx2", "fma", "avx512f", "avx512_vnni") if re.search(rf"\b{f}\b", cpu)]
    print(f"== {model}, {os.cpu_count()} cores, flags {' '.join(flags)}; {a.threads} threads; {a.ckpt} at "
          f"{a.size}x{a.size}, {a.steps} steps, CFG 4.5, backend {a.backend}", flush=True)
    subprocess.run(["make", "-s", "-C", a.build, "bench/q8_bench"], check=True)  # int8 vs sgemm at the shapes
    out, _, _ = compare.run([os.path.join(a.build, "bench", "q8_bench"), str(a.threads)], env)
    print(out, end="", flush=True)
    res = {}
    for q in a.choices.split(","):
        lat, png = os.path.join(tmp, f"{q}.safetensors"), os.path.join(tmp, f"{q}.png")
        base = [sana, "generate", "-m", a.ckpt, "-p", a.prompt, "-s", "42", "--steps", str(a.steps), "-H",
                str(a.size), "-W", str(a.size), "--threads", str(a.threads), "--backend", a.backend, "--quantize", q]
        print(f"== --quantize {q}", flush=True)
        log, total, rss = compare.run(base + ["-o", png], env)
        steps = [float(m[2]) for m in re.findall(r"step (\d+)/(\d+): ([0-9.]+) s/it", log) if m[0] == m[1]]
        num = lambda pat: float(re.search(pat, log).group(1))
        r = dict(load=num(r"load: .*: ([0-9.]+) s"), prepared=num(r"prepared weights ([0-9.]+) MiB"),
                 encode=num(r"encode: ([0-9.]+) s"), step=steps[-1], decode=num(r"decode: ([0-9.]+) s"), total=total,
                 rss=rss, img=read_png(png))
        if a.latents:
            compare.run(base + ["--output-type", "latent", "-o", lat], env)
            r["lat"] = read_latents(lat)
        res[q] = r
    ref = res.get("none")
    dref = None
    if a.diffusers:
        print("== diffusers float32", flush=True)
        dref = compare.diffusers(a.ckpt, a.size, a.steps, a.threads)
    print()
    head = "| --quantize | load (s) | prepared (MiB) | encode (s) | step (s/it) | decode (s) | whole (s) |"
    head += " peak RSS (MiB) | latents max rel | latents RMS rel | PSNR (dB) |"
    if dref:
        head += " step / diffusers | RSS / diffusers |"
    print(head)
    print("|" + "---|" * (head.count("|") - 1))
    for q, r in res.items():
        row = [q, f"{r['load']:.1f}", f"{r['prepared']:.0f}", f"{r['encode']:.2f}", f"{r['step']:.2f}",
               f"{r['decode']:.2f}", f"{r['total']:.1f}", f"{r['rss']:.0f}"]
        if ref is not None and q != "none":
            if "lat" in r:
                d = r["lat"] - ref["lat"]
                row += [f"{np.abs(d).max() / np.abs(ref['lat']).max():.2e}",
                        f"{np.sqrt(np.mean(d ** 2)) / np.sqrt(np.mean(ref['lat'] ** 2)):.2e}"]
            else:
                row += ["-", "-"]
            mse = np.mean((r["img"] - ref["img"]) ** 2)
            row += ["inf" if mse == 0 else f"{10 * np.log10(255 ** 2 / mse):.1f}"]
        else:
            row += ["-", "-", "-"]
        if dref:
            row += [f"{r['step'] / dref['step']:.2f}", f"{r['rss'] / dref['rss']:.2f}"]
        print("| " + " | ".join(row) + " |")
    if dref:
        print(f"\ndiffusers float32: step {dref['step']:.2f} s/it, peak RSS {dref['rss']:.0f} MiB, "
              f"encode {dref['encode']:.2f} s, whole {dref['total']:.1f} s")


if __name__ == "__main__":
    main()
