#!/bin/sh
# ferry-mirror sync, end to end: ferry-sign makes a repository, ferry-repod
# publishes and serves it on 127.0.0.1, a mirror syncs from it over HTTP,
# a second mirror syncs from the first one's tree (a chain), and the device
# client refreshes and downloads from each.  Then: an incremental sync
# fetches only the new target; a partial mirror holds only the targets it
# is asked for and still verifies end to end; a tampered file upstream is
# refused, naming it, and the mirror keeps serving its previous state.
# Last, an http://NAME.onion upstream through a socks5h:// proxy (a
# stand-in for Tor's SOCKS port, tests/e2e/socks5h_server.py).
set -u
name=mirror_sync
. "${top_srcdir:?is unset: run this from make check}/tests/e2e/lib.sh.inc"
bins sign repod client mirror

setup spid xpid

echo "== a repository from the signer, published and served by repod"
printf 'mirror test passphrase\n' >pw
mkdir keys content content/apps
genkeys root targets snapshot timestamp apps
workspace
run "$sign" delegate -C "$ws" --key keys/apps.pub --path 'apps/*' apps
printf 'hello\n' >content/hello.txt
head -c 200000 /dev/urandom >content/apps/a.img
head -c 100000 /dev/urandom >content/apps/b.img
(cd content && "$sign" targets add -C "$ws" hello.txt) >out 2>&1 ||
	fail "targets add: $(cat out)"
run "$sign" targets add -C "$ws" --path apps/a.img content/apps/a.img
run "$sign" targets add -C "$ws" --path apps/b.img content/apps/b.img
bundle 1 root targets apps
st=$tmp/st
run "$repod" init -d "$st" --root "$ws/metadata/1.root.json" \
    --snapshot-key keys/snapshot.key --timestamp-key keys/timestamp.key
run "$repod" publish -d "$st" --images content --passphrase-fd 3 \
    b1.tar.zst 3<pw
serve -d "$st" --passphrase-fd 3 3<pw
answers metadata/timestamp.json /dev/null "serve does not serve"

# client DEV TREE WHY: a new device refreshes from mirror tree TREE and
# downloads TARGET... (its bytes must be the published ones).
client() {
	c_dev=$1 c_tree=$2 c_why=$3
	shift 3
	device "$c_dev" "$ws/metadata/1.root.json" "$c_tree/metadata" \
	    "$c_why" "$@"
}
# field NAME: a number from the --json summary in out.
field() { sed -n "s/.*\"$1\":\\([0-9a-z]*\\).*/\\1/p" out; }

echo "== a mirror of the origin, over HTTP"
run "$mirror" init -d m1 --root "$ws/metadata/1.root.json" --upstream "$url"
run "$mirror" sync -d m1 --json
cat out
[ "$(field changed)" = true ] && [ "$(field targets)" = 3 ] &&
    [ "$(field fetched)" = 3 ] || fail "first sync: $(cat out)"
ok
[ "$(readlink m1/repo/metadata)" = .states/0000000001 ] ||
	fail "m1 serves $(readlink m1/repo/metadata)"
ok
client d1 "$tmp/m1/repo" "from m1" hello.txt apps/a.img apps/b.img
run "$mirror" status -d m1
grep -q 'timestamp v1 ' out || { cat out >&2; fail "status: $(cat out)"; }
ok
run "$mirror" sync -d m1
grep -q '^up to date: state 1' out || fail "second sync: $(cat out)"
ok

echo "== a mirror of the mirror (its tree as a directory)"
run "$mirror" init -d m2 --root "$ws/metadata/1.root.json" \
    --upstream "$tmp/m1/repo"
run "$mirror" sync -d m2 --json
[ "$(field fetched)" = 3 ] || fail "m2 first sync: $(cat out)"
ok
client d2 "$tmp/m2/repo" "from m2" hello.txt apps/a.img apps/b.img
# The same files under the same names as the origin serves.
(cd "$st/repo" && find metadata/ targets -type f | sort) >origin.list
(cd m2/repo && find metadata/ targets -type f | sort) >m2.list
cmp -s origin.list m2.list || { diff origin.list m2.list >&2;
	fail "m2 does not hold what the origin serves"; }
ok
while read -r f; do
	cmp -s "$st/repo/$f" "m2/repo/$f" || fail "m2/repo/$f differs"
done <origin.list
ok

echo "== incremental: one new target"
head -c 50000 /dev/urandom >content/apps/c.img
run "$sign" targets add -C "$ws" --path apps/c.img content/apps/c.img
bundle 2 apps
run "$repod" publish -d "$st" --images content --passphrase-fd 3 \
    b2.tar.zst 3<pw
