#!/bin/sh
# http.sh BUILDDIR [--duration S] [--warmup S] [--rounds R] [--threads N]
#     [--wrk-threads T] [--small-conns C] [--large-conns C] [--large-mib M]
#     [--workdir DIR] [--stand-in nginx|python]
#
# The HTTP part of `make bench`: `ferry-repod serve --mirror` (the origin
# server's HTTP side, libmicrohttpd) beside nginx serving the same tree on
# 127.0.0.1, both loaded by wrk in the same run, round by round:
#
#   - metadata/timestamp.json of a `ferry-tuftool demo` repository (about
#     470 bytes): what every client fetches on every refresh;
#   - a 10 MiB target, targets/apps/SHA256.big.img, written from a fixed
#     seed.
#
# For each server and file: requests per second, throughput (MiB/s, all
# bytes wrk read), p50 and p99 latency, and the server's CPU time per
# request (from /proc, all its threads and processes); medians of R rounds
# (default 3) of S seconds (default 10), the two servers alternating
# within each round (the first one alternates too), after a short warm-up
# of each.  Both servers get N workers (default: one per online CPU):
# `--threads N` for ferry-repod, `worker_processes N` for nginx.  The
# aims (at least nginx's requests per second on the small file, at least
# 90% of its throughput on the large one) are printed as met or not met;
# nothing is judged.
#
# Defaults also come from the environment: BENCH_HTTP_DURATION,
# BENCH_HTTP_WARMUP, BENCH_HTTP_ROUNDS, BENCH_HTTP_THREADS,
# BENCH_HTTP_WRK_THREADS, BENCH_HTTP_CONNS_SMALL, BENCH_HTTP_CONNS_LARGE,
# BENCH_HTTP_LARGE_MIB; options win.  --stand-in runs a second nginx or
# Python's http.server in ferry-repod's place, to try the harness without
# a working `serve` (the output says so; no aims are assessed).
#
# Needs nginx and wrk (Debian 12 packages nginx, or nginx-light, and wrk;
# installed with apt-get when run as root and missing, with services kept
# from starting), python3 (it writes the large file, finds a free port
# and checks what each server sends) and timeout.  It talks only to
# 127.0.0.1.  Every loop is bounded; wrk runs under timeout(1).
#
# The script fails only on an actual error (a server that does not start
# or exits, a response other than 2xx or 3xx, bytes that differ from the
# file's, wrk failing), never because something was slow.  The servers
# (started here) are stopped by their pids and the temporary directory
# removed on every exit, including INT, TERM and HUP.
set -u

usage() {
	echo "usage: http.sh BUILDDIR [--duration S] [--warmup S] [--rounds R]" \
		"[--threads N] [--wrk-threads T] [--small-conns C]" \
		"[--large-conns C] [--large-mib M] [--workdir DIR]" \
		"[--stand-in nginx|python]" >&2
	exit 2
}

if [ $# -lt 1 ] || [ -z "$1" ]; then
	usage
fi
builddir=$1
shift
here=$(cd "$(dirname "$0")" && pwd) || exit 1
ncpu=$(getconf _NPROCESSORS_ONLN 2>/dev/null || echo 1)
duration=${BENCH_HTTP_DURATION:-10}
warmup=${BENCH_HTTP_WARMUP:-2}
rounds=${BENCH_HTTP_ROUNDS:-3}
threads=${BENCH_HTTP_THREADS:-$ncpu}
wthreads=${BENCH_HTTP_WRK_THREADS:-2}
csmall=${BENCH_HTTP_CONNS_SMALL:-64}
clarge=${BENCH_HTTP_CONNS_LARGE:-16}
large_mib=${BENCH_HTTP_LARGE_MIB:-10}
workdir=${TMPDIR:-/tmp}
standin=
while [ $# -gt 0 ]; do
	case $1 in
	--duration|--warmup|--rounds|--threads|--wrk-threads|--small-conns|\
	--large-conns|--large-mib|--workdir|--stand-in)
		[ $# -ge 2 ] || usage
		case $1 in
		--duration) duration=$2 ;;
		--warmup) warmup=$2 ;;
		--rounds) rounds=$2 ;;
		--threads) threads=$2 ;;
		--wrk-threads) wthreads=$2 ;;
		--small-conns) csmall=$2 ;;
		--large-conns) clarge=$2 ;;
		--large-mib) large_mib=$2 ;;
		--workdir) workdir=$2 ;;
		--stand-in) standin=$2 ;;
		esac
		shift 2 ;;
	*)
		usage ;;
	esac
