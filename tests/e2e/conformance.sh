#!/bin/sh
# The TUF conformance suite (theupdateframework/tuf-conformance) against
# ferry-conformance-client, through ../shared/tools/tuf-conformance.
#
# The suite, python-tuf and securesystemslib are not Debian packages; the
# runner needs each as a bare git repository (TUFCONF_GIT, PYTUF_GIT,
# SSLIB_GIT).  When they are not on this machine the test is skipped, or
# fails under FERRY_REQUIRE_CONFORMANCE=1.  Expected failures, if any, are
# listed with reasons in client/ferry-conformance-client.xfails.
set -eu
top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}
top_builddir=${top_builddir:-$(pwd)}
shared=${FERRY_SHARED:-$top_srcdir/../shared}
runner=$shared/tools/tuf-conformance
client=$top_builddir/ferry-conformance-client
mirror=${FERRY_MIRROR_DIR:-/work/.mirror}

skip() {
	echo "SKIP: $*"
	[ "${FERRY_REQUIRE_CONFORMANCE:-0}" = 1 ] && exit 1
	exit 77
}

[ -x "$client" ] || { echo "FAIL: $client is not built"; exit 1; }
[ -f "$runner" ] || skip "no conformance runner at $runner"
: "${TUFCONF_GIT:=$mirror/theupdateframework+tuf-conformance/repo}"
: "${PYTUF_GIT:=$mirror/theupdateframework+python-tuf/repo}"
: "${SSLIB_GIT:=$mirror/secure-systems-lab+securesystemslib/repo}"
for g in "$TUFCONF_GIT" "$PYTUF_GIT" "$SSLIB_GIT"; do
	git --git-dir="$g" rev-parse -q --verify HEAD >/dev/null 2>&1 ||
		skip "no git repository at $g (see the header of $runner)"
done
export TUFCONF_GIT PYTUF_GIT SSLIB_GIT

# The runner looks for ENTRYPOINT.xfails beside the client.
tmp=$(mktemp -d "${TMPDIR:-/tmp}/ferry-conformance.XXXXXX")
trap 'rm -rf "$tmp"' EXIT INT TERM
cp "$client" "$tmp/ferry-conformance-client"
if [ -s "$top_srcdir/client/ferry-conformance-client.xfails" ]; then
	grep -v '^#' "$top_srcdir/client/ferry-conformance-client.xfails" |
		sed 's/[[:space:]]*#.*//; /^$/d' >"$tmp/ferry-conformance-client.xfails"
fi
# The suite runs the client under faketime (LD_PRELOAD); a sanitizer
# build must tolerate a library loaded before its runtime.
ASAN_OPTIONS=${ASAN_OPTIONS:-}${ASAN_OPTIONS:+:}verify_asan_link_order=0
export ASAN_OPTIONS
TUFCONF_WORK=${TUFCONF_WORK:-$tmp/work}
export TUFCONF_WORK
sh "$runner" "$tmp/ferry-conformance-client" >"$tmp/log" 2>&1 || :
cat "$tmp/log"
# pytest's closing line: "N passed[, N xfailed] in Ts", or with failures.
summary=$(grep -E '^[0-9]+ (passed|failed)|^=+ .*(passed|failed)' "$tmp/log" | tail -n 1)
[ -n "$summary" ] || { echo "FAIL: the suite did not report results"; exit 1; }
case $summary in
*failed* | *error* | *xpassed*) echo "FAIL: $summary"; exit 1 ;;
esac
echo "conformance: $summary"
