#!/bin/sh
# sign.sh BUILDDIR [--targets N] [--bins B] [--bin-targets M] [--runs R]
#     [--limit S] [--tufjs-limit S] [--classic] [--workdir DIR]
#
# The signing part of `make bench`: the offline signer's work, ferry-sign
# beside @tufjs/models (bench/tufjs-sign.mjs), measured in the same run
# on the same list of targets, for two workloads:
#
#   1. a top-level targets role of N targets (default 100,000), signed;
#   2. M targets (default 1,000,000) distributed into B hashed bins
#      (default 16,384; TAP 15 succinct_roles), every bin signed; with
#      --classic, also B classic bins (path_hash_prefixes), as a second
#      line.
#
# --targets 0 or --bin-targets 0 skips a workload.  The targets are a
# list of JSON lines, {"path","length","hashes":{"sha256"}}, generated
# from fixed values (path pkgs/NNNNNNN.img): `targets add --list` reads
# it and so does tufjs-sign.mjs; no target's bytes exist.  Each ferry-sign
# command is one timed step in a fresh workspace: init, delegate (bins),
# targets add --list, request, sign, merge, bundle; wall time (date
# +%s%N around the process), CPU (user + system) and peak RSS from
# /usr/bin/time when it is there.
#
# Loops are bounded: R rounds (default 1), each running Ferry's steps and
# then tuf-js's; any one ferry-sign command is stopped after --limit
# seconds (default 1800) and any one tuf-js run after --tufjs-limit
# seconds (default 300; 0: no limit): reported as stopped, not counted
# as a failure (@tufjs/models 4.1.1 needs over an hour for 100,000
# targets, see bench/README.md; a stopped tuf-js run is not repeated).
#
# Nothing is judged: the script fails only on an actual error (a command
# that fails, a bundle or an output without every target), never because
# something was slow.  The temporary directory is removed on every exit,
# including INT, TERM and HUP.
set -u

usage() {
	echo "usage: sign.sh BUILDDIR [--targets N] [--bins B]" \
		"[--bin-targets M] [--runs R] [--limit S] [--tufjs-limit S]" \
		"[--classic] [--workdir DIR]" >&2
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
nbins=16384
nbintargets=1000000
runs=1
limit=1800
tlimit=300
classic=no
workdir=${TMPDIR:-/tmp}
while [ $# -gt 0 ]; do
	case $1 in
	--targets|--bins|--bin-targets|--runs|--limit|--tufjs-limit|--workdir)
		[ $# -ge 2 ] || usage
		case $1 in
		--targets) ntargets=$2 ;;
		--bins) nbins=$2 ;;
		--bin-targets) nbintargets=$2 ;;
		--runs) runs=$2 ;;
		--limit) limit=$2 ;;
		--tufjs-limit) tlimit=$2 ;;
		--workdir) workdir=$2 ;;
		esac
		shift 2 ;;
	--classic)
		classic=yes
		shift ;;
	*)
		usage ;;
	esac
done
for v in "$ntargets" "$nbins" "$nbintargets" "$runs" "$limit" "$tlimit"; do
	case $v in
	''|*[!0-9]*) usage ;;
	esac
done
[ "$limit" -ge 1 ] || usage
if [ "$runs" -lt 1 ] || [ "$runs" -gt 100 ]; then
	echo "sign.sh: --runs must be between 1 and 100" >&2
	exit 2
fi
case $nbins in
2|4|8|16|32|64|128|256|512|1024|2048|4096|8192|16384|32768|65536) ;;
*)
	echo "sign.sh: --bins must be a power of two from 2 to 65536" >&2
	exit 2 ;;
esac

fs=$builddir/ferry-sign
if [ ! -x "$fs" ]; then
	echo "sign.sh: $fs not built (run 'make bench' in $builddir)" >&2
	exit 1
fi
if ! "$fs" --help 2>&1 | grep -q '^  *request'; then
	echo "sign.sh: $fs has no request command: nothing to measure" >&2
	exit 1
fi
if ! command -v python3 >/dev/null 2>&1; then
	echo "sign.sh: python3 not found: it writes the list of targets" >&2
	exit 1
fi
if ! command -v timeout >/dev/null 2>&1; then
	echo "sign.sh: timeout not found (Debian package: coreutils)" >&2
	exit 1
