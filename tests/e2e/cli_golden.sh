#!/bin/sh
# Golden-output tests for ferry-tuftool (tests/golden/cases), ferry-sign
# (tests/golden/sign/cases), ferry-mirror (tests/golden/mirror/cases),
# ferry-repod (tests/golden/repod/cases) and ferry (tests/golden/client/
# cases): every case runs once, and its exit status, stdout and stderr
# must equal NAME.exp beside its cases file byte for byte.  FERRY_GOLDEN_UPDATE=1 rewrites the .exp files instead
# (then review the diff before committing it).
set -eu
top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}
tuftool=${FERRY_TUFTOOL:?FERRY_TUFTOOL must name the built ferry-tuftool}
signtool=${FERRY_SIGN:-$(dirname "$tuftool")/ferry-sign}
mirrortool=${FERRY_MIRROR:-$(dirname "$tuftool")/ferry-mirror}
repodtool=${FERRY_REPOD:-$(dirname "$tuftool")/ferry-repod}
clienttool=${FERRY_CLIENT:-$(dirname "$tuftool")/ferry}
tmp=$(mktemp -d "${TMPDIR:-/tmp}/ferry-golden.XXXXXX")
trap 'rm -rf "$tmp"' EXIT INT TERM
fails=0 n=0

# golden TOOL NAME DIR: run the cases of DIR/cases with TOOL.
golden() {
	tool=$1 toolname=$2 golden=$3
	while IFS='|' read -r name args; do
		case $name in ''|'#'*) continue ;; esac
		n=$((n + 1))
		# Paths in the output are written relative to fixed roots.
		a=$(printf '%s' "$args" | sed "s|@F/|$top_srcdir/tests/fixtures/|g; s|@T/|$tmp/|g")
		status=0
		# shellcheck disable=SC2086
		(cd "$tmp" && "$tool" $a) >"$tmp/out" 2>"$tmp/err" || status=$?
		{
			echo "exit $status"
			echo "--- stdout"
			cat "$tmp/out"
			echo "--- stderr"
			cat "$tmp/err"
		} | sed "s|$top_srcdir/tests/fixtures/|@F/|g; s|$tmp/|@T/|g; s|$tool|$toolname|g" >"$tmp/got"
		if [ "${FERRY_GOLDEN_UPDATE:-0}" = 1 ]; then
			cp "$tmp/got" "$golden/$name.exp"
		elif ! cmp -s "$tmp/got" "$golden/$name.exp"; then
			echo "FAIL: $name: $toolname $args"
			diff -u "$golden/$name.exp" "$tmp/got" || :
			fails=$((fails + 1))
		else
			echo "ok: $name"
		fi
	done <"$golden/cases"

	# Every .exp belongs to a case, so none is silently orphaned.
	for exp in "$golden"/*.exp; do
		name=$(basename "$exp" .exp)
		grep -q "^$name|" "$golden/cases" || { echo "FAIL: $exp has no case"; fails=$((fails + 1)); }
	done
}

golden "$tuftool" ferry-tuftool "$top_srcdir/tests/golden"
golden "$signtool" ferry-sign "$top_srcdir/tests/golden/sign"
golden "$mirrortool" ferry-mirror "$top_srcdir/tests/golden/mirror"
golden "$repodtool" ferry-repod "$top_srcdir/tests/golden/repod"
golden "$clienttool" ferry "$top_srcdir/tests/golden/client"
echo "$n cases, $fails failed"
[ "$fails" = 0 ]
