#!/bin/sh
# ferry-repod publish against hostile and broken bundles.  ferry-sign makes
# a repository (targets, a delegation apps/* to role apps), ferry-repod
# publishes two bundles, and then every bundle below must be refused with
# exit status 1, an error naming the problem, and not one byte of what is
# served changed (the metadata link, the state directories, every file
# under metadata/ and targets/):
#   a signature changed (the manifest rewritten, so that the signature
#   check is what refuses it); a file changed behind the manifest's back;
#   a rolled-back version; images that do not match their hashes or
#   lengths, or are missing; a target outside its role's delegated paths
#   (signed by the right key, assembled by hand, since the signer refuses
#   to bundle it); a role nobody delegates and a delegated role missing;
#   a root v2 not signed by root v1's keys, and another root v1; truncated
#   and corrupt archives and files that are no bundle.
# Then the client still refreshes from what is served, a bundle with
# nothing new publishes nothing, and, as controls, the untampered bundle
# and a hand-assembled one without the stray target are published.
# Needs FERRY_SIGN, FERRY_REPOD, FERRY_CLIENT, python3, zstd.
set -u
name=repod_bad_bundles
. "${top_srcdir:?is unset: run this from make check}/tests/e2e/lib.sh.inc"
skip() { echo "$name: SKIP: $*" >&2; exit 77; }
bins sign repod client
py=/usr/bin/python3
[ -x "$py" ] || py=$(command -v python3 2>/dev/null) || skip "no python3"
for t in zstd sha256sum; do
	command -v "$t" >/dev/null 2>&1 || skip "$t not found on PATH"
done

setup

# Bundle surgery, by hand: what the signer would never write.
cat >bt.py <<'EOF'
import hashlib, json, os, sys

def load(p):
    with open(p, 'rb') as f:
        return json.loads(f.read().decode('utf-8'))

def save(p, v):
    with open(p, 'wb') as f:
        f.write(json.dumps(v, separators=(',', ':'), sort_keys=True,
                           ensure_ascii=False).encode('utf-8'))

def entry(bundle, path):
    with open(os.path.join(bundle, path), 'rb') as f:
        data = f.read()
    return len(data), hashlib.sha256(data).hexdigest()

cmd, a = sys.argv[1], sys.argv[2:]
if cmd == 'flipsig':            # FILE: one hex digit of the first signature
    p = a[0]
    with open(p, 'rb') as f:
        data = f.read()
    i = data.index(b'"sig":"') + len(b'"sig":"') + 10
    c = data[i:i + 1]
    assert c in b'0123456789abcdef', c
    data = data[:i] + (b'1' if c != b'1' else b'2') + data[i + 1:]
    with open(p, 'wb') as f:
        f.write(data)
elif cmd == 'fix':              # BUNDLE PATH [VERSION]: the entry follows the file
    m = os.path.join(a[0], 'manifest.json')
    man, hits = load(m), 0
    for e in man['roles']:
        if e['path'] == a[1]:
            e['length'], e['sha256'] = entry(a[0], a[1])
            if len(a) > 2:
                e['version'] = int(a[2])
            hits += 1
    assert hits == 1, (a, hits)
    save(m, man)
elif cmd == 'add':              # BUNDLE ROLE VERSION PATH [INDEX]
    m = os.path.join(a[0], 'manifest.json')
    man = load(m)
    n, h = entry(a[0], a[3])
    e = {'role': a[1], 'version': int(a[2]), 'path': a[3],
         'length': n, 'sha256': h}
    man['roles'].insert(int(a[4]) if len(a) > 4 else len(man['roles']), e)
    if a[1] == 'root':
        man['root_version'] = max(man['root_version'], int(a[2]))
    save(m, man)
elif cmd == 'drop':             # BUNDLE ROLE: the entry and its file
    m = os.path.join(a[0], 'manifest.json')
    man = load(m)
    gone = [e for e in man['roles'] if e['role'] == a[1]]
    assert len(gone) == 1, gone
    man['roles'] = [e for e in man['roles'] if e['role'] != a[1]]
    os.unlink(os.path.join(a[0], gone[0]['path']))
    save(m, man)
elif cmd == 'addtarget':        # STAGED PATH LENGTH SHA256
    d = load(a[0])
    d['signed']['targets'][a[1]] = {'length': int(a[2]),
                                    'hashes': {'sha256': a[3]}}
    save(a[0], d)
