#!/bin/sh
# ferry-repod across changes of roles and of retention, with a client that
# keeps its trust between refreshes (the way devices do):
#  - a delegation removed: the new snapshot must keep listing the role its
#    clients' trusted snapshot lists (TUF 5.5.5), or every existing client
#    is stuck; and a role delegated again later cannot come back at a
#    version below the one published;
#  - retain_states 1, retain_seconds 0: a state must still hold every file
#    its own snapshot and timestamp name, after a forced re-signing and
#    after a routine one that re-signs the timestamp only.
set -u
name=repod_roles
. "${top_srcdir:?is unset: run this from make check}/tests/e2e/lib.sh.inc"
bins sign repod client
py=/usr/bin/python3

setup

echo "== keys, a workspace delegating apps/* to apps"
printf 'roles test passphrase\n' >pw
mkdir keys content content/apps
genkeys root targets snapshot timestamp apps
workspace
run "$sign" delegate -C "$ws" --key keys/apps.pub --path 'apps/*' apps
printf 'hello\n' >content/hello.txt
printf 'image\n' >content/apps/a.img
(cd content && "$sign" targets add -C "$ws" hello.txt >/dev/null) ||
	fail "targets add hello.txt"
run "$sign" targets add -C "$ws" --path apps/a.img content/apps/a.img

pub() { # pub STATEDIR BUNDLE: publish with the images in content/
	"$repod" publish -d "$1" --images content --passphrase-fd 3 "$2" 3<pw
}
# refresh DEV WHY: the device refreshes, keeping what it trusted before.
refresh() {
	"$client" -d "$1" refresh >cout 2>&1 ||
		{ cat cout >&2; fail "$2: the client cannot refresh"; }
	ok
}

bundle 1 root targets apps
run "$repod" init -d st --root "$ws/metadata/1.root.json" \
    --snapshot-key keys/snapshot.key --timestamp-key keys/timestamp.key
run pub st b1.tar.zst
run "$client" -d dev init --root "$ws/metadata/1.root.json" \
    --mirror "$tmp/st/repo/metadata"
refresh dev "state 1"
run "$client" -d dev download apps/a.img

echo "== the delegation to apps removed"
printf 'news\n' >content/news.txt
(cd content && "$sign" targets add -C "$ws" news.txt >/dev/null) ||
	fail "targets add news.txt"
"$py" -c '
import json, sys
p = sys.argv[1]
d = json.load(open(p))
del d["signed"]["delegations"]
json.dump(d, open(p, "w"), separators=(",", ":"), sort_keys=True)
' "$ws/staged/targets.json" || fail "remove the delegation"
cp "$ws/metadata/apps.json" apps.json.v1 || fail "keep apps.json"
rm "$ws/metadata/apps.json" || fail "rm apps.json"
bundle 2 targets
run pub st b2.tar.zst
# The device trusted snapshot v1, which lists apps.json.
refresh dev "after the delegation was removed"
grep -q 'snapshot *v2' cout || { cat cout >&2; fail "not at snapshot v2"; }
ok
run "$client" -d dev download news.txt
# A new device too.
run "$client" -d dev2 init --root "$ws/metadata/1.root.json" \
    --mirror "$tmp/st/repo/metadata"
refresh dev2 "a new device after the delegation was removed"
snap=$(readlink st/repo/metadata)/2.snapshot.json
grep -q '"apps.json":{"version":1' "st/repo/$snap" ||
	fail "snapshot v2 does not list apps.json v1: $(cat "st/repo/$snap")"
ok
[ -f st/repo/metadata/1.apps.json ] || fail "1.apps.json not kept"
ok

echo "== apps delegated again at version 1 (its bytes differ): refused"
run "$sign" delegate -C "$ws" --key keys/apps.pub --path 'apps/*' apps
run "$sign" targets add -C "$ws" --path apps/a.img content/apps/a.img
# One more target, so that the bytes differ even when both versions
# were signed within the same second (with the same expiry).
printf 'again\n' >content/apps/again.img
run "$sign" targets add -C "$ws" --path apps/again.img content/apps/again.img
bundle 3 targets apps
grep -q '"version":1' "$ws/metadata/apps.json" ||
	fail "the signer did not make apps v1 again"
cmp -s apps.json.v1 "$ws/metadata/apps.json" &&
	fail "apps v1 made again with the same bytes"
rc=0
pub st b3.tar.zst >out 2>err || rc=$?
[ "$rc" = 1 ] || { cat out err >&2; fail "apps v1 again: exit $rc, want 1"; }
ok
grep -q 'apps' err || { cat err >&2; fail "the refusal does not name apps"; }
ok
echo "refused: $(grep -v '^ts=' err | head -n 1)"
refresh dev "after the refusal"

echo "== retain_states 1, retain_seconds 0"
for force in --force ""; do
	rm -rf st1 d1
	run "$repod" init -d st1 --root "$ws/metadata/1.root.json" \
	    --snapshot-key keys/snapshot.key --timestamp-key keys/timestamp.key
	# A routine refresh re-signs only the timestamp: 19 s of 20 left.
	printf '{"retain_states": 1, "retain_seconds": 0, %s}\n' \
	    '"timestamp_expiry": "20s", "timestamp_refresh": "19s"' \
	    >st1/repod.json
	run pub st1 b1.tar.zst
	run "$client" -d d1 init --root "$ws/metadata/1.root.json" \
	    --mirror "$tmp/st1/repo/metadata"
	refresh d1 "retain 1, state 1"
	sleep 2
	run "$repod" refresh -d st1 $force --passphrase-fd 3 3<pw
	grep -q 're-signed' out || { cat out >&2; fail "nothing re-signed"; }
	ok
	[ -f st1/repo/metadata/1.targets.json ] &&
	    [ -f st1/repo/metadata/1.apps.json ] ||
		fail "refresh ${force:-(routine)}: role files missing:" \
		    "$(ls st1/repo/metadata)"
	ok
	ls st1/repo/metadata/*.snapshot.json >/dev/null 2>&1 ||
		fail "refresh ${force:-(routine)}: no snapshot file"
	ok
	refresh d1 "retain 1, after refresh ${force:-(routine)}"
	rm -rf d2
	run "$client" -d d2 init --root "$ws/metadata/1.root.json" \
	    --mirror "$tmp/st1/repo/metadata"
	refresh d2 "retain 1, a new device after refresh ${force:-(routine)}"
	nstates=$(ls st1/repo/.states | wc -l | tr -d ' ')
	[ "$nstates" -le 2 ] || fail "$nstates states kept with retain_states 1"
	ok
done

echo "$name: $checks checks passed"
