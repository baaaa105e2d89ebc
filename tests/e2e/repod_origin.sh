#!/bin/sh
# ferry-repod serve as an origin: the real flow over HTTP on 127.0.0.1
# (ferry-sign makes the repository, repod publishes and serves it, the
# device client and tuf-js's Updater refresh and download from it), the
# timestamp and snapshot re-signed by themselves across several expiry
# periods while clients keep refreshing, and the process split: the HTTP
# process runs as nobody, apart from the key process.
set -u
name=repod_origin
. "${top_srcdir:?is unset: run this from make check}/tests/e2e/lib.sh.inc"
bins sign repod client
interop=$top_srcdir/tests/interop

setup spid

echo "== a repository from the signer"
printf 'origin test passphrase\n' >pw
mkdir keys content content/apps
genkeys root targets snapshot timestamp apps
workspace
run "$sign" delegate -C "$ws" --key keys/apps.pub --path 'apps/*' apps
printf 'hello from the origin\n' >content/hello.txt
head -c 300000 /dev/urandom >content/apps/app.img
(cd content && "$sign" targets add -C "$ws" hello.txt) >out 2>&1 ||
	fail "targets add: $(cat out)"
run "$sign" targets add -C "$ws" --path apps/app.img content/apps/app.img
bundle 1 root targets apps

echo "== publish, then serve with short expiries"
st=$tmp/st
run "$repod" init -d "$st" --root "$ws/metadata/1.root.json" \
    --snapshot-key keys/snapshot.key --timestamp-key keys/timestamp.key
# Expiries of seconds, so that several pass during the test.  Re-signing
# 6 s before expiry leaves room for a loaded machine (fsyncs can take
# seconds there); 3 s was not enough under make distcheck.
cat >"$st/repod.json" <<'JSON'
{"timestamp_expiry": "10s", "timestamp_refresh": "6s",
 "snapshot_expiry": "16s", "snapshot_refresh": "10s",
 "retain_states": 3, "retain_seconds": 0}
JSON
run "$repod" publish -d "$st" --images content --passphrase-fd 3 \
    b1.tar.zst 3<pw
serve -d "$st" --passphrase-fd 3 3<pw
answers health health.json "/health never answered"
ok

echo "== the process split"
httppid=$(sed -n 's/.*pid=\([0-9]*\) msg=serving.*/\1/p' serve.log | head -n 1)
keydpid=$(sed -n 's/.*keyd_pid=\([0-9]*\).*/\1/p' serve.log | head -n 1)
[ -n "$httppid" ] && [ -n "$keydpid" ] ||
	{ cat serve.log >&2; fail "no HTTP or key process in the log"; }
[ "$httppid" != "$keydpid" ] && [ "$httppid" != "$spid" ] ||
	fail "the HTTP process is not a process of its own"
ok
if [ "$(id -u)" = 0 ]; then
	uid=$(awk '/^Uid:/ { print $2 }' "/proc/$httppid/status")
	[ "$uid" = 65534 ] || fail "the HTTP process runs as uid $uid"
	ok
fi
# The HTTP process has no key file open, and the key process no socket
# but its channel.
ls -l "/proc/$httppid/fd" 2>/dev/null | grep -q '\.key' &&
	fail "the HTTP process holds a key file open"
nsock=$(ls -l "/proc/$keydpid/fd" 2>/dev/null | grep -c 'socket:')
[ "$nsock" = 1 ] || fail "the key process has $nsock sockets"
ok
# The key process signs under its seccomp filter (lib/sandbox.h).
filter=$(awk '/^Seccomp:/ { print $2 }' "/proc/$keydpid/status")
[ "$filter" = 2 ] ||
	fail "the key process has no seccomp filter (Seccomp: $filter)"
ok

echo "== the device client over HTTP"
run "$client" -d dev init --root "$ws/metadata/1.root.json" \
    --mirror "$url/metadata"
run "$client" -d dev refresh
run "$client" -d dev download apps/app.img
cmp -s dev/targets/apps%2Fapp.img content/apps/app.img ||
	fail "the image downloaded over HTTP differs"
ok

echo "== tuf-js's Updater against repod"
if command -v node >/dev/null 2>&1 && [ -d "$interop/node_modules" ]; then
	node "$interop/verify-sign.mjs" fetch --url "$url" --cache tufjs \
	    --seed "$ws/metadata/1.root.json" --root-version 1 \
	    "apps/app.img=content/apps/app.img" "hello.txt=content/hello.txt" \
	    >tufjs.out 2>&1 || { cat tufjs.out >&2; fail "tuf-js against repod"; }
	cat tufjs.out
	ok
elif [ "${FERRY_REQUIRE_INTEROP:-0}" = 1 ]; then
	fail "tuf-js is not installed (FERRY_REQUIRE_INTEROP=1)"
else
	echo "tuf-js not installed: skipped that part"
fi

echo "== across expiry periods"
# 30 s is three timestamp lifetimes of 10 s: each refresh must succeed,
# and the timestamp version must keep going up (one every 4 s or so).
first=$(sed -n 's/.*"timestamp_version":\([0-9]*\).*/\1/p' health.json)
i=0
while [ $i -lt 10 ]; do
	sleep 3
	"$client" -d dev refresh >rout 2>&1 ||
		{ cat rout serve.log >&2; fail "refresh $i after $((3 * i + 3)) s"; }
	ok
	i=$((i + 1))
done
curl -fs "$url/health" >health.json || fail "/health"
last=$(sed -n 's/.*"timestamp_version":\([0-9]*\).*/\1/p' health.json)
[ "$last" -ge $((first + 4)) ] ||
	fail "timestamp went from v$first to v$last in 30 s"
grep -q '"status":"ok"' health.json || fail "health: $(cat health.json)"
ok
curl -fs "$url/metrics" >metrics.txt || fail "/metrics"
# Read after /health: the version may have gone up since, never down.
mv=$(sed -n 's/^ferry_repod_timestamp_version \([0-9][0-9]*\)$/\1/p' \
    metrics.txt)
[ -n "$mv" ] && [ "$mv" -ge "$last" ] ||
	fail "metrics: timestamp version '$mv', /health said $last"
ok
grep -q 'msg=re-signed' serve.log || fail "no re-signing logged"
nstates=$(ls "$st/repo/.states" | wc -l | tr -d ' ')
[ "$nstates" -le 3 ] || fail "$nstates states kept; retain_states is 3"
ok

echo "== a clean stop"
kill -TERM "$spid"
rc=0
wait "$spid" || rc=$?
spid=
[ "$rc" = 0 ] || { cat serve.log >&2; fail "serve exited $rc on SIGTERM"; }
kill -0 "$keydpid" 2>/dev/null && fail "the key process outlived serve"
kill -0 "$httppid" 2>/dev/null && fail "the HTTP process outlived serve"
ok
echo "$name: $checks checks passed (timestamp v$first to v$last)"
