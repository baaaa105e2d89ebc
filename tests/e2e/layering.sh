#!/bin/sh
# The layering check passes on the tree, and catches violations planted in
# a copy of it (so it cannot pass by checking nothing).
set -eu
top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}
check=$top_srcdir/build-aux/check-layering.sh
tmp=$(mktemp -d "${TMPDIR:-/tmp}/ferry-layering.XXXXXX")
trap 'rm -rf "$tmp"' EXIT INT TERM

echo "== the tree"
sh "$check" "$top_srcdir"

plant() {	# plant DESCRIPTION FILE TEXT: the check must now fail
	rm -rf "$tmp/t"
	mkdir -p "$tmp/t"
	for d in lib repod signer mirror client host onion builder tests; do
		mkdir -p "$tmp/t/$d"
		cp "$top_srcdir/$d/.may_include" "$tmp/t/$d/"
	done
	cp "$top_srcdir"/lib/*.h "$tmp/t/lib/"
	printf '/* program header */\n' >"$tmp/t/repod/repod.h"
	printf '/* program header */\n' >"$tmp/t/client/client.h"
	printf '%s\n' "$3" >"$tmp/t/$2"
	if sh "$check" "$tmp/t" >"$tmp/out" 2>&1; then
		echo "FAIL: not caught: $1"
		cat "$tmp/out"
		exit 1
	fi
	echo "caught: $1: $(head -n 1 "$tmp/out")"
}
echo "== planted violations"
plant "lib includes a program header" lib/bad.c '#include "repod/repod.h"'
plant "a program includes another program" client/bad.c '#include "repod/repod.h"'
plant "an include that resolves nowhere" signer/bad.c '#include "nowhere.h"'
# And a permitted include passes.
rm -rf "$tmp/t"
mkdir -p "$tmp/t"
for d in lib repod signer mirror client host onion builder tests; do
	mkdir -p "$tmp/t/$d"; cp "$top_srcdir/$d/.may_include" "$tmp/t/$d/"
done
cp "$top_srcdir"/lib/*.h "$tmp/t/lib/"
printf '#include "lib/json.h"\n#include "config.h"\n' >"$tmp/t/repod/ok.c"
sh "$check" "$tmp/t" >/dev/null || { echo "FAIL: a permitted include was refused"; exit 1; }
echo "permitted: repod includes lib/json.h"