run "$mirror" sync -d m1 --json
cat out
[ "$(field fetched)" = 1 ] && [ "$(field fetched_bytes)" = 50000 ] &&
    [ "$(field present)" = 3 ] || fail "incremental sync: $(cat out)"
ok
run "$mirror" sync -d m2 --json
[ "$(field fetched)" = 1 ] || fail "m2 incremental sync: $(cat out)"
ok
client d2 "$tmp/m2/repo" "from m2, after the new target" apps/c.img

echo "== resuming a download a killed sync left"
head -c 100000 /dev/urandom >content/apps/e.img
run "$sign" targets add -C "$ws" --path apps/e.img content/apps/e.img
bundle 4 apps
run "$repod" publish -d "$st" --images content --passphrase-fd 3 \
    b4.tar.zst 3<pw
# DIR/partial/SHA256.LENGTH.D.part, D = BLAKE2b-32 of the path, a NUL,
# and the target's hashes as compact JSON with sorted keys.
h=$(sha256sum content/apps/e.img | cut -d' ' -f1).100000.$(/usr/bin/python3 -c '
import hashlib, json, sys
b = open(sys.argv[1], "rb").read()
hs = {"sha256": hashlib.sha256(b).hexdigest(),
      "sha512": hashlib.sha512(b).hexdigest()}
d = b"apps/e.img\0" + json.dumps(hs, separators=(",", ":"),
                                  sort_keys=True).encode()
print(hashlib.blake2b(d, digest_size=4).hexdigest())' content/apps/e.img)
# Over HTTP (a Range request): the first 40,000 bytes are there already.
head -c 40000 content/apps/e.img >"m1/partial/$h.part"
run "$mirror" sync -d m1 --json
cat out
[ "$(field fetched)" = 1 ] && [ "$(field resumed_bytes)" = 40000 ] ||
	fail "resumed sync: $(cat out)"
ok
[ ! -e "m1/partial/$h.part" ] || fail "the partial file stayed"
ok
# From a directory (a seek), with bytes that do not verify: from 0.
head -c 30000 /dev/urandom >"m2/partial/$h.part"
run "$mirror" sync -d m2 --json
[ "$(field fetched)" = 1 ] && [ "$(field resumed_bytes)" = 0 ] ||
	fail "sync over a bad partial file: $(cat out)"
ok
client d2 "$tmp/m2/repo" "from m2, after a bad partial file" apps/e.img
client d1 "$tmp/m1/repo" "from m1, after resuming" apps/e.img

echo "== a partial mirror: apps/* only"
run "$mirror" init -d m3 --root "$ws/metadata/1.root.json" \
    --upstream "$url" --target 'apps/*'
run "$mirror" sync -d m3 --json
[ "$(field targets)" = 4 ] && [ "$(field fetched)" = 4 ] ||
	fail "partial sync: $(cat out)"
ok
ls m3/repo/targets | grep -q hello && fail "m3 holds hello.txt"
ok
client d3 "$tmp/m3/repo" "from the partial m3" apps/a.img
"$client" -d d3 download hello.txt >cout 2>&1 &&
	fail "the partial mirror served hello.txt"
ok

echo "== a tampered target upstream: refused, nothing changes"
run "$mirror" init -d m4 --root "$ws/metadata/1.root.json" \
    --upstream "$tmp/m1/repo"
run "$mirror" sync -d m4
before=$(readlink m4/repo/metadata)
head -c 20000 /dev/urandom >content/apps/d.img
run "$sign" targets add -C "$ws" --path apps/d.img content/apps/d.img
bundle 5 apps
run "$repod" publish -d "$st" --images content --passphrase-fd 3 \
    b5.tar.zst 3<pw
run "$mirror" sync -d m1
d=$(ls m1/repo/targets/apps/*.d.img | head -n 1)
printf 'X' | dd of="$d" bs=1 seek=100 conv=notrunc 2>/dev/null ||
	fail "tamper with $d"
rc=0
"$mirror" sync -d m4 >out 2>err || rc=$?
[ "$rc" = 1 ] || { cat out err >&2; fail "tampered sync: exit $rc"; }
ok
grep -q 'apps/d.img' err || { cat err >&2; fail "the refusal names no file"; }
ok
echo "refused: $(head -n 1 err)"
[ "$(readlink m4/repo/metadata)" = "$before" ] ||
	fail "m4 switched to $(readlink m4/repo/metadata)"
ok
find m4/repo -name '*.tmp*' | grep -q . && fail "m4 has temporaries left"
ok
client d4 "$tmp/m4/repo" "from m4 after the refusal" apps/c.img

echo "== failover: an upstream serving bad data is named and skipped"
cp -a m1/repo bad || fail "cp m1/repo bad"
for f in bad/targets/apps/*.a.img; do
	printf 'X' | dd of="$f" bs=1 seek=10 conv=notrunc 2>/dev/null ||
		fail "tamper with $f"
done
# And its timestamp's signature (one hex digit changed).
/usr/bin/python3 -c '
import sys
p = sys.argv[1]
b = open(p, "rb").read()
i = b.index(b"\"sig\":\"") + 7
b = b[:i] + (b"1" if b[i:i + 1] != b"1" else b"2") + b[i + 1:]
open(p, "wb").write(b)' "bad/$(readlink bad/metadata)/timestamp.json" ||
	fail "tamper with bad's timestamp"
run "$mirror" init -d m6 --root "$ws/metadata/1.root.json" \
    --upstream "$tmp/bad" --upstream "$url"
run "$mirror" sync -d m6 --json
grep -q "upstream $tmp/bad/targets skipped: .*sha256 mismatch" err ||
	{ cat err >&2; fail "the bad upstream's target was not named"; }
ok
grep -q "upstream $tmp/bad/metadata skipped: .*timestamp" err ||
	{ cat err >&2; fail "the bad upstream's timestamp was not named"; }
ok
sed -n 1,2p err
[ "$(field fetched)" -ge 5 ] || fail "failover sync: $(cat out)"
ok
client d6 "$tmp/m6/repo" "from m6, after failover" apps/a.img

echo "== verify: the whole tree offline; each problem named"
# m1's d.img was altered above (both its names: one file).
rc=0
"$mirror" verify -d m1 >out 2>err || rc=$?
[ "$rc" = 1 ] || { cat out err >&2; fail "verify m1: exit $rc"; }
ok
[ "$(grep -c '^problem: target apps/d.img .*does not match' out)" = 2 ] &&
    grep -q '^2 problems$' out || { cat out >&2; fail "verify m1"; }
ok
rm m1/repo/targets/apps/*.d.img || fail "rm d.img"
run "$mirror" sync -d m1 --force
run "$mirror" verify -d m1
grep -q '^0 problems$' out || { cat out >&2; fail "verify m1: $(cat out)"; }
ok
damaged=$(ls m2/repo/targets/apps/*.b.img | head -n 1)
gone=$(ls m2/repo/targets/*.hello.txt | head -n 1)
printf 'X' | dd of="$damaged" bs=1 seek=5 conv=notrunc 2>/dev/null ||
	fail "damage $damaged"
rm "$gone" || fail "rm $gone"
rc=0
"$mirror" verify -d m2 >out 2>err || rc=$?
[ "$rc" = 1 ] || { cat out err >&2; fail "verify of a damaged m2: exit $rc"; }
ok
grep "^problem: " out
# b.img's two names are one file: two problems.
[ "$(grep -c '^problem: ' out)" = 3 ] &&
    [ "$(grep -c "^problem: target apps/b.img .*does not match" out)" = 2 ] &&
    grep -q "^problem: target hello.txt .*is missing" out ||
	{ cat out >&2; fail "verify did not name each problem"; }
ok
# Repaired: the damaged file removed, and a forced sync.
rm "$damaged" || fail "rm $damaged"
run "$mirror" sync -d m2 --force --json
[ "$(field fetched)" -ge 2 ] || fail "forced sync: $(cat out)"
ok
run "$mirror" verify -d m2
grep -q '^0 problems$' out || { cat out >&2; fail "verify after repair"; }
ok

echo "== prune: a target removed upstream goes with the last state naming it"
run "$sign" targets remove -C "$ws" --role apps apps/a.img
bundle 6 apps
run "$repod" publish -d "$st" --images content --passphrase-fd 3 \
    b6.tar.zst 3<pw
run "$mirror" sync -d m1
a=$(ls m1/repo/targets/apps/*.a.img | head -n 1)
[ -f "$a" ] || fail "a.img went while retained states name it"
ok
run "$mirror" prune -d m1 --retain-states 1
grep -q '^pruned [1-9][0-9]* states and [1-9][0-9]* target files' out ||
	fail "prune: $(cat out)"
ok
[ ! -e "$a" ] || fail "prune kept $a"
ok
[ "$(ls m1/repo/.states | wc -l | tr -d ' ')" = 1 ] || fail "states left"
ok
run "$mirror" verify -d m1
grep -q '^0 problems$' out || { cat out >&2; fail "verify after prune"; }
ok
client d1 "$tmp/m1/repo" "from m1 after prune" apps/c.img

echo "== an onion upstream, through a socks5h:// proxy (a stand-in for Tor's)"
# The proxy serves one .onion name, relayed to repod; it logs every
# request.  The name must reach it unresolved (SOCKS5 address type 3).
onion=ferrymirrortestupstreamabcdefghijklmnopqrstuvwxyz234567ab.onion
mkfifo socks.in || fail "mkfifo"
# fd 7 holds the FIFO open for writing until this script ends: then
# the proxy reads end of file and exits, whatever happens here.
exec 7<>socks.in
/usr/bin/python3 "$top_srcdir/tests/e2e/socks5h_server.py" socks.log \
    "$onion=$port" <socks.in >socks.port 2>socks.err 7>&- &
xpid=$!
i=0
while [ $i -lt 100 ] && ! [ -s socks.port ]; do
	sleep 0.1
	i=$((i + 1))
done
sport=$(head -n 1 socks.port)
[ -n "$sport" ] || { cat socks.err >&2; fail "the SOCKS proxy did not start"; }
# Without a proxy, an onion name is refused before anything is sent:
# by init, and by sync should mirror.json lose its proxy later.
"$mirror" init -d mo0 --root "$ws/metadata/1.root.json" \
    --upstream "http://$onion" >out 2>err && fail "init took an onion upstream without a proxy"
grep -q "upstream http://$onion: an onion service is reached only through Tor" err ||
	fail "init: no onion refusal: $(cat err)"
[ ! -e mo0 ] || fail "a refused init left mo0"
ok
run "$mirror" init -d mo0 --root "$ws/metadata/1.root.json" \
    --upstream "http://$onion" --proxy socks5h://127.0.0.1:1
/usr/bin/python3 -c '
import json, sys
p = sys.argv[1]
c = json.load(open(p))
del c["proxy"]
json.dump(c, open(p, "w"))' mo0/mirror.json || fail "editing mo0/mirror.json"
"$mirror" sync -d mo0 >out 2>err && fail "an onion upstream without a proxy"
grep -q 'refusing to resolve .onion host without a socks5h:// proxy' err ||
	{ cat err >&2; fail "no onion refusal: $(cat err)"; }
ok
# Only socks5h:// is taken (any other kind of proxy would resolve names
# here).  Refused at init, with no onion upstream and nothing listening
# at the address, so that even a regression could send no lookup.
"$mirror" init -d mo1 --root "$ws/metadata/1.root.json" \
    --upstream "$url" --proxy "http://127.0.0.1:1" \
    >out 2>err && fail "init took an http:// proxy"
grep -q -- '--proxy: "http://127.0.0.1:1" is not socks5h://HOST:PORT' err ||
	fail "http:// proxy refusal: $(cat err)"
[ ! -e mo1 ] || fail "a refused init left mo1"
ok
run "$mirror" init -d mo --root "$ws/metadata/1.root.json" \
    --upstream "http://$onion" --proxy "socks5h://127.0.0.1:$sport"
grep -q "\"proxy\": \"socks5h://127.0.0.1:$sport\"" mo/mirror.json ||
	fail "mirror.json has no proxy: $(cat mo/mirror.json)"
ok
run "$mirror" sync -d mo --json
[ "$(field targets)" -ge 3 ] && [ "$(field fetched)" = "$(field targets)" ] ||
	fail "onion sync: $(cat out)"
ok
grep -q "^CONNECT $onion:80 ok\$" socks.log ||
	{ cat socks.log >&2; fail "the proxy saw no CONNECT to $onion"; }
! grep -q REFUSED socks.log || { cat socks.log >&2; fail "refused requests"; }
ok
client d_onion "$tmp/mo/repo" "from the onion mirror" hello.txt apps/c.img
# A proxy that is not there: the sync fails, naming it, and serves on.
kill "$xpid" 2>/dev/null
wait "$xpid" 2>/dev/null
xpid=
before=$(readlink mo/repo/metadata)
cp content/apps/a.img content/apps/onion.img || fail "cp"
run "$sign" targets add -C "$ws" --path apps/onion.img content/apps/onion.img
bundle 9 apps
run "$repod" publish -d "$st" --images content --passphrase-fd 3 \
    b9.tar.zst 3<pw
"$mirror" sync -d mo >out 2>err && fail "a sync through a dead proxy"
grep -q "127.0.0.1:$sport\|Failed to connect\|proxy" err ||
	{ cat err >&2; fail "the error does not name the proxy"; }
grep -q "nothing changed" err || fail "no 'nothing changed': $(cat err)"
[ "$(readlink mo/repo/metadata)" = "$before" ] || fail "mo changed"
ok
run "$mirror" verify -d mo
ok

echo "$name: $checks checks passed"
