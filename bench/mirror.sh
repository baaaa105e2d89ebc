#!/bin/sh
# mirror.sh BUILDDIR [N] [MiB] [ROUNDS]
#
# The mirror part of `make bench`: `ferry-mirror sync` of a repository of
# N targets (default 1,000; BENCH_MIRROR_TARGETS) totalling MiB MiB
# (default 1024; BENCH_MIRROR_MIB), served by `ferry-repod serve --mirror`
# on 127.0.0.1, beside, in the same run and on the same tree:
#
#   - rsync from an rsync daemon on 127.0.0.1 (`rsync -a`, the whole
#     tree: the speed to match, with no verification at all);
#   - wget fetching every file of the tree from the same ferry-repod.
#     ferry-repod serves no directory listings, so `wget --mirror` alone
#     would find nothing to follow: wget is given the list of every file's
#     URL (`-i LIST -x -nH -N`), which is more than a real wget mirror
#     could know;
#   - curl fetching the same list to /dev/null: the HTTP transfer alone,
#     with nothing written (a floor, not a peer).
#
# Each starts from an empty destination, with the source's page cache
# warm and no dirty data pending (`sync` first, untimed), ROUNDS times
# (default 3; BENCH_MIRROR_ROUNDS), the first tool moving on by one each
# round.  Then a second publication adds one 1 MiB target, and each runs
# ROUNDS times again on a copy (of hard links) of what its last initial
# round left: the incremental sync.  Printed for each:
# wall time, bytes moved (ferry-mirror and wget: body bytes ferry-repod
# served, from its /metrics; rsync: "Total bytes received" of --stats),
# MiB/s, and the time of a `sync` right after (ferry-mirror makes its
# tree durable itself; rsync and wget leave dirty pages behind); medians,
# and the wall times round by round.  The aims (ferry-mirror's initial
# sync as fast as rsync's; an incremental sync that moves only the new
# target and the changed metadata) are reported, never enforced.
#
# Needs ferry-sign, ferry-repod and ferry-mirror in BUILDDIR, rsync and
# wget (Debian packages rsync and wget; installed with apt-get when run
# as root and missing, with services kept from starting), curl and
# python3 (it finds a free port).  It needs about 2 + 3 x ROUNDS times
# MiB free in the work directory ($TMPDIR or /tmp; 11 GiB with the
# defaults): the published tree, its images, and a copy of the tree per
# tool and round, since nothing is removed before the end (see run_one).
#
# The script fails only on an actual error (a command that fails, a
# server that does not start, a destination that differs from the tree,
# a sync that fetches other than what it lacks), never because something
# was slow.  The servers (started here) are stopped by their pids and the
# work directory is removed on every exit, including INT, TERM, HUP and
# PIPE.
# It talks only to 127.0.0.1.
set -u

usage() {
	echo "usage: mirror.sh BUILDDIR [N] [MiB] [ROUNDS]" >&2
	exit 2
}

[ $# -ge 1 ] && [ $# -le 4 ] && [ -n "$1" ] || usage
# Absolute: the work happens in the work directory.
builddir=$(cd "$1" 2>/dev/null && pwd) || {
	echo "mirror.sh: $1: no such directory" >&2
	exit 1
}
ntargets=${2:-${BENCH_MIRROR_TARGETS:-1000}}
mib=${3:-${BENCH_MIRROR_MIB:-1024}}
rounds=${4:-${BENCH_MIRROR_ROUNDS:-3}}
# ferry-mirror's "parallel" in mirror.json; empty: what init writes.
parallel=${BENCH_MIRROR_PARALLEL:-}
for v in "$ntargets" "$mib" "$rounds" "${parallel:-1}"; do
	case $v in
	''|*[!0-9]*) usage ;;
	esac
done
if [ "$ntargets" -lt 1 ] || [ "$ntargets" -gt 1000000 ] ||
	[ "$mib" -lt 1 ] || [ "$mib" -gt 65536 ]; then
	echo "mirror.sh: N must be 1 to 1000000, MiB 1 to 65536" >&2
	exit 2
fi
if [ "$rounds" -lt 1 ] || [ "$rounds" -gt 50 ]; then
	echo "mirror.sh: ROUNDS must be 1 to 50" >&2
	exit 2
fi
if [ $((mib * 1048576 / ntargets)) -lt 1 ]; then
	echo "mirror.sh: $ntargets targets do not fit in $mib MiB" >&2
	exit 2
fi
workdir=${TMPDIR:-/tmp}
new_size=1048576	# the target the second publication adds

sign=$builddir/ferry-sign
repod=$builddir/ferry-repod
mirror=$builddir/ferry-mirror
for p in "$sign" "$repod" "$mirror"; do
	if [ ! -x "$p" ]; then
		echo "mirror.sh: $p not built (run 'make' in $builddir)" >&2
		exit 1
	fi
done
for t in python3 curl; do
	if ! command -v "$t" >/dev/null 2>&1; then
		echo "mirror.sh: $t not found" >&2
		exit 1
	fi
done

pids=
cpid=
work=
own_prc=
prc=/usr/sbin/policy-rc.d

