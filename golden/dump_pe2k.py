#!/usr/bin/env python3
"""golden/dump_pe2k.py -- the 2K/4K path end to end (issue 17): SanaPipeline on golden/ckpt/sana-tiny with
the transformer config of golden/ckpt/transformer-pe2k (sana-tiny's weights, by a symlink), which sets
sample_size 64 (so resolution binning takes ASPECT_RATIO_2048_BIN, as Sana_1600M_2Kpx does) and
interpolation_scale 2.0 (the sin-cos position embedding on, interpolated as Sana_1600M_4Kpx's 2.0).
600x800 asked with binning: generated at the 2048 bin of ratio 0.75; latents only (the image would be
a 2K decode, too large for golden/).

    python3 dump_pe2k.py        # pipeline/e2e_pe2k.safetensors
The folder is assembled from symlinks in a temporary directory, as tests/test-pipeline does (case "pe2k").
"""
import os
import shutil
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from dump_pipeline import run_case  # noqa: E402

PARTS = ["model_index.json", "scheduler", "text_encoder", "tokenizer", "transformer", "vae"]


def main():
    tmp = tempfile.mkdtemp(prefix="sana-pe2k-")
    try:
        for p in PARTS:
            src = os.path.join(HERE, "ckpt", "transformer-pe2k" if p == "transformer" else os.path.join("sana-tiny", p))
            os.symlink(os.path.realpath(src), os.path.join(tmp, p))
        run_case("pe2k", "SanaPipeline", "sana-tiny-pe2k",
                 dict(prompt="a lighthouse on a cliff at sunset, oil painting", num_inference_steps=2,
                      guidance_scale=4.5, height=600, width=800, use_resolution_binning=True, seed=17,
                      latent_only=True),
                 ckpt_dir=tmp, script=__file__)
    finally:
        shutil.rmtree(tmp)


if __name__ == "__main__":
    main()