elif cmd == 'assemble':         # STAGED SIGFILE ROLE OUT: the signed role
    d, s = load(a[0]), load(a[1])
    sigs = [x for x in s['signatures'] if x['role'] == a[2]]
    assert len(sigs) == 1, s
    assert sigs[0]['version'] == d['signed']['version'], (sigs, d)
    d['signatures'] = [{'keyid': s['keyid'], 'sig': sigs[0]['sig']}]
    save(a[3], d)
elif cmd == 'version':          # FILE: the version of a metadata file
    print(load(a[0])['signed']['version'])
else:
    sys.exit('bt.py: unknown command ' + cmd)
EOF
bt() { "$py" bt.py "$@" || fail "bt.py $*"; }

echo "== keys, a workspace, bundles b1 and b2"
printf 'bad bundles passphrase\n' >pw
mkdir keys content content/apps
genkeys root targets snapshot timestamp apps evil
workspace
printf 'hello from the targets role\n' >content/hello.txt
printf 'image a, version 1\n' >content/apps/a.img
printf 'news in the second bundle\n' >content/news.txt
head -c 3000 /dev/urandom >content/apps/b.img
printf 'more in the third bundle\n' >content/more.txt
head -c 5000 /dev/urandom >content/apps/c.img
head -c 700 /dev/urandom >content/apps/d.img
(cd content && "$sign" targets add -C "$ws" hello.txt) >out 2>err ||
	{ cat out err >&2; fail "targets add hello.txt"; }
run "$sign" delegate -C "$ws" --key keys/apps.pub --path 'apps/*' apps
run "$sign" targets add -C "$ws" --path apps/a.img content/apps/a.img
grep -q '"apps/a.img"' "$ws/staged/apps.json" ||
	fail "apps/a.img is not in role apps: $(cat "$ws/staged/apps.json")"
ok

sign_merge 1 root targets apps
run "$sign" bundle -C "$ws" b1
run "$sign" bundle -C "$ws" b1.tar.zst

(cd content && "$sign" targets add -C "$ws" news.txt) >out 2>err ||
	{ cat out err >&2; fail "targets add news.txt"; }
run "$sign" targets add -C "$ws" --path apps/b.img content/apps/b.img
sign_merge 2 targets apps
run "$sign" bundle -C "$ws" b2
[ "$(bt version b2/metadata/targets.json)" = 2 ] &&
    [ "$(bt version b2/metadata/apps.json)" = 2 ] ||
	fail "b2 does not hold targets v2 and apps v2"
ok

# b3: new targets in both roles, made now, published only at the end.
(cd content && "$sign" targets add -C "$ws" more.txt) >out 2>err ||
	{ cat out err >&2; fail "targets add more.txt"; }
run "$sign" targets add -C "$ws" --path apps/c.img content/apps/c.img
sign_merge 3 targets apps
run "$sign" bundle -C "$ws" b3
run "$sign" bundle -C "$ws" b3.tar.zst
[ "$(bt version b3/metadata/apps.json)" = 3 ] || fail "b3 does not hold apps v3"
ok

echo "== init, publish b1 (archive) and b2 (directory)"
st=$tmp/st
run "$repod" init -d "$st" --root "$ws/metadata/1.root.json" \
    --snapshot-key keys/snapshot.key --timestamp-key keys/timestamp.key
# (timeout: whatever is wrong, publish must never hang; 124 if it did.)
pub() { # pub BUNDLE [IMAGES]
	timeout 300 "$repod" publish -d "$st" --images "${2:-content}" \
	    --passphrase-fd 3 "$1" 3<pw
}
pub b1.tar.zst >out 2>err || { cat out err >&2; fail "publish b1.tar.zst"; }
grep -q 'published b1.tar.zst as state 1' out || fail "publish b1: $(cat out)"
ok
pub b2 >out 2>err || { cat out err >&2; fail "publish b2"; }
grep -q 'published b2 as state 2' out || fail "publish b2: $(cat out)"
ok
[ "$(readlink "$st/repo/metadata")" = .states/0000000002 ] ||
	fail "metadata -> $(readlink "$st/repo/metadata")"
ok

# Everything served: the link, the states, every file's digest.
fingerprint() {
	{
		echo "metadata -> $(readlink "$st/repo/metadata")"
		ls -a "$st/repo/.states"
		(cd "$st/repo" && find -L metadata targets -type f |
		    LC_ALL=C sort | xargs sha256sum)
	} >"$1" || fail "fingerprint"
}
fingerprint fp.ref
grep -q ' metadata/2.targets.json$' fp.ref &&
    grep -q ' metadata/2.apps.json$' fp.ref &&
    grep -q "^$(sha256sum content/apps/b.img | cut -d' ' -f1)  targets/apps/" fp.ref ||
	fail "the fingerprint lacks what b2 published: $(cat fp.ref)"
