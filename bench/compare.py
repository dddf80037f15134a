#!/usr/bin/env python3
"""bench/compare.py -- libsana (each backend) against diffusers float32 on the same full-size
random-weight checkpoint, in the same run, phase by phase, with the matrix-multiply bound measured
in that run. Not a test: it takes minutes and gigabytes; doc/performance.md holds its output.

    bench/compare.py BUILD_DIR [--config 600m-512|600m-1024|1600m-1024] [--ckpt DIR] [--size PX]
                     [--steps N] [--threads N] [--backends ref,cpu] [--no-diffusers] [--low-memory]
                     [--rounds N]

What it does, in order (one process at a time, so nothing shares the cores):
  1. makes the checkpoint once (bench/generate_ckpt.py) unless it exists;
  2. measures cblas_sgemm GFLOP/s at SANA's shapes (bench/sgemm_bench, the same BLAS libsana links);
  3. before each timed process, reads the whole checkpoint once (every process starts with it in the
     page cache); with --rounds N, steps 4 and 5 alternate N times and each phase is the best of
     the N on each side (this 2-core VM's speed drifts by up to 17% over minutes);
  4. runs `sana generate` for each backend on two prompts (--prompt-file: the model is loaded once,
     so the second prompt shows the per-prompt cost of a serving process), then once more with
     --low-memory on the last backend when asked;
  5. runs diffusers' SanaPipeline in float32 (bench/generate_diffusers.py --fp32);
  6. prints each phase's seconds, the ratio against diffusers, the FLOPs of the phase, the time
     those FLOPs take at the measured sgemm rate (the bound) and the share of the bound reached.
Peak RSS is each process's own (wait4).
"""
import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
PROMPTS = ["a lighthouse on a cliff at sunset, oil painting", "a red fox in the snow, watercolor"]


def run(cmd, env=None):
    """Run cmd; return (combined output, seconds, peak RSS in MiB of that process)."""
    t0 = time.time()
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env, text=True)
    out = p.stdout.read()
    _, status, ru = os.wait4(p.pid, 0)
    p.returncode = os.waitstatus_to_exitcode(status)
    if p.returncode:
        sys.exit(f"compare.py: {' '.join(cmd)} failed ({p.returncode}):\n{out[-3000:]}")
    return out, time.time() - t0, ru.ru_maxrss / 1024


def warm_page_cache(ckpt):
    """Read every file of the checkpoint once, so that each timed process starts with all of it in
    the page cache: neither side's first read of a model then depends on what ran before (without
    this, libsana, which runs first and maps its weights lazily, paid the disk read of the text
    encoder in its first encode, while diffusers read the same files from the cache in its load)."""
    t0, n = time.time(), 0
    for root, _, files in os.walk(ckpt):
        for name in files:
            with open(os.path.join(root, name), "rb") as f:
                while True:
                    b = f.read(1 << 24)
                    if not b:
                        break
                    n += len(b)
    print(f"page cache warmed: {n / 2**30:.2f} GiB read in {time.time() - t0:.1f} s", flush=True)


def sgemm_bound(build, threads):
    subprocess.run(["make", "-s", "-C", build, "bench/sgemm_bench"], check=True)
    out, _, _ = run([os.path.join(build, "bench", "sgemm_bench"), str(threads)])
    print(out, end="")
    return float(re.search(r"sgemm bound: ([0-9.]+)", out).group(1))


def sana(build, ckpt, backend, size, steps, threads, prompt_file, low_memory):
    cmd = [os.path.join(build, "src", "sana"), "generate", "-m", ckpt, "--prompt-file", prompt_file, "-s", "42",
           "--steps", str(steps), "-H", str(size), "-W", str(size), "--threads", str(threads), "--backend", backend,
           "-o", os.path.join(tempfile.gettempdir(), f"sana-compare-{backend}.png")]
    if low_memory:
        cmd.append("--low-memory")
    out, total, rss = run(cmd, dict(os.environ, OMP_NUM_THREADS=str(threads)))
    enc = [float(x) for x in re.findall(r"encode: ([0-9.]+) s", out)]
    # the last progress line of each prompt holds its mean s/it
    steps_per = [float(m[2]) for m in re.findall(r"step (\d+)/(\d+): ([0-9.]+) s/it", out) if m[0] == m[1]]
    dec = [float(x) for x in re.findall(r"decode: ([0-9.]+) s", out)]
    load = float(re.search(r"load: .*: ([0-9.]+) s", out).group(1))
    return dict(load=load, encode=enc[0], encode_next=enc[-1], step=steps_per[0], decode=dec[0], total=total,
                rss=rss, log=out)


