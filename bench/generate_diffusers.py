#!/usr/bin/env python3
"""bench/generate_diffusers.py DIR PROMPT SEED STEPS SIZE -- the diffusers side of bench/generate.sh:
one SanaPipeline generation on PyTorch CPU (float32 transformer and VAE; the text encoder in its
bfloat16 file dtype, as the checkpoint holds it), timed phase by phase. Prints one line per phase
and the peak RSS. Not a test.
"""
import resource
import sys
import time

import torch


def main(ckpt, prompt, seed, steps, size):
    from diffusers import SanaPipeline
    import os
    torch.set_num_threads(int(os.environ.get("OMP_NUM_THREADS", os.cpu_count() or 1)))
    t0 = time.time()
    pipe = SanaPipeline.from_pretrained(ckpt, torch_dtype={"text_encoder": torch.bfloat16,
                                                           "default": torch.float32})
    pipe.set_progress_bar_config(disable=True)
    print(f"diffusers load: {time.time() - t0:.2f} s", flush=True)
    stamps = []

    def on_step(p, i, t, kw):
        stamps.append(time.time())
        return kw

    # encode_prompt timed on its own, with __call__'s default complex human instruction
    # (the __call__ below encodes again, as a user's call would)
    import inspect
    chi = inspect.signature(type(pipe).__call__).parameters["complex_human_instruction"].default
    t1 = time.time()
    with torch.no_grad():
        pipe.encode_prompt(prompt, do_classifier_free_guidance=True, complex_human_instruction=chi)
    enc = time.time() - t1
    t2 = time.time()
    with torch.no_grad():
        pipe(prompt, num_inference_steps=steps, height=size, width=size, output_type="np",
             generator=torch.Generator("cpu").manual_seed(seed), callback_on_step_end=on_step)
    t3 = time.time()
    per = (stamps[-1] - stamps[0]) / max(1, len(stamps) - 1)
    print(f"diffusers encode (prompt with CHI + negative, timed apart): {enc:.2f} s", flush=True)
    print(f"diffusers steps: {len(stamps)} x {per:.2f} s/it", flush=True)
    print(f"diffusers decode+postprocess: {t3 - stamps[-1]:.2f} s", flush=True)
    print(f"diffusers call total: {t3 - t2:.2f} s", flush=True)
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"diffusers peak RSS: {rss:.0f} MiB", flush=True)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5]))