done
for v in "$duration" "$warmup" "$rounds" "$threads" "$wthreads" \
	"$csmall" "$clarge" "$large_mib"; do
	case $v in
	''|*[!0-9]*) usage ;;
	esac
done
case $standin in
''|nginx|python) ;;
*) usage ;;
esac
if [ "$duration" -lt 1 ] || [ "$duration" -gt 3600 ] ||
	[ "$warmup" -gt 600 ]; then
	echo "http.sh: --duration must be 1 to 3600 s, --warmup 0 to 600 s" >&2
	exit 2
fi
if [ "$rounds" -lt 1 ] || [ "$rounds" -gt 100 ]; then
	echo "http.sh: --rounds must be between 1 and 100" >&2
	exit 2
fi
if [ "$threads" -lt 1 ] || [ "$threads" -gt 256 ]; then
	echo "http.sh: --threads must be between 1 and 256" >&2
	exit 2
fi
# wrk needs at least one connection per thread.
if [ "$wthreads" -lt 1 ] || [ "$csmall" -lt "$wthreads" ] ||
	[ "$clarge" -lt "$wthreads" ] || [ "$csmall" -gt 1000 ] ||
	[ "$clarge" -gt 1000 ]; then
	echo "http.sh: --wrk-threads must be at least 1 and each number" \
		"of connections from --wrk-threads to 1000" >&2
	exit 2
fi
if [ "$large_mib" -lt 1 ] || [ "$large_mib" -gt 4096 ]; then
	echo "http.sh: --large-mib must be between 1 and 4096" >&2
	exit 2
fi

tuftool=$builddir/ferry-tuftool
repod=$builddir/ferry-repod
for p in "$tuftool" "$repod"; do
	if [ ! -x "$p" ]; then
		echo "http.sh: $p not built (run 'make bench' in $builddir)" >&2
		exit 1
	fi
done
for t in python3 timeout; do
	if ! command -v "$t" >/dev/null 2>&1; then
		echo "http.sh: $t not found" >&2
		exit 1
	fi
done

# nginx lives in /usr/sbin, which a user's PATH may not hold.
find_nginx() {
	nginx=$(command -v nginx 2>/dev/null) || nginx=
	if [ -z "$nginx" ] && [ -x /usr/sbin/nginx ]; then
		nginx=/usr/sbin/nginx
	fi
}

pids=
wpid=
work=
own_prc=
prc=/usr/sbin/policy-rc.d

# alive PID: PID is running (not gone, not a zombie).
alive() {
	a_state=$(sed 's/^.*) //' "/proc/$1/stat" 2>/dev/null | cut -d' ' -f1)
	[ -n "$a_state" ] && [ "$a_state" != Z ]
}

# children PID: the pids of PID's children.  Used by stop, from the
# traps (shellcheck cannot see that).
# shellcheck disable=SC2317
children() {
	cat /proc/[0-9]*/stat 2>/dev/null | awk -v p="$1" '
		{ pid = $1; sub(/^.*\) /, ""); if ($2 == p) print pid }'
}

# stop PID: SIGTERM, up to 10 s to exit, then SIGKILL (to its children
# too: nginx's workers); reaped either way.  Called from the traps.
# shellcheck disable=SC2317
stop() {
	kill "$1" 2>/dev/null
	s_i=0
	while alive "$1" && [ "$s_i" -lt 100 ]; do
		sleep 0.1
		s_i=$((s_i + 1))
	done
	if alive "$1"; then
		echo "http.sh: pid $1 still running 10 s after SIGTERM:" \
			"SIGKILL" >&2
		for c in $(children "$1"); do
			kill -9 "$c" 2>/dev/null
		done
		kill -9 "$1" 2>/dev/null
	fi
	wait "$1" 2>/dev/null
}

# Called from the traps (shellcheck cannot see that).
# shellcheck disable=SC2317
cleanup() {
	if [ -n "$wpid" ]; then
		stop "$wpid"
		wpid=
	fi
	for p in $pids; do
		stop "$p"
	done
	pids=
	if [ "$own_prc" = yes ]; then
		rm -f "$prc"
		own_prc=
	fi
	if [ -n "$work" ]; then
		rm -rf "$work"
		work=
	fi
}
trap cleanup EXIT
trap 'cleanup; exit 129' HUP
trap 'cleanup; exit 130' INT
trap 'cleanup; exit 143' TERM

