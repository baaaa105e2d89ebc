#!/bin/sh
# client.sh BUILDDIR [--targets N] [--bins B,B...] [--runs R]
#     [--tufjs-budget S] [--limit S] [--workdir DIR] [--meta-hashes]
#
# The client part of `make bench`: for each bin count B (default 1024 and
# 16384), generate a hashed-bin repository of N targets (default 100,000)
# with bench_client, serve it on 127.0.0.1, and time Ferry's client
# (ferry-conformance-client) and tuf-js's Updater (tufjs-client.mjs) on
# the same server in the same run, round by round, with the bytes each
# fetched; then the raw work (bench_client raw) on the same repository.
#
# Loops are bounded: R timed rounds (default 3) after one warm-up round;
# a tuf-js step is repeated only while its timed runs total less than
# --tufjs-budget seconds (default 60: tuf-js needs minutes per run on
# 16,384 bins), and any one client run is killed after --limit seconds
# (default 1800): reported as stopped, not counted as a failure (for
# tuf-js, its remaining steps on that repository are then skipped).
#
# Nothing is judged: the script fails only on an actual error (a client
# that fails, a downloaded file that differs, a server that does not
# start), never because something was slow.  The temporary directory is
# removed and the server (started here, stopped by its pid) killed on
# every exit, including INT, TERM and HUP.
set -u

usage() {
	echo "usage: client.sh BUILDDIR [--targets N] [--bins B,B...]" \
		"[--runs R] [--tufjs-budget S] [--limit S] [--workdir DIR]" \
		"[--meta-hashes]" >&2
	exit 2
}

if [ $# -lt 1 ] || [ -z "$1" ]; then
	usage
fi
builddir=$1
shift
here=$(cd "$(dirname "$0")" && pwd) || exit 1
srcdir=$(dirname "$here")
ntargets=100000
bins_list="1024,16384"
runs=3
budget=60
limit=1800
workdir=${TMPDIR:-/tmp}
meta_hashes=
while [ $# -gt 0 ]; do
	case $1 in
	--targets|--bins|--runs|--tufjs-budget|--limit|--workdir)
		[ $# -ge 2 ] || usage
		case $1 in
		--targets) ntargets=$2 ;;
		--bins) bins_list=$2 ;;
		--runs) runs=$2 ;;
		--tufjs-budget) budget=$2 ;;
		--limit) limit=$2 ;;
		--workdir) workdir=$2 ;;
		esac
		shift 2 ;;
	--meta-hashes)
		meta_hashes=--meta-hashes
		shift ;;
	*)
		usage ;;
	esac
done
for v in "$runs" "$budget" "$limit"; do
	case $v in
	''|*[!0-9]*) usage ;;
	esac
done
[ "$limit" -ge 1 ] || usage
if [ "$runs" -lt 1 ] || [ "$runs" -gt 100 ]; then
	echo "client.sh: --runs must be between 1 and 100" >&2
	exit 2
fi

bc=$builddir/bench/bench_client
fc=$builddir/ferry-conformance-client
for p in "$bc" "$fc"; do
	if [ ! -x "$p" ]; then
		echo "client.sh: $p not built (run 'make bench' in $builddir)" >&2
		exit 1
	fi
done
if ! command -v python3 >/dev/null 2>&1; then
	echo "client.sh: python3 not found: it serves the repository" >&2
	exit 1
fi
tufjs_dir=${FERRY_TUFJS_DIR:-$srcdir/tests/interop}
tufjs=yes
tufjs_why=
if ! command -v node >/dev/null 2>&1; then
	tufjs=no
	tufjs_why="node not found"
elif [ ! -f "$tufjs_dir/node_modules/tuf-js/package.json" ]; then
	tufjs=no
	tufjs_why="no tuf-js in $tufjs_dir/node_modules (npm ci there)"
fi

spid=
work=
# Called from the traps (shellcheck cannot see that).
# shellcheck disable=SC2317
cleanup() {
	if [ -n "$spid" ]; then
		kill "$spid" 2>/dev/null
		wait "$spid" 2>/dev/null
		spid=
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
	echo "client.sh: $*" >&2
	exit 1
}

work=$(mktemp -d "$workdir/ferry-client-bench.XXXXXX") ||
	die "cannot make a temporary directory in $workdir"

