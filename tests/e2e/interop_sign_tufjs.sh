#!/bin/sh
# Interop of ferry-sign with tuf-js (tuf-js's Updater and @tufjs/models,
# pinned in tests/interop): a repository made entirely by ferry-sign, keys
# to published metadata, is checked role by role with @tufjs/models and
# refreshed over HTTP on 127.0.0.1 by tuf-js's client, which downloads
# every target; then root is rotated (a key replaced, threshold raised)
# and the client, from its cached state, must move to the new root and
# find the new target.  A one-byte change to the served targets metadata,
# and one to a served target file, must each stop the client.
# Needs node on PATH, `npm ci` run in tests/interop, and FERRY_SIGN.
# Exit status follows automake: 0 pass, 1 fail, 77 skip.  With
# FERRY_REQUIRE_INTEROP=1 a missing prerequisite fails instead of skipping.

top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}
interop=$top_srcdir/tests/interop
name=interop_sign_tufjs

skip() {
	echo "$name: $*" >&2
	if [ "${FERRY_REQUIRE_INTEROP:-0}" = 1 ]; then
		echo "$name: FERRY_REQUIRE_INTEROP=1, so this is a failure" >&2
		exit 1
	fi
	exit 77
}
fail() {
	echo "$name: FAIL: $*" >&2
	exit 1
}

command -v node >/dev/null 2>&1 || skip "node not found on PATH"
[ -d "$interop/node_modules" ] ||
	skip "no $interop/node_modules (run: cd $interop && npm ci --no-audit --no-fund)"
if ! { [ -f "${FERRY_SIGN:-}" ] && [ -x "$FERRY_SIGN" ]; }; then
	skip "FERRY_SIGN is unset or not an executable file: '${FERRY_SIGN:-}'"
fi
command -v sha256sum >/dev/null 2>&1 || skip "sha256sum not found on PATH"
sign=$FERRY_SIGN

tmp=$(mktemp -d "${TMPDIR:-/tmp}/$name.XXXXXX") || fail "mktemp"
trap 'rm -rf "$tmp"' EXIT
trap 'exit 1' HUP INT PIPE TERM
cd "$tmp" || fail "cd $tmp"

# fs CMD...: run ferry-sign, output in out/err, fail unless it exits 0.
fs() {
	"$sign" "$@" >out 2>err && return 0
	rc=$?
	cat out err >&2
	fail "ferry-sign $* exited $rc"
}
has() { grep -q -e "$1" "$2" || fail "$2 lacks '$1': $(cat "$2")"; }
verify() { node "$interop/verify-sign.mjs" "$@"; }

echo "== keys"
printf 'interop passphrase\n' >pw
printf 'interop passphrase\ninterop passphrase\n' >pw2
mkdir keys
for k in root1 root2 root3 root4 targets snapshot timestamp apps bins; do
	fs key generate --kdf interactive --label "$k" --passphrase-fd 3 \
	    "keys/$k.key" 3<pw
	[ -f "keys/$k.pub" ] || fail "key generate wrote no keys/$k.pub"
done
# keyid K: the key id in keys/K.pub.
keyid() {
	node -e 'console.log(JSON.parse(require("fs").readFileSync(process.argv[1])).keyid)' \
	    "keys/$1.pub"
}
echo "9 keys"

echo "== content"
# The target files; each target path is its path under content/.
mkdir -p content/apps
printf 'hello from ferry-sign\n' >content/hello.txt
head -c 4099 /dev/urandom >content/data.bin
printf 'the tool\n' >content/apps/tool.tar
for i in 1 2 3 4 5 6; do
	printf 'package %s\n' "$i" >"content/apps/pkg-$i.deb"
done
printf 'new in the second publication\n' >content/news.txt

echo "== init, targets, delegations"
ws=$tmp/ws
fs init -C "$ws" --key root=keys/root1.pub --key root=keys/root2.pub \
    --key root=keys/root3.pub --threshold root=2 --key targets=keys/targets.pub \
    --key snapshot=keys/snapshot.pub --key timestamp=keys/timestamp.pub
(cd content && "$sign" targets add -C "$ws" \
    --custom '{"kind":"document","grade":1}' hello.txt data.bin) >out 2>err ||
	{ cat out err >&2; fail "targets add hello.txt data.bin"; }
# A path delegation; without --role the new target must land in it.
fs delegate -C "$ws" --key keys/apps.pub --path 'apps/*' apps
fs targets add -C "$ws" --path apps/tool.tar content/apps/tool.tar
grep -q '"apps/tool.tar"' "$ws/staged/apps.json" ||
	fail "apps/tool.tar was not placed in apps: $(cat "$ws/staged/apps.json")"