fi
# GNU time gives CPU and peak RSS; without it, wall time only.
gtime=
if [ -x /usr/bin/time ] &&
	/usr/bin/time -f '%e %U %S %M' -o /dev/null true 2>/dev/null; then
	gtime=/usr/bin/time
fi
tufjs_dir=${FERRY_TUFJS_DIR:-$srcdir/tests/interop}
tufjs=yes
tufjs_why=
if ! command -v node >/dev/null 2>&1; then
	tufjs=no
	tufjs_why="node not found"
elif [ ! -f "$tufjs_dir/node_modules/@tufjs/models/package.json" ]; then
	tufjs=no
	tufjs_why="no @tufjs/models in $tufjs_dir/node_modules (npm ci there)"
fi

work=
r_pid=
# Called from the traps (shellcheck cannot see that).
# shellcheck disable=SC2317
cleanup() {
	if [ -n "$r_pid" ]; then
		kill -TERM "$r_pid" 2>/dev/null
		wait "$r_pid" 2>/dev/null
		r_pid=
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
	echo "sign.sh: $*" >&2
	exit 1
}

work=$(mktemp -d "$workdir/ferry-sign-bench.XXXXXX") ||
	die "cannot make a temporary directory in $workdir"

now_ns() {
	date +%s%N
}

# run LIMIT OUT ERR CMD...: run CMD with stdout to OUT and stderr to
# ERR, stopped after LIMIT seconds (0: never); sets r_rc (124: stopped),
# r_wall (ms), r_cpu (ms, or -), r_rss (MiB, or -).  CMD runs under
# timeout(1), in a process group of its own, in the background so that
# a signal to this script interrupts the wait: cleanup then stops it
# through timeout, which passes the signal on to the whole group.
run() {
	r_limit=$1
	r_out=$2
	r_err=$3
	shift 3
	rm -f "$work/time"
	if [ -n "$gtime" ]; then
		set -- "$gtime" -f '%e %U %S %M' -o "$work/time" "$@"
	fi
	r_t0=$(now_ns)
	timeout -k 10 "$r_limit" "$@" > "$r_out" 2> "$r_err" &
	r_pid=$!
	wait "$r_pid"
	r_rc=$?
	r_pid=
	r_t1=$(now_ns)
	r_wall=$(awk -v a="$r_t0" -v b="$r_t1" \
		'BEGIN { printf "%.1f", (b - a) / 1e6 }')
	r_cpu=-
	r_rss=-
	if [ -s "$work/time" ]; then
		# The last line: GNU time puts "Command exited with non-zero
		# status N" or "Command terminated by signal" before it.
		# shellcheck disable=SC2046
		set -- $(tail -n 1 "$work/time")
		if [ $# -eq 4 ]; then
			r_cpu=$(awk -v u="$2" -v s="$3" \
				'BEGIN { printf "%.0f", (u + s) * 1000 }')
			r_rss=$(awk -v k="$4" 'BEGIN { printf "%.1f", k / 1024 }')
		fi
	fi
}

# median FILE COLUMN: the median of one column of numbers ("-" if none).
median() {
	if [ ! -s "$1" ]; then
		echo -
		return
	fi
	cut -d' ' -f"$2" "$1" | grep -v '^-$' | sort -n | awk '
		{ v[NR] = $1 }
		END {
			if (NR == 0) { print "-"; exit }
			if (NR % 2) print v[(NR + 1) / 2]
			else printf "%.1f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2
		}'
}

fmt() {
	awk -v v="$1" 'BEGIN { if (v == "-" || v == "") print "-";
		else printf "%.1f", v }'
}

fmt0() {
	awk -v v="$1" 'BEGIN { if (v == "-" || v == "") print "-";
		else printf "%.0f", v }'
}

ratio() {
	awk -v a="$1" -v b="$2" 'BEGIN {
		if (a == "-" || b == "-" || a == "" || b == "" || b + 0 == 0)
			print "-"
		else printf "%.1f", a / b }'
}

mb() {
	awk -v b="$1" 'BEGIN {
		if (b == "-" || b == "") print "-"
		else if (b >= 1e6) printf "%.1f MB", b / 1e6
		else printf "%.1f kB", b / 1e3 }'
}

