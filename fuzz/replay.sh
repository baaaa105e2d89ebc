#!/bin/sh
# Replay the committed corpus of one fuzz target: the "make check" test
# fuzz/NAME.replay runs this script with that name as its argument.
#
#   sh fuzz/replay.sh fuzz/fuzz_json.replay     (or just fuzz_json)
#
# It runs "$top_builddir/fuzz/NAME" once on each file of
# "$top_srcdir/fuzz/corpus/NAME/".  The files are passed one by one, not
# the directory: a libFuzzer binary (--enable-fuzzing) runs file
# arguments once each, but would start fuzzing a directory argument; the
# replay.c main of a plain build treats both the same.  A missing or empty
# corpus is a failure, so the test can never pass without running anything.
#
# top_srcdir and top_builddir come from the test harness; run by hand
# they default to this script's source tree and the current directory.
set -eu

if [ $# -ne 1 ]; then
	echo "usage: $0 [fuzz/]NAME[.replay]" >&2
	exit 2
fi
name=${1##*/}
name=${name%.replay}

top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/.." && pwd)}
top_builddir=${top_builddir:-.}
bin=$top_builddir/fuzz/$name
corpus=$top_srcdir/fuzz/corpus/$name

if [ ! -x "$bin" ]; then
	echo "FAIL: $bin is not built (make $bin)" >&2
	exit 1
fi
if [ ! -d "$corpus" ]; then
	echo "FAIL: no corpus directory $corpus" >&2
	exit 1
fi

# Collect the regular files in byte order, whatever the user's locale.
LC_ALL=C
export LC_ALL
set --
for f in "$corpus"/* "$corpus"/.[!.]* "$corpus"/..?*; do
	[ -f "$f" ] || continue
	set -- "$@" "$f"
done
if [ $# -eq 0 ]; then
	echo "FAIL: corpus directory $corpus has no files" >&2
	exit 1
fi

echo "replaying $# input(s) of $corpus through $bin"
exec "$bin" "$@"