# alive PID: PID is running (not gone, not a zombie).
alive() {
	a_state=$(sed 's/^.*) //' "/proc/$1/stat" 2>/dev/null | cut -d' ' -f1)
	[ -n "$a_state" ] && [ "$a_state" != Z ]
}

# stop PID: SIGTERM, up to 10 s to exit, then SIGKILL; reaped either way.
# Called from the traps (shellcheck cannot see that).
# shellcheck disable=SC2317
stop() {
	kill "$1" 2>/dev/null
	s_i=0
	while alive "$1" && [ "$s_i" -lt 100 ]; do
		sleep 0.1
		s_i=$((s_i + 1))
	done
	if alive "$1"; then
		echo "mirror.sh: pid $1 still running 10 s after SIGTERM:" \
			"SIGKILL" >&2
		kill -9 "$1" 2>/dev/null
	fi
	wait "$1" 2>/dev/null
}

# Called from the traps (shellcheck cannot see that).
# shellcheck disable=SC2317
cleanup() {
	if [ -n "$cpid" ]; then
		stop "$cpid"
		cpid=
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
		cd / && rm -rf "$work"
		work=
	fi
}
trap cleanup EXIT
trap 'cleanup; exit 129' HUP
trap 'cleanup; exit 130' INT
trap 'cleanup; exit 143' TERM
# A reader that goes away (| head) must not leave the servers running.
trap 'cleanup; exit 141' PIPE

die() {
	echo "mirror.sh: $*" >&2
	exit 1
}

# unpid PID: forget PID (stopped and reaped by the caller).
unpid() {
	pids=$(echo "$pids" | sed "s/ $1\$//; s/ $1 / /")
}

# The peers, installed when missing and running as root (as http.sh
# does), with a policy-rc.d that keeps rsync's service from starting.
missing=
command -v rsync >/dev/null 2>&1 || missing=rsync
command -v wget >/dev/null 2>&1 || missing="$missing wget"
missing=${missing# }
if [ -n "$missing" ]; then
	if [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null 2>&1; then
		echo "mirror.sh: not found: $missing (Debian 12 packages of the" \
			"same names; as root: apt-get install -y" \
			"--no-install-recommends $missing)" >&2
		exit 1
	fi
	if [ ! -e "$prc" ]; then
		own_prc=yes
		if ! printf '#!/bin/sh\n# bench/mirror.sh: no service starts during its install\nexit 101\n' \
			> "$prc" || ! chmod 755 "$prc"; then
			die "cannot write $prc"
		fi
	fi
	echo "mirror.sh: installing $missing:" \
		"apt-get install -y --no-install-recommends $missing" >&2
	# shellcheck disable=SC2086
	DEBIAN_FRONTEND=noninteractive apt-get install -y -q \
		--no-install-recommends $missing >&2 ||
		die "apt-get install $missing failed (apt-get update first?)"
	if [ "$own_prc" = yes ]; then
		rm -f "$prc"
		own_prc=
	fi
	for t in rsync wget; do
		command -v "$t" >/dev/null 2>&1 ||
			die "$t still missing after apt-get install"
	done
fi

work=$(mktemp -d "$workdir/ferry-bench-mirror.XXXXXX") ||
	die "cannot make a temporary directory in $workdir"
# ferry-repod started as root serves as nobody, and the rsync daemon
# reads as nobody: both must reach the tree (nothing in here is secret
# but the keys, which stay 0600).
chmod 755 "$work" || die "chmod $work"
cd "$work" || die "cd $work"
# The tree, the images, and three destinations a round (none is removed
# before the end, see run_one).
need_kib=$((mib * 1024 * (2 + 3 * rounds) + 102400))
avail_kib=$(df -Pk "$work" | awk 'NR == 2 { print $4 }')
if [ -n "$avail_kib" ] && [ "$avail_kib" -lt "$need_kib" ]; then
	die "$work: $((avail_kib / 1024)) MiB free, about" \
		"$((need_kib / 1024)) MiB needed (set TMPDIR elsewhere)"
fi

now() { date +%s.%N; }
secs() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", b - a }'; }

# q CMD...: run CMD with its output in $work/q.out; its output and a
# message on failure.
q() {
	"$@" > q.out 2>&1 || {
		q_rc=$?
		tail -n 30 q.out >&2
		die "$* exited with status $q_rc"
	}
}

# evict DIR...: drop the (clean) page cache of every file under DIR, so
# that the next run writes into memory that has been used before.  On a
# virtual machine, pages the guest never touched cost the host a fault
# each on first use: with every copy left in the page cache, each run
# wrote into fresh memory and the kernel's copy and zeroing of page
# cache pages took twice to three times as long, more with every round.
evict() {
	python3 -c 'import os, sys
for top in sys.argv[1:]:
    for d, _, files in os.walk(top):
        for f in files:
            p = os.path.join(d, f)
            if os.path.islink(p):
                continue
            fd = os.open(p, os.O_RDONLY | os.O_NOFOLLOW)
            os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
            os.close(fd)' "$@" || die "evicting $* from the page cache"
}

# freeport: a port on 127.0.0.1 that was free a moment ago.
freeport() {
	python3 -c 'import socket
s = socket.socket()
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])'
}