# The server: Python's static file server on an ephemeral loopback port,
# HTTP/1.1 with keep-alive, TCP_NODELAY, threads.  Every response is logged as
# "BYTES STATUS PATH" (BYTES: status line, headers and body, as sent)
# *before* its first byte goes out, so the log is complete as soon as a
# client has its answer.
cat > "$work/serve.py" <<'EOF'
import functools
import http.server
import os
import sys
import threading

root, portfile, logfile = sys.argv[1:4]
lock = threading.Lock()
log = open(logfile, 'a')


class Handler(http.server.SimpleHTTPRequestHandler):
    protocol_version = 'HTTP/1.1'
    # Headers and body go out in separate writes: with Nagle on, the body
    # waits for the ACK of the headers, which the client's kernel delays
    # by up to 40 ms, on every response of a kept-alive connection.
    disable_nagle_algorithm = True

    def log_message(self, fmt, *args):
        pass

    def send_response(self, code, message=None):
        self.bench_code = code
        self.bench_len = 0
        super().send_response(code, message)

    def send_header(self, keyword, value):
        if keyword.lower() == 'content-length':
            self.bench_len = int(value)
        super().send_header(keyword, value)

    def end_headers(self):
        n = sum(len(b) for b in self._headers_buffer) + 2
        if self.command != 'HEAD':
            n += self.bench_len
        with lock:
            log.write('%d %d %s\n' % (n, self.bench_code, self.path))
            log.flush()
        super().end_headers()


srv = http.server.ThreadingHTTPServer(
    ('127.0.0.1', 0), functools.partial(Handler, directory=root))
with open(portfile + '.tmp', 'w') as f:
    f.write('%d\n' % srv.server_address[1])
os.rename(portfile + '.tmp', portfile)
srv.serve_forever()
EOF

val() {
	sed -n "s/^$1: //p" "$2" | head -n 1
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
			if (NR == 0) { print "-"; exit }
			if (NR % 2) print v[(NR + 1) / 2]
			else printf "%.3f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2
		}'
}

kb() {
	awk -v b="$1" 'BEGIN {
		if (b >= 1e6) printf "%.1f MB", b / 1e6
		else printf "%.1f kB", b / 1e3 }'
}

# measure LABEL CMD...: time CMD with bench_client, count what the server
# sent meanwhile, and append "WALL CPU BYTES REQUESTS" to res.LABEL (and
# the in-node times, from tufjs-client.mjs, to inner.LABEL).
measure() {
	m_label=$1
	shift
	m_n0=$(wc -l < "$log")
	"$bc" time -o "$work/time" -k "$limit" "$@" > "$work/out" \
		2> "$work/err"
	m_rc=$?
	if [ "$m_rc" -eq 124 ] && grep -q 'stopped after' "$work/err"; then
		# A bound, not a verdict: reported, and the run goes on.
		echo "$m_label" >> "$work/stopped"
		return 1
	fi
	if [ "$m_rc" -ne 0 ]; then
		echo "client.sh: $m_label failed: $*" >&2
		cat "$work/err" "$work/out" >&2
		exit 1
	fi
	m_sent=$(tail -n +"$((m_n0 + 1))" "$log" |
		awk '{ b += $1; n++ } END { printf "%d %d", b, n }')
	echo "$(cat "$work/time") $m_sent" >> "$work/res.$m_label"
	if grep -q '^tufjs ' "$work/out"; then
		sed -n 's/^tufjs start_ms \([^ ]*\) import_ms \([^ ]*\) run_ms \([^ ]*\)$/\1 \2 \3/p' \
			"$work/out" >> "$work/inner.$m_label"
	fi
}

fresh() {
	rm -rf "$1"
	mkdir -p "$1/metadata" "$1/targets" || die "mkdir $1"
	cp "$repo/metadata/1.root.json" "$1/metadata/root.json" ||
		die "cannot copy the trusted root"
}

ferry_run() {
	if [ "$2" = refresh ]; then
		measure "$1" "$fc" --metadata-dir "$3/metadata" \
			--metadata-url "$base/metadata" refresh
	else
		measure "$1" "$fc" --metadata-dir "$3/metadata" \
			--metadata-url "$base/metadata" --target-name "$tpath" \
			--target-base-url "$base/targets" \
			--target-dir "$3/targets" download
	fi
}

