#!/bin/sh
# tests/test-install.sh -- the installed library as a user of it sees it:
#   make install DESTDIR=tmp, then with pkg-config --cflags --libs libsana (shared) and
#   pkg-config --static (libsana.a), compile a program that includes only the installed sana.h,
#   as C and as C++, link it and run it; then build examples/generate.c the same way and run it
#   on the bundled checkpoint. Fails on any step.
set -u
: "${TOP_BUILDDIR:?}" "${TOP_SRCDIR:?}"
tmp=$(mktemp -d "${TMPDIR:-/tmp}/sana-install.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*"; exit 1; }

${MAKE:-make} -s -C "$TOP_BUILDDIR" install DESTDIR="$tmp/root" >"$tmp/install.log" 2>&1 ||
    { cat "$tmp/install.log"; fail "make install DESTDIR=... failed"; }
pcfile=$(find "$tmp/root" -name libsana.pc | head -n 1)
[ -n "$pcfile" ] || fail "no libsana.pc installed"
hdr=$(find "$tmp/root" -name sana.h | head -n 1)
[ -n "$hdr" ] || fail "no sana.h installed"
# pkg-config with the staged tree as sysroot: -I and -L point into DESTDIR
export PKG_CONFIG_PATH="$(dirname "$pcfile")" PKG_CONFIG_SYSROOT_DIR="$tmp/root"
cflags=$(pkg-config --cflags libsana) || fail "pkg-config --cflags libsana"
libs=$(pkg-config --libs libsana) || fail "pkg-config --libs libsana"
slibs=$(pkg-config --static --libs libsana) || fail "pkg-config --static --libs libsana"
libdir=$(dirname "$(dirname "$pcfile")")   # the staged lib folder
echo "pkg-config: $cflags $libs"
echo "pkg-config --static: $slibs"

cat > "$tmp/hello.c" <<'C'
#include <sana.h>
#include <stdio.h>
int main(void)
{
    sana_pipeline *p = NULL;
    /* a folder that does not exist: an error with a message, no crash */
    if (sana_pipeline_load(&p, "/nonexistent-sana-folder", NULL) == 0) return 1;
    printf("libsana %s: %s\n", sana_version(), sana_last_error());
    return sana_last_error()[0] ? 0 : 1;
}
C
cc=${CC:-cc}
san=${SAN_CFLAGS:-}
$cc -std=c11 -Wall -Werror $san $cflags -o "$tmp/hello" "$tmp/hello.c" $libs || fail "compile against the installed sana.h (shared)"
LD_LIBRARY_PATH="$libdir" "$tmp/hello" || fail "run the shared-linked program"
$cc -std=c11 -Wall -Werror $san $cflags -o "$tmp/hello-static" "$tmp/hello.c" \
    "$libdir/libsana.a" $(echo "$slibs" | sed 's/-lsana//') ${OPENMP_CFLAGS:-} ||
    fail "link statically with pkg-config --static"
"$tmp/hello-static" || fail "run the static program"
if command -v "${CXX:-c++}" >/dev/null 2>&1; then
    "${CXX:-c++}" -Wall -Werror -fsyntax-only $cflags -x c++ "$tmp/hello.c" || fail "sana.h as C++"
fi
ex="$TOP_SRCDIR/examples/generate.c"
if [ -f "$ex" ]; then
    $cc -std=c11 -Wall -Werror $san $cflags -o "$tmp/generate" "$ex" $libs || fail "compile examples/generate.c"
    LD_LIBRARY_PATH="$libdir" "$tmp/generate" "$TOP_SRCDIR/golden/ckpt/sana-tiny" \
        "a red fox in the snow" "$tmp/fox.png" || fail "run examples/generate"
    [ -s "$tmp/fox.png" ] || fail "examples/generate wrote no image"
fi
echo "PASS: installed headers, pkg-config (shared and static), examples/generate.c"
