#!/bin/sh
# nginx serving a mirror's tree with the server block operators are given
# (docs/service/ferry-mirror.nginx.conf), on 127.0.0.1: a device refreshes
# and downloads through it, before and after a sync switches the state;
# dot files (temporaries, the state directories) and directories are not
# served; timestamp.json is cached briefly, versioned files for long.
# Skipped where nginx is not installed.
set -u
name=mirror_nginx
. "${top_srcdir:?is unset: run this from make check}/tests/e2e/lib.sh.inc"
bins sign repod client mirror
nginx=$(command -v nginx || ls /usr/sbin/nginx 2>/dev/null) ||
	{ echo "SKIP: nginx is not installed"; exit 77; }
command -v curl >/dev/null 2>&1 || { echo "SKIP: no curl"; exit 77; }
block=$top_srcdir/docs/service/ferry-mirror.nginx.conf

setup npid

echo "== a repository, and a mirror of it"
printf 'nginx test passphrase\n' >pw
mkdir keys content
genkeys root targets snapshot timestamp
workspace
publish() { # publish N FILE KEY...: add FILE, sign, bundle, publish
	n=$1 f=$2
	shift 2
	head -c 70000 /dev/urandom >"content/$f"
	(cd content && "$sign" targets add -C "$ws" "$f") >out 2>&1 ||
		fail "targets add: $(cat out)"
	bundle "$n" "$@"
	[ -d st ] || run "$repod" init -d st \
	    --root "$ws/metadata/1.root.json" \
	    --snapshot-key keys/snapshot.key --timestamp-key keys/timestamp.key
	run "$repod" publish -d st --images content --passphrase-fd 3 \
	    "b$n.tar.zst" 3<pw
}
publish 1 one.bin root targets
run "$mirror" init -d m --root "$ws/metadata/1.root.json" \
    --upstream "$tmp/st/repo"
run "$mirror" sync -d m

echo "== nginx with the documented server block"
port=$(/usr/bin/python3 -c 'import socket
s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
mkdir -p ng/tmp
sed -e "s|^\\([[:space:]]*\\)listen 80;|\\1listen 127.0.0.1:$port;|" \
    -e '/listen \[::\]:80;/d' \
    -e "s|root /var/lib/ferry-mirror/repo;|root $tmp/m/repo;|" \
    "$block" >ng/server.conf || fail "sed $block"
grep -q "listen 127.0.0.1:$port;" ng/server.conf &&
    grep -q "root $tmp/m/repo;" ng/server.conf ||
	fail "the server block changed shape: $(cat ng/server.conf)"
cat >ng/nginx.conf <<CONF
daemon off;
master_process on;
worker_processes 1;
pid $tmp/ng/nginx.pid;
error_log $tmp/ng/error.log warn;
events { worker_connections 64; }
http {
	access_log off;
	client_body_temp_path $tmp/ng/tmp/body;
	proxy_temp_path $tmp/ng/tmp/proxy;
	fastcgi_temp_path $tmp/ng/tmp/fastcgi;
	uwsgi_temp_path $tmp/ng/tmp/uwsgi;
	scgi_temp_path $tmp/ng/tmp/scgi;
	include $tmp/ng/server.conf;
}
CONF
chmod -R a+rX "$tmp" || fail "chmod"
"$nginx" -c "$tmp/ng/nginx.conf" -p "$tmp/ng" 2>ng/stderr &
npid=$!
url=http://127.0.0.1:$port
i=0
until curl -fs "$url/metadata/timestamp.json" -o /dev/null; do
	i=$((i + 1))
	[ $i -lt 100 ] || { cat ng/stderr ng/error.log >&2; fail "nginx"; }
	sleep 0.1
done
ok

# device WHY TARGET: a new device refreshes through nginx and downloads.
device() {
	rm -rf dev
	"$client" -d dev init --root "$ws/metadata/1.root.json" \
	    --mirror "$url/metadata" >cout 2>&1 &&
	    "$client" -d dev refresh >>cout 2>&1 &&
	    "$client" -d dev download "$2" >>cout 2>&1 ||
		{ cat cout >&2; fail "$1: the client through nginx"; }
	cmp -s "dev/targets/$2" "content/$2" || fail "$1: $2 differs"
	ok
}
device "state 1" one.bin

echo "== what is not served"
# status URL: the HTTP status nginx answers.
status() { curl -s -o /dev/null -w '%{http_code}' "$url$1"; }
live=$(readlink m/repo/metadata)
for path in "/$live/timestamp.json" /.states/ "/metadata/.x.tmp.0123" \
    /targets/ /metadata/ / /mirror.json /../mirror.json; do
	s=$(status "$path")
	case $s in
	403|404|400) ;;
	*) fail "$path: HTTP $s" ;;
	esac
	echo "not served: $path ($s)"
done
ok
h=$(curl -sI "$url/metadata/timestamp.json" | tr -d '\r')
printf '%s\n' "$h" | grep -qi '^cache-control: public, max-age=60$' ||
	fail "timestamp.json: $h"
ok
h=$(curl -sI "$url/metadata/1.root.json" | tr -d '\r')
printf '%s\n' "$h" | grep -qi '^cache-control: .*immutable' ||
	fail "1.root.json: $h"
ok

echo "== a sync switches the state under nginx"
publish 2 two.bin targets
run "$mirror" sync -d m
chmod -R a+rX m || fail "chmod"
device "state 2" two.bin
echo "$name: $checks checks passed"
