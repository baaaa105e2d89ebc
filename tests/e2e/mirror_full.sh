#!/bin/sh
# ferry-mirror sync onto a full disk: the mirror lives on a small tmpfs
# (mounted here, as root; the test is skipped where that is not
# possible).  A sync that needs more room than there is fails with a
# clear error, the mirror keeps serving its previous state whole (a new
# device refreshes from it), and once there is room the next sync
# completes.
set -u
name=mirror_full
. "${top_srcdir:?is unset: run this from make check}/tests/e2e/lib.sh.inc"
bins sign repod client mirror

mounted=
at_exit() { [ -n "$mounted" ] && umount "$mounted" 2>/dev/null; }
setup
mkdir small || fail "mkdir"
if [ "$(id -u)" != 0 ] ||
    ! mount -t tmpfs -o size=3m,mode=0755 ferry-test "$tmp/small" 2>/dev/null
then
	echo "SKIP: cannot mount a small tmpfs here (needs root)"
	exit 77
fi
mounted=$tmp/small

echo "== a repository: 1 MiB of targets, then 4 MiB more"
printf 'full test passphrase\n' >pw
mkdir keys content
genkeys root targets snapshot timestamp
workspace
# publish N KEYS COUNT SIZE: COUNT new targets of SIZE bytes, bundled and
# published.
publish() {
	: >list
	i=0
	while [ $i -lt "$3" ]; do
		f=t$1-$i.bin
		head -c "$4" /dev/urandom >"content/$f"
		printf '{"path":"%s","length":%s,"hashes":{"sha256":"%s"}}\n' \
		    "$f" "$4" "$(sha256sum "content/$f" | cut -d' ' -f1)" >>list
		i=$((i + 1))
	done
	run "$sign" targets add -C "$ws" --list list
	bundle "$1" $2
	[ -d st ] || run "$repod" init -d st \
	    --root "$ws/metadata/1.root.json" \
	    --snapshot-key keys/snapshot.key --timestamp-key keys/timestamp.key
	run "$repod" publish -d st --images content --passphrase-fd 3 \
	    "b$1.tar.zst" 3<pw
}
publish 1 "root targets" 4 262144

echo "== the mirror on a 3 MiB file system"
run "$mirror" init -d small/m --root "$ws/metadata/1.root.json" \
    --upstream "$tmp/st/repo"
run "$mirror" sync -d small/m
before=$(readlink small/m/repo/metadata)
publish 2 targets 8 524288
rc=0
"$mirror" sync -d small/m >out 2>err || rc=$?
[ "$rc" = 1 ] || { cat out err >&2; fail "sync onto a full disk: exit $rc"; }
ok
grep -q 'No space left on device' err ||
	{ cat err >&2; fail "the error does not say the disk is full"; }
ok
grep -q 'nothing changed: the mirror serves what it served before' err ||
	{ cat err >&2; fail "the error does not say nothing changed"; }
ok
echo "refused: $(grep -v 'nothing changed' err | tail -n 1)"
[ "$(readlink small/m/repo/metadata)" = "$before" ] ||
	fail "the mirror switched to $(readlink small/m/repo/metadata)"
ok
rm -rf dev
"$client" -d dev init --root "$ws/metadata/1.root.json" \
    --mirror "$tmp/small/m/repo/metadata" >cout 2>&1 &&
    "$client" -d dev refresh >>cout 2>&1 &&
    "$client" -d dev download t1-3.bin >>cout 2>&1 ||
	{ cat cout >&2; fail "the previous state is not served whole"; }
cmp -s dev/targets/t1-3.bin content/t1-3.bin || fail "t1-3.bin differs"
ok

echo "== room again (the file system grown to 16 MiB): the sync completes"
mount -o remount,size=16m "$mounted" || fail "remount with 16m"
run "$mirror" sync -d small/m --json
cat out
grep -q '"targets":12' out || fail "sync with room: $(cat out)"
ok
[ "$(readlink small/m/repo/metadata)" != "$before" ] || fail "no switch"
ok
rm -rf dev
"$client" -d dev init --root "$ws/metadata/1.root.json" \
    --mirror "$tmp/small/m/repo/metadata" >cout 2>&1 &&
    "$client" -d dev refresh >>cout 2>&1 &&
    "$client" -d dev download t2-7.bin >>cout 2>&1 ||
	{ cat cout >&2; fail "the new state is not served whole"; }
cmp -s dev/targets/t2-7.bin content/t2-7.bin || fail "t2-7.bin differs"
ok
left=$(find small/m -name '*.tmp*' | wc -l | tr -d ' ')
[ "$left" = 0 ] || fail "temporaries left: $(find small/m -name '*.tmp*')"
ok
echo "$name: $checks checks passed"
