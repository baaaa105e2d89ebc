#!/bin/sh
# The test list is derived from the tree; fail when tests/tests.am is out
# of date (a test added without running ./autogen.sh would never run), and
# when a lib/ module has no unit test of its own.
set -eu
top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}
tmp=$(mktemp "${TMPDIR:-/tmp}/ferry-testlist.XXXXXX")
trap 'rm -f "$tmp"' EXIT INT TERM
status=0

sh "$top_srcdir/build-aux/gen-tests-am.sh" "$top_srcdir" >"$tmp"
if cmp -s "$tmp" "$top_srcdir/tests/tests.am"; then
	echo "ok: tests/tests.am matches the tree"
else
	echo "FAIL: tests/tests.am is out of date; run ./autogen.sh. Difference:"
	diff "$top_srcdir/tests/tests.am" "$tmp" || :
	status=1
fi

for c in "$top_srcdir"/lib/*.c; do
	m=$(basename "$c" .c)
	if [ -f "$top_srcdir/tests/unit/test_$m.c" ]; then
		echo "ok: lib/$m.c has tests/unit/test_$m.c"
	else
		echo "FAIL: lib/$m.c has no unit test tests/unit/test_$m.c"
		status=1
	fi
done
exit "$status"