# ---- the repository ----
printf 'bench passphrase\n' > pw
chmod 600 pw
mkdir keys images || die "mkdir"
for k in root targets snapshot timestamp; do
	q "$sign" key generate --kdf interactive --passphrase-fd 3 \
		"keys/$k.key" 3< pw
done
q "$sign" init -C ws --key root=keys/root.pub --key targets=keys/targets.pub \
	--key snapshot=keys/snapshot.pub --key timestamp=keys/timestamp.pub

# bundle OUT KEY...: request, sign with each KEY, merge, bundle.
bundle() {
	b_out=$1
	shift
	q "$sign" request -C ws -o req.json
	rm -rf sig && mkdir sig || die "mkdir sig"
	for k in "$@"; do
		q "$sign" sign --key "keys/$k.key" --passphrase-fd 3 \
			-o "sig/$k.sig" req.json 3< pw
	done
	q "$sign" merge -C ws sig/*.sig
	q "$sign" bundle -C ws "$b_out"
}

# N images in 16 directories, sizes from 0.5 to 1.5 times the mean (a
# fixed pattern), the last one taking what is left so that they total
# exactly MiB MiB; random bytes, so nothing compresses.
total=$((mib * 1048576))
awk -v n="$ntargets" -v t="$total" 'BEGIN {
	base = int(t / n); s = 0
	for (i = 0; i < n - 1; i++) {
		sz[i] = int(base * (1 + ((i * 7) % 9 - 4) / 8))
		if (sz[i] < 1) sz[i] = 1
		s += sz[i]
	}
	last = t - s
	if (last < 1) {
		for (i = 0; i < n - 1; i++) sz[i] = base
		last = t - base * (n - 1)
	}
	sz[n - 1] = last
	for (i = 0; i < n; i++) printf "pkgs/%02d/p%06d.img %.0f\n", i % 16, i, sz[i]
}' > sizes || die "awk"
t_gen0=$(now)
while read -r f sz; do
	mkdir -p "images/${f%/*}" &&
		head -c "$sz" /dev/urandom > "images/$f" || die "writing images/$f"
done < sizes
# The list for `targets add --list`: one JSON object a line.
(cd images && cut -d' ' -f1 ../sizes | xargs sha256sum) > sums ||
	die "sha256sum of the images"
awk 'NR == FNR { len[$1] = $2; next }
	{ printf "{\"path\":\"%s\",\"length\":%.0f,\"hashes\":{\"sha256\":\"%s\"}}\n",
		$2, len[$2], $1 }' sizes sums > list || die "awk"
q "$sign" targets add -C ws --list list
bundle b1.tar.zst root targets
q "$repod" init -d st --root ws/metadata/1.root.json \
	--snapshot-key keys/snapshot.key --timestamp-key keys/timestamp.key
q "$repod" publish -d st --images images --credentials pw b1.tar.zst
t_gen1=$(now)
# The images stay until the end, although only a new target's image is
# read by the next publication: see run_one.
tree=$work/st/repo
[ -L "$tree/metadata" ] && [ -d "$tree/targets" ] ||
	die "ferry-repod publish made no tree in $tree"
# Readable by nobody all the way down (the state directory holds the
# online keys, 0600, which nobody needs).
chmod o+x st || die "chmod st"
readable() {
	find "$tree" -type d ! -perm -005 -exec chmod o+rx {} + ||
		die "chmod under $tree"
	find "$tree" -type f ! -perm -004 -exec chmod o+r {} + ||
		die "chmod under $tree"
}
readable

# ---- the servers ----
# ferry-repod serve --mirror: no keys.  --max-per-ip 0: every client
# here is 127.0.0.1.
set -- --mirror "$tree" --listen 127.0.0.1:0 --max-per-ip 0
if [ "$(id -u)" -eq 0 ]; then
	set -- "$@" --user nobody
fi
"$repod" serve "$@" 2> repod.log > repod.out &
rpid=$!
pids="$pids $rpid"
port=
i=0
while [ -z "$port" ]; do
	port=$(sed -n 's/.*msg=listening addr="\{0,1\}127\.0\.0\.1:\([0-9][0-9]*\).*/\1/p' \
		repod.log | head -n 1)
	[ -z "$port" ] || break
	alive "$rpid" || { tail -n 20 repod.log >&2; die "ferry-repod serve exited"; }
	i=$((i + 1))
	[ "$i" -le 100 ] || { tail -n 20 repod.log >&2;
		die "ferry-repod logged no 'msg=listening addr=127.0.0.1:PORT' in 10 s"; }
	sleep 0.1
done
url=http://127.0.0.1:$port
i=0
until curl -fs -o /dev/null "$url/metadata/timestamp.json"; do
	i=$((i + 1))
	[ "$i" -le 100 ] || { tail -n 20 repod.log >&2;
		die "ferry-repod does not serve the tree on port $port"; }
	alive "$rpid" || die "ferry-repod serve exited"
	sleep 0.1
done
rcmd="ferry-repod serve $(echo "$*" | sed "s|$tree|TREE|")"

# The rsync daemon on a free port (tried again if the port was taken in
# between), reading as nobody when started as root.
ruser=
[ "$(id -u)" -eq 0 ] && ruser="uid = nobody"
try=0
while :; do
	try=$((try + 1))
	[ "$try" -le 5 ] || die "the rsync daemon found no free port in 5 tries"
	rport=$(freeport) || die "no free port"
	cat > rsyncd.conf <<EOF
use chroot = no
munge symlinks = no
log file = $work/rsyncd.log
$ruser
[tree]
	path = $tree
	read only = yes
	list = yes
EOF
	: > rsyncd.log
	rsync --daemon --no-detach --config="$work/rsyncd.conf" \
		--address=127.0.0.1 --port="$rport" > rsyncd.out 2>&1 &
	dpid=$!
	pids="$pids $dpid"
	i=0
	while alive "$dpid" && [ "$i" -lt 100 ] &&
		! rsync "rsync://127.0.0.1:$rport/" > /dev/null 2>&1; do
		sleep 0.1
		i=$((i + 1))
	done
	if alive "$dpid" && rsync "rsync://127.0.0.1:$rport/" 2>/dev/null |
		grep -q '^tree'; then
		break
	fi
	stop "$dpid"
	unpid "$dpid"
	grep -q 'Address already in use' rsyncd.log rsyncd.out || {
		cat rsyncd.out rsyncd.log >&2
		die "the rsync daemon did not start"
	}
done

# ---- measuring ----
# served: "BYTES REQUESTS ERRORS OPEN" from ferry-repod's /metrics:
# body bytes of the responses sent completely, responses of every
# status, requests that ended before their response was sent, and
# connections open (this one included).  The answer to this request is
# counted only once it is sent, so in the next one.
served() {
	curl -fsS "$url/metrics" > metrics.txt || die "GET /metrics failed"
	awk '
		/^ferry_repod_http_response_bytes_total / { b = $2 }
		/^ferry_repod_http_requests_total\{/ { r += $2 }
		/^ferry_repod_http_errors_total / { e = $2 }
		/^ferry_repod_http_connections_open / { o = $2 }
		END { printf "%.0f %.0f %.0f %.0f\n", b, r, e, o }' metrics.txt
}
# metrics0, then metrics1: d_bytes, d_reqs and d_errs, what ferry-repod
# served in between, less the answers to these /metrics requests.  The
# client's connections must be closed first (up to 5 s): the server
# counts a response once it has seen it through, which may be a moment
# after the client has all the bytes.
metrics0() {
	m0=$(served) || exit 1
	m_self=$(wc -c < metrics.txt)
	m_n=1
}
metrics1() {
	m_i=0
	while :; do
		m1=$(served) || exit 1
		[ "${m1##* }" -gt 1 ] && [ "$m_i" -lt 50 ] || break
		m_self=$((m_self + $(wc -c < metrics.txt)))
		m_n=$((m_n + 1))
		m_i=$((m_i + 1))
		sleep 0.1
	done
	# shellcheck disable=SC2086
	set -- $m0 $m1
	d_bytes=$(($5 - $1 - m_self))
	d_reqs=$(($6 - $2 - m_n))
	d_errs=$(($7 - $3))
}

# The URL of every file the tree serves: the live state's metadata and
# every target.
urllist() {
	{
		(cd "$tree/metadata/" && find . -maxdepth 1 -type f ! -name '.*' |
			sed "s|^\./|$url/metadata/|")
		(cd "$tree" && find targets -type f ! -name '.*' |
			sed "s|^|$url/|")
	} | sort > "$1"
	[ -s "$1" ] || die "no files to list in $tree"
}

# warm: the source's page cache warm, no dirty data pending.
warm() {
	find "$tree/" -type f -exec cat {} + > /dev/null || die "reading $tree"
	sync
}

# same DIR WHO: DIR holds the targets of the tree, byte for byte and
# nothing else, and every metadata file of its live state (a mirror may
# hold more: older versions for clients in the middle of a refresh).
same() {
	diff -rq "$tree/targets" "$1/targets" > diff.out 2>&1 || {
		head -n 20 diff.out >&2
		die "$2: $1/targets differs from the tree's"
	}
	for f in "$tree/metadata/"*; do
		cmp -s "$f" "$1/metadata/${f##*/}" ||
			die "$2: $1/metadata/${f##*/} differs from the tree's"
	done
}

clk_tck=$(getconf CLK_TCK 2>/dev/null || echo 100)

# server_ticks PID: CPU time (user + system, clock ticks) of PID and its
# children, with that of the children they have reaped (the rsync
# daemon forks one per connection).
server_ticks() {
	cat /proc/[0-9]*/stat 2>/dev/null | awk -v p="$1" '
		{ pid = $1; sub(/^.*\) /, "")
		  if (pid == p || $2 == p) t += $12 + $13 + $14 + $15 }
		END { printf "%.0f\n", t }'
}

# nchildren PID: how many children PID has.
nchildren() {
	cat /proc/[0-9]*/stat 2>/dev/null | awk -v p="$1" '
		{ sub(/^.*\) /, ""); if ($2 == p) n++ } END { print n + 0 }'
}

