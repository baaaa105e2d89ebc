#!/bin/sh
# ferry-repod serve --mirror on loopback, checked with curl and raw
# sockets: statuses and headers (ETag, Last-Modified, Cache-Control,
# Accept-Ranges, Content-Range), 304, 206, 416, 405, 413, 404; paths that
# must not map to a file (dot components, ".." raw and percent-encoded, NUL,
# directories, FIFOs, symbolic links out of the tree) and links inside it
# that must; the atomic switch of the metadata link; /metrics and /health
# for a valid, expired, missing and malformed timestamp; a huge header;
# the per-client connection limit; the drop to an unprivileged user (when
# run as root); restart of a killed HTTP process; and slowloris clients,
# each cut off by the deadline on request heads while others are served.
set -eu
top_builddir=${top_builddir:-$(pwd)}
top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}
repod=${FERRY_REPOD:-$top_builddir/ferry-repod}
tool=${FERRY_TUFTOOL:-$top_builddir/ferry-tuftool}
PYTHON=/usr/bin/python3
probe="$PYTHON $top_srcdir/tests/e2e/repod_probe.py"
command -v curl >/dev/null 2>&1 || { echo "skip: no curl"; exit 77; }
[ -x "$PYTHON" ] || { echo "skip: no $PYTHON"; exit 77; }
tmp=$(mktemp -d "${TMPDIR:-/tmp}/ferry-repod-serve.XXXXXX")
pids=""
cleanup() {
	for p in $pids; do
		kill "$p" 2>/dev/null || :
	done
	for p in $pids; do
		wait "$p" 2>/dev/null || :
	done
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 1' INT TERM HUP
n=0
fail() { echo "FAIL: $*"; [ -f "$tmp/log" ] && tail -n 20 "$tmp/log"; exit 1; }
ok() { n=$((n + 1)); }
# check DESCRIPTION COMMAND...: COMMAND must succeed.
check() {
	d=$1
	shift
	"$@" || fail "$d"
	ok
}
cd "$tmp"

# start NAME ARGS...: serve in the background, logging to NAME.log;
# sets port and spid (the supervisor's pid).
start() {
	name=$1
	shift
	"$repod" serve -d "$tmp/state" --mirror "$tmp/tree" \
	    --listen 127.0.0.1:0 "$@" 2>"$tmp/$name.log" &
	spid=$!
	pids="$pids $spid"
	i=0
	while ! grep -q 'msg=serving' "$tmp/$name.log"; do
		i=$((i + 1))
		[ "$i" -le 100 ] || fail "$name did not start: $(cat "$tmp/$name.log")"
		kill -0 "$spid" 2>/dev/null || fail "$name exited: $(cat "$tmp/$name.log")"
		sleep 0.1
	done
	port=$(sed -n 's/.*msg=listening addr=127\.0\.0\.1:\([0-9]*\).*/\1/p' \
	    "$tmp/$name.log" | head -n 1)
	[ -n "$port" ] || fail "no port in $name.log"
}
# stop PID: SIGTERM, then the exit status must be 0.
stop() {
	kill -TERM "$1"
	set +e
	wait "$1"
	st=$?
	set -e
	pids=$(echo "$pids" | sed "s/ $1\$//; s/ $1 / /")
	[ "$st" -eq 0 ] || fail "serve exited $st after SIGTERM"
}

# g [CURL ARGS...] PATH: a request to the server; the status in $code,
# the headers in h, the body in b.
g() {
	nargs=$#
	i=0
	for a do
		i=$((i + 1))
		if [ "$i" -eq "$nargs" ]; then
			set -- "$@" "http://127.0.0.1:$port$a"
		else
			set -- "$@" "$a"
		fi
	done
	shift "$nargs"
	rm -f h b
	code=$(curl -sS --max-time 10 --path-as-is -D h -o b \
	    -w '%{http_code}' "$@" 2>curl.err) || :
	[ -n "$code" ] || code=000
	touch h b
}
# hdr NAME: the value of header NAME in h ("" when absent).
hdr() {
	tr -d '\r' <h | sed -n "s/^$1: //Ip" | head -n 1
}
has_hdr() { [ "$(hdr "$1")" = "$2" ] || fail "$1 is '$(hdr "$1")', not '$2'"; }
no_hdr() { ! grep -qi "^$1:" h || fail "unexpected $1: $(hdr "$1")"; }
want() { [ "$code" = "$1" ] || fail "$2: status $code, not $1"; ok; }
metric() { sed -n "s/^$1 //p" b | head -n 1; }
matches() { printf '%s\n' "$1" | grep -q -- "$2"; }
not_in_body() { ! grep -q -- "$1" b; }
not_in_log() { ! grep -q -- "$1" "$2"; }

echo "== usage"
set +e
"$repod" serve --help >out 2>err; st=$?
set -e
check "--help exits 0" [ "$st" -eq 0 ]
check "--help describes --mirror" grep -q -- '--mirror TREE' out
for bad in "--bogus" "--threads many" "extra-arg" \
    "--mirror . --passphrase-fd 3" "--header-timeout 0"; do
	set +e
	# shellcheck disable=SC2086
	"$repod" serve $bad >out 2>err; st=$?
	set -e
	check "serve $bad is a usage error ($st)" [ "$st" -eq 2 ]
done
set +e
"$repod" serve -d "$tmp/state" --mirror "$tmp" --listen nonsense >out 2>err
st=$?
set -e
# Checked with the other flags, before anything starts: a usage error.
check "a malformed address is a usage error ($st)" [ "$st" -eq 2 ]
check "and says why" grep -q 'not IPv4:PORT or \[IPv6\]:PORT' err

echo "== the tree"
"$tool" demo "$tmp/tree" >/dev/null
# The publisher's layout: metadata is a link to a state directory.
mkdir -p tree/.states
mv tree/metadata tree/.states/1
ln -s .states/1 tree/metadata
head -c 3000000 /dev/urandom >tree/targets/big.bin
: >tree/targets/empty
mkdir tree/targets/dir
printf 'hidden\n' >tree/targets/.hidden
printf 'top\n' >tree/secret.txt
printf 'outside\n' >outside.txt
ln -s /etc/passwd tree/targets/abs-link
ln -s ../../outside.txt tree/targets/rel-link
ln -s ../.states/1/timestamp.json tree/targets/inside-link
mkfifo tree/targets/fifo
ts=tree/metadata/timestamp.json
size=$(wc -c <"$ts" | tr -d ' ')
printf '{"timestamp_max_age": 30}\n' >repod.json

user_args=""
root=0
if [ "$(id -u)" -eq 0 ]; then
	root=1
	user_args="--user nobody"
	set +e
	"$repod" serve -d "$tmp/state" --mirror "$tmp/tree" \
	    --listen 127.0.0.1:0 --user no-such-user-ferry >out 2>err
	st=$?
	set -e
	check "as root, an unknown --user is refused ($st)" [ "$st" -eq 1 ]
	check "saying so" grep -q 'refusing to serve as root' err
fi
# shellcheck disable=SC2086
start log -c "$tmp/repod.json" $user_args --threads 2 --timeout 30 \
    --header-timeout 3 --max-per-ip 100
main_pid=$spid

echo "== files: GET and HEAD"
g /metadata/timestamp.json; want 200 "timestamp.json"
check "the body is the file" cmp -s b "$ts"
has_hdr Content-Length "$size"; ok
has_hdr Content-Type application/json; ok
has_hdr Cache-Control "public, max-age=30"; ok
has_hdr Accept-Ranges bytes; ok
etag=$(hdr ETag)
lastmod=$(hdr Last-Modified)
check "a strong ETag: $etag" matches "$etag" '^"[^"]*"$'
check "Last-Modified is the file's time: $lastmod" [ "$lastmod" = \
    "$(LC_ALL=C date -u -r "$ts" '+%a, %d %b %Y %H:%M:%S GMT')" ]
g -I /metadata/timestamp.json; want 200 "HEAD"
has_hdr Content-Length "$size"; ok
check "HEAD has no body (curl -I writes only the head)" cmp -s b h
g /metadata/1.root.json; want 200 "1.root.json"
has_hdr Cache-Control "public, max-age=31536000, immutable"; ok
check "1.root.json's body" cmp -s b tree/metadata/1.root.json
g /metadata/root.json; want 200 "root.json"
has_hdr Cache-Control "public, max-age=30"; ok
hello=$(cd tree/targets && find . -name '*.hello.txt' | head -n 1 |
    sed 's|^\./||')
g "/targets/$hello"; want 200 "a target"
has_hdr Cache-Control "public, max-age=31536000, immutable"; ok
has_hdr Content-Type application/octet-stream; ok
check "the target's body" cmp -s b "tree/targets/$hello"
g /targets/big.bin; want 200 "a 3 MB target"
check "3 MB intact" cmp -s b tree/targets/big.bin
g /targets/empty; want 200 "an empty file"
has_hdr Content-Length 0; ok
g /targets/inside-link; want 200 "a link that stays inside the tree"
check "through the link, the file" cmp -s b "$ts"
g "/metadata/timestamp%2ejson"; want 200 "percent-encoding is decoded"

echo "== conditional requests"
g -H "If-None-Match: $etag" /metadata/timestamp.json; want 304 "If-None-Match"
has_hdr ETag "$etag"; ok
has_hdr Cache-Control "public, max-age=30"; ok
check "304 has no body" [ ! -s b ]
g -H "If-None-Match: \"x\", W/$etag" /metadata/timestamp.json
want 304 "a weak tag in a list"
g -H 'If-None-Match: *' /metadata/timestamp.json; want 304 "If-None-Match: *"
g -H 'If-None-Match: "other"' /metadata/timestamp.json
want 200 "another tag"
g -H "If-Modified-Since: $lastmod" /metadata/timestamp.json
want 304 "If-Modified-Since"
g -H 'If-Modified-Since: Sat, 01 Jan 2000 00:00:00 GMT' \
    /metadata/timestamp.json; want 200 "modified since 2000"
g -H 'If-None-Match: "other"' -H "If-Modified-Since: $lastmod" \
    /metadata/timestamp.json; want 200 "If-None-Match wins"

echo "== ranges"
g -r 0-9 /metadata/timestamp.json; want 206 "bytes=0-9"
has_hdr Content-Range "bytes 0-9/$size"; ok
has_hdr Content-Length 10; ok
head -c 10 "$ts" >want
check "the first ten bytes" cmp -s b want
g -r 10- /metadata/timestamp.json; want 206 "bytes=10-"
has_hdr Content-Range "bytes 10-$((size - 1))/$size"; ok
tail -c +11 "$ts" >want
check "from byte 10" cmp -s b want
g -r -5 /metadata/timestamp.json; want 206 "bytes=-5"
tail -c 5 "$ts" >want
check "the last five bytes" cmp -s b want
g -r 0-99999999 /metadata/timestamp.json; want 206 "a range past the end"
has_hdr Content-Range "bytes 0-$((size - 1))/$size"; ok
g -r "$size-" /metadata/timestamp.json; want 416 "from the end"
has_hdr Content-Range "bytes */$size"; ok
g -r 0-0 /targets/empty; want 416 "any range of an empty file"
has_hdr Content-Range "bytes */0"; ok
g -r 0-1,4-5 /metadata/timestamp.json; want 200 "several ranges: the whole"
check "several ranges: the whole body" cmp -s b "$ts"
g -r 5-2 /metadata/timestamp.json; want 200 "a malformed range is ignored"
g -I -r 0-9 /metadata/timestamp.json; want 200 "HEAD ignores Range"
g -r 0-9 -H "If-Range: $etag" /metadata/timestamp.json
want 206 "If-Range with the tag"
g -r 0-9 -H 'If-Range: "old"' /metadata/timestamp.json
want 200 "If-Range with another tag"
check "If-Range mismatch: the whole" cmp -s b "$ts"
g -r 0-9 -H "If-Range: $lastmod" /metadata/timestamp.json
want 206 "If-Range with the date"
g -r 0-9 -H "If-Range: W/$etag" /metadata/timestamp.json
want 200 "If-Range never matches a weak tag"
# A resumed download in three pieces.
rm -f pieces
for r in 0-999999 1000000-1999999 2000000-; do
	g -r "$r" /targets/big.bin; want 206 "big.bin $r"
	cat b >>pieces
done
check "the pieces make the file" cmp -s pieces tree/targets/big.bin

echo "== methods"
for m in POST PUT DELETE OPTIONS PATCH; do
	g -X "$m" /metadata/timestamp.json; want 405 "$m"
	has_hdr Allow "GET, HEAD"; ok
done
g -X POST -d 'x=1' /metrics; want 405 "POST with a body"
g -X GET -d 'x=1' /metadata/timestamp.json; want 413 "GET with a body"
g -X GET -H 'Transfer-Encoding: chunked' -d 'x=1' /metadata/timestamp.json
want 413 "GET with a chunked body"
g -X GET -H 'Content-Length: 0' /metadata/timestamp.json
want 200 "GET with an empty body"

echo "== what is not served"
for p in / /x /metadata /metadata/ /targets/ /targets/dir /targets/dir/ \
    /metadata/.hidden /targets/.hidden /.states/1/timestamp.json \
    /secret.txt /metadata/../secret.txt /metadata/%2e%2e/secret.txt \
    /targets/..%2f..%2fsecret.txt /metadata/..%2f.states%2f1/timestamp.json \
    /metadata//timestamp.json //metadata/timestamp.json \
    /metadata/timestamp.json/ /metadata/./timestamp.json \
    /metadata/timestamp.json%00 /metadata/timestamp.json%00.x \
    /targets/abs-link /targets/rel-link /targets/fifo /targets/nosuch \
    /metrics/ /health/x /METADATA/timestamp.json; do
	g "$p"; want 404 "$p"
	check "$p: nothing of the file" not_in_body 'outside\|top\|root:'
done
for req in 'GET ../secret.txt HTTP/1.1' \
    'GET /metadata/../../outside.txt HTTP/1.1' \
    'GET /targets/../secret.txt HTTP/1.0'; do
	line=$(printf '%s\r\nHost: x\r\nConnection: close\r\n\r\n' "$req" |
	    $probe raw "$port")
	check "raw '$req': $line" matches "$line" '^HTTP/1.[01] 4'
done

echo "== abuse: a huge header"
line=$($probe big-header "$port" 200000)
check "a 200 kB header: $line" matches "$line" '^HTTP/1.1 4[0-9][0-9] '
g /metadata/timestamp.json; want 200 "alive after a huge header"
line=$(printf 'GET /%s HTTP/1.1\r\nHost: x\r\n\r\n' \
    "$(head -c 100000 /dev/zero | tr '\0' a)" | $probe raw "$port")
check "a 100 kB URL: $line" matches "$line" '^HTTP/1.1 4[0-9][0-9] '
g /metadata/timestamp.json; want 200 "alive after a huge URL"

echo "== /health and /metrics"
g /health; want 200 "/health"
has_hdr Content-Type application/json; ok
has_hdr Cache-Control no-store; ok
check "status ok" grep -q '"status":"ok"' b
check "timestamp version 1" grep -q '"timestamp_version":1,' b
check "seconds left" grep -q '"seconds_left":[1-9][0-9]*}' b
g /metrics; want 200 "/metrics"
has_hdr Content-Type "text/plain; version=0.0.4; charset=utf-8"; ok
for c in 200 206 304 404 405 416 431; do
	v=$(metric "ferry_repod_http_requests_total{code=\"$c\"}")
	check "requests with status $c counted ($v)" [ "${v:-0}" -gt 0 ]
done
v=$(metric ferry_repod_http_response_bytes_total)
check "bytes sent ($v)" [ "${v:-0}" -gt 6000000 ]
v=$(metric ferry_repod_http_connections_open)
check "open connections ($v)" [ "${v:-0}" -ge 1 ]
check "timestamp version 1" [ "$(metric ferry_repod_timestamp_version)" = 1 ]
check "snapshot version 1" [ "$(metric ferry_repod_snapshot_version)" = 1 ]
check "timestamp valid" [ "$(metric ferry_repod_timestamp_valid)" = 1 ]
v=$(metric ferry_repod_timestamp_expires_seconds)
check "seconds to expiry ($v)" [ "${v:-0}" -gt 3600 ]
check "every metric is typed" [ "$(grep -c '^# TYPE' b)" -eq \
    "$(grep -c '^# HELP' b)" ]

# switch TREE-STATE: the publisher's atomic switch of the metadata link.
switch() {
	ln -sfn ".states/$1" tree/metadata.new
	mv -T tree/metadata.new tree/metadata
}
# A state whose timestamp.json says version 7 and expires when asked.
edit_ts() {	# edit_ts STATE VERSION EXPIRES
	mkdir -p "tree/.states/$1"
	cp tree/.states/1/*.json "tree/.states/$1/"
	$PYTHON -c 'import json, sys
d = json.load(open(sys.argv[1]))
d["signed"]["version"] = int(sys.argv[2])
d["signed"]["expires"] = sys.argv[3]
json.dump(d, open(sys.argv[1], "w"), separators=(",", ":"), sort_keys=True)' \
	    "tree/.states/$1/timestamp.json" "$2" "$3"
}
edit_ts 2 7 2099-01-01T00:00:00Z
switch 2
g /metadata/timestamp.json; want 200 "after the switch"
check "the new timestamp" cmp -s b tree/.states/2/timestamp.json
check "a new ETag" [ "$(hdr ETag)" != "$etag" ]
g /metrics; want 200 "/metrics after the switch"
check "timestamp version 7" [ "$(metric ferry_repod_timestamp_version)" = 7 ]
g /health; want 200 "/health after the switch"
check "version 7 on /health" grep -q '"timestamp_version":7,' b
edit_ts 3 8 2001-01-01T00:00:00Z
switch 3
g /health; want 503 "an expired timestamp"
check "status expired" grep -q '"status":"expired"' b
g /metrics; want 200 "/metrics, expired"
check "not valid" [ "$(metric ferry_repod_timestamp_valid)" = 0 ]
check "negative seconds" grep -q '^ferry_repod_timestamp_expires_seconds -' b
mkdir tree/.states/4
switch 4
g /health; want 503 "no timestamp"
check "status missing" grep -q '"status":"missing"' b
g /metrics; want 200 "/metrics, missing"
check "not valid when missing" [ "$(metric ferry_repod_timestamp_valid)" = 0 ]
check "no version when missing" not_in_body '^ferry_repod_timestamp_version'
printf '{"signed": 1}' >tree/.states/4/timestamp.json
g /health; want 503 "a malformed timestamp"
check "status invalid" grep -q '"status":"invalid"' b
switch 1
g /health; want 200 "back to state 1"
check "version 1 again" grep -q '"timestamp_version":1,' b

echo "== slowloris"
rm -f ready
$PYTHON "$top_srcdir/tests/e2e/slowloris.py" "$port" 50 0.5 12 ready \
    >slow.out 2>&1 &
slow=$!
pids="$pids $slow"
i=0
while [ ! -f ready ] && [ "$i" -lt 100 ]; do
	i=$((i + 1))
	sleep 0.1
done
check "the slow clients connected" [ -f ready ]
g /metadata/timestamp.json; want 200 "served during the attack"
g -r 0-9 /targets/big.bin; want 206 "served during the attack, again"
set +e
wait "$slow"
st=$?
set -e
pids=$(echo "$pids" | sed "s/ $slow\$//")
check "every slow client cut off in time: $(cat slow.out)" [ "$st" -eq 0 ]
g /metrics; want 200 "/metrics after the attack"
v=$(metric ferry_repod_http_header_timeouts_total)
check "header timeouts counted ($v)" [ "${v:-0}" -ge 50 ]

echo "== the HTTP process"
child=$(sed -n 's/.*pid=\([0-9]*\) msg=serving.*/\1/p' log.log | tail -n 1)
other_pid() { [ -n "$1" ] && [ "$1" != "$main_pid" ]; }
check "an HTTP process in the log: ${child:-none}" other_pid "$child"
check "no new privileges" \
    grep -q '^NoNewPrivs:[[:space:]]*1' "/proc/$child/status"
check "the HTTP process never died by itself" \
    not_in_log 'the HTTP process died' log.log

if [ "$root" -eq 1 ]; then
	echo "== privileges"
	# Beyond stdio, only sockets, libmicrohttpd's epoll and eventfd, and
	# the tree (/proc/PID/fd of a non-dumpable process needs root).
	treep=$(cd "$tmp/tree" && pwd -P)
	for f in /proc/"$child"/fd/*; do
		case ${f##*/} in 0|1|2) continue ;; esac
		t=$(readlink "$f") || continue
		case $t in
		socket:*|anon_inode:*|"$treep") ok ;;
		*) fail "the HTTP process holds $t" ;;
		esac
	done
	check "the HTTP process holds the tree" \
	    [ "$(find /proc/"$child"/fd -lname "$treep" | wc -l)" -eq 1 ]
	uids=$(sed -n 's/^Uid:[[:space:]]*//p' "/proc/$child/status" |
	    tr -s '\t ' ' ')
	gids=$(sed -n 's/^Gid:[[:space:]]*//p' "/proc/$child/status" |
	    tr -s '\t ' ' ')
	nobody=$(id -u nobody)
	check "HTTP process uids $uids" [ "$uids" = "$nobody $nobody $nobody $nobody" ]
	ng=$(id -g nobody)
	check "HTTP process gids $gids" [ "$gids" = "$ng $ng $ng $ng" ]
	groups=$(sed -n 's/^Groups:[[:space:]]*//p' "/proc/$child/status" |
	    tr -d ' \t')
	check "no supplementary groups: $groups" [ -z "$groups" ]
	check "the supervisor stays root" \
	    grep -q '^Uid:[[:space:]]*0[[:space:]]' "/proc/$main_pid/status"
	g /metadata/timestamp.json; want 200 "served as nobody"
	echo "== a killed HTTP process is restarted"
	kill -KILL "$child"
	i=0
	while [ "$(grep -c 'msg=serving' log.log)" -lt 2 ] && [ "$i" -lt 100 ]; do
		i=$((i + 1))
		sleep 0.1
	done
	check "the death is logged" grep -q 'the HTTP process died.*signal 9' log.log
	check "a new HTTP process serves" [ "$(grep -c 'msg=serving' log.log)" -eq 2 ]
	g /metadata/timestamp.json; want 200 "served by the new process"
fi

echo "== stop"
stop "$main_pid"
check "the stop is logged" grep -q 'msg=stopped$' log.log
g /metadata/timestamp.json
check "nothing listens after the stop ($code)" [ "$code" = 000 ]

echo "== the per-client connection limit"
# shellcheck disable=SC2086
start perip $user_args --max-per-ip 5 --header-timeout 60 --timeout 60
out=$($probe per-ip "$port" 5 | tr '\n' ' ')
check "a sixth connection from one address is refused: $out" \
    matches "$out" 'extra=closed held=5'
g /metadata/timestamp.json; want 200 "served once the others are gone"
stop "$spid"

for l in log.log perip.log; do
	check "$l: no sanitizer report" not_in_log 'Sanitizer\|runtime error' "$l"
done
check "no death but the deliberate one" \
    [ "$(grep -c 'the HTTP process died' log.log)" -eq "$root" ]
check "no death in the second server" \
    not_in_log 'the HTTP process died' perip.log

echo "ok: $n checks"
