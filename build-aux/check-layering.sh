#!/bin/sh
# Check that layers point one way.  Every source directory has a file
# .may_include naming, one per line, the directories whose headers its
# code may include ("lib" for every program; lib itself only "lib").
# A quoted #include resolves first beside the including file, then from
# the top of the tree; the directory it resolves to must be the including
# directory itself or one it may include.  System headers (<...>) and
# config.h are not checked.
#
# usage: check-layering.sh [TOPDIR]    exit 0 clean, 1 violations, 2 usage
set -eu
top=${1:-.}
[ -d "$top/lib" ] || { echo "check-layering: $top has no lib/" >&2; exit 2; }
cd "$top"
bad=0
for dir in lib repod signer mirror client host onion builder tests fuzz bench; do
	[ -d "$dir" ] || continue
	allow="$dir/.may_include"
	if [ "$dir" = fuzz ] || [ "$dir" = bench ]; then
		allow=tests/.may_include	# test code, like tests/
	fi
	if [ ! -f "$allow" ]; then
		echo "$dir: no .may_include" >&2
		bad=1
		continue
	fi
	files=$(find "$dir" -name node_modules -prune -o \
	    \( -name '*.c' -o -name '*.h' \) -type f -print | LC_ALL=C sort)
	for f in $files; do
		here=$(dirname "$f")
		grep -n '^[[:space:]]*#[[:space:]]*include[[:space:]]*"' "$f" |
		while IFS= read -r line; do
			inc=$(printf '%s\n' "$line" | sed 's/^[^"]*"\([^"]*\)".*/\1/')
			lineno=${line%%:*}
			[ "$inc" = config.h ] && continue
			if [ -f "$here/$inc" ]; then
				target=$here/$inc
			elif [ -f "$inc" ]; then
				target=$inc
			else
				echo "$f:$lineno: \"$inc\" does not resolve inside the tree"
				continue
			fi
			# The top-level directory the header lives in.
			tdir=$(printf '%s\n' "$target" | sed 's|^\./||' | cut -d/ -f1)
			[ "$tdir" = "$dir" ] && continue
			grep -qx "$tdir" "$allow" ||
			    echo "$f:$lineno: includes $target, but $dir may not include $tdir/ (see $allow)"
		done
	done
done >"${TMPDIR:-/tmp}/ferry-layering.$$" 2>&1 || bad=1
if [ -s "${TMPDIR:-/tmp}/ferry-layering.$$" ]; then
	cat "${TMPDIR:-/tmp}/ferry-layering.$$"
	bad=1
fi
rm -f "${TMPDIR:-/tmp}/ferry-layering.$$"
[ "$bad" = 0 ] && echo "layering: clean"
exit "$bad"
