#!/bin/sh
# The onion path, end to end, on a private Tor network on 127.0.0.1
# (tests/e2e/tornet.sh.inc: three authorities, three relays, the service
# side's tor and a client's tor, none able to reach the public network).
#
# ferry-repod serve --onion publishes itself through the service side's
# control port; /health and /metrics name the address; a device pinned to
# that address refreshes and downloads over Tor (socks5h://), each
# application's download on circuits of its own (checked in the client
# tor's circuit-status against the SOCKS credentials the test derives
# independently); a mirror syncs over Tor; when tor restarts, repod
# publishes again by itself; a private service (v3 client authorization)
# refuses a device whose tor lacks the key, with Tor's reason, and serves
# it once the key is there; revoking the last client withdraws it.  Last,
# the documented alternative: tor itself serves repod's key directory as
# a HiddenServiceDir, at the same address.
set -u
name=onion
. "${top_srcdir:?is unset: run this from make check}/tests/e2e/lib.sh.inc"
. "$top_srcdir/tests/e2e/tornet.sh.inc"
tornet_need
bins sign repod client mirror

setup spid
py=/usr/bin/python3

echo "== a private Tor network on 127.0.0.1"
t0=$(date +%s)
tornet_start "$tmp/net" 3
ok

echo "== a repository, published by repod (while tor bootstraps)"
printf 'onion test passphrase\n' >pw
mkdir keys content content/apps
genkeys root targets snapshot timestamp
workspace
printf 'hello over tor\n' >content/hello.txt
head -c 300000 /dev/urandom >content/apps/a.img
head -c 200000 /dev/urandom >content/apps/b.img
for t in hello.txt apps/a.img apps/b.img; do
	run "$sign" targets add -C "$ws" --path "$t" "content/$t"
done
bundle 1 root targets
st=$tmp/st
run "$repod" init -d "$st" --root "$ws/metadata/1.root.json" \
    --snapshot-key keys/snapshot.key --timestamp-key keys/timestamp.key
run "$repod" publish -d "$st" --images content --passphrase-fd 3 \
    b1.tar.zst 3<pw
run "$repod" onion -d "$st" init
addr=$(cat out)
case $addr in
*.onion) ok ;;
*) fail "onion init printed '$addr'" ;;
esac
[ "$(stat -c %a "$st/onion/hs_ed25519_secret_key")" = 600 ] ||
	fail "the onion key is not mode 0600"
ok

# health_onion: the "onion" object of /health, one line.
health_onion() {
	curl -fsS "$url/health" 2>/dev/null | sed -n 's/.*"onion":\({[^}]*}\).*/\1/p'
}
# published [SECS]: wait until /health says tor uploaded the descriptor.
published() {
	i=0
	until health_onion | grep -q '"state":"published"'; do
		kill -0 "$spid" 2>/dev/null ||
			{ cat serve.log >&2; fail "repod exited"; }
		i=$((i + 1))
		[ "$i" -lt "${1:-180}" ] || { cat serve.log >&2; tornet_tails;
			fail "not published: $(health_onion)"; }
		sleep 1
	done
}
# tries N CMD...: CMD, up to N times 5 s apart (a new onion service can
# take a while to be reachable from every relay); out and err as run().
tries() {
	n=$1
	shift
	i=1
	until "$@" >out 2>err; do
		[ "$i" -lt "$n" ] || { cat out err >&2; fail "$* failed $n times"; }
		i=$((i + 1))
		sleep 5
	done
	ok
}

echo "== ferry-repod serve --onion"
serve -d "$st" --passphrase-fd 3 --onion --tor-control "$tornet_hs_ctl" 3<pw
published
echo "published $(($(date +%s) - t0)) s after the network started"
ok
health_onion | grep -q "\"address\":\"$addr\"" ||
	fail "/health does not name $addr: $(health_onion)"
ok
curl -fsS "$url/metrics" >metrics || fail "no /metrics"
grep -q "^ferry_repod_onion_info{address=\"$addr\"} 1\$" metrics &&
    grep -q '^ferry_repod_onion_published 1$' metrics ||
	{ cat metrics >&2; fail "/metrics lacks the onion service"; }
ok
grep -q "msg=\"onion service added\" address=${addr%.onion}" serve.log ||
	{ cat serve.log >&2; fail "the address is not logged"; }