ok

# refused WHY PHRASE BUNDLE [IMAGES]: publishing BUNDLE exits 1, says
# PHRASE on standard error, publishes nothing and changes nothing served.
refused() {
	rc=0
	pub "$3" "${4:-content}" >out 2>err || rc=$?
	[ "$rc" = 1 ] || { cat out err >&2; fail "$1: exit $rc, want 1"; }
	ok
	grep -q -e "$2" err ||
		{ cat out err >&2; fail "$1: stderr does not say '$2'"; }
	ok
	grep -q 'published' out && { cat out >&2; fail "$1: says published"; }
	grep -q 'Sanitizer' err && { cat err >&2; fail "$1: a sanitizer spoke"; }
	fingerprint fp.now
	cmp -s fp.ref fp.now ||
		{ diff fp.ref fp.now >&2; fail "$1: what is served changed"; }
	ok
	# Nor is an extracted archive left in DIR.
	left=$(find "$st" -mindepth 1 -maxdepth 1 -name 'tmp.*')
	[ -z "$left" ] || fail "$1: left behind: $left"
	ok
	echo "refused: $1: $(grep -v '^ts=' err | head -n 1)"
}
# fresh NAME FROM: NAME is a new copy of bundle directory FROM.
fresh() { rm -rf "$1" && cp -R "$2" "$1" || fail "cp $2 $1"; }

echo "== 1. a wrong signature (the manifest agrees with the file)"
fresh bad1 b3
bt flipsig bad1/metadata/targets.json
cmp -s b3/metadata/targets.json bad1/metadata/targets.json &&
	fail "flipsig changed nothing"
bt fix bad1 metadata/targets.json
refused "targets signature changed" \
    "targets v3 is not signed by a threshold of root v1's targets keys" bad1
fresh bad1 b3
bt flipsig bad1/metadata/apps.json
bt fix bad1 metadata/apps.json
refused "apps signature changed" \
    "apps v3 is not signed by a threshold of the keys targets delegates it to" bad1
fresh bad1 b3
bt flipsig bad1/metadata/1.root.json
bt fix bad1 metadata/1.root.json
refused "root signature changed" \
    "root v1 is not signed by a threshold of root v1" bad1

echo "== 2. a file changed behind the manifest's back"
fresh bad2 b3
sed 's/"version":3/"version":4/' b3/metadata/apps.json >bad2/metadata/apps.json
cmp -s b3/metadata/apps.json bad2/metadata/apps.json && fail "sed changed nothing"
refused "apps.json changed, same length" \
    "apps.json: its sha256 is not the one the manifest gives" bad2
fresh bad2 b3
printf ' ' >>bad2/metadata/targets.json
refused "targets.json one byte longer" \
    "targets.json: longer than the manifest says" bad2
fresh bad2 b3
len=$(wc -c <b3/metadata/targets.json | tr -d ' ')
head -c $((len - 1)) b3/metadata/targets.json >bad2/metadata/targets.json
refused "targets.json one byte shorter" \
    "targets.json: $((len - 1)) bytes, the manifest says $len" bad2
fresh bad2 b3
rm bad2/metadata/apps.json
refused "apps.json missing" "apps.json: No such file or directory" bad2

echo "== 3. rolled back"
refused "b1 after b2 (directory)" "v1 is older than v2, published now" b1
refused "b1 after b2 (archive)" "v1 is older than v2, published now" b1.tar.zst

