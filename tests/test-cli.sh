#!/bin/sh
# tests/test-cli.sh -- the sana command answers --version and --help, and rejects unknown usage.
set -u
bin=${SANA_BIN:-./src/sana}
fail=0
out=$("$bin" --version) || { echo "FAIL: sana --version exited $?"; fail=1; }
case "$out" in "sana (libsana) "[0-9]*) echo "ok  : --version: $out" ;; *) echo "FAIL: --version printed '$out'"; fail=1 ;; esac
"$bin" --help | grep -q -- "--version" && echo "ok  : --help lists --version" || { echo "FAIL: --help"; fail=1; }
if "$bin" --no-such-option >/dev/null 2>&1; then echo "FAIL: an unknown option exited 0"; fail=1; else echo "ok  : unknown option exits non-zero"; fi
exit $fail