# child_cpu FILE: the user + system seconds of this shell's reaped
# children, from the output of the times builtin in FILE (its second
# line; times must run in this shell, not in a command substitution).
child_cpu() {
	sed -n 2p "$1" | awk '{
		s = 0
		for (i = 1; i <= 2; i++) {
			v = $i; sub(/s$/, "", v); split(v, a, "m")
			s += a[1] * 60 + a[2]
		}
		printf "%.2f\n", s }'
}

# timed NAME SERVERPID CMD...: run CMD (output in NAME.out and
# NAME.err), with the source warm first; its wall time in tw, its CPU
# time in tc, the server's (SERVERPID and its children; - for none) in
# ts, then the wall time of a sync(1) in ty.
timed() {
	t_name=$1
	t_srv=$2
	shift 2
	warm
	times > times.0
	t_s0=0
	[ "$t_srv" = - ] || t_s0=$(server_ticks "$t_srv")
	t_0=$(now)
	# In the background, so that a signal to this script interrupts the
	# wait (a trap waits for a foreground command); cleanup stops it.
	"$@" > "$t_name.out" 2> "$t_name.err" &
	cpid=$!
	wait "$cpid"
	t_rc=$?
	cpid=
	t_1=$(now)
	if [ "$t_rc" -ne 0 ]; then
		tail -n 20 "$t_name.out" "$t_name.err" >&2
		die "$* exited with status $t_rc"
	fi
	times > times.1
	ts=-
	if [ "$t_srv" != - ]; then
		# The rsync daemon's child for this connection, once reaped.
		t_i=0
		while [ "$t_srv" = "$dpid" ] && [ "$(nchildren "$t_srv")" -gt 0 ] &&
			[ "$t_i" -lt 50 ]; do
			sleep 0.1
			t_i=$((t_i + 1))
		done
		ts=$(awk -v a="$t_s0" -v b="$(server_ticks "$t_srv")" \
			-v hz="$clk_tck" 'BEGIN { printf "%.2f", (b - a) / hz }')
	fi
	sync
	t_2=$(now)
	tw=$(secs "$t_0" "$t_1")
	ty=$(secs "$t_1" "$t_2")
	tc=$(awk -v a="$(child_cpu times.0)" -v b="$(child_cpu times.1)" \
		'BEGIN { printf "%.2f", b - a }')
}