die() {
	echo "http.sh: $*" >&2
	exit 1
}

# The peers.  Missing ones are installed when running as root (Debian:
# nginx is the package with the binary, nginx-light adds only a module;
# wrk is wrk), with a policy-rc.d that keeps the package's service from
# starting; otherwise the script says what is missing.
find_nginx
missing=
[ -n "$nginx" ] || missing="nginx"
command -v wrk >/dev/null 2>&1 || missing="$missing wrk"
missing=${missing# }
if [ -n "$missing" ]; then
	if [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null 2>&1; then
		echo "http.sh: not found: $missing (Debian 12 packages: nginx or" \
			"nginx-light, and wrk; as root: apt-get install -y" \
			"--no-install-recommends nginx wrk)" >&2
		exit 1
	fi
	if [ ! -e "$prc" ]; then
		own_prc=yes
		if ! printf '#!/bin/sh\n# bench/http.sh: no service starts during its install\nexit 101\n' \
			> "$prc" || ! chmod 755 "$prc"; then
			die "cannot write $prc"
		fi
	fi
	had_pid=no
	[ -e /run/nginx.pid ] && had_pid=yes
	echo "http.sh: installing $missing:" \
		"apt-get install -y --no-install-recommends $missing" >&2
	# shellcheck disable=SC2086
	DEBIAN_FRONTEND=noninteractive apt-get install -y -q \
		--no-install-recommends $missing >&2 ||
		die "apt-get install $missing failed (apt-get update first?)"
	if [ "$own_prc" = yes ]; then
		rm -f "$prc"
		own_prc=
	fi
	# Should a service have started all the same, it is this install's.
	if [ "$had_pid" = no ] && [ -s /run/nginx.pid ]; then
		sp=$(cat /run/nginx.pid)
		if alive "$sp" &&
			[ "$(cat "/proc/$sp/comm" 2>/dev/null)" = nginx ]; then
			echo "http.sh: stopping the nginx service the install" \
				"started (pid $sp)" >&2
			kill "$sp" 2>/dev/null
		fi
	fi
	find_nginx
	if [ -z "$nginx" ] || ! command -v wrk >/dev/null 2>&1; then
		die "nginx or wrk still missing after apt-get install"
	fi
fi
wrk=$(command -v wrk)

work=$(mktemp -d "$workdir/ferry-http-bench.XXXXXX") ||
	die "cannot make a temporary directory in $workdir"
# nginx started as root runs its workers as nobody: they must be able to
# read the tree (nothing in here is secret).
chmod 755 "$work" || die "chmod $work"
helper=$work/helper.py
tree=$work/tree

cat > "$helper" <<'EOF'
import functools
import hashlib
import http.server
import os
import random
import socket
import sys
import time


def freeport():
    s = socket.socket()
    s.bind(('127.0.0.1', 0))
    print(s.getsockname()[1])
    s.close()


def bigfile(path, size, seed):
    # Deterministic bytes: the same file on every run.
    r = random.Random(seed)
    h = hashlib.sha256()
    with open(path, 'wb') as f:
        left = size
        while left:
            n = min(left, 1 << 20)
            b = r.getrandbits(8 * n).to_bytes(n, 'little')
            h.update(b)
            f.write(b)
            left -= n
    print(h.hexdigest())


def check(port, path, fname):
    # One GET over HTTP/1.1; the body must be the file's bytes.  Prints
    # the length of the status line and headers.  Exit 3: nothing listens.
    with open(fname, 'rb') as f:
        want = f.read()
    try:
        s = socket.create_connection(('127.0.0.1', port), timeout=10)
    except ConnectionRefusedError:
        sys.exit(3)
    s.sendall(('GET %s HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n\r\n'
               % (path, port)).encode())
    buf = b''
    while b'\r\n\r\n' not in buf:
        d = s.recv(65536)
        if not d:
            sys.exit('%s: connection closed before the headers' % path)
        buf += d
    head, _, body = buf.partition(b'\r\n\r\n')
    lines = head.split(b'\r\n')
    if not lines[0].startswith(b'HTTP/1.1 200'):
        sys.exit('%s: %s' % (path, lines[0].decode('latin-1')))
    n = None
    for line in lines[1:]:
        k, _, v = line.partition(b':')
        k = k.strip().lower()
        if k == b'content-length':
            n = int(v)
        elif k == b'transfer-encoding':
            sys.exit('%s: Transfer-Encoding %s, not a length'
                     % (path, v.strip().decode('latin-1')))
    if n is None:
        sys.exit('%s: no Content-Length' % path)
    while len(body) < n:
        d = s.recv(1 << 20)
        if not d:
            break
        body += d
    s.close()
    if body != want:
        sys.exit('%s: %d bytes that are not the file\'s %d'
                 % (path, len(body), len(want)))
    print(len(head) + 4)


def serve(root):
    # The stand-in: Python's file server, logging its address as
    # ferry-repod does.
    class Handler(http.server.SimpleHTTPRequestHandler):
        protocol_version = 'HTTP/1.1'
        disable_nagle_algorithm = True

        def log_message(self, fmt, *args):
            pass

    srv = http.server.ThreadingHTTPServer(
        ('127.0.0.1', 0), functools.partial(Handler, directory=root))
    srv.daemon_threads = True
    sys.stderr.write('ts=%s level=info pid=%d msg=listening '
                     'addr=127.0.0.1:%d\n'
                     % (time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime()),
                        os.getpid(), srv.server_address[1]))
    sys.stderr.flush()
    srv.serve_forever()


cmd = sys.argv[1]
if cmd == 'freeport':
    freeport()
elif cmd == 'bigfile':
    bigfile(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]))