# bytes DIR: the apparent size of the files under DIR.
bytes() {
	find "$1" -type f -exec stat -c %s {} + |
		awk '{ s += $1 } END { printf "%d", s }'
}

# The list: one JSON line per target, from fixed values, and the same
# list (its first lines) for both workloads.
max=$ntargets
[ "$nbintargets" -le "$max" ] || max=$nbintargets
python3 - "$max" "$work/list" <<'EOF' || die "writing the list of targets failed"
import hashlib
import sys

n = int(sys.argv[1])
with open(sys.argv[2], 'w') as f:
    for i in range(n):
        digest = hashlib.sha256(b'ferry bench sign %d' % i).hexdigest()
        f.write('{"path":"pkgs/%07d.img","length":%d,'
                '"hashes":{"sha256":"%s"}}\n'
                % (i, 1024 + i * 7919 % 1048576, digest))
EOF

# One key for root, targets and the bins, so that one `sign` signs every
# role; one for snapshot and timestamp (the online roles, not signed
# here).  Argon2id at the cheapest level the signer accepts.
printf 'ferry bench sign passphrase\n' > "$work/pass"
for k in release online; do
	"$fs" key generate --kdf interactive --passphrase-fd 3 \
		"$work/$k.key" 3< "$work/pass" > "$work/key.out" 2>&1 ||
		{ cat "$work/key.out" >&2; die "key generate $k failed"; }
done

# check_out DIR ROLES TARGETS WHO: DIR/metadata holds ROLES role files
# (roots excluded) listing TARGETS targets in all.
check_out() {
	python3 - "$1/metadata" "$2" "$3" "$4" <<'EOF'
import json
import os
import sys

d, roles, targets, who = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
nroles = ntargets = 0
for name in os.listdir(d):
    if name.endswith('.root.json'):
        continue
    with open(os.path.join(d, name), 'rb') as f:
        md = json.load(f)
    if not md.get('signatures'):
        sys.exit('%s: %s has no signature' % (who, name))
    nroles += 1
    ntargets += len(md['signed']['targets'])
if nroles != roles or ntargets != targets:
    sys.exit('%s: %d roles and %d targets, not %d and %d'
             % (who, nroles, ntargets, roles, targets))
EOF
}

# ferry_step W LABEL CMD...: one timed ferry-sign command of workload W;
# "WALL CPU RSS" goes to res.W.LABEL.  Returns 1 if it was stopped.
ferry_step() {
	f_w=$1
	f_label=$2
	shift 2
	run "$limit" "$work/out" "$work/err" "$@"
	if [ "$r_rc" -eq 124 ]; then
		echo "$f_w.$f_label" >> "$work/stopped"
		return 1
	fi
	if [ "$r_rc" -ne 0 ]; then
		echo "sign.sh: ferry-sign $f_label failed (exit $r_rc): $*" >&2
		tail -n 20 "$work/err" "$work/out" >&2
		exit 1
	fi
	echo "$r_wall $r_cpu $r_rss" >> "$work/res.$f_w.$f_label"
}