ok
# The key never reaches the log, or the HTTP process's memory image.
keyb64=$(tail -c 64 "$st/onion/hs_ed25519_secret_key" | base64 -w0)
! grep -qF "$keyb64" serve.log || fail "the onion key is in the log"
ok

tornet_wait_client
tornet_wait_net
proxy=socks5h://127.0.0.1:$tornet_socks

echo "== a device pinned to the onion address, over Tor"
run "$client" -d dev init --root "$ws/metadata/1.root.json" \
    --onion "$addr" --tor="127.0.0.1:$tornet_socks"
grep -q "pinned onion address: $addr" out || fail "init: $(cat out)"
ok
tries 6 "$client" -d dev refresh
for t in apps/a.img apps/b.img hello.txt; do
	tries 3 "$client" -d dev download "$t"
	cmp -s "dev/targets/$(printf '%s' "$t" | sed 's,/,%2F,g')" \
	    "content/$t" || fail "$t differs"
	ok
done

echo "== each application on circuits of its own"
# The credentials lib/fetch derives: BLAKE2b-256 keyed "ferry-socks" of
# tag, scheme, host, port, each with a NUL; the first half in hex is the
# user name.  Computed here with Python's hashlib, independently.
creds() {
	"$py" -c '
import hashlib, sys
tag, host = sys.argv[1], sys.argv[2]
h = hashlib.blake2b(key=b"ferry-socks", digest_size=32)
for part in (tag, "http", host, "80"):
    h.update(part.encode() + b"\0")
print(h.hexdigest()[:32])' "$1" "$addr"
}
tornet_ctl "$tornet_client_ctl" "$tornet_client_cookie" \
    'GETINFO circuit-status' >circ || fail "GETINFO circuit-status"
circ_of() { sed -n "s/^\\([0-9]*\\) BUILT .*SOCKS_USERNAME=\"$1\".*/\\1/p" circ | sort -u; }
ca=$(circ_of "$(creds apps/a.img)")
cb=$(circ_of "$(creds apps/b.img)")
cm=$(circ_of "$(creds metadata)")
[ -n "$ca" ] && [ -n "$cb" ] && [ -n "$cm" ] ||
	{ cat circ >&2; fail "circuits by credentials: a='$ca' b='$cb' metadata='$cm'"; }
ok
for x in $ca; do
	for y in $cb $cm; do
		[ "$x" != "$y" ] || fail "apps/a.img shares circuit $x"
	done
done
for x in $cb; do
	for y in $cm; do
		[ "$x" != "$y" ] || fail "apps/b.img shares circuit $x"
	done
done
ok

echo "== the pin refuses another onion address"
mkdir other
other=$("$repod" onion -d other init 2>/dev/null) || fail "another key"
! "$client" -d dev2 init --root "$ws/metadata/1.root.json" --onion "$addr" \
    --mirror "http://$other/metadata" >out 2>&1 || fail "another onion taken"
grep -q "not the pinned onion address" out || fail "pin: $(cat out)"
ok

echo "== a mirror syncs over Tor"
run "$mirror" init -d m --root "$ws/metadata/1.root.json" \
    --upstream "http://$addr" --tor="127.0.0.1:$tornet_socks"
tries 3 "$mirror" sync -d m
device dm "$ws/metadata/1.root.json" "$tmp/m/repo/metadata" \
    "from the mirror that synced over Tor" hello.txt apps/a.img apps/b.img

echo "== tor restarts: repod publishes again by itself"
tornet_restart_hs
i=0
until [ "$(grep -c 'msg="onion service added"' serve.log)" -ge 2 ]; do
	i=$((i + 1))
	[ "$i" -lt 120 ] || { cat serve.log >&2; fail "not added again"; }
	sleep 1
done
ok
grep -q 'lost tor.s control connection' serve.log ||
	fail "the lost connection is not logged"
ok
published
curl -fsS "$url/metrics" | grep -q '^ferry_repod_onion_publishes_total 2$' ||
	fail "publishes_total is not 2"
ok
tries 6 "$client" -d dev refresh

