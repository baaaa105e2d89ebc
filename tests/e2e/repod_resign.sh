#!/bin/sh
# ferry-repod serve keeps re-signing after a re-signing that failed once
# keyd had signed: a preloaded symlinkat() fails with ENOSPC while a flag
# file exists, so the state switch fails after the new timestamp was
# signed.  keyd never signs a version twice, so the next attempt must ask
# for a higher one; the timestamp must stay fresh and the client happy
# once the disk "has room" again.
set -u
name=repod_resign
. "${top_srcdir:?is unset: run this from make check}/tests/e2e/lib.sh.inc"
bins sign repod client
CC=${CC:-cc}
command -v "$CC" >/dev/null 2>&1 || { echo "SKIP: no C compiler"; exit 77; }
command -v curl >/dev/null 2>&1 || { echo "SKIP: no curl"; exit 77; }

setup spid

echo "== a symlinkat() that fails while $tmp/full exists"
cat >full.c <<'EOF'
#include <dlfcn.h>
#include <errno.h>
#include <stdlib.h>
#include <unistd.h>
int
symlinkat(const char *target, int dfd, const char *path)
{
	int (*real)(const char *, int, const char *) =
	    (int (*)(const char *, int, const char *))dlsym(RTLD_NEXT,
	    "symlinkat");
	const char *flag = getenv("RESIGN_FULL");

	if (flag != NULL && access(flag, F_OK) == 0) {
		errno = ENOSPC;
		return -1;
	}
	return real(target, dfd, path);
}
EOF
"$CC" -shared -fPIC -o full.so full.c -ldl || fail "cannot build the shim"
ok

echo "== a repository, published"
printf 'resign test passphrase\n' >pw
mkdir keys content
genkeys root targets snapshot timestamp
workspace
printf 'hello\n' >content/hello.txt
(cd content && "$sign" targets add -C "$ws" hello.txt) >out 2>&1 ||
	fail "targets add: $(cat out)"
bundle 1 root targets
st=$tmp/st
run "$repod" init -d "$st" --root "$ws/metadata/1.root.json" \
    --snapshot-key keys/snapshot.key --timestamp-key keys/timestamp.key
# Re-signed 6 s before a 10 s expiry; after a failure, retried in 1 s.
cat >"$st/repod.json" <<'JSON'
{"timestamp_expiry": "10s", "timestamp_refresh": "6s",
 "retain_states": 3, "retain_seconds": 0}
JSON
run "$repod" publish -d "$st" --images content --passphrase-fd 3 \
    b1.tar.zst 3<pw

echo "== serve"
# Not through serve(): variables set for a function call may outlive it,
# and LD_PRELOAD is for ferry-repod alone.
RESIGN_FULL=$tmp/full LD_PRELOAD=$tmp/full.so \
    ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0 \
    "$repod" serve -d "$st" --listen 127.0.0.1:0 --user "$(serve_user)" \
    --passphrase-fd 3 3<pw 2>serve.log &
spid=$!
listening
# version: the version of the timestamp on stdin (canonical JSON ends
# with the timestamp's own "version").
version() { sed -n 's/.*"version":\([0-9]*\)}}$/\1/p'; }
# tsv: the version of the timestamp served now.
tsv() { curl -fs "$url/metadata/timestamp.json" | version; }
i=0
until v0=$(tsv) && [ -n "$v0" ]; do
	i=$((i + 1))
	[ $i -lt 100 ] || { cat serve.log >&2; fail "no timestamp served"; }
	sleep 0.1
done
ok
run "$client" -d dev init --root "$ws/metadata/1.root.json" \
    --mirror "$url/metadata"
run "$client" -d dev refresh

echo "== the disk fills: switches fail after keyd signed"
: >full
# wait_log N PATTERN SECONDS: until serve.log has N lines matching.
wait_log() {
	i=0
	while [ "$(grep -c "$2" serve.log)" -lt "$1" ]; do
		i=$((i + 1))
		[ $i -le $(($3 * 10)) ] ||
			{ cat serve.log >&2; fail "no $1 x '$2' in $3 s"; }
		sleep 0.1
	done
	ok
}
wait_log 3 'msg="re-signing failed"' 20
grep 'msg="re-signing failed"' serve.log | head -n 1
grep -q 'not above' serve.log &&
	{ cat serve.log >&2; fail "keyd was asked for a version it signed"; }