# ferry_run W LISTFILE NTARGETS [--succinct|--classic]: the whole signing
# session of workload W in a fresh workspace.
ferry_run() {
	w=$1
	wl=$2
	wn=$3
	wk=${4:-}
	ws=$work/ws
	rm -rf "$ws" "$work/bundle" "$work/req.json" "$work/req.sig"
	ferry_step "$w" init "$fs" init -C "$ws" \
		--key root="$work/release.pub" --key targets="$work/release.pub" \
		--key snapshot="$work/online.pub" \
		--key timestamp="$work/online.pub" || return 0
	case $wk in
	--succinct)
		ferry_step "$w" delegate "$fs" delegate -C "$ws" \
			--key "$work/release.pub" --bins "$nbins" --succinct ||
			return 0 ;;
	--classic)
		ferry_step "$w" delegate "$fs" delegate -C "$ws" \
			--key "$work/release.pub" --bins "$nbins" || return 0 ;;
	esac
	ferry_step "$w" add "$fs" targets add -C "$ws" --list "$wl" || return 0
	ferry_step "$w" request "$fs" request -C "$ws" -o "$work/req.json" ||
		return 0
	ferry_step "$w" sign "$fs" sign --key "$work/release.key" \
		--passphrase-fd 3 -o "$work/req.sig" "$work/req.json" \
		3< "$work/pass" || return 0
	ferry_step "$w" merge "$fs" merge -C "$ws" "$work/req.sig" || return 0
	ferry_step "$w" bundle "$fs" bundle -C "$ws" "$work/bundle" ||
		return 0
	# What the steps made, once: sizes, and every target in the bundle.
	if [ ! -f "$work/size.$w" ]; then
		if [ -n "$wk" ]; then
			c_roles=$((nbins + 1))
		else
			c_roles=1
		fi
		[ -f "$work/bundle/manifest.json" ] ||
			die "ferry-sign bundle wrote no manifest.json"
		check_out "$work/bundle" "$c_roles" "$wn" ferry-sign ||
			die "the bundle is not what was signed"
		echo "$(stat -c %s "$work/req.json") $(stat -c %s "$work/req.sig")" \
			"$(bytes "$work/bundle/metadata")" \
			"$(find "$work/bundle/metadata" -type f | wc -l)" \
			> "$work/size.$w"
	fi
	rm -rf "$ws" "$work/bundle" "$work/req.json" "$work/req.sig"
}

# tufjs_run W VARIANT ARGS...: one run of tufjs-sign.mjs; "WALL CPU RSS"
# to res.W.VARIANT, its own lines to inner.W.VARIANT.
tufjs_run() {
	t_w=$1
	t_v=$2
	shift 2
	[ "$tufjs" = yes ] || return 0
	grep -qx "$t_w.$t_v" "$work/stopped" 2>/dev/null && return 0
	rm -rf "$work/tufjs"
	run "$tlimit" "$work/tout" "$work/terr" node "$here/tufjs-sign.mjs" \
		"$@"
	if [ "$r_rc" -eq 124 ]; then
		echo "$t_w.$t_v" >> "$work/stopped"
		# How far it got: the phases it finished.
		cp "$work/tout" "$work/partial.$t_w.$t_v"
		rm -rf "$work/tufjs"
		return 0
	fi
	if [ "$r_rc" -ne 0 ]; then
		echo "sign.sh: tufjs-sign.mjs $* failed (exit $r_rc)" >&2
		tail -n 20 "$work/terr" "$work/tout" >&2
		exit 1
	fi
	echo "$r_wall $r_cpu $r_rss" >> "$work/res.$t_w.$t_v"
	awk '
		/^tufjs start_ms/ { s = $3; i = $5 }
		/^tufjs read_ms/ { r = $3 }
		/^tufjs build_ms/ { b = $3 }
		/^tufjs sign_ms/ { g = $3; e = $5 }
		/^tufjs write_ms/ { w = $3; n = $5 }
		/^tufjs total_ms/ { t = $3 }
		END { print s, i, r, b, g, e, w, t, n }' "$work/tout" \
		>> "$work/inner.$t_w.$t_v"
	if [ ! -f "$work/checked.$t_w.$t_v" ]; then
		check_out "$work/tufjs" "$t_roles" "$t_n" tufjs-sign.mjs ||
			die "tufjs-sign.mjs did not write what it signed"
		: > "$work/checked.$t_w.$t_v"
	fi
	rm -rf "$work/tufjs"
}

# cell FILE COLUMN LABEL: the median, "stopped at S s" or "-".
cell() {
	if grep -qx "$3" "$work/stopped" 2>/dev/null; then
		case $3 in
		*.models|*.linear|*.classic) echo "stopped at $tlimit s" ;;
		*) echo "stopped at $limit s" ;;
		esac
		return
	fi
	c_v=$(median "$1" "$2")
	if [ "$c_v" = - ]; then
		echo -
		return
	fi
	c_n=$(wc -l < "$1")
	case $2 in
	3) c_v=$(fmt "$c_v") ;;
	*) c_v=$(fmt0 "$c_v") ;;
	esac
	if [ "$c_n" -lt "$runs" ]; then
		echo "$c_v ($c_n run$([ "$c_n" -eq 1 ] || echo s))"
	else
		echo "$c_v"
	fi
}