def diffusers(ckpt, size, steps, threads):
    cmd = [sys.executable, os.path.join(HERE, "generate_diffusers.py"), ckpt, PROMPTS[0], "42", str(steps),
           str(size), "--fp32", "--second-prompt", PROMPTS[1]]
    out, total, rss = run(cmd, dict(os.environ, OMP_NUM_THREADS=str(threads)))
    num = lambda pat: float(re.search(pat, out).group(1))
    return dict(load=num(r"diffusers load.*?: ([0-9.]+) s"), encode=num(r"diffusers encode .*?: ([0-9.]+) s"),
                encode_next=num(r"diffusers encode, second prompt: ([0-9.]+) s"),
                step=num(r"x ([0-9.]+) s/it"), decode=num(r"decode\+postprocess: ([0-9.]+)"),
                total=total, rss=rss, tokens=int(num(r"prompt tokens: ([0-9]+)")), log=out)


def dit_flops(cfg, size):
    """FLOPs of one CFG step (batch 2) that must be computed: every matrix product of the blocks,
    the caption's k and v excluded (the same at every step)."""
    D = cfg["num_attention_heads"] * cfg["attention_head_dim"]
    N = (size // 32 // cfg["patch_size"]) ** 2
    Hd = int(cfg["mlp_ratio"] * D)
    L = 300
    Dc = cfg["num_cross_attention_heads"] * cfg["cross_attention_head_dim"]
    d = cfg["attention_head_dim"]
    block = 2 * N * D * D * 4                      # attn1 q, k, v, out
    block += 4 * N * D * (d + 1)                   # linear attention: k^T v and q (k^T v), padded
    block += 2 * N * D * Dc * 2 + 4 * N * L * Dc   # attn2 q, out; q k^T and p v over 300 keys
    block += 2 * N * D * 2 * Hd + 2 * 9 * N * 2 * Hd + 2 * N * Hd * D  # GLUMBConv
    return 2 * cfg["num_layers"] * block


def gemma_flops(cfg, tokens):
    """FLOPs of the text encoder on the real tokens only (prompt with the instruction, and the
    1-token negative prompt): 2 x parameters x tokens plus causal attention."""
    H, I, nl = cfg["hidden_size"], cfg["intermediate_size"], cfg["num_hidden_layers"]
    q, kv = cfg["num_attention_heads"] * cfg["head_dim"], cfg["num_key_value_heads"] * cfg["head_dim"]
    per_tok = nl * (2 * H * (q + 2 * kv) + 2 * q * H + 2 * 3 * H * I)
    att = nl * 2 * cfg["num_attention_heads"] * cfg["head_dim"] * tokens * tokens  # causal: half of 4 T^2
    return per_tok * (tokens + 1) + att


def dcae_flops(cfg, size):
    sys.path.insert(0, HERE)
    from dcae_flops import decode_flops
    return sum(f for _, _, f in decode_flops(cfg, size, size))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("build")
    ap.add_argument("--config", default="600m-512")
    ap.add_argument("--ckpt")
    ap.add_argument("--size", type=int)
    ap.add_argument("--steps", type=int, default=20)
    ap.add_argument("--threads", type=int, default=os.cpu_count())
    ap.add_argument("--backends", default="ref,cpu")
    ap.add_argument("--no-diffusers", action="store_true")
    ap.add_argument("--low-memory", action="store_true")
    ap.add_argument("--rounds", type=int, default=1)
    a = ap.parse_args()
    build = os.path.abspath(a.build)
    ckpt = a.ckpt or f"/tmp/sana-{a.config}-random"
    size = a.size or int(a.config.split("-")[1])
    if not os.path.exists(os.path.join(ckpt, "model_index.json")):
        print(f"making the random {a.config} checkpoint in {ckpt} (once)", flush=True)
        subprocess.run([sys.executable, os.path.join(HERE, "generate_ckpt.py"), ckpt, a.config], check=True)
    cpu = open("/proc/cpuinfo").read()
    model = re.search(r"model name\s*: (.*)", cpu).group(1)
    flags = [f for f in ("avx2", "fma", "avx512f") if re.search(rf"\b{f}\b", cpu)]
    print(f"== {model}, {os.cpu_count()} cores, flags {' '.join(flags)}; {a.threads} threads; "
          f"{a.config} at {size}x{size}, {a.steps} steps, CFG 4.5", flush=True)
    bound = sgemm_bound(build, a.threads)

    with tempfile.NamedTemporaryFile("w", suffix=".txt", delete=False) as f:
        f.write("\n".join(PROMPTS) + "\n")
        prompt_file = f.name
    runs = {}  # name -> the results of each round
    for rnd in range(a.rounds):
        tag = f" (round {rnd + 1} of {a.rounds})" if a.rounds > 1 else ""
        if rnd > 0:  # the bound too is the best of the rounds
            bound = max(bound, sgemm_bound(build, a.threads))
        for b in a.backends.split(","):
            print(f"== libsana --backend {b}{tag}", flush=True)
            warm_page_cache(ckpt)
            runs.setdefault(b, []).append(sana(build, ckpt, b, size, a.steps, a.threads, prompt_file, False))
        if a.low_memory:
            b = a.backends.split(",")[-1]
            print(f"== libsana --backend {b} --low-memory{tag}", flush=True)
            warm_page_cache(ckpt)
            runs.setdefault(b + " low-mem", []).append(
                sana(build, ckpt, b, size, a.steps, a.threads, prompt_file, True))
        if not a.no_diffusers:
            print(f"== diffusers float32{tag}", flush=True)
            warm_page_cache(ckpt)
            runs.setdefault("diffusers f32", []).append(diffusers(ckpt, size, a.steps, a.threads))
    os.unlink(prompt_file)
    # each phase: the best of the rounds, on every side alike (the rounds alternate the sides, so a
    # machine whose speed drifts over minutes slows both)
    res = {n: {k: (min(x[k] for x in rs) if isinstance(rs[0][k], float) else rs[0][k]) for k in rs[0]}
           for n, rs in runs.items()}
    ref = res.get("diffusers f32")

    # one generation from the phases, the same sum on both sides (the whole-process row is not comparable:
    # libsana's process makes two images, diffusers' one image and a second encode)
    for r in res.values():
        r["gen"] = r["load"] + r["encode"] + a.steps * r["step"] + r["decode"]
    cfg = lambda c: json.load(open(os.path.join(ckpt, c, "config.json")))
    tokens = ref["tokens"] if ref else 220
    fl = dict(encode=gemma_flops(cfg("text_encoder"), tokens), step=dit_flops(cfg("transformer"), size),
              decode=dcae_flops(cfg("vae"), size))
    fl["encode_next"] = fl["encode"]
    phases = [("encode", "encode, first prompt (s)"), ("encode_next", "encode, next prompt (s)"),
              ("step", "denoising step (s/it)"), ("decode", "DC-AE decode (s)"),
              ("gen", "one generation: load + encode + steps + decode (s)"),
              ("total", "whole process (s; libsana: 2 images, diffusers: 1 image + an encode)"),
              ("rss", "peak RSS (MiB)")]
    names = list(res)
    print(f"\nsgemm bound {bound:.1f} GFLOP/s; prompt tokens (with the instruction) {tokens}"
          + (f"; each phase the best of {a.rounds} alternating rounds" if a.rounds > 1 else "") + "\n")
    print("| phase | " + " | ".join(names) + (" | ratio " + " | ratio ".join(n for n in names if n != "diffusers f32")
                                                 if ref else "") + " | GFLOP | bound (s) | best share of bound |")
    print("|---" * (len(names) + (len(names) - 1 if ref else 0) + 4) + "|")
    for key, label in phases:
        row = [f"{res[n][key]:.2f}" if key != "rss" else f"{res[n][key]:.0f}" for n in names]
        if ref:
            row += [f"{res[n][key] / ref[key]:.2f}" if ref[key] > 0 else "-" for n in names if n != "diffusers f32"]
        if key in fl:
            t = fl[key] / (bound * 1e9)
            best = min(res[n][key] for n in names if n != "diffusers f32")
            row += [f"{fl[key] / 1e9:.1f}", f"{t:.2f}", f"{100 * t / best:.0f} %" if best > 0 else "-"]
        else:
            row += ["", "", ""]
        print(f"| {label} | " + " | ".join(row) + " |")


if __name__ == "__main__":
    main()