# tufjs_due LABEL: whether tuf-js's timed runs of this step so far took
# less than the budget (always true for the first run).
tufjs_due() {
	[ "$tufjs" = yes ] || return 1
	# After a run stopped at the limit, no more of tuf-js on this repo.
	! grep -q '^tufjs' "$work/stopped" 2>/dev/null || return 1
	[ -f "$work/res.$1" ] || return 0
	[ "$(awk '{ s += $1 } END { printf "%d", s }' "$work/res.$1")" -lt \
		"$((budget * 1000))" ]
}

tufjs_run() {
	measure "$1" node "$here/tufjs-client.mjs" "$3" "$base/metadata" \
		"$base/targets" "$tpath" "$2"
}

# The downloaded file must be the repository's, byte for byte.
check_target() {
	[ "$tufjs" = yes ] || [ "$2" != tufjs ] || return 0
	cmp -s "$1/targets/$tenc" "$tfile" ||
		die "$2: $1/targets/$tenc is not the repository's target"
}

fmt_ms() {
	awk -v v="$1" 'BEGIN { if (v == "-" || v == "") print "-";
		else printf "%.1f", v }'
}

ratio() {
	awk -v a="$1" -v b="$2" 'BEGIN {
		if (a == "-" || b == "-" || a == "" || b == "" || b + 0 == 0)
			print "-"
		else printf "%.1f", a / b }'
}

# cell LABEL COLUMN: the median, with the number of runs if fewer than R.
cell() {
	if grep -qx "$1" "$work/stopped" 2>/dev/null; then
		echo "stopped at $limit s"
		return
	fi
	if [ ! -s "$work/res.$1" ]; then
		echo -
		return
	fi
	c_n=$(wc -l < "$work/res.$1")
	c_v=$(median "$work/res.$1" "$2")
	case $2 in
	1|2) c_v=$(fmt_ms "$c_v") ;;
	*) c_v=$(awk -v v="$c_v" 'BEGIN { printf "%.0f", v }') ;;
	esac
	if [ "$c_n" -lt "$runs" ]; then
		echo "$c_v ($c_n run$([ "$c_n" -eq 1 ] || echo s))"
	else
		echo "$c_v"
	fi
}

