#!/bin/sh
# ferry-mirror export and import, end to end: removable media across an
# air gap.  ferry-sign makes a repository and ferry-repod publishes it (no
# server: the mirror syncs from the origin's tree directory); a mirror
# exports its live state to a "USB stick" directory and to a .tar.zst;
# on the far side, mirrors that trust only root v1 import each, and a
# device refreshes from the imported tree (and straight from the stick)
# and downloads targets.  Then the refusals, each with exit 1, a message
# naming what is wrong, and the far side's served tree unchanged: a
# damaged target (caught by the manifest), a tampered target and a
# tampered metadata file behind a forged manifest (caught by TUF), a
# rolled-back medium, expired metadata (with the date), a medium with no
# manifest, a truncated bundle; and on the export side a destination too
# small (a small tmpfs, when this runs as root), a destination holding
# other files, and an expired live state.
set -u
name=mirror_media
. "${top_srcdir:?is unset: run this from make check}/tests/e2e/lib.sh.inc"
bins sign repod client mirror
command -v python3 >/dev/null 2>&1 || { echo "SKIP: no python3"; exit 77; }

small=
at_exit() { [ -n "$small" ] && umount "$small" 2>/dev/null; }
setup

echo "== a repository from the signer, published by repod"
printf 'media test passphrase\n' >pw
mkdir keys content content/apps
genkeys root targets snapshot timestamp apps
workspace
root1=$ws/metadata/1.root.json
run "$sign" delegate -C "$ws" --key keys/apps.pub --path 'apps/*' apps
printf 'hello\n' >content/hello.txt
head -c 200000 /dev/urandom >content/apps/a.img
(cd content && "$sign" targets add -C "$ws" hello.txt) >out 2>&1 ||
	fail "targets add: $(cat out)"
run "$sign" targets add -C "$ws" --path apps/a.img content/apps/a.img
# add TARGET BYTES N: a new apps/ target, published as bundle N.
add() {
	head -c "$2" /dev/urandom >"content/apps/$1"
	run "$sign" targets add -C "$ws" --path "apps/$1" "content/apps/$1"
	bundle "$3" apps
	run "$repod" publish -d "$st" --images content --passphrase-fd 3 \
	    "b$3.tar.zst" 3<pw
}
bundle 1 root targets apps
st=$tmp/st
run "$repod" init -d "$st" --root "$root1" \
    --snapshot-key keys/snapshot.key --timestamp-key keys/timestamp.key
run "$repod" publish -d "$st" --images content --passphrase-fd 3 \
    b1.tar.zst 3<pw

# client DEV METADATA WHY TARGET...: a new device trusting root v1
# refreshes from the directory METADATA and downloads each TARGET, whose
# bytes must be the published ones.
client() {
	c_dev=$1 c_meta=$2 c_why=$3
	shift 3
	device "$c_dev" "$root1" "$c_meta" "$c_why" "$@"
}
# state DIR: what a far side serves, to compare before and after.
state() {
	readlink "$1/repo/metadata"
	(cd "$1/repo" && find . \( -type f -o -type l \) ! -name .lock |
	    LC_ALL=C sort | while read -r f; do
		if [ -L "$f" ]; then echo "$f -> $(readlink "$f")"
		else echo "$f $(sha256sum <"$f" | cut -c1-64)"; fi
	done)
}
# refused WHY SRC PATTERN: importing SRC into far exits 1, says PATTERN
# (a grep -E pattern), and leaves far's served tree as it was.
refused() {
	why=$1 src=$2 pat=$3
	state far >before
	rc=0
	"$mirror" import -d far "$src" >out 2>err || rc=$?
	[ "$rc" = 1 ] || { cat out err >&2; fail "$why: exit $rc"; }
	ok
	grep -Eq "$pat" err || { cat err >&2; fail "$why: no \"$pat\""; }
	ok
	grep -q 'nothing imported: the mirror serves what it served before' \
	    err || { cat err >&2; fail "$why: no 'nothing imported'"; }
	ok
	state far >after
	cmp -s before after || { diff before after >&2;
		fail "$why: the far side's served tree changed"; }
	ok
	[ -z "$(ls far/media 2>/dev/null)" ] ||
		fail "$why: far/media holds $(ls far/media)"
	ok
	echo "refused ($why):"
	grep -Ev '^ferry-mirror: (nothing imported|upstream .* skipped)' err |
	    sed 's/^/    /'
}
# forge DIR FILE: make DIR's manifest agree with FILE as it is now.
forge() {
	len=$(wc -c <"$1/$2" | tr -d ' ')
	sha=$(sha256sum <"$1/$2" | cut -c1-64)
	python3 - "$1/ferry-export.json" "$2" "$len" "$sha" <<'EOF' ||
import json, sys
p, path, n, sha = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
m = json.load(open(p))
for f in m["files"]:
    if f["path"] == path:
        m["bytes"] += n - f["length"]
        f["length"], f["sha256"] = n, sha
json.dump(m, open(p, "w"), indent=1, sort_keys=True)
EOF
	fail "forge $1/$2"
}
# flip FILE: change one byte in the middle of FILE.
flip() {
	n=$(($(wc -c <"$1") / 2))
	b=$(dd if="$1" bs=1 skip="$n" count=1 2>/dev/null)
	nb=X
	[ "$b" = X ] && nb=Y
	printf '%s' "$nb" | dd of="$1" bs=1 seek="$n" conv=notrunc 2>/dev/null ||
		fail "flip $1"
}

