#!/bin/sh
# bench/dit_step.sh -- build bench/dit_bench (make bench/dit_bench in a build folder) and time DiT
# forward passes at the shape of one CFG step of a 512x512 generation with the random
# Sana_600M_512px-shaped checkpoint of bench/generate.sh (made by it when missing). Not a test.
#
#   bench/dit_step.sh [BUILD_DIR [CKPT_DIR [RUNS]]]    defaults: ./build, /tmp/sana-600m-random, 3
#   THREADS=N   OpenMP and OpenBLAS threads (default: all cores)
#   BACKENDS="ref cpu"   the backends to time, one after the other in the same run (default)
#
# Prints the wall and CPU time of each run and the per-op split of the fastest (doc/performance.md).
set -e
here=$(cd "$(dirname "$0")/.." && pwd)
build=$(cd "${1:-$here/build}" && pwd)
ckpt=${2:-/tmp/sana-600m-random}
runs=${3:-3}
threads=${THREADS:-$(nproc)}
if [ ! -f "$ckpt/transformer/config.json" ]; then
    echo "making the random Sana_600M_512px-shaped checkpoint in $ckpt (once)"
    python3 "$here/bench/generate_ckpt.py" "$ckpt"
fi
(cd "$build" && make -s bench/dit_bench)
exe=$build/bench/dit_bench
rev="$(git -C "$here" rev-parse --short HEAD)$(git -C "$here" diff --quiet -- ref src accel || echo '+changes')"
for be in ${BACKENDS:-ref cpu}; do
    echo "== dit_bench, backend $be, $threads threads, $rev"
    SANA_BACKEND=$be OMP_NUM_THREADS=$threads OPENBLAS_NUM_THREADS=$threads "$exe" "$ckpt/transformer" 16 16 2 300 "$runs"
done