# res.TOOL.PHASE holds a line per round: "WALL SYNC BYTES REQUESTS
# ERRORS CLIENT_CPU SERVER_CPU".  res TOOL PHASE COLUMN: the last round's figure.
res() { tail -n 1 "res.$1.$2" | cut -d' ' -f"$3"; }
# med TOOL PHASE COLUMN FORMAT: the median over the rounds.
med() {
	cut -d' ' -f"$3" "res.$1.$2" | sort -n | awk -v f="$4" '
		{ v[NR] = $1 }
		END { if (NR % 2) m = v[(NR + 1) / 2]
			else m = (v[NR / 2] + v[NR / 2 + 1]) / 2
			printf f "\n", m }'
}

# json FIELD FILE: a number from ferry-mirror's --json summary.
json() { sed -n "s/.*\"$1\":\\([0-9a-z]*\\).*/\\1/p" "$2"; }

# rstat FILE: rsync's "Total bytes received" (digits only).
rstat() {
	sed -n 's/^Total bytes received: \([0-9,]*\).*/\1/p' "$1" | tr -d ,
}

# curl_config LIST: curl's config, every URL to /dev/null.
curl_config() {
	sed 's/.*/url = "&"\noutput = "\/dev\/null"/' "$1" > curl.cfg
}

# restore TOOL DEST: DEST, a copy of what TOOL's last initial round left
# (of hard links: ferry-mirror and rsync replace files by rename; wget -N
# rewrites a changed file in place, so its metadata is copied whole).
restore() {
	cp -al "$1.init.$rounds" "$2" || die "copying $1.init.$rounds"
	if [ "$1" = wg ]; then
		rm -rf "$2/metadata" &&
			cp -a "$1.init.$rounds/metadata" "$2/metadata" ||
			die "copying $1.init.$rounds/metadata"
	fi
}

# run_one TOOL PHASE ROUND: one timed run of TOOL (fm, rs, wg or cu)
# into res.TOOL.PHASE, in TOOL.PHASE.ROUND; initial runs start from an
# empty destination, incremental ones from what the last initial round
# left.  Nothing is removed before the end: this file system may be
# ext4 without a journal, where a new inode skips those freed in the
# last 30 s or more (ialloc.c, recently_deleted()), which made creating
# files up to twice as slow right after removing a copy of the tree.
run_one() {
	d=$1.$2.$3
	[ ! -e "$d" ] || die "$d exists already"
	[ "$2" = init ] || [ "$1" = cu ] || restore "$1" "$d"
	case $1 in
	fm)
		if [ "$2" = init ]; then
			q "$mirror" init -d "$d" --root ws/metadata/1.root.json \
				--upstream "$url"
			if [ -n "$parallel" ]; then
				python3 -c 'import json, sys