echo "== mirrors of the origin's tree"
run "$mirror" init -d m1 --root "$root1" --upstream "$st/repo"
run "$mirror" sync -d m1
# An older mirror, synced now and never again: its export is a rollback
# once the far side has taken a newer state.
run "$mirror" init -d old --root "$root1" --upstream "$st/repo"
run "$mirror" sync -d old
add b.img 100000 2
run "$mirror" sync -d m1
grep -q 'timestamp v2' out || fail "m1 did not take v2: $(cat out)"
ok

echo "== export to a USB directory and to a .tar.zst"
mkdir usb
run "$mirror" export -d m1 "$tmp/usb"
cat out
grep -q 'written and read back' out || fail "export said: $(cat out)"
ok
[ -f usb/ferry-export.json ] && [ -d usb/metadata ] && [ ! -L usb/metadata ] &&
    [ -f usb/metadata/timestamp.json ] && [ -f usb/roots/1.root.json ] &&
    [ -f usb/metadata/1.root.json ] || fail "the USB layout: $(ls -R usb)"
ok
[ -z "$(find usb -name '.*')" ] || fail "leftovers: $(find usb -name '.*')"
ok
# The manifest lists every file of the medium, each with its digest.
(cd usb && find metadata targets roots -type f | LC_ALL=C sort) >files.list
python3 -c '
import json, sys
m = json.load(open(sys.argv[1]))
assert m["_type"] == "ferry-export" and m["format"] == 1
assert m["timestamp_version"] == 2 and m["root_version"] == 1
for f in m["files"]: print(f["path"])
' usb/ferry-export.json >manifest.list || fail "the manifest is not as documented"
cmp -s files.list manifest.list || { diff files.list manifest.list >&2;
	fail "the manifest does not list what the medium holds"; }
ok
# And it is what schemas/export.schema.json describes (where Debian's
# python3 has jsonschema).
if /usr/bin/python3 -c 'import jsonschema' 2>/dev/null; then
	/usr/bin/python3 "$top_srcdir/tests/e2e/schema_check.py" \
	    "$top_srcdir/schemas" usb/ferry-export.json ||
		fail "the manifest does not match its schema"
	ok