# total W COLUMN: the sum over Ferry's steps of their medians (1, 2) or
# the largest (3); "-" if any step has no figure.
total() {
	for s in $steps; do
		median "$work/res.$1.$s" "$2"
	done | awk -v c="$2" '
		$1 == "-" { bad = 1 }
		{ if (c == 3) { if ($1 > t) t = $1 } else t += $1 }
		END { if (bad || NR == 0) print "-"; else print t }'
}

# report W TITLE VARIANTS: the tables of workload W.
report() {
	w=$1
	echo
	echo "| ferry-sign step | wall ms | CPU ms | peak RSS MiB |"
	echo "| --- | ---: | ---: | ---: |"
	for s in $steps; do
		case $s in
		init) n="init" ;;
		delegate) n="delegate --bins $nbins$([ "$w" = classic ] ||
			echo ' --succinct')" ;;
		add) n="targets add --list" ;;
		request) n="request" ;;
		sign) n="sign (with Argon2id, interactive)" ;;
		merge) n="merge" ;;
		bundle) n="bundle (directory)" ;;
		esac
		printf '| %s | %s | %s | %s |\n' "$n" \
			"$(cell "$work/res.$w.$s" 1 "$w.$s")" \
			"$(cell "$work/res.$w.$s" 2 "$w.$s")" \
			"$(cell "$work/res.$w.$s" 3 "$w.$s")"
	done
	f_wall=$(total "$w" 1)
	f_cpu=$(total "$w" 2)
	f_rss=$(total "$w" 3)
	printf '| **total** | %s | %s | %s (largest) |\n' "$(fmt0 "$f_wall")" \
		"$(fmt0 "$f_cpu")" "$(fmt "$f_rss")"
	if [ -f "$work/size.$w" ]; then
		# shellcheck disable=SC2046
		set -- $(cat "$work/size.$w")
		echo
		echo "ferry-sign wrote: request $(mb "$1"), signature file" \
			"$(mb "$2"); bundle metadata $(mb "$3") in $4 files"
	fi
	[ "$tufjs" = yes ] || return 0
	shift $#
	for v in $variants; do
		set -- "$@" "$v"
	done
	echo
	printf '| whole job | ferry-sign |'
	for v in "$@"; do
		printf ' %s |' "$(vname "$v")"
	done
	for v in "$@"; do
		printf ' %s / ferry |' "$(vname "$v")"
	done
	echo
	printf '| --- | ---: |'
	for v in "$@"; do
		printf ' ---: | ---: |'
	done
	echo
	for col in 1 2 3; do
		case $col in
		1) printf '| wall ms, all processes |'; f=$f_wall ;;
		2) printf '| CPU ms (user + system) |'; f=$f_cpu ;;
		3) printf '| peak RSS MiB |'; f=$f_rss ;;
		esac
		if [ "$col" -eq 3 ]; then
			printf ' %s |' "$(fmt "$f")"
		else
			printf ' %s |' "$(fmt0 "$f")"
		fi
		for v in "$@"; do
			printf ' %s |' "$(cell "$work/res.$w.$v" "$col" "$w.$v")"
		done
		for v in "$@"; do
			printf ' %s |' "$(ratio "$(median "$work/res.$w.$v" "$col")" \
				"$f")"
		done
		echo
	done
	echo
	for v in "$@"; do
		i=$work/inner.$w.$v
		if [ -s "$i" ]; then
			echo "$(vname "$v"), inside node (medians, ms):" \
				"node start $(fmt "$(median "$i" 1)"), loading the" \
				"models $(fmt "$(median "$i" 2)"), reading the list" \
				"$(fmt "$(median "$i" 3)"), building" \
				"$(fmt "$(median "$i" 4)"), signing" \
				"$(fmt "$(median "$i" 5)") (Ed25519 alone" \
				"$(fmt "$(median "$i" 6)"), the rest toJSON and" \
				"canonical JSON), writing $(fmt "$(median "$i" 7)")" \
				"($(mb "$(median "$i" 9)"))"
		elif [ -f "$work/partial.$w.$v" ]; then
			p=$work/partial.$w.$v
			d=$(awk '/^tufjs (read|build|sign|write)_ms/ {
				sub(/_ms$/, "", $2); printf "%s%s %.1f ms", sep, $2, $3;
				sep = ", " }' "$p")
			left="read"
			for ph in read build sign write; do
				grep -q "^tufjs ${ph}_ms" "$p" || break
				case $ph in
				read) left="build" ;;
				build) left="sign" ;;
				sign) left="write" ;;
				write) left="the end" ;;
				esac
			done
			echo "$(vname "$v"): stopped at $tlimit s in" \
				"'$left'${d:+, after: $d}"
		fi
	done
}

