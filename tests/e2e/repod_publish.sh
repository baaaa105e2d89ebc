#!/bin/sh
# ferry-repod publish, end to end with the real signer and the real client:
# ferry-sign makes a repository, ferry-repod checks and publishes it, and
# ferry refreshes and downloads from the published tree.  Then the crash
# loop: publications and re-signings killed with SIGKILL at random
# instants must leave the old state or the new one served, never a mix,
# with the client refreshing successfully after every kill; publishing
# again afterwards just works.
set -u
name=repod_publish
. "${top_srcdir:?is unset: run this from make check}/tests/e2e/lib.sh.inc"
bins sign repod client
KILLS=${FERRY_CRASH_KILLS:-40}

setup

echo "== keys and a workspace"
printf 'publish test passphrase\n' >pw
mkdir keys content
genkeys root targets snapshot timestamp apps
workspace
run "$sign" delegate -C "$ws" --key keys/apps.pub --path 'apps/*' apps

# Bundle N adds 40 images: 20 for targets, 20 for apps.
make_bundle() {
	n=$1
	: >list
	i=0
	while [ $i -lt 20 ]; do
		mkdir -p content/apps
		printf 'file %s of bundle %s\n' "$i" "$n" >"content/f$n-$i.txt"
		head -c $((1000 + i * 97)) /dev/urandom >"content/apps/a$n-$i.img"
		for f in "f$n-$i.txt" "apps/a$n-$i.img"; do
			printf '{"path":"%s","length":%s,"hashes":{"sha256":"%s"}}\n' \
			    "$f" "$(wc -c <"content/$f" | tr -d ' ')" \
			    "$(sha256sum "content/$f" | cut -d' ' -f1)" >>list
		done
		i=$((i + 1))
	done
	run "$sign" targets add -C "$ws" --list list
	run "$sign" request -C "$ws" -o "req$n.json"
	rm -rf sig && mkdir sig
	for k in root targets apps; do
		"$sign" sign --key "keys/$k.key" --passphrase-fd 3 \
		    -o "sig/$k.sig" "req$n.json" 3<pw >out 2>&1 || true
	done
	run "$sign" merge -C "$ws" sig/*.sig
	run "$sign" bundle -C "$ws" "b$n.tar.zst"
}
NB=6
n=1
while [ $n -le $NB ]; do make_bundle $n; n=$((n + 1)); done
echo "$NB bundles"

echo "== init and the first publication"
st=$tmp/st
# An init that fails (here on its second key) leaves nothing that stops
# the next one: root.json, which makes DIR initialised, comes last.
"$repod" init -d "$st" --root "$ws/metadata/1.root.json" \
    --snapshot-key keys/snapshot.key --timestamp-key keys/missing.key \
    >out 2>err && fail "init took a missing key"
grep -q 'keys/missing.key: No such file' err || fail "init: $(cat err)"
[ ! -e "$st/root.json" ] && [ ! -e "$st/keys/snapshot.key" ] ||
	fail "a failed init left $(find "$st" -type f)"
ok
run "$repod" init -d "$st" --root "$ws/metadata/1.root.json" \
    --snapshot-key keys/snapshot.key --timestamp-key keys/timestamp.key
# Keep 4 states whatever their age, so that pruning shows.
printf '{"retain_states": 4, "retain_seconds": 0}\n' >"$st/repod.json"
pub() { "$repod" publish -d "$st" --images content --passphrase-fd 3 "$@" 3<pw; }

# The key process does not sign without its seccomp filter: with a
# preloaded prctl() that refuses PR_SET_SECCOMP, publish refuses, and
# publishes nothing.
CC=${CC:-cc}
if command -v "$CC" >/dev/null 2>&1; then
	cat >noseccomp.c <<'EOF'
#include <dlfcn.h>
#include <errno.h>
#include <stdarg.h>
#include <sys/prctl.h>
int
prctl(int op, ...)
{
	int (*real)(int, ...) = (int (*)(int, ...))dlsym(RTLD_NEXT, "prctl");
	unsigned long a[4];
	va_list ap;
	int i;

	va_start(ap, op);
	for (i = 0; i < 4; i++)
		a[i] = va_arg(ap, unsigned long);
	va_end(ap);
	if (op == PR_SET_SECCOMP) {
		errno = EINVAL;
		return -1;
	}
	return real(op, a[0], a[1], a[2], a[3]);
}
EOF
	"$CC" -shared -fPIC -o noseccomp.so noseccomp.c -ldl ||
	    fail "cannot build the prctl shim"
	ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0 \
	    LD_PRELOAD=$tmp/noseccomp.so pub b1.tar.zst >out 2>err &&
		fail "publish ran a key process without its filter"
	grep -q 'cannot sandbox the key process (prctl(PR_SET_SECCOMP): .*): refusing to run' err ||
		fail "publish without the filter said: $(cat err)"
	[ -e "$st/repo/metadata" ] && fail "publish without the filter published"
	ok
else
	echo "(no C compiler: keyd without its filter not tried)"
fi

pub b1.tar.zst >out 2>err || { cat out err >&2; fail "publish b1"; }
grep -q 'published b1.tar.zst as state 1' out || fail "publish said: $(cat out)"
ok
[ "$(readlink "$st/repo/metadata")" = .states/0000000001 ] ||
	fail "metadata -> $(readlink "$st/repo/metadata")"
ok

# A fresh device each time: the whole chain from root v1.
refresh_ok() { # refresh_ok WHY: the client refreshes and lists N targets
	rm -rf dev
	"$client" -d dev init --root "$ws/metadata/1.root.json" \
	    --mirror "$st/repo/metadata" >cout 2>&1 &&
	    "$client" -d dev refresh >>cout 2>&1 &&
	    "$client" -d dev list >list.out 2>>cout ||
		{ cat cout >&2; fail "$1: the client cannot refresh"; }
	ok
	ntargets=$(wc -l <list.out | tr -d ' ')
}
refresh_ok "after b1"
[ "$ntargets" = 40 ] || fail "b1: $ntargets targets listed, not 40"
run "$client" -d dev download apps/a1-3.img
cmp -s dev/targets/apps%2Fa1-3.img content/apps/a1-3.img ||
	fail "the downloaded image differs"
ok

echo "== status and log"
run "$repod" status -d "$st"
grep -q 'state 1' out || fail "status: $(cat out)"
grep -q 'timestamp  v1' out || fail "status: $(cat out)"
ok
run "$repod" log -d "$st"
grep -q 'publish .*bundle .*40 new images' out || fail "log: $(cat out)"
grep -q 'init' out || fail "log: $(cat out)"
ok

echo "== the crash loop: $KILLS kills"
# Milliseconds from /dev/urandom, 0 to $1 - 1.
rnd_ms() { echo $(( $(od -An -N2 -tu2 /dev/urandom | tr -d ' ') % $1 )); }
next=2 kills=0 done_before=0 k=0
while [ $k -lt "$KILLS" ]; do
	k=$((k + 1))
	before=$(readlink "$st/repo/metadata")
	if [ $((k % 4)) = 0 ] || [ $next -gt $NB ]; then
		what=refresh
		"$repod" refresh -d "$st" --force --passphrase-fd 3 3<pw \
		    >out 2>err &
	else
		what=b$next
		# Not through pub(): $! must be ferry-repod itself.
		"$repod" publish -d "$st" --images content --passphrase-fd 3 \
		    "b$next.tar.zst" 3<pw >out 2>err &
	fi
	pid=$!
	ms=$(rnd_ms 300)
	sleep "$((ms / 1000)).$(printf '%03d' $((ms % 1000)))"
	kill -KILL "$pid" 2>/dev/null && kills=$((kills + 1))
	rc=0
	wait "$pid" || rc=$?
	after=$(readlink "$st/repo/metadata")
	b=${before#.states/} a=${after#.states/}
	b=$(expr "$b" + 0) a=$(expr "$a" + 0)
	if [ "$rc" = 0 ]; then
		done_before=$((done_before + 1))
		[ "$what" = refresh ] || next=$((next + 1))
		[ "$a" = $((b + 1)) ] || fail "$what finished but the state went $b -> $a"
	else
		[ "$a" = "$b" ] || [ "$a" = $((b + 1)) ] ||
			fail "$what killed after ${ms}ms: the state went $b -> $a"
		[ "$a" = $((b + 1)) ] && [ "$what" != refresh ] && next=$((next + 1))
	fi
	refresh_ok "$what killed after ${ms}ms"
	want=$(( (next - 1) * 40 ))
	[ "$ntargets" = "$want" ] ||
		fail "$what killed after ${ms}ms: $ntargets targets, not $want"
done
echo "$kills killed mid-way, $done_before finished first"
[ "$kills" -gt 0 ] || fail "no run was ever killed"

echo "== publishing again after the crashes"
while [ $next -le $NB ]; do
	pub "b$next.tar.zst" >out 2>err || { cat out err >&2; fail "publish b$next"; }
	ok
	next=$((next + 1))
done
refresh_ok "after every bundle"
[ "$ntargets" = $((NB * 40)) ] || fail "$ntargets targets, not $((NB * 40))"
run "$client" -d dev download "apps/a$NB-19.img"
cmp -s "dev/targets/apps%2Fa$NB-19.img" "content/apps/a$NB-19.img" ||
	fail "the last image differs"
ok
# Nothing half-made is left once a writer has run again, and an image
# no state names is pruned (here one put there by hand).
stray="$st/repo/targets/apps/$(printf stray | sha256sum | cut -d' ' -f1).stray.img"
printf stray >"$stray" || fail "write $stray"
"$repod" prune -d "$st" >out 2>err || { cat out err >&2; fail "prune"; }
grep -q ' 1 image files (5 bytes)' out || { cat out >&2; fail "prune: $(cat out)"; }
[ ! -e "$stray" ] || fail "the stray image was not pruned"
ok
left=$(find "$st/repo" -name '*.tmp*' | wc -l | tr -d ' ')
[ "$left" = 0 ] || fail "temporaries left: $(find "$st/repo" -name '*.tmp*')"
ok
nstates=$(ls "$st/repo/.states" | wc -l | tr -d ' ')
[ "$nstates" -le 4 ] || fail "$nstates states kept; retain_states is 4"
ok
# The catalog knows which: one live, a superseded one per other state
# kept, and the publications of pruned states marked so.
"$repod" status -d "$st" >out 2>err || { cat out err >&2; fail "status"; }
line=$(grep 'publications:' out) || { cat out >&2; fail "status: no counts"; }
set -- $line
[ "$2" = 1 ] && [ "$4" = $((nstates - 1)) ] && [ "$7" -ge $((NB - 4)) ] ||
	fail "publications by status: $line ($nstates states on disk)"
ok
# Every image of the live state is there; none is missing after pruning.
for f in content/apps/*.img; do
	h=$(sha256sum "$f" | cut -d' ' -f1)
	[ -f "$st/repo/targets/apps/$h.$(basename "$f")" ] ||
		fail "$f is not stored"
done
ok
echo "== one line opens both keys; nothing waits for a second"
# The passphrase on a FIFO this script holds open for writing, as a
# terminal or a pipe kept open would be: a key process that read on
# for a second line would wait there for ever (timeout stops it).
mkfifo pwfifo || fail "mkfifo"
exec 8<>pwfifo
cat pw >&8
timeout 60 "$repod" refresh -d "$st" --force --passphrase-fd 8 >out 2>err ||
	{ exec 8>&-; cat out err >&2; fail "refresh with one line on an open FIFO"; }
exec 8>&-
ok

echo "== versions a lost switch signed are never signed again"
py=/usr/bin/python3
[ -x "$py" ] || py=$(command -v python3) || fail "no python3"
# As after a power cut that took back a switch clients had already
# seen: the catalog holds an abandoned publication whose timestamp
# version is above the live one.  The next timestamp goes above it.
tv=$("$py" -c 'import json, sys; print(json.load(open(sys.argv[1]))["signed"]["version"])' \
    "$st/repo/metadata/timestamp.json") || fail "the live timestamp's version"
lost=$((tv + 5))
"$py" -c '
import sqlite3, sys
db = sqlite3.connect(sys.argv[1])
v = int(sys.argv[2])
cur = db.execute("INSERT INTO publications (state, kind, actor, created, "
    "root_version, targets_version, snapshot_version, timestamp_version, "
    "timestamp_expires, status) VALUES (99999, \"refresh\", \"test\", 0, "
    "1, 1, 1, ?, 0, \"abandoned\")", (v,))
db.execute("INSERT INTO signings (pub, role, version, keyid, created) "
    "VALUES (?, \"timestamp\", ?, \"test\", 0)", (cur.lastrowid, v))
db.commit()' "$st/catalog.db" "$lost" || fail "adding the lost publication"
"$repod" refresh -d "$st" --force --passphrase-fd 3 3<pw >out 2>err ||
	{ cat out err >&2; fail "refresh after the lost publication"; }
tv2=$("$py" -c 'import json, sys; print(json.load(open(sys.argv[1]))["signed"]["version"])' \
    "$st/repo/metadata/timestamp.json")
[ "$tv2" = $((lost + 1)) ] ||
	fail "timestamp v$tv2 after a lost v$lost (live was v$tv)"
ok

echo "== the configuration file: ferry-repod agrees with the schema"
# schemas/repod-config.schema.json describes repod.json; its fixtures
# (checked against the schema by schemas.sh) go through ferry-repod too.
good=$top_srcdir/tests/fixtures/meta/repod.json
"$repod" status -d "$st" -c "$good" >out 2>err ||
	{ cat out err >&2; fail "ferry-repod refuses $good"; }
ok
nbad=0
for f in "$top_srcdir"/tests/fixtures/schema-bad/*.repod.json; do
	rc=0
	"$repod" status -d "$st" -c "$f" >out 2>err || rc=$?
	[ "$rc" = 1 ] || { cat out err >&2; fail "$f: exit $rc, want 1"; }
	grep -q "$(basename "$f")" err || { cat err >&2; fail "$f: not named"; }
	echo "refused: $(cat err)"
	nbad=$((nbad + 1))
	ok
done
[ "$nbad" -ge 8 ] || fail "only $nbad bad configuration fixtures"

echo "$name: $checks checks passed"