# row STEP LABEL_FERRY LABEL_TUFJS COLUMN [bytes]: a table row, wall
# (column 1) or CPU (2) time; with "bytes", the bytes and requests too.
row() {
	r_f=-
	r_t=-
	[ -s "$work/res.$2" ] && r_f=$(median "$work/res.$2" "$4")
	[ -s "$work/res.$3" ] && r_t=$(median "$work/res.$3" "$4")
	if [ $# -ge 5 ]; then
		printf '| %s | %s | %s | %s | %s | %s | %s | %s |\n' "$1" \
			"$(cell "$2" "$4")" "$(cell "$3" "$4")" \
			"$(ratio "$r_t" "$r_f")" "$(cell "$2" 3)" \
			"$(cell "$3" 3)" "$(cell "$2" 4)" "$(cell "$3" 4)"
	else
		printf '| %s | %s | %s | %s |\n' "$1" "$(cell "$2" "$4")" \
			"$(cell "$3" "$4")" "$(ratio "$r_t" "$r_f")"
	fi
}

echo "== client workflow: Ferry's updater beside tuf-js's (bench/client.sh) =="
echo "ferry:      $fc (ferry-conformance-client: refresh, lookup, download)"
if [ "$tufjs" = yes ]; then
	echo "tuf-js:     $(node -p "require('$tufjs_dir/node_modules/tuf-js/package.json').version" 2>/dev/null) (Updater, bench/tufjs-client.mjs), node $(node --version 2>/dev/null)"
else
	echo "tuf-js:     not run: $tufjs_why"
fi
echo "server:     $(python3 --version 2>&1) http.server" \
	"(ThreadingHTTPServer, HTTP/1.1 keep-alive, TCP_NODELAY) on 127.0.0.1"
echo "workdir:    $work ($(df -PT "$work" 2>/dev/null | awk 'NR == 2 { print $2 }'))"
echo "runs:       $runs per step, interleaved round by round, after an" \
	"untimed warm-up round; medians; tuf-js steps repeated while under" \
	"$budget s in all"
echo

for nbins in $(echo "$bins_list" | tr ',' ' '); do
	repo=$work/repo-$nbins
	log=$work/log-$nbins
	: > "$log"
	rm -f "$work"/res.* "$work"/inner.* "$work/port" "$work/stopped"
	rm -rf "$work/f" "$work/t" "$work/u"
	"$bc" gen "$repo" --targets "$ntargets" --bins "$nbins" $meta_hashes \
		> "$work/gen" || die "generating the repository failed"
	# Written back now, so that no client's fsync pays for it.
	sync
	tpath=$(val target "$work/gen")
	tbin=$(val target_bin "$work/gen")
	# Each client names the file after the path, '/' percent-encoded.
	tenc=$(printf '%s' "$tpath" | sed 's|/|%2F|g')
	tfile=$(find "$repo/targets" -type f | head -n 1)
	if [ -z "$tpath" ] || [ ! -f "$tfile" ]; then
		die "no target in $repo"
	fi

	python3 "$work/serve.py" "$repo" "$work/port" "$log" \
		2> "$work/server.err" &
	spid=$!
	i=0
	while [ ! -s "$work/port" ]; do
		if ! kill -0 "$spid" 2>/dev/null; then
			cat "$work/server.err" >&2
			die "the server exited"
		fi
		i=$((i + 1))
		[ "$i" -le 200 ] || die "the server did not start in 20 s"
		sleep 0.1
	done
	base=http://127.0.0.1:$(cat "$work/port")

	echo "-- $ntargets targets in $nbins hashed bins" \
		"(succinct_roles, bit_length $(val bit_length "$work/gen")) --"
	echo "repository: $(val files "$work/gen") files," \
		"$(kb "$(val bytes "$work/gen")"): $nbins bins" \
		"$(kb "$(val bins_bytes "$work/gen")"), snapshot" \
		"$(kb "$(val snapshot_bytes "$work/gen")"), targets" \
		"$(kb "$(val targets_bytes "$work/gen")"); generated in" \
		"$(awk -v v="$(val gen_ms "$work/gen")" 'BEGIN { printf "%.1f", v / 1e3 }') s"
	if [ -n "$meta_hashes" ]; then
		echo "snapshot:   version, length and sha256 of every bin" \
			"(timestamp: length and sha256 of snapshot)"
	else
		echo "snapshot:   versions only (timestamp: length and sha256" \
			"of snapshot)"
	fi
	echo "target:     $tpath ($(val target_bytes "$work/gen") bytes," \
		"sha256 + sha512), in $tbin" \
		"($(val target_bin_targets "$work/gen") targets," \
		"$(kb "$(val target_bin_bytes "$work/gen")"))"
	echo "server:     $base"

	# Round 0 warms the page cache, the server and node: not counted,
	# and without tuf-js's own steps, which can take minutes each.
	fresh "$work/f"
	ferry_run ferry_cold.warmup download "$work/f" &&
		check_target "$work/f" ferry
	ferry_run ferry_warm.warmup download "$work/f"
	if [ "$tufjs" = yes ]; then
		measure node.warmup node -e 0
	fi
	r=1
	while [ "$r" -le "$runs" ]; do
		fresh "$work/f"
		ferry_run ferry_cold download "$work/f" &&
			check_target "$work/f" ferry
		if tufjs_due tufjs_cold; then
			fresh "$work/t"
			tufjs_run tufjs_cold download "$work/t" &&
				check_target "$work/t" tufjs
		fi
		ferry_run ferry_warm download "$work/f"
		if tufjs_due tufjs_warm; then
			tufjs_run tufjs_warm download "$work/t"
		fi
		ferry_run ferry_refresh refresh "$work/f"
		if tufjs_due tufjs_refresh; then
			tufjs_run tufjs_refresh refresh "$work/t"
		fi
		measure ferry_start "$fc" --help
		if [ "$tufjs" = yes ]; then
			measure node node -e 0
		fi
		r=$((r + 1))
	done

	"$bc" raw "$repo" "$tpath" --runs 11 > "$work/raw" ||
		die "raw work failed"
	"$bc" updater "$repo/metadata/1.root.json" "$work/u" \
		"$base/metadata" "$base/targets" "$tpath" --runs 11 \
		> "$work/upd" || die "the updater in process failed"

	echo
	echo "| step (wall clock, whole process) | ferry ms | tuf-js ms |" \
		"tuf-js/ferry | bytes ferry | bytes tuf-js | requests ferry |" \
		"requests tuf-js |"
	echo "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
	row "cold: refresh + lookup + download" ferry_cold tufjs_cold 1 bytes
	row "warm: refresh + lookup (target cached)" ferry_warm tufjs_warm 1 \
		bytes
	row "warm: refresh alone" ferry_refresh tufjs_refresh 1 bytes
	echo
	echo "| step (CPU, user + system) | ferry ms | tuf-js ms |" \
		"tuf-js/ferry |"
	echo "| --- | ---: | ---: | ---: |"
	row "cold: refresh + lookup + download" ferry_cold tufjs_cold 2
	row "warm: refresh + lookup (target cached)" ferry_warm tufjs_warm 2
	row "warm: refresh alone" ferry_refresh tufjs_refresh 2
	echo

	raw=$(val raw_median_ms "$work/raw")
	echo "raw work:   $(fmt_ms "$raw") ms, median of" \
		"$(val raw_runs "$work/raw") passes in one process (best" \
		"$(fmt_ms "$(val raw_best_ms "$work/raw")") ms), over" \
		"$(kb "$(val raw_bytes "$work/raw")") of metadata and target:"
	echo "            parse $(val raw_parse_ms "$work/raw")," \
		"canonicalize $(val raw_canonicalize_ms "$work/raw")," \
		"verify $(val raw_verify_ms "$work/raw")," \
		"hash $(val raw_hash_ms "$work/raw")," \
		"free $(val raw_free_ms "$work/raw") ms (medians of each part)"
	u_cold=$(val updater_cold_ms "$work/upd")
	u_warm=$(val updater_warm_ms "$work/upd")
	u_ccold=$(val updater_cold_cpu_ms "$work/upd")
	u_cwarm=$(val updater_warm_cpu_ms "$work/upd")
	echo "in process: Ferry's updater without starting a process" \
		"(bench_client updater, median of $(val updater_runs "$work/upd")):" \
		"cold $(fmt_ms "$u_cold") ms (the first, which also" \
		"initialises libcurl and OpenSSL:" \
		"$(fmt_ms "$(val updater_first_ms "$work/upd")") ms)," \
		"warm $(fmt_ms "$u_warm") ms; CPU cold" \
		"$(fmt_ms "$u_ccold") ms, warm $(fmt_ms "$u_cwarm") ms"
	echo "ferry/raw:  whole process: cold" \
		"$(ratio "$(median "$work/res.ferry_cold" 1)" "$raw") wall," \
		"$(ratio "$(median "$work/res.ferry_cold" 2)" "$raw") CPU; warm" \
		"$(ratio "$(median "$work/res.ferry_warm" 1)" "$raw") wall," \
		"$(ratio "$(median "$work/res.ferry_warm" 2)" "$raw") CPU;" \
		"in process: cold $(ratio "$u_cold" "$raw") wall," \
		"$(ratio "$u_ccold" "$raw") CPU; warm" \
		"$(ratio "$u_warm" "$raw") wall, $(ratio "$u_cwarm" "$raw") CPU"
	echo "startup:    ferry-conformance-client --help (exec, dynamic" \
		"linking: no fetch, no TUF)" \
		"$(fmt_ms "$(median "$work/res.ferry_start" 1)") ms wall," \
		"$(fmt_ms "$(median "$work/res.ferry_start" 2)") ms CPU"
	if [ "$tufjs" = yes ]; then
		echo "            node -e 0" \
			"$(fmt_ms "$(median "$work/res.node" 1)") ms wall," \
			"$(fmt_ms "$(median "$work/res.node" 2)") ms CPU;" \
			"in tufjs-client.mjs (cold runs): node start to script" \
			"$(fmt_ms "$(median "$work/inner.tufjs_cold" 1)") ms," \
			"loading tuf-js" \
			"$(fmt_ms "$(median "$work/inner.tufjs_cold" 2)") ms"
		echo "tuf-js:     its workflow alone, inside node: cold" \
			"$(fmt_ms "$(median "$work/inner.tufjs_cold" 3)") ms," \
			"warm $(fmt_ms "$(median "$work/inner.tufjs_warm" 3)") ms," \
			"warm refresh" \
			"$(fmt_ms "$(median "$work/inner.tufjs_refresh" 3)") ms"
	fi
	echo

	kill "$spid" 2>/dev/null
	wait "$spid" 2>/dev/null
	spid=
	rm -rf "$repo" "$work/f" "$work/t" "$work/u"
done
exit 0
