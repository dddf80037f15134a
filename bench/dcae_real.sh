#!/bin/sh
# bench/dcae_real.sh -- decode with the real dc-ae-f32c32-sana-1.0 architecture (random weights).
#
# Makes a random-weight checkpoint of the published config (golden/dump_dcae.py --real-ckpt,
# about 1.3 GB of float32, written OUTSIDE the repository, never committed), then decodes a
# 1x32x16x16 latent to a 1x3x512x512 image with bench/dcae_bench and prints the time and the
# peak resident memory. Not a test.
#
#   bench/dcae_real.sh [BUILD_DIR [CKPT_DIR]]      defaults: ./build, /tmp/sana-dcae-real
#   DCAE_BENCH_ARGS="20 20 1 1"   latent h w, batch, tiled (here: a tiled 640x640 decode)
#   DCAE_BACKEND=ref              the backend that decodes (default: cpu where built)
#   DCAE_PROFILE=1                also print the time per op (conv2d by kind), i.e. the phases
#   DCAE_COMPARE=1                also decode the same latent with diffusers (float32 CPU) and
#                                 print its time, peak RSS and the relative max difference
set -e
here=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$here/build}
ckpt=${2:-/tmp/sana-dcae-real}
if [ ! -f "$ckpt/diffusion_pytorch_model.safetensors" ]; then
    echo "making the random real-config checkpoint in $ckpt"
    python3 "$here/golden/dump_dcae.py" --real-ckpt "$ckpt"
fi
[ -x "$build/bench/dcae_bench" ] || (cd "$build" && make bench/dcae_bench)
set -- ${DCAE_BENCH_ARGS:-16 16 1 0}
out="${TMPDIR:-/tmp}/sana-dcae-bench-out.safetensors"
"$build/bench/dcae_bench" "$ckpt" "$1" "$2" "$3" "$4" "$out"
if [ "${DCAE_COMPARE:-0}" = 1 ]; then
    python3 - "$ckpt" "$out" "$4" <<'PY'
import resource, sys, time
import torch
from diffusers import AutoencoderDC
from safetensors.torch import load_file
torch.set_num_threads(int(__import__("os").environ.get("OMP_NUM_THREADS", "2")))
ckpt, out, tiled = sys.argv[1], sys.argv[2], sys.argv[3] == "1"
ae = AutoencoderDC.from_pretrained(ckpt, torch_dtype=torch.float32).eval()
if tiled:
    ae.enable_tiling()
t = load_file(out)
t0 = time.time()
with torch.no_grad():
    img = ae.decode(t["z"]).sample
dt = time.time() - t0
err = float((img - t["img"]).abs().max() / img.abs().max())
rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(f"diffusers decode: {dt:.2f} s, peak RSS {rss:.0f} MiB (process); libsana vs diffusers: "
      f"max|diff| / max|diffusers| = {err:.2e}")
PY
fi
