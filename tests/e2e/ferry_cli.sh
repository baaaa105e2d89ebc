#!/bin/sh
# ferry, the device client, end to end: a repository signed by
# ferry-tuftool's demo, served by a real HTTP server on 127.0.0.1 (and
# read as a local directory, as from a USB stick); init, refresh, list,
# info, download, cache; then an attacker's change on the server must fail
# the refresh and leave the trusted state as it was.
set -eu
top_builddir=${top_builddir:-$(pwd)}
ferry=$top_builddir/ferry
tool=${FERRY_TUFTOOL:-$top_builddir/ferry-tuftool}
tmp=$(mktemp -d "${TMPDIR:-/tmp}/ferry-cli.XXXXXX")
server_pid=
cleanup() {
	# set -e still holds in a trap: nothing here may end the script early.
	if [ -n "$server_pid" ]; then
		kill "$server_pid" 2>/dev/null || :
		wait "$server_pid" 2>/dev/null || :
	fi
	rm -rf "$tmp"
}
trap cleanup EXIT INT TERM
fail() { echo "FAIL: $*"; exit 1; }

"$tool" demo "$tmp/repo" >/dev/null || fail "demo repository"

echo "== a local directory mirror"
"$ferry" -d "$tmp/usb" init --root "$tmp/repo/metadata/1.root.json" \
    --mirror "$tmp/repo/metadata" || fail "init"
"$ferry" -d "$tmp/usb" init --root "$tmp/repo/metadata/1.root.json" \
    --mirror "$tmp/repo/metadata" 2>"$tmp/err" && fail "second init without --force"
grep -q "use --force" "$tmp/err" || fail "init refusal message: $(cat "$tmp/err")"
"$ferry" -d "$tmp/usb" refresh >"$tmp/out" || fail "refresh"
grep -q '^timestamp  v1 ' "$tmp/out" || fail "refresh output: $(cat "$tmp/out")"
"$ferry" -d "$tmp/usb" list >"$tmp/list" 2>/dev/null || fail "list"
[ "$(wc -l <"$tmp/list")" -eq 2 ] || fail "list: $(cat "$tmp/list")"
grep -q ' apps  *apps/demo.img$' "$tmp/list" || fail "list names the delegated role"
"$ferry" -d "$tmp/usb" info apps/demo.img >"$tmp/info" || fail "info"
grep -q '^role:    apps$' "$tmp/info" || fail "info role: $(cat "$tmp/info")"
grep -q '^length:  23$' "$tmp/info" || fail "info length"
"$ferry" -d "$tmp/usb" download apps/demo.img || fail "download"
cmp "$tmp/usb/targets/apps%2Fdemo.img" "$tmp/repo/targets/apps/"*.demo.img 2>/dev/null ||
	cmp "$tmp/usb/targets/apps%2Fdemo.img" "$(ls "$tmp/repo/targets/apps/"* | head -n 1)" ||
	fail "downloaded bytes differ"
"$ferry" -d "$tmp/usb" download apps/demo.img | grep -q 'already here' ||
	fail "a verified cached copy must be reused"
"$ferry" -d "$tmp/usb" info no/such/target 2>"$tmp/err" && fail "info of a missing target"
grep -q 'no trusted role lists this target' "$tmp/err" || fail "missing target message"

echo "== an HTTP mirror on 127.0.0.1"
port_file=$tmp/port
/usr/bin/python3 - "$tmp/repo" "$port_file" <<'PY' &
import functools, http.server, sys, threading
root, port_file = sys.argv[1], sys.argv[2]
class Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass
handler = functools.partial(Quiet, directory=root)
srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
open(port_file, "w").write(str(srv.server_address[1]))
# Stop by itself after two minutes, whatever happens to the test.
threading.Timer(120, srv.shutdown).start()
srv.serve_forever()
PY
server_pid=$!
i=0
while [ ! -s "$port_file" ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
[ -s "$port_file" ] || fail "the HTTP server did not start"
url=http://127.0.0.1:$(cat "$port_file")
"$ferry" -d "$tmp/dev" init --root "$tmp/repo/metadata/1.root.json" \
    --mirror "$url/metadata" >/dev/null || fail "init (http)"
grep -q "\"$url/targets\"" "$tmp/dev/config.json" || fail "target mirror derived from the metadata mirror"
"$ferry" -d "$tmp/dev" download hello.txt || fail "download (http)"
cmp "$tmp/dev/targets/hello.txt" "$(ls "$tmp/repo/targets/"*.hello.txt | head -n 1)" ||
	fail "downloaded bytes differ (http)"

echo "== an attacker changes a signed file on the server"
cp "$tmp/dev/metadata/timestamp.json" "$tmp/ts.before"
# The snapshot version the timestamp names (its first "version" field).
sed 's/"version":1/"version":2/' "$tmp/repo/metadata/timestamp.json" >"$tmp/ts.evil"
cmp -s "$tmp/ts.evil" "$tmp/repo/metadata/timestamp.json" && fail "the tampering did not change anything"
cp "$tmp/ts.evil" "$tmp/repo/metadata/timestamp.json"
"$ferry" -d "$tmp/dev" refresh 2>"$tmp/err" && fail "refresh accepted a forged timestamp"
cat "$tmp/err"
grep -q "timestamp v1: timestamp: 0 of 1 required signatures valid" "$tmp/err" ||
	fail "the error must say which check failed, for which role and version"
grep -q "$url/metadata" "$tmp/err" || fail "the error must name the mirror"
cmp "$tmp/ts.before" "$tmp/dev/metadata/timestamp.json" || fail "trusted timestamp changed"
"$ferry" -d "$tmp/dev" info hello.txt >/dev/null 2>&1 &&
	fail "info must not succeed on a failed refresh"
echo "ferry_cli: PASS"