echo "== 4. images that do not match their metadata"
rm -rf img && cp -R content img || fail "cp content img"
# Same length, other bytes: one byte flipped in the middle.
"$py" -c '
import sys
p = sys.argv[1]
b = bytearray(open(p, "rb").read())
b[len(b) // 2] ^= 0x55
open(p, "wb").write(b)' img/apps/c.img || fail "flip a byte of img/apps/c.img"
[ "$(wc -c <img/apps/c.img)" = "$(wc -c <content/apps/c.img)" ] ||
	fail "img/apps/c.img changed length"
refused "apps/c.img with other bytes" \
    'target "apps/c.img": the image does not match its metadata' b3 img
cp content/apps/c.img img/apps/c.img
printf 'x' >>img/apps/c.img
refused "apps/c.img one byte longer" \
    'target "apps/c.img": the image is longer than the 5000 bytes' b3 img
head -c 4999 content/apps/c.img >img/apps/c.img
refused "apps/c.img one byte shorter" \
    'target "apps/c.img": the image has 4999 bytes, its metadata says 5000' \
    b3.tar.zst img
rm img/apps/c.img
refused "apps/c.img missing" 'target "apps/c.img" (apps v3): no image at' \
    b3 img
# A FIFO where the image should be: refused at once, not waited on
# with the tree locked.
mkfifo img/apps/c.img || fail "mkfifo img/apps/c.img"
refused "apps/c.img a FIFO" \
    'target "apps/c.img" (apps v3): no image at .*: not a regular file' b3 img
rm img/apps/c.img

echo "== 5. a target outside the paths delegated to its role"
# The signer refuses to bundle one, so: stage apps v4 with a good target
# (signed and kept as the control), add other/x.img to the staged role,
# have the apps key sign it, and put the signed role into a copy of b3.
rm -rf ws5 && cp -R "$ws" ws5 || fail "cp ws ws5"
run "$sign" targets add -C ws5 --role apps --path apps/d.img content/apps/d.img
[ "$(bt version ws5/staged/apps.json)" = 4 ] || fail "ws5 stages no apps v4"
cp ws5/staged/apps.json apps4-good.json
run "$sign" request -C ws5 -o req5ok.json apps
run "$sign" sign --key keys/apps.key --passphrase-fd 3 -o s5ok.sig req5ok.json 3<pw
bt addtarget ws5/staged/apps.json other/x.img 5 \
    "$(printf 'other' | sha256sum | cut -d' ' -f1)"
run "$sign" request -C ws5 -o req5.json apps
run "$sign" sign --key keys/apps.key --passphrase-fd 3 -o s5.sig req5.json 3<pw
run "$sign" merge -C ws5 s5.sig
"$sign" bundle -C ws5 b5-refused >out 2>err &&
	fail "ferry-sign bundled a target outside its role's paths"
grep -q 'outside the paths' err || fail "ferry-sign bundle: $(cat err)"
ok
fresh bad5 b3
bt assemble ws5/staged/apps.json s5.sig apps bad5/metadata/apps.json
bt fix bad5 metadata/apps.json 4
mkdir -p img5/other && cp -R content/. img5/ && printf 'other' >img5/other/x.img
refused "other/x.img in role apps" \
    'apps v4: target "other/x.img" is outside the paths targets delegates to it' \
    bad5 img5
fresh good5 b3
bt assemble apps4-good.json s5ok.sig apps good5/metadata/apps.json
bt fix good5 metadata/apps.json 4

echo "== 5c. a target outside every chain of delegations"
# apps (given apps/*) delegates other/* to evil, which lists other/y.img:
# each step is within what its delegator gave, but a client looking for
# other/y.img never comes to apps, so never to evil.  The signer refuses
# to make it, so evil's target is added by hand and both roles signed.
rm -rf ws5c && cp -R "$ws" ws5c || fail "cp ws ws5c"
run "$sign" delegate -C ws5c --from apps --key keys/evil.pub --path 'other/*' evil
mkdir -p img5c/other && cp -R content/. img5c/ &&
	printf 'other y\n' >img5c/other/y.img || fail "img5c"
bt addtarget ws5c/staged/evil.json other/y.img 8 \
    "$(sha256sum img5c/other/y.img | cut -d' ' -f1)"
run "$sign" request -C ws5c -o req5c.json apps evil
for k in apps evil; do
	run "$sign" sign --key "keys/$k.key" --passphrase-fd 3 -o "s5c-$k.sig" \
	    req5c.json 3<pw
done
fresh bad5c b3
bt assemble ws5c/staged/apps.json s5c-apps.sig apps bad5c/metadata/apps.json
bt fix bad5c metadata/apps.json 4
bt assemble ws5c/staged/evil.json s5c-evil.sig evil bad5c/metadata/evil.json
bt add bad5c evil 1 metadata/evil.json
refused "other/y.img in evil, under apps/*" \
    'evil v1: target "other/y.img" is outside the paths delegated to it along every chain' \
    bad5c img5c

echo "== 5b. one image, two roles, two lengths"
# Top-level targets v4 lists apps/c.img too, with apps v3's sha256 but one
# byte shorter: the image is stored once, so the two must agree.
rm -rf ws5b && cp -R "$ws" ws5b || fail "cp ws ws5b"
printf 'five b\n' >content/five-b.txt
(cd content && "$sign" targets add -C ../ws5b five-b.txt) >out 2>err ||
	{ cat out err >&2; fail "targets add five-b.txt"; }
[ "$(bt version ws5b/staged/targets.json)" = 4 ] || fail "ws5b stages no targets v4"
bt addtarget ws5b/staged/targets.json apps/c.img 4999 \
    "$(sha256sum content/apps/c.img | cut -d' ' -f1)"
run "$sign" request -C ws5b -o req5b.json targets
run "$sign" sign --key keys/targets.key --passphrase-fd 3 -o s5b.sig \
    req5b.json 3<pw
fresh bad5b b3
bt assemble ws5b/staged/targets.json s5b.sig targets bad5b/metadata/targets.json
bt fix bad5b metadata/targets.json 4
# Listed last, targets comes after apps, whose image is right: only the
# comparison can catch it (listed first, the image check does).
"$py" -c '
import json, sys
p = sys.argv[1]
m = json.load(open(p))
m["roles"].sort(key=lambda e: e["role"] == "targets")
json.dump(m, open(p, "w"), separators=(",", ":"), sort_keys=True)
' bad5b/manifest.json || fail "reorder bad5b/manifest.json"
refused "apps/c.img listed by targets and apps with two lengths" \
    'target "apps/c.img": .* gives it another length or other hashes than' \
    bad5b

echo "== 6. a role nobody delegates; a delegated role missing"
fresh bad6 b3
cp b3/metadata/apps.json bad6/metadata/ghost.json
bt add bad6 ghost 3 metadata/ghost.json
refused "ghost.json" "role ghost is not delegated by any role" bad6
fresh bad6 b3
bt drop bad6 apps
refused "apps.json left out" \
    "targets delegates to apps, which the bundle does not hold" bad6

echo "== 7. a broken root chain"
# Another workspace, another root key: its root v2 is signed by that key
# alone, as new root and as old, never by our root v1's key.
ws7=$tmp/ws7
run "$sign" init -C "$ws7" --key root=keys/evil.pub \
    --key targets=keys/targets.pub --key snapshot=keys/snapshot.pub \
    --key timestamp=keys/timestamp.pub
run "$sign" request -C "$ws7" -o req7a.json
run "$sign" sign --key keys/evil.key --passphrase-fd 3 -o s7a.sig req7a.json 3<pw
run "$sign" sign --key keys/targets.key --passphrase-fd 3 -o s7b.sig req7a.json 3<pw
run "$sign" merge -C "$ws7" s7a.sig s7b.sig
run "$sign" bundle -C "$ws7" b7a
run "$sign" root -C "$ws7" --expires 200d
run "$sign" request -C "$ws7" -o req7b.json
run "$sign" sign --key keys/evil.key --passphrase-fd 3 -o s7c.sig req7b.json 3<pw
run "$sign" merge -C "$ws7" s7c.sig
run "$sign" bundle -C "$ws7" b7b
[ -f b7b/metadata/2.root.json ] || fail "ws7 made no root v2"
ok
fresh bad7 b3
cp b7b/metadata/2.root.json bad7/metadata/2.root.json
bt add bad7 root 2 metadata/2.root.json 1
refused "root v2 by other keys" \
    "root v2 is not signed by a threshold of root v1 and of itself" bad7
# Another root v1, validly self-signed, in place of the trusted one.
fresh bad7 b3
cp b7a/metadata/1.root.json bad7/metadata/1.root.json
bt fix bad7 metadata/1.root.json
refused "another root v1" "root v1 differs from the one published" bad7

echo "== 8. broken archives, and files that are no bundle"
size=$(wc -c <b3.tar.zst | tr -d ' ')
head -c $((size / 2)) b3.tar.zst >trunc.tar.zst
refused "truncated archive" "trunc.tar.zst: Truncated zstd input" trunc.tar.zst
head -c $((size - 9)) b3.tar.zst >trunc2.tar.zst
refused "archive short of its last 9 bytes" \
    "trunc2.tar.zst: Truncated zstd input" trunc2.tar.zst
cp b3.tar.zst corrupt.tar.zst
"$py" -c '
import sys
p = sys.argv[1]
b = bytearray(open(p, "rb").read())
for i in range(len(b) // 3, len(b) // 3 + 16):
    b[i] ^= 0xa5
open(p, "wb").write(b)' corrupt.tar.zst || fail "corrupt an archive"
refused "corrupt archive" "corrupt.tar.zst: " corrupt.tar.zst
printf 'this is no bundle\n' | zstd -q >notar.tar.zst || fail "zstd"
refused "zstd but no tar" "notar.tar.zst: Unrecognized archive format" \
    notar.tar.zst
printf 'this is no bundle\n' >junk.txt
refused "a text file" "junk.txt: not a bundle" junk.txt
mkdir empty
refused "an empty directory" \
    "empty: not a bundle directory: manifest.json: No such file" empty
# A bundle directory whose manifest claims a metadata file over 64 MiB:
# refused before the file is read.
fresh big b3
"$py" -c '
import json, sys
p = sys.argv[1]
m = json.load(open(p))
m["roles"][-1]["length"] = (64 << 20) + 1
json.dump(m, open(p, "w"), separators=(",", ":"), sort_keys=True)
' big/manifest.json || fail "edit big/manifest.json"
refused "a manifest length over 64 MiB" \
    "the manifest gives 67108865 bytes, over the limit of 67108864" big
# A bundle holds metadata only: one file over 64 MiB is refused while
# it is extracted (it compresses to a few kilobytes).
"$py" -c '
import io, sys, tarfile
t = tarfile.open(fileobj=sys.stdout.buffer, mode="w|", format=tarfile.PAX_FORMAT)
d = tarfile.TarInfo("metadata"); d.type = tarfile.DIRTYPE; d.mode = 0o755
t.addfile(d)
class Zeros(io.RawIOBase):
    def __init__(self, n): self.n = n
    def readable(self): return True
    def readinto(self, b):
        k = min(len(b), self.n); b[:k] = bytes(k); self.n -= k; return k
n = (64 << 20) + 1
f = tarfile.TarInfo("metadata/targets.json"); f.size = n; f.mode = 0o644
t.addfile(f, io.BufferedReader(Zeros(n)))
t.close()' | zstd -q >huge.tar.zst || fail "make huge.tar.zst"
refused "a file over 64 MiB in a bundle" \
    "huge.tar.zst: .*over the limit of 67108864 for one file" huge.tar.zst
refused "no such file" "no-such-bundle: No such file or directory" \
    no-such-bundle
# One file listed again and again under other role names: each would
# be read and held, so a path listed twice is refused.
fresh twice b3
"$py" -c '
import json, sys
p = sys.argv[1]
m = json.load(open(p))
t = [r for r in m["roles"] if r["role"] == "apps"][0]
for i in range(3):
    e = dict(t); e["role"] = "copy%d" % i
    m["roles"].append(e)
json.dump(m, open(p, "w"), separators=(",", ":"), sort_keys=True)
' twice/manifest.json || fail "edit twice/manifest.json"
refused "one file listed under several roles" \
    "roles\[[0-9]*\]: metadata/[^ ]* is listed twice" twice

echo "== the client refreshes from what is served"
refresh_ok() { # refresh_ok WHY: a new device refreshes from root v1
	rm -rf dev
	"$client" -d dev init --root "$ws/metadata/1.root.json" \
	    --mirror "$st/repo/metadata" >cout 2>&1 &&
	    "$client" -d dev refresh >>cout 2>&1 ||
		{ cat cout >&2; fail "$1: the client cannot refresh"; }
	ok
}
# download T: the client fetches target T, the very bytes of content/T.
download() {
	run "$client" -d dev download "$1"
	f=$(printf '%s' "$1" | sed 's,/,%2F,g')
	cmp -s "dev/targets/$f" "content/$1" ||
		fail "downloaded $1 differs from content/$1"
	ok
}
refresh_ok "after the refusals"
download apps/a.img
download apps/b.img
download news.txt

echo "== nothing new"
pub b2 >out 2>err || { cat out err >&2; fail "publish b2 again"; }
grep -q 'nothing new' out || { cat out err >&2; fail "b2 again: $(cat out)"; }
ok
fingerprint fp.now
cmp -s fp.ref fp.now || { diff fp.ref fp.now >&2; fail "b2 again changed what is served"; }
ok

echo "== controls: b3 itself, then b3 with the hand-assembled apps v4"
pub b3 >out 2>err || { cat out err >&2; fail "publish b3"; }
grep -q 'published b3 as state 3' out || fail "publish b3: $(cat out)"
ok
pub good5 >out 2>err || { cat out err >&2; fail "publish good5 (apps v4)"; }
grep -q 'published good5 as state 4' out || fail "publish good5: $(cat out)"
ok
refresh_ok "after the controls"
download apps/c.img
download apps/d.img
download more.txt
download apps/a.img

echo "$name: $checks checks passed"
