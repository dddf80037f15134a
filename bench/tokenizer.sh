#!/bin/sh
# bench/tokenizer.sh [BUILD_DIR] -- time tokenizer.json loading and tokenization on a Gemma-sized
# (256k vocabulary) tokenizer synthesised into a temporary folder; prints the times.
# Also compares the ids with transformers' GemmaTokenizerFast when python3 has it.
set -e
srcdir=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-.}
build=$(cd "$build" && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
python3 "$srcdir/bench/make_big_tokenizer.py" "$tmp/tok"
(cd "$build" && make -s bench/tokenizer_bench)
cp "$build/bench/tokenizer_bench" "$tmp/bench"
ls -l "$tmp/tok/tokenizer.json" | awk '{printf "tokenizer.json: %.1f MB\n", $5 / 1e6}'
# three runs (one load each): the best is the number to quote; the spread shows how busy the machine is
for run in 1 2 3; do
    "$tmp/bench" "$tmp/tok/tokenizer.json" "$tmp/tok/prompt.txt" 20 "$tmp/ids.txt" > "$tmp/run$run.txt"
    grep '^load' "$tmp/run$run.txt"
done
awk '/^load/ { w = $3 + 0; c = $6 + 0; if (!n++ || w < bw) bw = w; if (n == 1 || c < bc) bc = c }
     END { printf "load: best of %d runs %.3f s (cpu %.3f s)\n", n, bw, bc }' "$tmp"/run?.txt
grep -v '^load' "$tmp/run3.txt"
python3 - "$tmp/tok" "$tmp/ids.txt" <<'PY' || true
import sys, time
from transformers import AutoTokenizer
t0 = time.time(); tok = AutoTokenizer.from_pretrained(sys.argv[1]); t1 = time.time()
p = open(sys.argv[1] + "/prompt.txt", encoding="utf-8").read()
best = min((lambda a: (tok(p).input_ids, time.time() - a)[1])(time.time()) for _ in range(20))
ids = tok(p).input_ids
print("transformers GemmaTokenizerFast: load %.3f s, tokenize %.3f ms, %d tokens" % (t1 - t0, 1e3 * best, len(ids)))
mine = [int(x) for x in open(sys.argv[2])]
print("ids identical to transformers:", mine == ids)
PY