vname() {
	case $1 in
	models) echo "tuf-js" ;;
	linear) echo "tuf-js linear" ;;
	classic) echo "tuf-js" ;;
	esac
}

echo "== signing: ferry-sign beside @tufjs/models (bench/sign.sh) =="
echo "ferry:      $fs (init, delegate, targets add, request, sign," \
	"merge, bundle: one process each)"
if [ "$tufjs" = yes ]; then
	echo "tuf-js:     @tufjs/models $(node -p "require('$tufjs_dir/node_modules/@tufjs/models/package.json').version" 2>/dev/null)" \
		"(bench/tufjs-sign.mjs), node $(node --version 2>/dev/null);" \
		"'linear': the same without Targets.toJSON()"
else
	echo "tuf-js:     not run: $tufjs_why"
fi
echo "keys:       Ed25519; one for root, targets and bins, one for" \
	"snapshot and timestamp; Argon2id 'interactive' for ferry-sign's key file"
echo "workdir:    $work ($(df -PT "$work" 2>/dev/null | awk 'NR == 2 { print $2 }'))"
if [ -n "$gtime" ]; then
	echo "timing:     wall: date +%s%N around each process; CPU and peak" \
		"RSS: GNU time ($gtime)"
else
	echo "timing:     wall: date +%s%N around each process; no GNU time" \
		"(/usr/bin/time): no CPU or RSS figures"
fi
echo "runs:       $runs round(s), Ferry then tuf-js in each; medians;" \
	"limits: $limit s per ferry-sign command, $tlimit s per tuf-js run"

if [ "$ntargets" -gt 0 ]; then
	list1=$work/list
	if [ "$ntargets" -lt "$max" ]; then
		list1=$work/list.1
		head -n "$ntargets" "$work/list" > "$list1"
	fi
	r=1
	while [ "$r" -le "$runs" ]; do
		ferry_run targets "$list1" "$ntargets"
		t_roles=1
		t_n=$ntargets
		tufjs_run targets models targets "$list1" "$work/tufjs"
		tufjs_run targets linear targets "$list1" "$work/tufjs" \
			--linear
		r=$((r + 1))
	done
	echo
	echo "-- 1. a targets role of $ntargets targets, signed" \
		"($(mb "$(stat -c %s "$list1")") list) --"
	steps="init add request sign merge bundle"
	variants="models linear"
	report targets
	[ "$list1" = "$work/list" ] || rm -f "$list1"
fi

if [ "$nbintargets" -gt 0 ]; then
	list2=$work/list
	if [ "$nbintargets" -lt "$max" ]; then
		list2=$work/list.2
		head -n "$nbintargets" "$work/list" > "$list2"
	fi
	bits=$(awk -v n="$nbins" 'BEGIN { printf "%d", log(n) / log(2) + 0.5 }')
	r=1
	while [ "$r" -le "$runs" ]; do
		ferry_run bins "$list2" "$nbintargets" --succinct
		t_roles=$((nbins + 1))
		t_n=$nbintargets
		tufjs_run bins models bins "$list2" "$work/tufjs" \
			--bins "$nbins"
		if [ "$classic" = yes ]; then
			ferry_run classic "$list2" "$nbintargets" --classic
			tufjs_run classic classic bins "$list2" \
				"$work/tufjs" --bins "$nbins" --classic
		fi
		r=$((r + 1))
	done
	echo
	echo "-- 2. $nbintargets targets in $nbins hashed bins (succinct_roles," \
		"bit_length $bits), every bin signed ($(mb "$(stat -c %s "$list2")") list) --"
	steps="init delegate add request sign merge bundle"
	variants="models"
	report bins
	if [ "$classic" = yes ]; then
		echo
		echo "-- 2b. the same in $nbins classic bins (one delegation" \
			"each, path_hash_prefixes) --"
		variants="classic"
		report classic
	fi
fi
exit 0