echo "== a private service: v3 client authorization"
kill "$spid" && wait "$spid"
spid=
# A service of its own (another key, so another address): tor gates a
# private service only through its descriptor, and the client tor has the
# public one's cached.
printf '{"onion_dir": "onion-private", "onion_client_auth": 1}\n' >priv.json
run "$repod" onion -d "$st" -c priv.json init
paddr=$(cat out)
[ "$paddr" != "$addr" ] || fail "the private service has the public address"
ok
# The device's key pair, made with Python's cryptography (independent).
"$py" -c '
import base64
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey
from cryptography.hazmat.primitives import serialization as s
k = X25519PrivateKey.generate()
raw = lambda b: base64.b32encode(b).decode().rstrip("=")
print(raw(k.private_bytes(s.Encoding.Raw, s.PrivateFormat.Raw, s.NoEncryption())))
print(raw(k.public_key().public_bytes(s.Encoding.Raw, s.PublicFormat.Raw)))
' >x25519 || fail "x25519 key pair"
priv=$(sed -n 1p x25519)
pub=$(sed -n 2p x25519)
run "$repod" onion -d "$st" -c priv.json auth add dev1 "descriptor:x25519:$pub"
run "$repod" onion -d "$st" -c priv.json auth list
grep -q "^dev1 descriptor:x25519:$pub\$" out || fail "auth list: $(cat out)"
ok
mv serve.log serve1.log
serve -d "$st" -c priv.json --passphrase-fd 3 --onion \
    --tor-control "$tornet_hs_ctl" 3<pw
published
health_onion | grep -q '"clients":1' || fail "clients: $(health_onion)"
ok
health_onion | grep -q "\"address\":\"$paddr\"" ||
	fail "/health does not name $paddr: $(health_onion)"
ok
rm -rf dev
run "$client" -d dev init --root "$ws/metadata/1.root.json" \
    --onion "$paddr" --tor="127.0.0.1:$tornet_socks"
i=0
until ! "$client" -d dev refresh >out 2>&1 &&
    grep -q 'requires client authorization' out; do
	i=$((i + 1))
	[ "$i" -lt 20 ] || { cat out >&2; fail "no client authorization error"; }
	sleep 3
done
grep -q 'SOCKS reply 0xf4' out || fail "the reason: $(cat out)"
ok
printf '%s:descriptor:x25519:%s\n' "${paddr%.onion}" "$priv" \
    >"$tornet_dir/c/auth/dev1.auth_private"
chmod 600 "$tornet_dir/c/auth/dev1.auth_private"
kill -HUP "$tornet_client_pid" || fail "SIGHUP to the client tor"
tries 10 "$client" -d dev refresh
run "$client" -d dev download apps/a.img
ok

echo "== revoking the last client withdraws the service"
run "$repod" onion -d "$st" -c priv.json auth revoke dev1
i=0
until grep -q 'no client is authorized' serve.log; do
	i=$((i + 1))
	[ "$i" -lt 30 ] || { cat serve.log >&2; fail "not withdrawn"; }
	sleep 1
done
ok
health_onion | grep -q '"clients":0' || fail "after revoke: $(health_onion)"
ok

echo "== the alternative: tor runs the service from repod's key directory"
# docs/onion.md: serve without --onion, and give tor a copy of DIR/onion
# as its HiddenServiceDir; the address is the same.
kill "$spid" && wait "$spid"
spid=
mv serve.log serve2.log
serve -d "$st" --passphrase-fd 3 3<pw
hsd=$tornet_dir/hs/ferry
mkdir -m 700 "$hsd" && cp -a "$st/onion/." "$hsd/" || fail "copy the key"
printf 'HiddenServiceDir %s\nHiddenServicePort 80 127.0.0.1:%s\n' \
    "$hsd" "$port" >>"$tornet_dir/hs/torrc"
tornet_restart_hs
tornet_wait_hs
[ "$(cat "$hsd/hostname")" = "$addr" ] ||
	fail "tor's hostname is $(cat "$hsd/hostname"), not $addr"
ok
rm -rf dev
run "$client" -d dev init --root "$ws/metadata/1.root.json" \
    --onion "$addr" --tor="127.0.0.1:$tornet_socks"
tries 24 "$client" -d dev refresh
run "$client" -d dev download apps/b.img
cmp -s dev/targets/apps%2Fb.img content/apps/b.img || fail "b.img differs"
ok

echo "$name: $checks checks passed in $(($(date +%s) - t0)) s"
