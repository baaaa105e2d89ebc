#!/bin/sh
# ferry-sign ceremonies on the real binary: a 2-of-3 root made on three
# separate key holders' directories (requests and signatures carried as
# files between them), a targets signing with a delegation and hash bins,
# a root rotation that replaces one key and raises the threshold, and the
# refusals: a version that does not increase, an expiry in the past, a
# threshold above the number of keys, a target outside its delegated
# paths, a delegation cycle, signatures by unknown keys, over different
# bytes or altered, an altered request.  Every refusal leaves the
# workspace byte for byte as it was.  The results are checked with
# ferry-tuftool (lib/meta) and against schemas/.
set -eu
top_builddir=${top_builddir:-$(pwd)}
top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}
sign=${FERRY_SIGN:-$top_builddir/ferry-sign}
tool=${FERRY_TUFTOOL:-$top_builddir/ferry-tuftool}
PYTHON=/usr/bin/python3
tmp=$(mktemp -d "${TMPDIR:-/tmp}/ferry-sign-ceremony.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
trap 'exit 1' INT TERM HUP
fail() { echo "FAIL: $*"; exit 1; }
cd "$tmp"

run() {
	want=$1
	shift
	set +e
	"$@" >out 2>err
	got=$?
	set -e
	[ "$got" -eq "$want" ] ||
	    fail "$* exited $got, not $want: $(cat out err)"
}
has() { grep -q -- "$1" "$2" || fail "$2 lacks '$1': $(cat "$2")"; }
lacks() { ! grep -q -- "$1" "$2" || fail "$2 has '$1': $(cat "$2")"; }
# A digest of every file of the workspace, to show a refusal changed nothing.
wsum() { (cd ws && find . -type f | LC_ALL=C sort | xargs sha256sum); }
# refused MESSAGE CMD...: exit 1, MESSAGE on stderr, workspace unchanged.
refused() {
	msg=$1
	shift
	wsum >before
	run 1 "$@"
	has "$msg" err
	wsum >after
	cmp -s before after || fail "$* changed the workspace"
}
schema() {
	$PYTHON "$top_srcdir/tests/e2e/schema_check.py" "$top_srcdir/schemas" \
	    "$@" >/dev/null || fail "schema: $*"
}

printf 'pass phrase\n' >pw
# holder NAME...: each key holder has a directory with only their key.
for h in alice bob carol dave release apps bins snap ts; do
	mkdir -p "holders/$h"
	run 0 "$sign" key generate --kdf interactive --passphrase-fd 3 \
	    "holders/$h/$h.key" 3<pw
	cp "holders/$h/$h.pub" .
done
id() { sed 's/.*"keyid":"\([0-9a-f]*\)".*/\1/' "$1.pub"; }
# sign_as HOLDER REQUEST: carry REQUEST to HOLDER, sign there, carry back.
sign_as() {
	cp "$2" "holders/$1/req.json"
	run 0 "$sign" sign --key "holders/$1/$1.key" --passphrase-fd 3 \
	    -o "holders/$1/$1.sig" "holders/$1/req.json" 3<pw
	cp "holders/$1/$1.sig" "$1.sig"
}

echo "== init: root 2 of alice, bob, carol"
run 2 "$sign" init -C ws --key nosuch=alice.pub
has "is not root, targets, snapshot or timestamp" err
run 1 "$sign" init -C ws --key root=alice.pub --threshold root=2 \
    --key targets=release.pub --key snapshot=snap.pub --key timestamp=ts.pub
has "threshold 2 is larger than its 1 key" err
[ ! -e ws ] || fail "a failed init left ws behind"
run 1 "$sign" init -C ws --key root=holders/alice/alice.key \
    --key targets=release.pub --key snapshot=snap.pub --key timestamp=ts.pub
has "not a public key file" err
run 1 "$sign" init -C ws --key root=alice.pub --key targets=release.pub \
    --key snapshot=snap.pub --key timestamp=ts.pub --expires root=2001-01-01T00:00:00Z
has "not in the future" err
[ ! -e ws ] || fail "a failed init left ws behind"
run 0 "$sign" init -C ws --key root=alice.pub --key root=bob.pub \
    --key root=carol.pub --threshold root=2 --key targets=release.pub \
    --key snapshot=snap.pub --key timestamp=ts.pub
schema ws/workspace.json
run 1 "$sign" init -C ws --key root=alice.pub
has "exists and is not empty" err
run 0 "$sign" status -C ws
has "root v1: 0 of 2 from root v1, missing 2 of alice ($(id alice | cut -c1-8)), bob" out
has "targets v1: 0 of 1 from root v1, missing 1 of release" out

echo "== targets, a delegation and succinct hash bins"
printf 'app one\n' >one.img
printf 'app two\n' >two.img
run 0 "$sign" targets add -C ws --custom '{"app":"one"}' one.img
run 0 "$sign" delegate -C ws --key apps.pub --path 'apps/*' apps
run 0 "$sign" targets add -C ws --path apps/two.img two.img
run 0 "$sign" delegate -C ws --from apps --key bins.pub --bins 8 \
    --succinct --prefix b
has "apps delegates to 8 succinct hash bins b-" out
i=0
while [ $i -lt 40 ]; do
	printf '{"path":"apps/p%d.img","length":%d,"hashes":{"sha256":"%064x"}}\n' \
	    $i $i $i
	i=$((i + 1))
done >list.jsonl
run 0 "$sign" targets add -C ws --list list.jsonl
has "added 40 targets to" out
# A file added before the bins existed stays where it was: in apps.
grep -q '"apps/two.img"' ws/staged/apps.json || fail "apps/two.img not in apps"
n=$(cat ws/staged/b-*.json | grep -o '"apps/p[0-9]*.img"' | wc -l)
[ "$n" -eq 40 ] || fail "$n of 40 list targets are in the bins"
# Each bin holds exactly the paths whose hash selects it (3 of 8 bits).
for f in ws/staged/b-*.json; do
	bin=$(basename "$f" .json)
	for p in $(grep -o '"apps/p[0-9]*.img"' "$f" | tr -d '"'); do
		h=$(printf '%s' "$p" | sha256sum | cut -c1)
		want=$(printf 'b-%x' $((0x$h >> 1)))
		[ "$want" = "$bin" ] || fail "$p is in $bin, not $want"
	done
done

echo "== refusals before signing"
refused "outside the paths targets delegates to apps" \
    "$sign" targets add -C ws --role apps --path other/x.img one.img
refused "would make a cycle" \
    "$sign" delegate -C ws --from apps --key apps.pub --path 'x/*' apps
refused "must be relative" \
    "$sign" targets add -C ws --path /etc/passwd one.img
refused "has a '.' or '..' part" \
    "$sign" targets add -C ws --path apps/../x one.img
refused "list.bad:2: hashes.sha256: must be 64 hex digits" sh -c \
    "printf '%s\n%s\n' '{\"path\":\"a\",\"length\":1,\"hashes\":{\"sha256\":\"$(printf '%064x' 1)\"}}' \
    '{\"path\":\"b\",\"length\":1,\"hashes\":{\"sha256\":\"12\"}}' >list.bad &&
    exec \"$sign\" targets add -C ws --list list.bad"
refused "not in the future" \
    "$sign" renew -C ws --expires 2020-01-01T00:00:00Z targets
refused "threshold 4 is larger than its 3 keys" \
    "$sign" root -C ws --threshold root=4
refused "no role \"nosuch\"" "$sign" renew -C ws nosuch

echo "== the first ceremony: each holder signs on their own"
run 0 "$sign" request -C ws -o req1.json
schema req1.json
# Keys that can sign nothing in the request are refused before the
# passphrase, and write nothing.
cp req1.json holders/dave/req.json
run 1 "$sign" sign --key holders/dave/dave.key --passphrase-fd 3 \
    holders/dave/req.json 3<pw
has "is not a key of any role in" err
[ -z "$(ls holders/dave/*.sig 2>/dev/null)" ] || fail "dave wrote a signature"
# A wrong passphrase signs nothing.
cp req1.json holders/alice/req.json
printf 'wrong\n' >badpw
run 1 "$sign" sign --key holders/alice/alice.key --passphrase-fd 3 \
    holders/alice/req.json 3<badpw
[ -z "$(ls holders/alice/*.sig 2>/dev/null)" ] || fail "a wrong passphrase signed"
# An altered request is refused by the key holder.
sed 's/"app":"one"/"app":"evil"/' req1.json >holders/alice/evil.json
run 1 "$sign" sign --key holders/alice/alice.key --passphrase-fd 3 \
    holders/alice/evil.json 3<pw
has "the request was altered" err
sign_as alice req1.json
schema alice.sig
has "signed 1 role with" out
run 0 "$sign" merge -C ws alice.sig
has "root v1: 1 of 2 from root v1, missing 1 of bob ($(id bob | cut -c1-8)), carol" out
run 1 "$sign" bundle -C ws out1
has "are not signed by their thresholds yet; no bundle written" err
[ ! -e out1 ] || fail "an incomplete bundle was written"
# A signature altered in transit refuses the whole merge.
sign_as bob req1.json
# (the first digit of the signature changed: 0 becomes 1, else 0)
sed 's/"sig":"0/"sig":"X/; s/"sig":"[1-9a-f]/"sig":"0/; s/"sig":"X/"sig":"1/' \
    bob.sig >bob-altered.sig
cmp -s bob.sig bob-altered.sig && fail "bob-altered.sig is not altered"
sign_as release req1.json
refused "does not verify" "$sign" merge -C ws release.sig bob-altered.sig
has "nothing was merged; leave bob-altered.sig out" err
for h in apps bins; do sign_as $h req1.json; done
has "signed 8 roles with" out
run 0 "$sign" merge -C ws bob.sig release.sig apps.sig bins.sig
has "root v1: complete, 2 of 2 from root v1" out
has "b-0 v1: complete, 1 of 1 from apps v1" out
# A signature by a key no threshold lists: carol's key made into dave's.
sed "s/\"keyid\":\"[0-9a-f]*\"/\"keyid\":\"$(id dave)\"/" alice.sig >forged.sig
refused "is not a key that can sign it" "$sign" merge -C ws forged.sig
run 0 "$sign" bundle -C ws out1
schema out1/manifest.json
for f in out1/metadata/*.json; do schema "$f"; done
"$tool" verify out1/metadata/1.root.json root out1/metadata/1.root.json \
    >/dev/null || fail "1.root.json does not verify"
"$tool" verify out1/metadata/1.root.json targets out1/metadata/targets.json \
    >/dev/null || fail "targets.json does not verify"
"$tool" verify out1/metadata/targets.json apps out1/metadata/apps.json \
    >/dev/null || fail "apps.json does not verify"
"$tool" verify out1/metadata/apps.json b-3 out1/metadata/b-3.json \
    >/dev/null || fail "b-3.json does not verify"
# The manifest describes every file exactly.
$PYTHON - out1 <<'EOF' || fail "manifest does not match the files"
import hashlib, json, os, sys
d = sys.argv[1]
m = json.load(open(os.path.join(d, "manifest.json")))
listed = set()
for e in m["roles"]:
    b = open(os.path.join(d, e["path"]), "rb").read()
    assert len(b) == e["length"], e
    assert hashlib.sha256(b).hexdigest() == e["sha256"], e
    assert json.loads(b)["signed"]["version"] == e["version"], e
    listed.add(e["path"])
files = {"metadata/" + f for f in os.listdir(os.path.join(d, "metadata"))}
assert files == listed, files ^ listed
assert m["root_version"] == 1
EOF
run 0 "$sign" status -C ws
has "nothing is staged" out
[ -f ws/metadata/1.root.json ] && [ -f ws/metadata/b-7.json ] ||
    fail "the workspace did not promote the signed roles"

echo "== refusals of versions"
refused "must be exactly one more than 1" "$sign" root -C ws --version 1
refused "must be exactly one more than 1" "$sign" root -C ws --version 3

echo "== a signature over different bytes"
run 0 "$sign" targets add -C ws --role apps --path apps/three.img two.img
run 0 "$sign" request -C ws -o req2.json
sign_as apps req2.json
has "signed 1 role" out
run 0 "$sign" targets add -C ws --role apps --path apps/four.img two.img
refused "signed different bytes" "$sign" merge -C ws apps.sig
has "apps.sig: apps v2" err
run 0 "$sign" request -C ws -o req2.json
sign_as apps req2.json
run 0 "$sign" merge -C ws apps.sig
has "apps v2: complete" out

echo "== rotation: carol out, dave in, root threshold 3"
run 0 "$sign" root -C ws --remove-key "root=$(id carol | cut -c1-10)" \
    --add-key root=dave.pub --threshold root=3
has "root v2: 0 of 2 from root v1" out
has "0 of 3 from root v2, missing 3 of alice" out
lacks "carol" ws/staged/root.json
run 0 "$sign" request -C ws -o req3.json
schema req3.json
sign_as alice req3.json
sign_as dave req3.json
run 0 "$sign" merge -C ws alice.sig dave.sig
has "root v2: 1 of 2 from root v1, missing 1 of bob ($(id bob | cut -c1-8)), carol ($(id carol | cut -c1-8)); 2 of 3 from root v2, missing 1 of bob" out
# carol can still sign for the old root, but that is not enough.
sign_as carol req3.json
run 0 "$sign" merge -C ws carol.sig
has "2 of 2 from root v1; 2 of 3 from root v2, missing 1 of bob" out
run 1 "$sign" bundle -C ws out2.tar.zst
[ ! -e out2.tar.zst ] || fail "an incomplete bundle was written"
sign_as bob req3.json
run 0 "$sign" merge -C ws bob.sig
has "root v2: complete, 3 of 2 from root v1; 3 of 3 from root v2" out
run 0 "$sign" bundle -C ws out2.tar.zst
mkdir x2
tar --zstd -xf out2.tar.zst -C x2 2>/dev/null
schema x2/manifest.json
grep -q '"root_version":2' x2/manifest.json || fail "manifest root_version"
"$tool" verify x2/metadata/1.root.json root x2/metadata/2.root.json \
    >/dev/null || fail "root v2 does not verify against root v1"
"$tool" verify x2/metadata/2.root.json root x2/metadata/2.root.json \
    >/dev/null || fail "root v2 does not verify against itself"
"$tool" verify x2/metadata/2.root.json targets x2/metadata/targets.json \
    >/dev/null || fail "targets does not verify against root v2"
[ "$(grep -o '"keyid":' x2/metadata/2.root.json | wc -l)" -eq 4 ] ||
    fail "root v2 does not carry the 4 signatures merged"

echo "== targets remove"
run 0 "$sign" targets remove -C ws apps/p3.img one.img
has "removed 2 targets from 2 roles" out
! grep -q '"apps/p3.img"' ws/staged/b-*.json || fail "apps/p3.img still staged"
! grep -q '"one.img"' ws/staged/targets.json || fail "one.img still staged"
refused "no role has this target" "$sign" targets remove -C ws apps/p3.img

echo "== classic hash bins: 256 bins by path_hash_prefixes"
run 0 "$sign" delegate -C ws --key bins.pub --path 'pkgs/*' pkgs
run 0 "$sign" delegate -C ws --from pkgs --key bins.pub --bins 256
has "pkgs delegates to 256 classic hash bins bins-\*; 256 new roles" out
i=0
while [ $i -lt 600 ]; do
	printf '{"path":"pkgs/%d","length":1,"hashes":{"sha256":"%064x"}}\n' $i $i
	i=$((i + 1))
done >pkgs.jsonl
run 0 "$sign" targets add -C ws --list pkgs.jsonl
$PYTHON - ws/staged <<'EOF' || fail "classic bins hold the wrong targets"
import hashlib, json, os, sys
d = sys.argv[1]
pkgs = json.load(open(os.path.join(d, "pkgs.json")))["signed"]
roles = pkgs["delegations"]["roles"]
assert len(roles) == 256
seen = 0
for i, r in enumerate(roles):
    assert r["name"] == "bins-%02x" % i, r["name"]
    assert r["path_hash_prefixes"] == ["%02x" % i], r
    t = json.load(open(os.path.join(d, r["name"] + ".json")))["signed"]["targets"]
    for p in t:
        assert hashlib.sha256(p.encode()).hexdigest()[:2] == "%02x" % i, (p, r["name"])
    seen += len(t)
assert seen == 600, seen
EOF
# 4 bins of 4 one-digit prefixes each when the count is not a power of 16.
run 0 "$sign" delegate -C ws --key bins.pub --path 'few/*' few
run 0 "$sign" delegate -C ws --from few --key bins.pub --bins 4 --prefix q
grep -q '"name":"q-3","path_hash_prefixes":\["c","d","e","f"\]' \
    ws/staged/few.json || fail "few.json: bin q-3 is not c, d, e, f"
refused "already delegates; hashed bins take the whole target space" \
    "$sign" delegate -C ws --from few --key bins.pub --bins 4

echo "== what a key holder is shown, and requests that lie"
# Every role is shown with its full SHA-256, and the request fingerprint
# both sides print is the same.
run 0 "$sign" renew -C ws targets
run 0 "$sign" request -C ws -o req4.json
fp=$(sed -n 's/^request fingerprint //p' out)
[ ${#fp} -eq 64 ] || fail "request printed no fingerprint: $(cat out)"
cp req4.json holders/release/req.json
run 0 "$sign" sign --key holders/release/release.key --passphrase-fd 3 \
    holders/release/req.json 3<pw
has "request fingerprint $fp" err
sha=$($PYTHON -c 'import json,sys; print([r for r in json.load(open(sys.argv[1]))["roles"] if r["role"] == "targets"][0]["sha256"])' req4.json)
has "sha256 $sha" err
# A key listed under another key's id in the signed part: refused even
# with the stated sha256 made to match.
$PYTHON - req4.json holders/alice/lie1.json "$(id alice)" "$(id dave)" <<'EOF'
import hashlib, json, sys
sys.path.insert(0, "/usr/lib/python3/dist-packages")
from securesystemslib.formats import encode_canonical
req = json.load(open(sys.argv[1]))
alice, dave = sys.argv[3], sys.argv[4]
dave_key = json.load(open("dave.pub")); del dave_key["keyid"]
for r in req["roles"]:
    if r["role"] == "targets":
        r["signed"].setdefault("delegations", {"keys": {}, "roles": []})
        r["signed"]["delegations"]["keys"][alice] = dave_key
        r["signed"]["delegations"]["roles"].append({"name": "evil",
            "keyids": [alice], "threshold": 1, "terminating": False,
            "paths": ["*"]})
        r["sha256"] = hashlib.sha256(encode_canonical(r["signed"]).encode()).hexdigest()
        r["thresholds"][0]["keys"][alice] = json.load(open("alice.pub"))
        del r["thresholds"][0]["keys"][alice]["keyid"]
json.dump(req, open(sys.argv[2], "w"))
EOF
run 1 "$sign" sign --key holders/alice/alice.key --passphrase-fd 3 \
    holders/alice/lie1.json 3<pw
has "is listed under an id that is not its key id" err
# A role name with control characters (a terminal escape) is refused.
sed 's/"role":"targets"/"role":"tar\\u001b[2Jgets"/' req4.json \
    >holders/release/lie2.json
run 1 "$sign" sign --key holders/release/release.key --passphrase-fd 3 \
    holders/release/lie2.json 3<pw
has "a role name must be letters, digits" err
run 0 "$sign" targets add -C ws --path x.img one.img

echo "== a target added again goes where clients look first"
# apps/two.img was added to apps before apps delegated to bins; added
# again, it goes into its bin and leaves apps, where it would shadow it.
grep -q '"apps/two.img"' ws/metadata/apps.json || fail "setup: apps/two.img"
run 0 "$sign" targets add -C ws --path apps/two.img one.img
! grep -q '"apps/two.img"' ws/staged/apps.json || fail "apps/two.img left in apps"
[ "$(grep -l '"apps/two.img"' ws/staged/b-*.json | wc -l)" -eq 1 ] ||
    fail "apps/two.img is not in exactly one bin"
run 0 "$sign" targets remove -C ws apps/two.img
! grep -q '"apps/two.img"' ws/staged/*.json || fail "apps/two.img not removed"
refused "root holds no targets" \
    "$sign" targets add -C ws --role root --path r.img one.img

echo "== delegations that would break the workspace"
run 0 "$sign" delegate -C ws --key apps.pub --path 'x0/*' x0
refused "b-0: the workspace has a role of that name already" \
    "$sign" delegate -C ws --from x0 --key bins.pub --bins 8 --prefix b --succinct
# Below a succinct bin: the workspace still finds every role's delegator.
run 0 "$sign" delegate -C ws --from b-1 --key apps.pub --path 'apps/deep/*' deep
run 0 "$sign" status -C ws
run 0 "$sign" request -C ws -o req5.json deep
grep -q '"of":"b-1 v[0-9]*"' req5.json || fail "deep is not delegated by b-1"

echo "== init in place, and the first root's version"
mkdir empty
(cd empty && "$sign" init --key root=../alice.pub --key targets=../alice.pub \
    --key snapshot=../alice.pub --key timestamp=../alice.pub >/dev/null) ||
    fail "init in the current directory"
[ -f empty/workspace.json ] || fail "init in place wrote no workspace"
run 0 "$sign" init -C slash/ --key root=alice.pub --key targets=alice.pub \
    --key snapshot=alice.pub --key timestamp=alice.pub
[ -f slash/workspace.json ] || fail "init -C slash/"
cp slash/staged/root.json root.before
run 1 "$sign" root -C slash --version 5
has "the first root is version 1" err
cmp -s root.before slash/staged/root.json || fail "a refused root changed"

echo "== a full disk changes nothing"
# RLIMIT_FSIZE makes every write past 512 bytes fail as a full disk would
# (EFBIG; SIGXFSZ ignored): the staged files and the key stay as they were.
# (Not 0: standard error may be a file too, and must take the message.)
refused "File too large" sh -c "trap '' XFSZ; ulimit -f 1; exec \"$sign\" \
    targets add -C ws --role pkgs --path pkgs/big one.img"
ls holders/alice >keydir.before
cp holders/alice/alice.key alice.key.before
printf 'pass phrase\nnew pass phrase\n' >pw2
set +e
sh -c "trap '' XFSZ; ulimit -f 1; exec \"$sign\" key passwd \
    --passphrase-fd 3 holders/alice/alice.key" 3<pw2 >out 2>err
got=$?
set -e
[ "$got" -eq 1 ] || fail "key passwd on a full disk exited $got: $(cat err)"
has "File too large" err
cmp -s alice.key.before holders/alice/alice.key || fail "alice.key changed"
ls holders/alice >keydir.after
cmp -s keydir.before keydir.after || fail "files left: $(cat keydir.after)"

echo "PASS: sign_ceremony"