elif cmd == 'check':
    check(int(sys.argv[2]), sys.argv[3], sys.argv[4])
elif cmd == 'serve':
    serve(sys.argv[2])
else:
    sys.exit('helper: unknown command %s' % cmd)
EOF

# The tree: a consistent-snapshot repository from ferry-tuftool demo,
# and the large target, named by its sha256 as a client would ask.
"$tuftool" demo "$tree" > "$work/demo.out" 2>&1 || {
	cat "$work/demo.out" >&2
	die "ferry-tuftool demo failed"
}
small_path=/metadata/timestamp.json
small_file=$tree$small_path
[ -f "$small_file" ] || die "ferry-tuftool demo wrote no $small_path"
mkdir -p "$tree/targets/apps" || die "mkdir $tree/targets/apps"
large_size=$((large_mib * 1048576))
large_sha=$(python3 "$helper" bigfile "$tree/targets/apps/big.tmp" \
	"$large_size" 20261123) || die "writing the large target failed"
large_path=/targets/apps/$large_sha.big.img
large_file=$tree$large_path
mv "$tree/targets/apps/big.tmp" "$large_file" || die "mv $large_file"
small_size=$(wc -c < "$small_file")

# nginx_conf DIR PORT: nginx's configuration, everything inside DIR.
# The stock http module defaults otherwise (open_file_cache off, no
# reuseport); keepalive_requests high so that, as libmicrohttpd, it
# does not close a kept-alive connection after 1000 requests.
nginx_conf() {
	cat > "$1/nginx.conf" <<EOF
daemon off;
master_process on;
worker_processes $threads;
pid "$1/nginx.pid";
error_log "$1/error.log" warn;
events {
    worker_connections 1024;
}
http {
    access_log off;
    client_body_temp_path "$1/tmp/body";
    proxy_temp_path "$1/tmp/proxy";
    fastcgi_temp_path "$1/tmp/fastcgi";
    uwsgi_temp_path "$1/tmp/uwsgi";
    scgi_temp_path "$1/tmp/scgi";
    types {
        application/json json;
    }
    default_type application/octet-stream;
    sendfile on;
    tcp_nopush on;
    tcp_nodelay on;
    keepalive_timeout 65s;
    keepalive_requests 1000000;
    open_file_cache off;
    server_tokens off;
    server {
        listen 127.0.0.1:$2;
        root "$tree";
    }
}
EOF
}

# wait_ready PID PORT WHAT LOG...: wait (up to 10 s) until the server
# answers with the small file's bytes; 1 if it exited first.
wait_ready() {
	w_pid=$1
	w_port=$2
	w_what=$3
	shift 3
	w_i=0
	while :; do
		alive "$w_pid" || return 1
		python3 "$helper" check "$w_port" "$small_path" "$small_file" \
			> /dev/null 2> "$work/check.err"
		case $? in
		0) return 0 ;;
		3) ;;
		*)
			cat "$work/check.err" >&2
			die "$w_what on port $w_port does not serve the tree" ;;
		esac
		w_i=$((w_i + 1))
		[ "$w_i" -le 100 ] || {
			tail -n 20 "$@" >&2
			die "$w_what does not answer on port $w_port after 10 s"
		}
		sleep 0.1
	done
}

