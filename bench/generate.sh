#!/bin/sh
# bench/generate.sh -- one 512x512, 20-step generation of a Sana_600M_512px-shaped checkpoint with
# random weights, timed phase by phase with the sana command, and the same with diffusers on
# PyTorch CPU when the golden environment (python3 with diffusers) is present. Not a test.
#
#   bench/generate.sh [BUILD_DIR [CKPT_DIR]]    defaults: ./build, /tmp/sana-600m-random
#   THREADS=N      threads for both sides (default: all cores)
#   DIFFUSERS=0    skip the diffusers run
#
# The checkpoint (about 9 GB) is made once by bench/generate_ckpt.py, outside the repository.
# Prints the progress lines of both sides and the peak RSS of each process; doc/performance.md
# holds the results.
set -e
here=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$here/build}
ckpt=${2:-/tmp/sana-600m-random}
threads=${THREADS:-$(nproc)}
prompt="a lighthouse on a cliff at sunset, oil painting"
if [ ! -f "$ckpt/model_index.json" ]; then
    echo "making the random Sana_600M_512px-shaped checkpoint in $ckpt (once)"
    python3 "$here/bench/generate_ckpt.py" "$ckpt"
fi
[ -x "$build/src/sana" ] || (cd "$build" && make src/sana)
out=${TMPDIR:-/tmp}/sana-bench.png
echo "== libsana ($("$build/src/sana" --version), $threads threads)"
# peak RSS of the child through getrusage (no dependency on GNU time)
OMP_NUM_THREADS=$threads python3 - "$build/src/sana" "$ckpt" "$prompt" "$out" "$threads" <<'PY'
import resource, subprocess, sys, time
sana, ckpt, prompt, out, threads = sys.argv[1:6]
t0 = time.time()
subprocess.run([sana, "generate", "-m", ckpt, "-p", prompt, "-s", "42", "--steps", "20", "-H", "512", "-W", "512",
                "--threads", threads, "-o", out], check=True)
rss = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
print(f"sana total: {time.time() - t0:.2f} s, peak RSS {rss:.0f} MiB", flush=True)
PY
if [ "${DIFFUSERS:-1}" = 1 ] && python3 -c "import diffusers" 2>/dev/null; then
    echo "== diffusers $(python3 -c 'import diffusers, torch; print(diffusers.__version__, "torch", torch.__version__)')"
    OMP_NUM_THREADS=$threads python3 "$here/bench/generate_diffusers.py" "$ckpt" "$prompt" 42 20 512 ${FP32:+--fp32}
fi