p = sys.argv[1] + "/mirror.json"
with open(p) as f:
    c = json.load(f)
c["parallel"] = int(sys.argv[2])
with open(p, "w") as f:
    json.dump(c, f)' "$d" "$parallel" || die "setting parallel in $d"
			fi
		fi
		metrics0
		timed "fm.$2" "$rpid" "$mirror" sync -d "$d" --json
		metrics1
		echo "$tw $ty $d_bytes $d_reqs $d_errs $tc $ts" >> "res.fm.$2"
		o_want=$ntargets o_bytes=$tree_bytes
		if [ "$2" = inc ]; then
			o_want=1 o_bytes=$new_size
		fi
		if [ "$(json fetched "fm.$2.out")" != "$o_want" ] ||
			[ "$(json fetched_bytes "fm.$2.out")" != "$o_bytes" ]; then
			die "ferry-mirror sync ($2) fetched other than $o_want" \
				"target(s) of $o_bytes bytes: $(cat "fm.$2.out")"
		fi
		same "$d/repo" ferry-mirror
		evict "$d" ;;
	rs)
		[ "$2" = inc ] || mkdir "$d" || die "mkdir $d"
		timed "rs.$2" "$dpid" rsync -a --stats \
			"rsync://127.0.0.1:$rport/tree/" "$d/"
		echo "$tw $ty $(rstat "rs.$2.out") - 0 $tc $ts" >> "res.rs.$2"
		same "$d" rsync
		evict "$d" ;;
	wg)
		metrics0
		timed "wg.$2" "$rpid" wget -q -N -x -nH -P "$d" -i "urls.$2"
		metrics1
		echo "$tw $ty $d_bytes $d_reqs $d_errs $tc $ts" >> "res.wg.$2"
		same "$d" wget
		evict "$d" ;;
	cu)
		# Every file at first, then only those an incremental sync
		# must fetch (the new ones, and timestamp.json).
		if [ "$2" = init ]; then
			curl_config urls.init
		else
			{ comm -13 urls.init urls.inc
			  echo "$url/metadata/timestamp.json"; } |
				sort -u > urls.new
			curl_config urls.new
		fi
		metrics0
		timed "cu.$2" "$rpid" curl -fsS --config curl.cfg
		metrics1
		echo "$tw $ty $d_bytes $d_reqs $d_errs $tc $ts" >> "res.cu.$2" ;;
	esac
}

# run_rounds PHASE: ROUNDS rounds of the four, the first tool moving on
# by one each round, so that none always runs first or last.
run_rounds() {
	urllist "urls.$1"
	r_ph=$1
	r=0
	while [ "$r" -lt "$rounds" ]; do
		set -- fm rs wg cu
		k=0
		while [ "$k" -lt $((r % 4)) ]; do
			o_t=$1
			shift
			set -- "$@" "$o_t"
			k=$((k + 1))
		done
		echo "$*" >> "order.$r_ph"
		for t in "$@"; do
			run_one "$t" "$r_ph" "$((r + 1))"
		done
		r=$((r + 1))
	done
}

tree_bytes=$(find "$tree/targets" -type f -printf '%s\n' |
	awk '{ s += $1 } END { printf "%.0f\n", s }')
load0=$(cut -d' ' -f1-3 /proc/loadavg)
run_rounds init
nfiles=$(wc -l < urls.init)
# A check of the counting: wget fetched every file of the list (same
# found them all), and ferry-repod's counter should say as much.
list_bytes=$( (cd "$tree" && sed "s|^$url/||" "$work/urls.init" |
	xargs stat -L -c %s) | awk '{ s += $1 } END { printf "%.0f\n", s }')

# ---- one new target ----
mkdir -p images/pkgs/new || die "mkdir"
head -c "$new_size" /dev/urandom > images/pkgs/new/new.img ||
	die "writing the new image"
printf '{"path":"pkgs/new/new.img","length":%d,"hashes":{"sha256":"%s"}}\n' \
	"$new_size" "$(sha256sum images/pkgs/new/new.img | cut -d' ' -f1)" \
	> list2 || die "writing list2"
q "$sign" targets add -C ws --list list2
bundle b2.tar.zst targets
old_state=$(readlink "$tree/metadata")
q "$repod" publish -d st --images images --credentials pw b2.tar.zst
new_state=$(readlink "$tree/metadata")
[ "$old_state" != "$new_state" ] ||
	die "the second publication changed nothing"
readable
# The least an incremental sync can move: the new image, and the
# metadata files of the new state that the old one did not have, plus
# timestamp.json (roles are files by version: an unchanged role keeps
# its name).
min_meta=$(cd "$tree" && for f in "$new_state"/*; do
	b=${f##*/}
	if [ "$b" = timestamp.json ] || [ ! -e "$old_state/$b" ]; then
		wc -c < "$f"
	fi
done | awk '{ s += $1 } END { printf "%.0f\n", s }')
min_inc=$((new_size + min_meta))

run_rounds inc
load1=$(cut -d' ' -f1-3 /proc/loadavg)

