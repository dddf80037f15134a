#!/bin/sh
# tests/test-layout.sh -- the shape rules of doc/layout.md, checked on the source tree:
#   - no .c file over 800 lines;
#   - no function over 100 lines (a definition starts with "{" alone in column 0 and ends at the
#     next "}" in column 0, the way every file here is written; the count is the body's lines);
#   - src/cli/ and src/server/ include no header of the library's internals: only <sana.h>, their own
#     headers and system headers.
# Prints each violation with file:line and fails when there is any.
src=${TESTS_SRCDIR:-$(dirname "$0")}/..
cd "$src" || exit 1
fail=0
files=$(find src ref accel tests examples -name '*.c' 2>/dev/null | sort)
for f in $files; do
    n=$(wc -l < "$f")
    if [ "$n" -gt 800 ]; then echo "FAIL: $f has $n lines (at most 800)"; fail=1; fi
done
long=$(awk '
    FNR == 1 { start = 0 }
    /^\{/ { start = FNR; name = prev; next }
    /^\}/ && start { len = FNR - start - 1; if (len > 100) printf "%s:%d: %s: %d lines\n", FILENAME, start, name, len; start = 0 }
    /^[A-Za-z_]/ { prev = $0 }
' $files)
if [ -n "$long" ]; then echo "FAIL: functions over 100 lines:"; echo "$long"; fail=1; fi
inc=$(grep -n '#include "' src/cli/*.c src/cli/*.h 2>/dev/null | grep -v '#include "sana.h"\|#include "cli/[a-z_]*\.h"')
if [ -n "$inc" ]; then echo "FAIL: src/cli includes internal headers:"; echo "$inc"; fail=1; fi
inc=$(grep -n '#include "' src/server/*.c src/server/*.h 2>/dev/null | grep -v '#include "sana.h"\|#include "server/[a-z_]*\.h"\|#include "cli/serve\.h"')
if [ -n "$inc" ]; then echo "FAIL: src/server includes internal headers:"; echo "$inc"; fail=1; fi
[ "$fail" -eq 0 ] && echo "PASS: file and function lengths, CLI includes"
exit $fail