# start_nginx NAME: nginx on a free loopback port, its files in
# $work/NAME; sets s_pid and s_port.  A port taken between choosing and
# binding it is tried again (5 times at most).
start_nginx() {
	d=$work/$1
	mkdir -p "$d/tmp" || die "mkdir $d/tmp"
	n_try=0
	while :; do
		n_try=$((n_try + 1))
		[ "$n_try" -le 5 ] ||
			die "nginx ($1) found no free port in 5 tries"
		s_port=$(python3 "$helper" freeport) || die "no free port"
		nginx_conf "$d" "$s_port"
		: > "$d/error.log"
		"$nginx" -p "$d" -c "$d/nginx.conf" -e "$d/error.log" \
			> "$d/stderr" 2>&1 &
		s_pid=$!
		pids="$pids $s_pid"
		if wait_ready "$s_pid" "$s_port" "nginx ($1)" "$d/error.log" \
			"$d/stderr"; then
			return 0
		fi
		wait "$s_pid" 2>/dev/null
		pids=$(echo "$pids" | sed "s/ $s_pid\$//")
		if ! grep -q 'Address already in use' "$d/error.log" \
			"$d/stderr"; then
			cat "$d/stderr" "$d/error.log" >&2
			die "nginx ($1) did not start"
		fi
	done
}

# start_logged WHAT LOG CMD...: a server that logs
# "... msg=listening addr=127.0.0.1:PORT" on stderr (ferry-repod, or the
# Python stand-in); sets s_pid and s_port.
start_logged() {
	l_what=$1
	l_log=$2
	shift 2
	"$@" 2> "$l_log" > "$l_log.out" &
	s_pid=$!
	pids="$pids $s_pid"
	l_i=0
	s_port=
	while [ -z "$s_port" ]; do
		s_port=$(sed -n '/msg=listening/s/.*[[:space:]]addr="\{0,1\}127\.0\.0\.1:\([0-9][0-9]*\).*/\1/p' \
			"$l_log" | head -n 1)
		[ -z "$s_port" ] || break
		if ! alive "$s_pid"; then
			wait "$s_pid"
			l_rc=$?
			pids=$(echo "$pids" | sed "s/ $s_pid\$//")
			tail -n 20 "$l_log" "$l_log.out" >&2
			die "$l_what exited (status $l_rc) before listening:" \
				"$*"
		fi
		l_i=$((l_i + 1))
		if [ "$l_i" -gt 100 ]; then
			tail -n 20 "$l_log" >&2
			die "$l_what logged no 'msg=listening addr=127.0.0.1:PORT'" \
				"in 10 s"
		fi
		sleep 0.1
	done
	wait_ready "$s_pid" "$s_port" "$l_what" "$l_log" ||
		die "$l_what exited: $(tail -n 5 "$l_log")"
}

# proc_stat PID: "CPU_TICKS PID..." for PID and its children (user +
# system, all threads).
proc_stat() {
	cat /proc/[0-9]*/stat 2>/dev/null | awk -v p="$1" '
		{ pid = $1; sub(/^.*\) /, "")
		  if (pid == p || $2 == p) { t += $12 + $13; l = l " " pid } }
		END { printf "%d%s\n", t, l }'
}

# hwm PID: the peak resident memory (VmHWM) of PID and its children,
# summed, in KiB (shared pages are counted once per process).
hwm() {
	# shellcheck disable=SC2046
	set -- $(proc_stat "$1")
	shift
	for h_p in "$@"; do
		sed -n 's/^VmHWM:[[:space:]]*\([0-9]*\) kB$/\1/p' \
			"/proc/$h_p/status" 2>/dev/null
	done | awk '{ s += $1 } END { printf "%d", s }'
}

clk_tck=$(getconf CLK_TCK 2>/dev/null || echo 100)

