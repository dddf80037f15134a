#!/bin/sh
# bench/dcae_real.sh -- decode with the real dc-ae-f32c32-sana-1.0 architecture (random weights).
#
# Makes a random-weight checkpoint of the published config (golden/dump_dcae.py --real-ckpt,
# about 1.3 GB of float32, written OUTSIDE the repository, never committed), then decodes a
# 1x32x16x16 latent to a 1x3x512x512 image with bench/dcae_bench and prints the time and the
# peak resident memory. Not a test.
#
#   bench/dcae_real.sh [BUILD_DIR [CKPT_DIR]]     defaults: build, /tmp/sana-dcae-real
#   DCAE_BENCH_ARGS="128 128 1 1" bench/dcae_real.sh ...   (e.g. a tiled 4096x4096 decode)
set -e
here=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$here/build}
ckpt=${2:-/tmp/sana-dcae-real}
if [ ! -f "$ckpt/diffusion_pytorch_model.safetensors" ]; then
    echo "making the random real-config checkpoint in $ckpt"
    python3 "$here/golden/dump_dcae.py" --real-ckpt "$ckpt"
fi
[ -x "$build/bench/dcae_bench" ] || (cd "$build" && make bench/dcae_bench)
# shellcheck disable=SC2086
"$build/bench/dcae_bench" "$ckpt" ${DCAE_BENCH_ARGS:-16 16 1 0}
