#!/bin/sh
# onion.sh BUILDDIR [ROUNDS]
#
# The onion part of `make bench`: what the onion path costs.  A device
# (ferry) refreshes its metadata and downloads a 10 MiB target from
# ferry-repod, once over plain HTTP on 127.0.0.1 and once through the
# onion service that repod publishes (`serve --onion`) on a private Tor
# network on 127.0.0.1 (tests/e2e/tornet.sh.inc: three authorities,
# three relays, the service side's tor and the client's tor).  Each round
# is a new device (init, refresh, download), ROUNDS times (default 5;
# BENCH_ONION_ROUNDS), alternating the two paths.  Beside them, in the
# same run, curl fetching the same 10 MiB file by each path: the
# transfer alone, a floor rather than a peer.
#
# The first onion round is shown apart: it pays for the descriptor
# lookup and the circuits (each target has circuits of its own, so every
# new device builds some).  Every hop of the private network is on one
# machine, so the figures show Tor's own overhead (cells, crypto, six
# relays' worth of forwarding), not the latency of a real network, which
# dominates there.  Nothing is enforced: figures only.
#
# Needs ferry-sign, ferry-repod and ferry in BUILDDIR; tor, tor-gencert,
# curl and Debian's python3.
set -u
if [ $# -lt 1 ] || [ $# -gt 2 ]; then
	echo "usage: onion.sh BUILDDIR [ROUNDS]" >&2
	exit 2
fi
builddir=$(cd "$1" && pwd) || exit 1
rounds=${2:-${BENCH_ONION_ROUNDS:-5}}
here=$(cd "$(dirname "$0")" && pwd) || exit 1
top_srcdir=$(cd "$here/.." && pwd)
export top_srcdir
FERRY_SIGN=$builddir/ferry-sign FERRY_REPOD=$builddir/ferry-repod
FERRY_CLIENT=$builddir/ferry
export FERRY_SIGN FERRY_REPOD FERRY_CLIENT
name=bench-onion
. "$top_srcdir/tests/e2e/lib.sh.inc"
. "$top_srcdir/tests/e2e/tornet.sh.inc"
for b in tor tor-gencert curl; do
	command -v "$b" >/dev/null 2>&1 ||
		{ echo "onion.sh: $b not found (Debian package: ${b%-gencert})" >&2; exit 1; }
done
bins sign repod client
setup spid

now_ms() { date +%s%3N; }

echo "== onion: a private Tor network and a repository with a 10 MiB target"
t0=$(now_ms)
tornet_start "$tmp/net" 3
printf 'bench passphrase\n' >pw
mkdir keys content
genkeys root targets snapshot timestamp
workspace
head -c $((10 << 20)) /dev/urandom >content/app.img
run "$sign" targets add -C "$ws" --path app.img content/app.img
bundle 1 root targets
st=$tmp/st
run "$repod" init -d "$st" --root "$ws/metadata/1.root.json" \
    --snapshot-key keys/snapshot.key --timestamp-key keys/timestamp.key
run "$repod" publish -d "$st" --images content --passphrase-fd 3 \
    b1.tar.zst 3<pw
run "$repod" onion -d "$st" init
addr=$(cat out)
serve -d "$st" --passphrase-fd 3 --onion --tor-control "$tornet_hs_ctl" 3<pw
tornet_wait_client
i=0
until curl -fsS "$url/health" | grep -q '"state":"published"'; do
	i=$((i + 1))
	[ "$i" -lt 300 ] || { tornet_tails; fail "the onion service was not published"; }
	sleep 1
done
echo "network up and service published in $(( ($(now_ms) - t0) / 1000 )) s"
proxy=socks5h://127.0.0.1:$tornet_socks
# The first lookup of a new service can fail while its descriptor
# spreads: warm the path up until curl gets the timestamp (untimed).
i=0
until curl -fsS --proxy "$proxy" -o /dev/null \
    "http://$addr/metadata/timestamp.json" 2>/dev/null; do
	i=$((i + 1))
	[ "$i" -lt 60 ] || fail "the onion service cannot be reached"
	sleep 2
done

# device PATH: a new device's init, refresh and download; ms on stdout.
device_ms() {
	rm -rf dev
	if [ "$1" = onion ]; then
		set -- --onion "$addr" --tor="127.0.0.1:$tornet_socks"
	else
		set -- --mirror "$url/metadata"
	fi
	s=$(now_ms)
	"$client" -d dev init --root "$ws/metadata/1.root.json" "$@" \
	    >cout 2>&1 && "$client" -d dev refresh >>cout 2>&1 &&
	    "$client" -d dev download app.img >>cout 2>&1 ||
		{ cat cout >&2; fail "the device failed"; }
	e=$(now_ms)
	cmp -s dev/targets/app.img content/app.img || fail "app.img differs"
	echo $((e - s))
}
# curl_ms PATH: curl alone fetching the 10 MiB file; ms on stdout.
curl_ms() {
	s=$(now_ms)
	if [ "$1" = onion ]; then
		curl -fsS --proxy "$proxy" -o got "http://$addr/targets/$h.app.img"
	else
		curl -fsS -o got "$url/targets/$h.app.img"
	fi || fail "curl failed"
	e=$(now_ms)
	cmp -s got content/app.img || fail "curl's copy differs"
	echo $((e - s))
}
h=$(sha256sum content/app.img | cut -d' ' -f1)
curl -fsS -o /dev/null "$url/targets/$h.app.img" ||
	fail "$url/targets/$h.app.img: not served"

median() { sort -n | awk '{ a[NR] = $1 } END { print (NR % 2) ? a[(NR + 1) / 2] : int((a[NR / 2] + a[NR / 2 + 1]) / 2) }'; }
: >f.lo; : >f.on; : >c.lo; : >c.on
first=
r=1
while [ "$r" -le "$rounds" ]; do
	on=$(device_ms onion)
	[ -n "$first" ] || first=$on
	[ "$r" -eq 1 ] || echo "$on" >>f.on
	device_ms loopback >>f.lo
	curl_ms onion >>c.on
	curl_ms loopback >>c.lo
	r=$((r + 1))
done
[ -s f.on ] || echo "$first" >f.on
mib() { awk -v ms="$1" 'BEGIN { if (ms > 0) printf "%.1f", 10 * 1000 / ms; else print "-" }'; }
lo=$(median <f.lo) on=$(median <f.on) clo=$(median <c.lo) con=$(median <c.on)
printf '\nonion path: new device, init + refresh + 10 MiB download (median of %s)\n' "$rounds"
printf '  %-44s %9s %9s\n' "" "ms" "MiB/s"
printf '  %-44s %9s %9s\n' "ferry over plain HTTP, 127.0.0.1" "$lo" "$(mib "$lo")"
printf '  %-44s %9s %9s\n' "ferry over the onion service" "$on" "$(mib "$on")"
printf '  %-44s %9s %9s\n' "  (first onion round: lookup, circuits)" "$first" "$(mib "$first")"
printf '  %-44s %9s %9s\n' "curl, the file alone, plain HTTP" "$clo" "$(mib "$clo")"
printf '  %-44s %9s %9s\n' "curl, the file alone, onion service" "$con" "$(mib "$con")"
awk -v a="$on" -v b="$lo" 'BEGIN { if (b > 0) printf "  the onion path takes %.1fx as long as loopback HTTP\n", a / b }'
printf '  rounds (ms): ferry onion %s; ferry loopback %s\n' \
    "$(tr '\n' ' ' <f.on)" "$(tr '\n' ' ' <f.lo)"