# measure SERVER FILE SECONDS KEEP: one wrk run against SERVER (ferry or
# nginx) on FILE (small or large); with KEEP=yes, "REQ/S MIB/S P50_US
# P99_US CPU_US/REQ P90_US" goes to res.SERVER.FILE and "CONNECT READ
# WRITE TIMEOUT" to err.SERVER.FILE.
measure() {
	case $1 in
	ferry) m_pid=$fpid m_port=$fport m_name=$fname ;;
	nginx) m_pid=$npid m_port=$nport m_name=nginx ;;
	esac
	case $2 in
	small) m_path=$small_path m_conns=$csmall ;;
	large) m_path=$large_path m_conns=$clarge ;;
	esac
	m_c0=$(proc_stat "$m_pid" | cut -d' ' -f1)
	# In the background, so that a signal to this script interrupts the
	# wait (a trap waits for a foreground command): cleanup then stops
	# wrk through timeout, which passes the signal on.
	timeout -k 5 "$(($3 + 60))" "$wrk" -t"$wthreads" -c"$m_conns" \
		-d"$3s" --timeout 10s -s "$here/http-wrk.lua" \
		"http://127.0.0.1:$m_port$m_path" > "$work/wrk.out" \
		2> "$work/wrk.err" &
	wpid=$!
	wait "$wpid"
	m_rc=$?
	wpid=
	m_c1=$(proc_stat "$m_pid" | cut -d' ' -f1)
	if ! alive "$m_pid"; then
		tail -n 20 "$work/$1.log" "$work/nginx/error.log" 2>/dev/null >&2
		die "$m_name exited during a run on $m_path"
	fi
	if [ "$m_rc" -ne 0 ]; then
		cat "$work/wrk.err" "$work/wrk.out" >&2
		die "wrk failed (status $m_rc) on $m_name $m_path"
	fi
	# shellcheck disable=SC2046
	set -- "$@" $(sed -n 's/^wrk requests \([0-9]*\) duration_us \([0-9]*\) bytes \([0-9]*\)$/\1 \2 \3/p' "$work/wrk.out") \
		$(sed -n 's/^wrk latency_us p50 \([0-9]*\) p90 \([0-9]*\) p99 \([0-9]*\) max \([0-9]*\)$/\1 \2 \3 \4/p' "$work/wrk.out") \
		$(sed -n 's/^wrk errors connect \([0-9]*\) read \([0-9]*\) write \([0-9]*\) status \([0-9]*\) timeout \([0-9]*\)$/\1 \2 \3 \4 \5/p' "$work/wrk.out")
	if [ $# -ne 16 ]; then
		cat "$work/wrk.out" "$work/wrk.err" >&2
		die "no summary from wrk ($here/http-wrk.lua) on $m_name"
	fi
	# $5 requests, $6 duration, $7 bytes; $8-$11 latencies; $12-$16
	# errors: connect, read, write, status, timeout.
	if [ "${15}" -ne 0 ]; then
		die "$m_name answered ${15} of $5 requests for $m_path with a" \
			"status other than 2xx or 3xx"
	fi
	[ "$5" -gt 0 ] || die "$m_name answered no request for $m_path in $3 s"
	[ "$4" = yes ] || return 0
	awk -v n="$5" -v d="$6" -v b="$7" -v p50="$8" -v p90="$9" \
		-v p99="${10}" -v c0="$m_c0" -v c1="$m_c1" -v hz="$clk_tck" '
		BEGIN { printf "%.1f %.2f %d %d %.1f %d\n", n / (d / 1e6),
			b / (d / 1e6) / 1048576, p50, p99,
			(c1 - c0) / hz * 1e6 / n, p90 }' \
		>> "$work/res.$1.$2"
	echo "${12} ${13} ${14} ${16}" >> "$work/err.$1.$2"
}

# median FILE COLUMN: the median of one column of numbers.
median() {
	if [ ! -s "$1" ]; then
		echo -
		return
	fi
	cut -d' ' -f"$2" "$1" | sort -n | awk '
		{ v[NR] = $1 }
		END {
			if (NR % 2) print v[(NR + 1) / 2]
			else print (v[NR / 2] + v[NR / 2 + 1]) / 2
		}'
}

# fmt PRINTF VALUE
fmt() {
	awk -v f="$1" -v v="$2" 'BEGIN { if (v == "-" || v == "") print "-";
		else printf f "\n", v }'
}

ratio() {
	awk -v a="$1" -v b="$2" 'BEGIN {
		if (a == "-" || b == "-" || a == "" || b == "" || b + 0 == 0)
			print "-"
		else printf "%.2f", a / b }'
}

# The servers.
# ferry-repod: --max-per-ip 0, since every connection of wrk comes from
# 127.0.0.1 and nginx has no such limit; started as root, it serves as
# nobody, as nginx's workers do.
if [ -z "$standin" ]; then
	fname=ferry-repod
	set -- --mirror "$tree" --listen 127.0.0.1:0 --threads "$threads" \
		--max-per-ip 0
	if [ "$(id -u)" -eq 0 ]; then
		set -- "$@" --user nobody
	fi
	start_logged ferry-repod "$work/ferry.log" "$repod" serve "$@"
	fcmd="$repod serve $(echo "$*" | sed "s|$tree|TREE|")"
