#!/bin/sh
# Interop with tuf-js (@tufjs/models from the npm registry), both ways:
#   (a) metadata made and signed by tuf-js verifies with ferry-tuftool, and
#       both agree on the canonical bytes of every file and on key ids;
#   (b) ferry-tuftool rejects it after a one-character change;
#   (c) the repository `ferry-tuftool demo` writes verifies with tuf-js,
#       and tuf-js's client downloads its targets over HTTP on 127.0.0.1.
# Needs node on PATH, `npm ci` run in tests/interop, and FERRY_TUFTOOL.
# Exit status follows automake: 0 pass, 1 fail, 77 skip.  With
# FERRY_REQUIRE_INTEROP=1 a missing prerequisite fails instead of skipping,
# so CI cannot pass by quietly skipping.

top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}
interop=$top_srcdir/tests/interop

skip() {
	echo "interop_tufjs: $*" >&2
	if [ "${FERRY_REQUIRE_INTEROP:-0}" = 1 ]; then
		echo "interop_tufjs: FERRY_REQUIRE_INTEROP=1, so this is a failure" >&2
		exit 1
	fi
	exit 77
}
fail() {
	echo "interop_tufjs: FAIL: $*" >&2
	exit 1
}

command -v node >/dev/null 2>&1 || skip "node not found on PATH"
[ -d "$interop/node_modules" ] ||
	skip "no $interop/node_modules (run: cd $interop && npm ci --no-audit --no-fund)"
if ! { [ -f "${FERRY_TUFTOOL:-}" ] && [ -x "$FERRY_TUFTOOL" ]; }; then
	skip "FERRY_TUFTOOL is unset or not an executable file: '${FERRY_TUFTOOL:-}'"
fi

tmp=$(mktemp -d "${TMPDIR:-/tmp}/interop_tufjs.XXXXXX") || fail "mktemp"
trap 'rm -rf "$tmp"' EXIT
trap 'exit 1' HUP INT PIPE TERM

echo "== (a) tuf-js makes a repository, Ferry verifies it"
node "$interop/make-repo.mjs" "$tmp/js" || fail "make-repo.mjs"
js=$tmp/js

# Each verify must exit 0, and together they must print what expect.txt
# says (versions and signature counts).
for args in "root.json root root.json" \
	"root.json targets targets.json" \
	"root.json snapshot snapshot.json" \
	"root.json timestamp timestamp.json" \
	"targets.json apps apps.json"; do
	# shellcheck disable=SC2086 # three words on purpose
	set -- $args
	"$FERRY_TUFTOOL" verify "$js/$1" "$2" "$js/$3" >>"$tmp/verify.out" ||
		fail "ferry-tuftool verify $args"
done
cat "$tmp/verify.out"
cmp "$js/expect.txt" "$tmp/verify.out" >/dev/null || {
	diff "$js/expect.txt" "$tmp/verify.out" >&2
	fail "ferry-tuftool verify output differs from expect.txt"
}

# Signatures verifying proves agreement on the signed part only; the whole
# files, signatures included, must canonicalize to the same bytes too.
for f in root targets apps snapshot timestamp; do
	"$FERRY_TUFTOOL" canonical "$js/$f.json" >"$tmp/$f.ferry" ||
		fail "ferry-tuftool canonical $f.json"
	node "$interop/canonical.mjs" "$js/$f.json" >"$tmp/$f.tufjs" ||
		fail "canonical.mjs $f.json"
	cmp "$tmp/$f.tufjs" "$tmp/$f.ferry" ||
		fail "canonical forms of $f.json differ (tuf-js: $tmp/$f.tufjs)"
	echo "canonical $f.json: identical ($(wc -c <"$tmp/$f.ferry") bytes)"
done

# make-repo.mjs names each public key file after the key id tuf-js uses.
n=0
for k in "$js"/keys/*.json; do
	want=$(basename "$k" .json)
	got=$("$FERRY_TUFTOOL" keyid "$k") || fail "ferry-tuftool keyid $k"
	[ "$got" = "$want" ] || fail "key id of $k: ferry $got, tuf-js $want"
	n=$((n + 1))
done
[ "$n" -ge 6 ] || fail "expected 6 key files, found $n"
echo "keyid: $n keys agree"

echo "== (b) Ferry rejects a one-character change"
# ü -> ö inside the custom "greeting" value: still valid JSON and valid
# metadata, so only the signature can catch it.
sed 's/"Grüße, /"Größe, /' "$js/targets.json" >"$js/tampered.json"
cmp "$js/targets.json" "$js/tampered.json" >/dev/null &&
	fail "sed did not change targets.json"
"$FERRY_TUFTOOL" validate "$js/tampered.json" >/dev/null ||
	fail "tampered.json should still be valid metadata"
"$FERRY_TUFTOOL" verify "$js/root.json" targets "$js/tampered.json" \
	>"$tmp/tampered.out" 2>"$tmp/tampered.err"
rc=$?
cat "$tmp/tampered.out" "$tmp/tampered.err"
[ "$rc" -eq 1 ] || fail "verify of tampered targets exited $rc, want 1"
echo "tampered targets rejected (exit 1)"

echo "== (c) Ferry makes a repository, tuf-js verifies it"
"$FERRY_TUFTOOL" demo "$tmp/ferry" || fail "ferry-tuftool demo"
node "$interop/verify-repo.mjs" "$tmp/ferry" || fail "verify-repo.mjs"

echo "== (d) Ferry's client refreshes from the tuf-js repository and downloads"
client=${FERRY_CONFORMANCE_CLIENT:-$(dirname "$FERRY_TUFTOOL")/ferry-conformance-client}
if [ -x "$client" ]; then
	mkdir -p "$tmp/client/meta" "$tmp/client/dl"
	"$client" --metadata-dir "$tmp/client/meta" init "$js/root.json" ||
		fail "client init"
	for t in files/hello.txt 'files/grüße-日本語.txt' apps/demo.img; do
		"$client" --metadata-dir "$tmp/client/meta" --metadata-url "$js" \
		    --target-base-url "$js/targets" --target-dir "$tmp/client/dl" \
		    --target-name "$t" download || fail "client download $t"
		q=$(node -e 'process.stdout.write(encodeURIComponent(process.argv[1]).replace(/[!\x27()*]/g, c => "%" + c.charCodeAt(0).toString(16).toUpperCase()))' "$t")
		cmp "$tmp/client/dl/$q" "$js/targets/$t" || fail "downloaded $t differs"
		echo "downloaded and verified $t (via $(basename "$client"))"
	done
	for f in root timestamp snapshot targets apps; do
		[ -f "$tmp/client/meta/$f.json" ] || fail "client did not keep $f.json"
	done
	# A one-character change to the served targets must stop the client.
	cp "$js/targets.json" "$tmp/targets.good"
	cp "$js/tampered.json" "$js/targets.json"
	rm -f "$tmp/client/meta/targets.json"
	if "$client" --metadata-dir "$tmp/client/meta" --metadata-url "$js" \
	    refresh 2>"$tmp/refresh.err"; then
		fail "client accepted tampered targets.json"
	fi
	cat "$tmp/refresh.err"
	cp "$tmp/targets.good" "$js/targets.json"
else
	skip "no ferry-conformance-client beside ferry-tuftool"
fi

echo "interop_tufjs: PASS"
exit 0