# ---- the report ----
mibs() {
	awk -v b="$1" -v t="$2" 'BEGIN { if (t + 0 == 0) print "-";
		else printf "%.1f", b / t / 1048576 }'
}
ratio() {
	awk -v a="$1" -v b="$2" 'BEGIN { if (b + 0 == 0) print "-";
		else printf "%.2f", a / b }'
}
# row LABEL TOOL: a row of the table, medians over the rounds.
row() {
	r_t=$(med "$2" init 1 %.2f)
	r_b=$(med "$2" init 3 %.0f)
	printf '| %s | %s | %s | %s | %s | %s | %s | %s |\n' "$1" "$r_t" \
		"$(mibs "$r_b" "$r_t")" "$r_b" "$(med "$2" init 2 %.2f)" \
		"$(med "$2" inc 1 %.2f)" "$(med "$2" inc 3 %.0f)" \
		"$(med "$2" inc 2 %.2f)"
}
# rounds_of TOOL PHASE COLUMN: the figures of each round, in order.
rounds_of() {
	cut -d' ' -f"$3" "res.$1.$2" | paste -sd' ' - | sed 's/ /, /g'
}
# per_round A B PHASE: A's wall time over B's, round by round.
per_round() {
	paste -d' ' "res.$1.$3" "res.$2.$3" | awk '
		{ n = NF / 2; printf "%s%.2f", (NR > 1 ? ", " : ""),
			($(n + 1) > 0 ? $1 / $(n + 1) : 0) }'
}
# rfiles PHASE: the files rsync sent (the last round).
rfiles() {
	sed -n 's/^Number of regular files transferred: //p' "rs.$1.out" |
		tr -d ,
}
# sum_col TOOL PHASE COLUMN
sum_col() {
	cut -d' ' -f"$3" "res.$1.$2" |
		awk '{ s += $1 } END { printf "%.0f", s }'
}
tool_name() {
	case $1 in
	fm) echo ferry-mirror ;;
	rs) echo rsync ;;
	wg) echo wget ;;
	cu) echo curl ;;
	esac
}

echo "== Mirror sync: ferry-mirror beside rsync and wget (bench/mirror.sh) =="
echo "date:       $(date -u '+%Y-%m-%d %H:%M:%S UTC')"
echo "host:       $(uname -srm), $(getconf _NPROCESSORS_ONLN) CPU(s):" \
	"$(sed -n 's/^model name[[:space:]]*:[[:space:]]*//p' /proc/cpuinfo |
		head -n 1)"
echo "load:       $load0 before, $load1 after (other work on the" \
	"machine skews figures)"
echo "build:      $builddir (CFLAGS $(sed -n 's/^CFLAGS = //p' \
	"$builddir/Makefile" 2>/dev/null | head -n 1))"
echo "peers:      $(rsync --version | head -n 1 | sed 's/  */ /g');" \
	"$(wget --version | head -n 1); $(curl --version | head -n 1 |
		cut -d' ' -f1-2)"
echo "repository: $ntargets targets, $tree_bytes bytes of targets" \
	"($mib MiB), random bytes, in $((ntargets < 16 ? ntargets : 16))" \
	"directories; $nfiles files served" \
	"(targets and the live state's metadata); then one more target of" \
	"$new_size bytes (made, signed and published in" \
	"$(secs "$t_gen0" "$t_gen1") s, untimed)"
echo "work dir:   $work ($(df -PT "$work" | awk 'NR == 2 { print $2 }'))"
echo "servers:    $rcmd; rsync daemon (use chroot = no," \
	"$([ -n "$ruser" ] && echo "uid nobody, ")read only), both on" \
	"127.0.0.1"
fpar=$(sed -n 's/.*"parallel": *\([0-9]*\).*/\1/p' "fm.init.1/mirror.json")
echo "commands:   ferry-mirror init -d DEST --root 1.root.json --upstream" \
	"URL (untimed), then ferry-mirror sync -d DEST --json" \
	"(mirror.json: parallel ${fpar:-not set}${parallel:+, from BENCH_MIRROR_PARALLEL})"
echo "            rsync -a --stats rsync://127.0.0.1:PORT/tree/ DEST/ (the" \
	"whole tree, .states/ and the metadata link included)"
echo "            wget -q -N -x -nH -P DEST -i LIST (LIST: every file's" \
	"URL, taken from the tree on disk; ferry-repod lists no" \
	"directories, so wget --mirror alone finds nothing)"
echo "            curl --config CFG (the same LIST, each to /dev/null," \
	"one connection: the transfer alone, a floor; in the incremental" \
	"runs only the files new to the tree, and timestamp.json)"
echo "runs:       $rounds round(s) from an empty destination, then" \
	"$rounds incremental round(s) after the new target, each from what" \
	"the last initial round left (copied as hard links, untimed); the" \
	"first tool moves on by one each round; nothing is removed until" \
	"the end; after each run the destination leaves the page cache;" \
	"before each run the source is read (page cache warm) and sync(1)" \
	"run, untimed; medians"
echo
echo "| medians of $rounds | initial wall s | MiB/s | bytes | then sync s |" \
	"incremental wall s | incremental bytes | then sync s |"