fi
(cd usb && sha256sum targets/apps/*.a.img | cut -c1-64) >a.sha
grep -q "$(cat a.sha)" usb/ferry-export.json || fail "no digest of a.img"
ok
# The same tree as the mirror serves.
(cd m1/repo && find metadata/ targets -type f | LC_ALL=C sort) >m1.list
(cd usb && find metadata/ targets -type f | LC_ALL=C sort) >usb.list
cmp -s m1.list usb.list || { diff m1.list usb.list >&2; fail "usb != m1"; }
ok
run "$mirror" export -d m1 "$tmp/export.tar.zst"
[ -f export.tar.zst ] || fail "no export.tar.zst"
ok
[ -z "$(ls m1/media)" ] || fail "m1/media holds $(ls m1/media)"
ok
# A second export replaces the first, whatever an interrupted one left;
# what the stick's file system or another system keeps there stays.
mkdir usb/.export.tmp.cut usb/.fseventsd usb/lost+found
run "$mirror" export -d m1 --quiet "$tmp/usb"
[ -z "$(find usb -name '.export.*')" ] ||
	fail "leftovers: $(find usb -name '.export.*')"
ok
[ -d usb/.fseventsd ] && [ -d usb/lost+found ] ||
	fail "the export removed what was not its own"
ok

echo "== the device refreshes straight from the stick"
client dstick "$tmp/usb/metadata" "from the stick" hello.txt apps/b.img

echo "== the far side imports the directory"
run "$mirror" init -d far --root "$root1" --upstream "$tmp/usb"
run "$mirror" import -d far "$tmp/usb"
cat out
grep -q '^imported: state 1: root v1, snapshot v2, timestamp v2; 3 targets, 3 copied' out ||
	fail "import said: $(cat out)"
ok
client dfar "$tmp/far/repo/metadata" "from the far side" hello.txt \
    apps/a.img apps/b.img
run "$mirror" import -d far "$tmp/usb"
grep -q '^up to date' out || fail "a second import: $(cat out)"
ok

echo "== another far side imports the bundle"
run "$mirror" init -d far2 --root "$root1" --upstream "$tmp/usb"
run "$mirror" import -d far2 "$tmp/export.tar.zst"
grep -q '^imported: state 1' out || fail "bundle import said: $(cat out)"
ok
[ -z "$(ls far2/media)" ] || fail "far2/media holds $(ls far2/media)"
ok
client dfar2 "$tmp/far2/repo/metadata" "from far2" apps/b.img

echo "== export refusals"
if [ "$(id -u)" = 0 ] && mkdir small &&
    mount -t tmpfs -o size=64k tmpfs "$tmp/small" 2>/dev/null; then
	small=$tmp/small
	for dest in "$small/usb" "$small/export.tar.zst"; do
		rc=0
		"$mirror" export -d m1 "$dest" >out 2>err || rc=$?
		[ "$rc" = 1 ] || { cat out err >&2; fail "small: exit $rc"; }
		ok
		grep -Eq 'not enough space: the export needs [0-9]+ bytes .* the file system has [0-9]+ available' err ||
			{ cat err >&2; fail "small: $(cat err)"; }
		ok
		echo "refused (too small): $(cat err)"
	done
	[ -z "$(find "$small" -mindepth 2)" ] && [ ! -e "$small/export.tar.zst" ] ||
		fail "the small medium holds $(find "$small")"
	ok
	umount "$small" || fail "umount $small"
	small=
else
	echo "not root, or no tmpfs mount here: the free-space check is skipped"
fi
mkdir other && echo notes >other/notes.txt
rc=0
"$mirror" export -d m1 "$tmp/other" >out 2>err || rc=$?
[ "$rc" = 1 ] && grep -q 'other/*: holds "notes.txt", which is not part of an export' err ||
	{ cat out err >&2; fail "export over other files: exit $rc"; }
ok
[ "$(ls -A other)" = notes.txt ] || fail "other/ now holds $(ls -A other)"
ok
echo "refused (other files): $(cat err)"

echo "== a medium that reads back wrong: the export fails, the old one stays"
CC=${CC:-cc}
if command -v "$CC" >/dev/null 2>&1; then
	# A read of a file whose path holds $MEDIA_BADREAD returns one byte
	# changed, as a failing stick would.
	cat >badread.c <<'EOF'
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int
bad(int fd)
{
	const char *pat = getenv("MEDIA_BADREAD");
	char proc[64], path[4096];
	ssize_t n;

	if (pat == NULL)
		return 0;
	snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd);
	if ((n = readlink(proc, path, sizeof(path) - 1)) <= 0)
		return 0;
	path[n] = '\0';
	return strstr(path, pat) != NULL;
}

ssize_t
read(int fd, void *buf, size_t len)
{
	static ssize_t (*real)(int, void *, size_t);
	ssize_t n;

	if (real == NULL)
		real = (ssize_t (*)(int, void *, size_t))dlsym(RTLD_NEXT,
		    "read");
	n = real(fd, buf, len);
	if (n > 0 && bad(fd))
		((unsigned char *)buf)[0] ^= 0x20;
	return n;
}
EOF
	"$CC" -shared -fPIC -o badread.so badread.c -ldl ||
		fail "cannot build badread.so"
	cp usb/ferry-export.json usb.manifest
	# badexport PATTERN DEST GREP: export to DEST with reads of PATTERN
	# going wrong: exit 1, saying GREP.
	badexport() {
		rc=0
		MEDIA_BADREAD=$1 LD_PRELOAD=$tmp/badread.so \
		    ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0 \
		    "$mirror" export -d m1 "$2" >out 2>err || rc=$?
		[ "$rc" = 1 ] || { cat out err >&2; fail "bad read-back: exit $rc"; }
		ok
		grep -Eq "$3" err || { cat err >&2; fail "bad read-back: $(cat err)"; }
		ok
		echo "refused (bad read-back): $(head -n 2 err | tr '\n' ' ')"
	}
	badexport .export.tmp. "$tmp/usb" \
	    'usb: [0-9]+ files did not read back as they were written'
	grep -q 'usb/\.export\.tmp\.[^/]*/targets/apps/.*\.b\.img: sha256 ' err ||
		fail "the read-back names no file: $(cat err)"
	ok
	cmp -s usb.manifest usb/ferry-export.json &&
	    [ -z "$(find usb -name '.export.*')" ] ||
		fail "the previous export was not left as it was"
	ok
	client dstick2 "$tmp/usb/metadata" "the previous export" apps/b.img
	badexport bad.tar.zst "$tmp/bad.tar.zst" 'bad\.tar\.zst: '
	[ ! -e bad.tar.zst ] || fail "a bundle that did not read back is left"
	ok
else
	echo "no C compiler: the read-back check is skipped"
fi

echo "== import refusals: the far side keeps serving state 1"
run "$mirror" export -d old "$tmp/usbold"
grep -q 'timestamp v1' out || fail "old exported: $(cat out)"
ok
refused "a rolled-back medium" "$tmp/usbold" \
    "import: .*timestamp v1 is older than trusted v2"
grep -q 'older than what this mirror already trusts' err ||
	fail "rollback: no hint: $(cat err)"
ok

add c.img 50000 3
run "$mirror" sync -d m1
run "$mirror" export -d m1 "$tmp/usb3"
copy() { rm -rf "$1" && cp -R usb3 "$1" || fail "cp $1"; }
c=$(cd usb3 && ls targets/apps/*.c.img | head -n 1)
[ -n "$c" ] || fail "usb3 holds no c.img"

copy damaged
flip "damaged/$c"
refused "a damaged target" "$tmp/damaged" \
    "damaged/$c: sha256 [0-9a-f]+\.\.\., ferry-export.json says"

# Every name of c.img (one per hash), so that no good copy is left.
copy forged
for f in $(cd forged && ls targets/apps/*.c.img); do
	flip "forged/$f"
	forge forged "$f"
done
refused "a tampered target, manifest forged" "$tmp/forged" \
    "import: .*apps/c\.img.*(hash|sha256)"

copy meta
sed 's/"expires":"\(20[0-9][0-9]\)/"expires":"2099/' \
    usb3/metadata/timestamp.json >meta/metadata/timestamp.json
cmp -s usb3/metadata/timestamp.json meta/metadata/timestamp.json &&
	fail "the timestamp was not tampered with"
forge meta metadata/timestamp.json
refused "tampered metadata, manifest forged" "$tmp/meta" \
    "import: .*timestamp.*(signature|threshold)"

copy evil
python3 - evil/ferry-export.json <<'EOF' || fail "edit evil/ferry-export.json"
import json, sys
m = json.load(open(sys.argv[1]))
m["files"][0]["path"] = "metadata/../../../etc/passwd"
json.dump(m, open(sys.argv[1], "w"))
EOF
refused "a manifest naming a path outside the medium" "$tmp/evil" \
    'files\[0\]\.path: must be a relative path under metadata/'

copy nomanifest
rm nomanifest/ferry-export.json
refused "no manifest" "$tmp/nomanifest" \
    "nomanifest: no ferry-export.json: not an export"

run "$mirror" export -d m1 "$tmp/b3.tar.zst"
head -c 30000 b3.tar.zst >cut.tar.zst
refused "a truncated bundle" "$tmp/cut.tar.zst" "cut\.tar\.zst"

echo "== the good medium is then taken"
run "$mirror" import -d far "$tmp/usb3"
grep -q '^imported: state 2: .*timestamp v3; 4 targets, 1 copied' out ||
	fail "import of usb3 said: $(cat out)"
ok
client dfar "$tmp/far/repo/metadata" "from the far side, v3" apps/c.img

echo "== expired metadata"
printf '{"timestamp_expiry": "4s", "timestamp_refresh": "1s"}\n' \
    >"$st/repod.json"
run "$repod" refresh -d "$st" --force --passphrase-fd 3 3<pw
run "$mirror" sync -d m1
run "$mirror" export -d m1 "$tmp/usb4"
run "$mirror" export -d m1 "$tmp/b4.tar.zst"
exp=$(sed -n 's/.*"timestamp_expires": "\([^"]*\)".*/\1/p' usb4/ferry-export.json)
[ -n "$exp" ] || fail "no timestamp_expires in the manifest"
ok
end=$(date -u -d "$exp" +%s) || fail "date -d $exp"
i=0
while [ "$(date -u +%s)" -le "$end" ]; do
	i=$((i + 1))
	[ $i -lt 30 ] || fail "the timestamp never expired ($exp)"
	sleep 1
done
refused "expired metadata" "$tmp/usb4" \
    "import: .*timestamp v4 expired at $exp"
grep -q 'expired on the way: carry a fresh export' err ||
	fail "expired: no hint: $(cat err)"
ok
# From a bundle, the message names the bundle, not where it was extracted.
refused "expired metadata, in a bundle" "$tmp/b4.tar.zst" \
    "import: .*b4\.tar\.zst: metadata: timestamp v4 expired at $exp"
grep 'import:' err | grep -q /media/import &&
	fail "the refusal names a temporary: $(cat err)"
ok
rc=0
"$mirror" export -d m1 "$tmp/usb5" >out 2>err || rc=$?
[ "$rc" = 1 ] && grep -q "timestamp v4 expired at $exp: sync before exporting" err ||
	{ cat out err >&2; fail "export of an expired state: exit $rc"; }
ok
echo "refused (export, expired): $(cat err)"

echo "$name: $checks checks passed"