elif [ "$standin" = python ]; then
	fname="stand-in (python)"
	start_logged "the stand-in" "$work/ferry.log" python3 "$helper" \
		serve "$tree"
	fcmd="python3 http.server (ThreadingHTTPServer, HTTP/1.1) on TREE"
else
	fname="stand-in (nginx)"
	start_nginx standin
	fcmd="a second nginx, the same configuration"
fi
fpid=$s_pid
fport=$s_port
start_nginx nginx
npid=$s_pid
nport=$s_port

# What each sends with the small file: status line and headers.
fhead=$(python3 "$helper" check "$fport" "$small_path" "$small_file") ||
	die "$fname does not serve $small_path"
nhead=$(python3 "$helper" check "$nport" "$small_path" "$small_file") ||
	die "nginx does not serve $small_path"
python3 "$helper" check "$fport" "$large_path" "$large_file" > /dev/null ||
	die "$fname does not serve $large_path"
python3 "$helper" check "$nport" "$large_path" "$large_file" > /dev/null ||
	die "nginx does not serve $large_path"

mhd=$(pkg-config --modversion libmicrohttpd 2>/dev/null || echo '?')
echo "== HTTP serving: ferry-repod serve beside nginx (bench/http.sh) =="
if [ -n "$standin" ]; then
	echo "NOTE:       ferry-repod is NOT measured: --stand-in $standin" \
		"serves in its place (a trial of the harness)"
fi
if [ -z "$standin" ]; then
	echo "ferry:      $fcmd (libmicrohttpd $mhd per pkg-config; CFLAGS" \
		"$(sed -n 's/^CFLAGS = //p' "$builddir/Makefile" 2>/dev/null |
			head -n 1))"
else
	echo "ferry:      $fname: $fcmd"
fi
echo "nginx:      $("$nginx" -v 2>&1 | sed 's/^nginx version: //') ($nginx)," \
	"worker_processes $threads, configuration below"
echo "wrk:        $("$wrk" -v 2>&1 | head -n 1 | sed 's/ Copyright.*//')," \
	"-t$wthreads, --timeout 10s, Lua done() only ($here/http-wrk.lua);" \
	"on the same $ncpu CPU(s) as the servers"
echo "files:      $small_path ($small_size bytes, -c$csmall);" \
	"$large_path ($large_size bytes, fixed seed, -c$clarge)"
echo "tree:       $tree ($(df -PT "$work" 2>/dev/null |
	awk 'NR == 2 { print $2 }')), page cache warm"
echo "runs:       $rounds round(s) of ${duration} s per server and file," \
	"after ${warmup} s of warm-up each; in each round the servers" \
	"alternate on each file, the first alternating from round to round;" \
	"medians"
echo "nginx configuration (TMP: its directory in the work directory):"
sed -e "s|$work/nginx|TMP|g" -e "s|$tree|TREE|g" -e 's/^/    /' \
	"$work/nginx/nginx.conf"

# Warm-up, untimed: page cache, each server's first connections.
if [ "$warmup" -gt 0 ]; then
	for f in small large; do
		measure ferry "$f" "$warmup" no
		measure nginx "$f" "$warmup" no
	done
fi
r=1
while [ "$r" -le "$rounds" ]; do
	for f in small large; do
		if [ $((r % 2)) -eq 1 ]; then
			measure ferry "$f" "$duration" yes
			measure nginx "$f" "$duration" yes
		else
			measure nginx "$f" "$duration" yes
			measure ferry "$f" "$duration" yes
		fi
	done
	r=$((r + 1))
done
# Still the file's bytes after all that.
for p in "$fport" "$nport"; do
	if ! python3 "$helper" check "$p" "$small_path" "$small_file" \
		> /dev/null ||
		! python3 "$helper" check "$p" "$large_path" "$large_file" \
		> /dev/null; then
		die "the server on port $p no longer serves the tree"
	fi
done
fmem=$(hwm "$fpid")
nmem=$(hwm "$npid")

