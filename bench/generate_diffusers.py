#!/usr/bin/env python3
"""bench/generate_diffusers.py DIR PROMPT SEED STEPS SIZE [--fp32] [--second-prompt P] -- the diffusers
side of bench/generate.sh and bench/compare.py: one SanaPipeline generation on PyTorch CPU, timed
phase by phase. By default the transformer and VAE run in float32 and the text encoder in its
bfloat16 file dtype, as the checkpoint holds it; --fp32 loads everything in float32 (on a CPU
without bfloat16 arithmetic, such as AVX2 machines, bfloat16 is pathologically slow, so float32 is
the fair peer). --second-prompt encodes another prompt afterwards (a serving process's per-prompt
cost). Prints one line per phase, the prompt's token count and the peak RSS. Not a test.
"""
import argparse
import inspect
import os
import resource
import time

import torch


def main():
    ap = argparse.ArgumentParser()
    for name in ("ckpt", "prompt"):
        ap.add_argument(name)
    for name in ("seed", "steps", "size"):
        ap.add_argument(name, type=int)
    ap.add_argument("--fp32", action="store_true")
    ap.add_argument("--second-prompt")
    a = ap.parse_args()
    from diffusers import SanaPipeline
    torch.set_num_threads(int(os.environ.get("OMP_NUM_THREADS", os.cpu_count() or 1)))
    t0 = time.time()
    dtypes = torch.float32 if a.fp32 else {"text_encoder": torch.bfloat16, "default": torch.float32}
    pipe = SanaPipeline.from_pretrained(a.ckpt, torch_dtype=dtypes)
    pipe.set_progress_bar_config(disable=True)
    print(f"diffusers load ({'float32' if a.fp32 else 'text encoder bfloat16'}): {time.time() - t0:.2f} s", flush=True)
    stamps = []

    def on_step(p, i, t, kw):
        stamps.append(time.time())
        return kw

    # encode_prompt timed on its own, with __call__'s default complex human instruction
    # (the __call__ below encodes again, as a user's call would)
    chi = inspect.signature(type(pipe).__call__).parameters["complex_human_instruction"].default
    chi_text = "\n".join(chi)
    ids = pipe.tokenizer(chi_text + a.prompt).input_ids
    n_chi = len(pipe.tokenizer(chi_text).input_ids)
    print(f"diffusers prompt tokens: {min(len(ids), n_chi + 300 - 2)}", flush=True)
    t1 = time.time()
    with torch.no_grad():
        pipe.encode_prompt(a.prompt, do_classifier_free_guidance=True, complex_human_instruction=chi)
    print(f"diffusers encode (prompt with CHI + negative, timed apart): {time.time() - t1:.2f} s", flush=True)
    if a.second_prompt:
        t1 = time.time()
        with torch.no_grad():
            pipe.encode_prompt(a.second_prompt, do_classifier_free_guidance=True, complex_human_instruction=chi)
        print(f"diffusers encode, second prompt: {time.time() - t1:.2f} s", flush=True)
    t2 = time.time()
    with torch.no_grad():
        pipe(a.prompt, num_inference_steps=a.steps, height=a.size, width=a.size, output_type="np",
             generator=torch.Generator("cpu").manual_seed(a.seed), callback_on_step_end=on_step)
    t3 = time.time()
    per = (stamps[-1] - stamps[0]) / max(1, len(stamps) - 1)
    print(f"diffusers steps: {len(stamps)} x {per:.2f} s/it", flush=True)
    print(f"diffusers decode+postprocess: {t3 - stamps[-1]:.2f} s", flush=True)
    print(f"diffusers call total: {t3 - t2:.2f} s", flush=True)
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"diffusers peak RSS: {rss:.0f} MiB", flush=True)


if __name__ == "__main__":
    main()