echo "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
row ferry-mirror fm
row rsync rs
row "wget -i LIST" wg
row "curl > /dev/null" cu
echo
echo "| CPU s, medians of $rounds | initial: client | server |" \
	"incremental: client | server |"
echo "| --- | ---: | ---: | ---: | ---: |"
for t in fm rs wg cu; do
	printf '| %s | %s | %s | %s | %s |\n' "$(tool_name "$t")" \
		"$(med "$t" init 6 %.2f)" "$(med "$t" init 7 %.2f)" \
		"$(med "$t" inc 6 %.2f)" "$(med "$t" inc 7 %.2f)"
done
echo
echo "bytes:      ferry-mirror, wget and curl: response bodies" \
	"ferry-repod served (ferry_repod_http_response_bytes_total in its" \
	"/metrics, before and after; headers not counted); rsync: \"Total" \
	"bytes received\" of --stats (its protocol's bytes, file lists" \
	"included).  MiB/s: bytes over wall time.  \"then sync s\": a" \
	"sync(1) right after, which writes back what the tool left dirty" \
	"(ferry-mirror makes its tree durable before it returns).  CPU:" \
	"user + system time of the client process (its children included)" \
	"and of the server (ferry-repod's processes, or the rsync daemon" \
	"and the child it forked for the connection), from the shell's" \
	"times and /proc; both share the machine's" \
	"$(getconf _NPROCESSORS_ONLN) CPU(s)."
for ph in init inc; do
	if [ "$ph" = init ]; then
		l=initial
	else
		l=incremental
	fi
	echo "rounds, $l wall s (orders: $(paste -sd';' "order.$ph" |
		sed 's/;/; /g')):"
	for t in fm rs wg cu; do
		echo "            $(tool_name "$t") $(rounds_of "$t" "$ph" 1)"
	done
	echo "            ferry/rsync $(per_round fm rs "$ph")"
done
echo "requests:   ferry-mirror $(res fm init 4) then $(res fm inc 4);" \
	"wget $(res wg init 4) then $(res wg inc 4) (with -N," \
	"If-Modified-Since on every file); curl $(res cu init 4) then" \
	"$(res cu inc 4)"
echo "ferry-mirror: initial $(json fetched fm.init.out) targets," \
	"$(json fetched_bytes fm.init.out) bytes of them," \
	"$(json metadata_files fm.init.out) metadata files in the state;" \
	"incremental $(json fetched fm.inc.out) target," \
	"$(json fetched_bytes fm.inc.out) bytes, and" \
	"$(($(res fm inc 3) - $(json fetched_bytes fm.inc.out))) bytes of" \
	"metadata"
echo "rsync:      $(rfiles init) files sent initially, $(rfiles inc) in" \
	"the incremental run"
for t in fm wg cu; do
	for ph in init inc; do
		e=$(sum_col "$t" "$ph" 5)
		[ "$e" -eq 0 ] ||
			echo "NOTE:       ferry-repod counted $e request(s) of" \
				"$(tool_name "$t") ($ph) as ended before their" \
				"response was sent, though the client had every byte"
	done
done
cut -d' ' -f3 res.wg.init | while read -r b; do
	[ "$b" = "$list_bytes" ] ||
		echo "NOTE:       ferry-repod counted $b bytes for a first" \
			"wget run, whose files hold $list_bytes"
done
echo "the least an incremental sync can move: $min_inc bytes (the new" \
	"target, $new_size, and $min_meta of metadata: the new state's" \
	"files the old one lacked, and timestamp.json)"
echo
fi_t=$(med fm init 1 %.2f)
ri_t=$(med rs init 1 %.2f)
fi_y=$(med fm init 2 %.2f)
ri_y=$(med rs init 2 %.2f)
a1=$(ratio "$fi_t" "$ri_t")
a2=$(ratio "$(med fm inc 1 %.2f)" "$(med rs inc 1 %.2f)")
fb=$(med fm inc 3 %.0f)
a3=$(ratio "$fb" "$min_inc")
met() {
	awk -v r="$1" -v t="$2" 'BEGIN { if (r == "-") print "-";
		else if (r + 0 <= t + 0) print "met"; else print "NOT met" }'
}
echo "ferry/rsync: initial wall $a1 (with each one's sync(1) after:" \
	"$(ratio "$(awk -v a="$fi_t" -v b="$fi_y" 'BEGIN { print a + b }')" \
		"$(awk -v a="$ri_t" -v b="$ri_y" 'BEGIN { print a + b }')"))," \
	"incremental wall $a2, incremental bytes $(ratio "$fb" \
		"$(med rs inc 3 %.0f)")"
echo "aim 1:      ferry-mirror's initial sync as fast as rsync's, with" \
	"full verification: $(met "$a1" 1) (ferry/rsync $a1, medians)"
echo "aim 2:      an incremental sync moves only the new target and the" \
	"changed metadata: $(met "$a3" 1.05) ($fb bytes, $a3 times the" \
	"least)"
echo "            (reported, not enforced: only errors fail this" \
	"benchmark)"
exit 0