ok
v1=$(tsv)
[ "$v1" = "$v0" ] || fail "the timestamp moved ($v0 to $v1) with a full disk"
ok

echo "== room again: re-signing resumes"
nresigned=$(grep -c 'msg=re-signed' serve.log)
rm full
wait_log $((nresigned + 1)) 'msg=re-signed' 10
grep -q 'not above' serve.log &&
	{ cat serve.log >&2; fail "keyd was asked for a version it signed"; }
ok
v2=$(tsv)
[ -n "$v2" ] && [ "$v2" -gt $((v0 + 1)) ] ||
	fail "timestamp v$v2 after v$v0: the failed versions were not skipped"
ok
echo "timestamp v$v0, then failures, then v$v2"
run "$client" -d dev refresh
kill -0 "$spid" 2>/dev/null || fail "serve stopped"
ok
curl -fs "$url/health" | grep -q '"ok"' ||
	fail "/health: $(curl -s "$url/health")"
ok

echo "== the key process killed: serve stops at once, for a restart"
keydpid=$(sed -n 's/.*keyd_pid=\([0-9]*\).*/\1/p' serve.log | head -n 1)
[ -n "$keydpid" ] || { cat serve.log >&2; fail "no keyd pid in the log"; }
kill -KILL "$keydpid" || fail "kill keyd"
i=0
while kill -0 "$spid" 2>/dev/null; do
	i=$((i + 1))
	[ $i -le 50 ] || { cat serve.log >&2; fail "serve runs on without keyd"; }
	sleep 0.1
done
rc=0
wait "$spid" || rc=$?
spid=
[ "$rc" = 1 ] || { cat serve.log >&2; fail "serve exited $rc, want 1"; }
ok
grep -q 'msg="the key process is gone; stopping"' serve.log ||
	{ cat serve.log >&2; fail "serve did not say why it stopped"; }
ok

echo "== after serve, refresh's own key process signs the next version"
v3=$(version <"$st/repo/metadata/timestamp.json")
run "$repod" refresh -d "$st" --force --passphrase-fd 3 3<pw
v4=$(version <"$st/repo/metadata/timestamp.json")
[ -n "$v3" ] && [ "$v4" = $((v3 + 1)) ] ||
	fail "refresh after serve: timestamp v$v3 then v$v4"
ok

echo "== the snapshot file that stays is named as it is, byte for byte"
# The live snapshot rewritten in another JSON layout (its signatures are
# over the canonical "signed" part, which does not change): a timestamp
# re-signed on its own names that file by its own length and hash, not
# by those of the snapshot serialised again.
py=/usr/bin/python3
[ -x "$py" ] || py=$(command -v python3) || fail "no python3"
"$py" -c '
import json, os, sys
m = sys.argv[1]
ts = json.load(open(os.path.join(m, "timestamp.json")))
v = ts["signed"]["meta"]["snapshot.json"]["version"]
p = os.path.join(m, "%d.snapshot.json" % v)
doc = json.load(open(p))
open(p, "w").write(json.dumps(doc, indent=3) + "\n")' "$st/repo/metadata" ||
	fail "rewriting the live snapshot"
# Due 4 s after it was signed (6 s before a 10 s expiry).
sleep 6
v5=$(version <"$st/repo/metadata/timestamp.json")
run "$repod" refresh -d "$st" --passphrase-fd 3 3<pw
v6=$(version <"$st/repo/metadata/timestamp.json")
[ "$v6" = $((v5 + 1)) ] || fail "refresh when due: timestamp v$v5 then v$v6"
"$py" -c '
import hashlib, json, os, sys
m = sys.argv[1]
s = json.load(open(os.path.join(m, "timestamp.json")))["signed"]["meta"]["snapshot.json"]
b = open(os.path.join(m, "%d.snapshot.json" % s["version"]), "rb").read()
if s["length"] != len(b) or s["hashes"]["sha256"] != hashlib.sha256(b).hexdigest():
    sys.exit("the timestamp names %d bytes, the file has %d" % (s["length"], len(b)))
' "$st/repo/metadata" || fail "the timestamp does not name the snapshot file as it is"
ok

echo "$name: $checks checks passed"