grep -q '"apps/tool.tar"' "$ws/staged/targets.json" &&
	fail "apps/tool.tar was placed in targets too"
# Succinct bins under apps: targets already delegates to apps by name, and
# TAP 15 lets a role delegate either by name or to succinct bins, not both.
fs delegate -C "$ws" --from apps --key keys/bins.pub --bins 16 --succinct
: >list
for i in 1 2 3 4 5 6; do
	f=content/apps/pkg-$i.deb
	printf '{"path":"apps/pkg-%s.deb","length":%s,"hashes":{"sha256":"%s"},"custom":{"n":%s}}\n' \
	    "$i" "$(wc -c <"$f")" "$(sha256sum "$f" | cut -d' ' -f1)" "$i" >>list
done
fs targets add -C "$ws" --list list

echo "== request, sign, merge, bundle, publish"
fs request -C "$ws" -o req1.json
mkdir sig1
for k in root1 root2 targets apps bins; do
	fs sign --key "keys/$k.key" --passphrase-fd 3 -o "sig1/$k.sig" req1.json 3<pw
done
fs merge -C "$ws" sig1/*.sig
cat out
fs bundle -C "$ws" bundle1
for f in manifest.json metadata/1.root.json metadata/targets.json metadata/apps.json; do
	[ -f "bundle1/$f" ] || fail "bundle1 lacks $f"
done
# publish keeps its place in OUTDIR: the next publication into the same
# directory takes the snapshot and timestamp versions up from there.
fs publish -C "$ws" --snapshot-key keys/snapshot.key \
    --timestamp-key keys/timestamp.key --passphrase-fd 3 pub 3<pw2
cat out
ls pub
cp -R pub pub1

verify check pub1 >check1.out || { cat check1.out; fail "verify-sign check pub1"; }
cat check1.out
# Every target made, each where it belongs, and nothing else.
bin_of() { # the TAP 15 bin of a path among 16: the first hex digit of its SHA-256
	printf '%s' "$1" | sha256sum | cut -c1
}
{
	echo "target apps/tool.tar apps"
	for i in 1 2 3 4 5 6; do
		echo "target apps/pkg-$i.deb bins-$(bin_of "apps/pkg-$i.deb")"
	done
	echo "target data.bin targets"
	echo "target hello.txt targets"
} | LC_ALL=C sort >want1
grep '^target ' check1.out | LC_ALL=C sort >got1
cmp -s want1 got1 || { diff want1 got1 >&2; fail "targets differ from what was added"; }
has '^role root v1$' check1.out
[ "$(grep -c '^role bins-' check1.out)" -eq 16 ] || fail "not 16 bins"

# Serve the publication: metadata as written, target files under their
# consistent-snapshot names, DIR/SHA256.BASENAME.
serve() { # serve PUBDIR: (re)make srv/ from PUBDIR and content/
	rm -rf srv
	mkdir -p srv/targets
	cp -R "$1" srv/metadata
	(cd content && find . -type f) | while read -r f; do
		f=${f#./}
		d=$(dirname "$f")
		h=$(sha256sum "content/$f" | cut -d' ' -f1)
		mkdir -p "srv/targets/$d"
		cp "content/$f" "srv/targets/$d/$h.$(basename "$f")"
	done
}
serve pub1
fetch1="hello.txt=content/hello.txt data.bin=content/data.bin
	apps/tool.tar=content/apps/tool.tar"
for i in 1 2 3 4 5 6; do
	fetch1="$fetch1 apps/pkg-$i.deb=content/apps/pkg-$i.deb"
done

echo "== tuf-js refreshes and downloads every target"
# shellcheck disable=SC2086 # a list of words on purpose
verify fetch --repo srv --cache cache --seed pub1/1.root.json \
    --root-version 1 $fetch1 || fail "tuf-js on the first publication"

echo "== negative: one byte of the served targets metadata changed"
# The targets file the snapshot that timestamp.json names points to.
v=$(cd srv/metadata && node -e '
	const rd = (f) => JSON.parse(require("fs").readFileSync(f)).signed;
	const s = rd("timestamp.json").meta["snapshot.json"].version;
	console.log(rd(s + ".snapshot.json").meta["targets.json"].version);') ||
	fail "no targets version in srv/metadata"
tf=srv/metadata/$v.targets.json
[ -f "$tf" ] || fail "no $tf"
cp "$tf" targets.good
sed 's/"document"/"documenT"/' targets.good >"$tf"
cmp -s targets.good "$tf" && fail "sed did not change $tf"
verify fetch --repo srv --cache cache-bad --seed pub1/1.root.json \
    --root-version 1 hello.txt=content/hello.txt >bad.out
rc=$?
cat bad.out
[ "$rc" -eq 1 ] || fail "tuf-js with tampered $tf: exit $rc, want 1"
has '^FAIL: tuf-js refresh' bad.out
cp targets.good "$tf"

echo "== negative: one byte of a served target file changed"
h=$(sha256sum content/apps/tool.tar | cut -d' ' -f1)
printf 'the tooL\n' >"srv/targets/apps/$h.tool.tar"
verify fetch --repo srv --cache cache-bad2 --seed pub1/1.root.json \
    --root-version 1 apps/tool.tar=content/apps/tool.tar >bad.out
rc=$?
cat bad.out
[ "$rc" -eq 1 ] || fail "tuf-js with a tampered target file: exit $rc, want 1"
has '^ok: tuf-js refresh' bad.out
has '^FAIL: tuf-js downloads apps/tool.tar' bad.out
cp content/apps/tool.tar "srv/targets/apps/$h.tool.tar"

echo "== root rotation: root3 out, root4 in, threshold 3; a new target"
r3=$(keyid root3)
fs root -C "$ws" --remove-key "root=$r3" --add-key root=keys/root4.pub \
    --threshold root=3
(cd content && "$sign" targets add -C "$ws" news.txt) >out 2>err ||
	{ cat out err >&2; fail "targets add news.txt"; }
fs request -C "$ws" -o req2.json
mkdir sig2
for k in root1 root2 root4 targets; do
	fs sign --key "keys/$k.key" --passphrase-fd 3 -o "sig2/$k.sig" req2.json 3<pw
done
# Two thresholds: 2 of root v1's keys, 3 of root v2's.  Without root4 the
# second is short and no bundle may be written.
fs merge -C "$ws" sig2/root1.sig sig2/root2.sig sig2/targets.sig
cat out
has 'root v2' out
has 'root4' out
"$sign" bundle -C "$ws" bundle-short >out 2>err && fail "bundle with root v2 short of its threshold"
cat out err
has 'no bundle written' err
has 'root v2.*missing 1 of root4' out
[ -e bundle-short ] && fail "a refused bundle left bundle-short behind"
fs merge -C "$ws" sig2/root4.sig
cat out
fs bundle -C "$ws" bundle2
[ -f bundle2/metadata/2.root.json ] || fail "bundle2 lacks metadata/2.root.json"
fs publish -C "$ws" --snapshot-key keys/snapshot.key \
    --timestamp-key keys/timestamp.key --passphrase-fd 3 pub 3<pw2
cat out
ls pub
cp -R pub pub2
# A client that trusts the first timestamp ignores one of the same
# version, so both versions must go up.
for d in pub1 pub2; do
	(cd "$d" && node -e '
		const rd = (f) => JSON.parse(require("fs").readFileSync(f)).signed;
		const t = rd("timestamp.json");
		console.log(t.version, t.meta["snapshot.json"].version);') >"$d.versions" ||
		fail "no versions in $d/timestamp.json"
done
read -r ts1 sn1 <pub1.versions
read -r ts2 sn2 <pub2.versions
if [ "$ts2" -le "$ts1" ] || [ "$sn2" -le "$sn1" ]; then
	fail "second publication: timestamp v$ts2, snapshot v$sn2; first: v$ts1, v$sn1"
fi
echo "timestamp v$ts1 -> v$ts2, snapshot v$sn1 -> v$sn2"

verify check pub2 >check2.out || { cat check2.out; fail "verify-sign check pub2"; }
cat check2.out
has '^role root v2$' check2.out
{ cat want1; echo "target news.txt targets"; } | LC_ALL=C sort >want2
grep '^target ' check2.out | LC_ALL=C sort >got2
cmp -s want2 got2 || { diff want2 got2 >&2; fail "targets differ from what was added"; }

echo "== tuf-js refreshes from its cached state to root v2"
serve pub2
# shellcheck disable=SC2086 # a list of words on purpose
verify fetch --repo srv --cache cache --root-version 2 \
    news.txt=content/news.txt $fetch1 || fail "tuf-js on the second publication"

echo "$name: PASS"
exit 0