# row LABEL FILE COLUMN PRINTF [SCALE]: a row of the table.
row() {
	r_f=$(median "$work/res.ferry.$2" "$3")
	r_n=$(median "$work/res.nginx.$2" "$3")
	if [ $# -ge 5 ]; then
		r_f=$(awk -v v="$r_f" -v s="$5" 'BEGIN { print v / s }')
		r_n=$(awk -v v="$r_n" -v s="$5" 'BEGIN { print v / s }')
	fi
	printf '| %s | %s | %s | %s |\n' "$1" "$(fmt "$4" "$r_f")" \
		"$(fmt "$4" "$r_n")" "$(ratio "$r_f" "$r_n")"
}

small_label="timestamp.json ($small_size B, $csmall conn.)"
large_label="$large_mib MiB target ($clarge conn.)"
echo
echo "| medians of $rounds | $fname | nginx | ferry/nginx |"
echo "| --- | ---: | ---: | ---: |"
for f in small large; do
	if [ "$f" = small ]; then
		l=$small_label
	else
		l=$large_label
	fi
	row "$l: requests/s" "$f" 1 '%.0f'
	row "$l: MiB/s" "$f" 2 '%.1f'
	row "$l: p50 latency ms" "$f" 3 '%.3f' 1000
	row "$l: p99 latency ms" "$f" 4 '%.3f' 1000
	row "$l: server CPU µs/request" "$f" 5 '%.1f'
done
echo
echo "MiB/s counts every byte wrk read (status lines, headers, bodies);" \
	"server CPU is user + system time of all its threads and processes" \
	"(/proc) over the run, per request answered.  Lower is better for" \
	"latency and CPU, higher for the rest."
# Round by round: each server's figure, and their ratio within the
# round (the two ran back to back, so drift in the machine's load weighs
# less on it than on the ratio of the medians).
for f in small large; do
	if [ "$f" = small ]; then
		c=1
		l="timestamp.json requests/s"
	else
		c=2
		l="$large_mib MiB MiB/s"
	fi
	echo "rounds, $l: $fname $(cut -d' ' -f"$c" "$work/res.ferry.$f" |
		awk '{ printf "%s%.0f", (NR > 1 ? ", " : ""), $1 }');" \
		"nginx $(cut -d' ' -f"$c" "$work/res.nginx.$f" |
		awk '{ printf "%s%.0f", (NR > 1 ? ", " : ""), $1 }');" \
		"ferry/nginx $(cut -d' ' -f"$c" "$work/res.ferry.$f" |
		paste -d' ' - "$work/res.nginx.$f" | awk -v c="$c" '
			{ printf "%s%.2f", (NR > 1 ? ", " : ""),
				($(c + 1) > 0 ? $1 / $(c + 1) : 0) }')"
	for s in ferry nginx; do
		if [ "$s" = ferry ]; then
			n=$fname
		else
			n=nginx
		fi
		e=$(awk '{ c += $1; r += $2; w += $3; t += $4 }
			END { if (c + r + w + t) printf "connect %d, read %d," \
				" write %d, timeout %d", c, r, w, t }' \
			"$work/err.$s.$f")
		[ -z "$e" ] || echo "socket errors, $n, $f file (all rounds): $e"
	done
done
echo "response headers for timestamp.json (status line included):" \
	"$fname $fhead bytes, nginx $nhead bytes"
echo "peak RSS (VmHWM, summed over the server's processes): $fname" \
	"$(fmt '%.1f' "$(awk -v k="$fmem" 'BEGIN { print k / 1024 }')") MiB," \
	"nginx $(fmt '%.1f' "$(awk -v k="$nmem" 'BEGIN { print k / 1024 }')")" \
	"MiB (master and $threads workers)"

# The aims: reported, never enforced.
echo
if [ -n "$standin" ]; then
	echo "aims:       not assessed (a stand-in served, not ferry-repod)"
	exit 0
fi
a1=$(ratio "$(median "$work/res.ferry.small" 1)" \
	"$(median "$work/res.nginx.small" 1)")
a2=$(ratio "$(median "$work/res.ferry.large" 2)" \
	"$(median "$work/res.nginx.large" 2)")
met() {
	awk -v r="$1" -v t="$2" 'BEGIN { if (r == "-") print "-";
		else if (r + 0 >= t + 0) print "met"; else print "NOT met" }'
}
echo "aim 1:      timestamp.json, ferry-repod's requests/s >= nginx's:" \
	"$(met "$a1" 1) (ferry/nginx $a1)"
echo "aim 2:      $large_mib MiB target, ferry-repod's MiB/s >= 90% of" \
	"nginx's: $(met "$a2" 0.9) (ferry/nginx $a2)"
echo "            (reported, not enforced: only errors fail this benchmark)"
exit 0
