#!/bin/sh
# run.sh BUILDDIR: label the figures with what they depend on (machine,
# compiler flags of the build, peer versions), then run bench_meta from
# BUILDDIR with any extra arguments in $BENCH_ARGS, then the client
# workflow benchmark (client.sh, beside tuf-js) with any extra arguments
# in $BENCH_CLIENT_ARGS, then the signing benchmark (sign.sh, ferry-sign
# beside @tufjs/models) with any extra arguments in $BENCH_SIGN_ARGS,
# then the HTTP serving benchmark (http.sh, ferry-repod serve beside
# nginx, loaded by wrk) with any extra arguments in $BENCH_HTTP_ARGS,
# then the publishing benchmark (publish.sh: ferry-repod publish of a
# bundle adding $BENCH_PUBLISH_TARGETS targets, default 10,000, beside
# cp -r of the same images), then the mirror benchmark (mirror.sh:
# ferry-mirror sync of 1,000 targets in 1 GiB from ferry-repod on
# loopback, beside rsync and wget, then an incremental sync) with any
# extra arguments in $BENCH_MIRROR_ARGS ("N MiB ROUNDS"; or
# BENCH_MIRROR_TARGETS, BENCH_MIRROR_MIB and BENCH_MIRROR_ROUNDS), then
# the onion benchmark (onion.sh: a new device's refresh and 10 MiB
# download through repod's onion service on a private Tor network on
# 127.0.0.1, beside the same over plain loopback HTTP; BENCH_ONION_ROUNDS).
# BENCH_ONLY=meta, client, sign, http, publish, mirror or onion runs one
# part.
# Exits non-zero if a part fails: on an actual error only, never because
# something was slow.
set -u

if [ $# -ne 1 ] || [ -z "$1" ]; then
	echo "usage: run.sh BUILDDIR" >&2
	exit 2
fi
builddir=$1
here=$(cd "$(dirname "$0")" && pwd) || exit 1
only=${BENCH_ONLY:-}
case $only in
''|meta|client|sign|http|publish|mirror|onion) ;;
*)
	echo "run.sh: BENCH_ONLY must be meta, client, sign, http," \
		"publish, mirror or onion, not '$only'" >&2
	exit 2 ;;
esac
bench=$builddir/bench/bench_meta
if [ -z "$only" ] || [ "$only" = meta ]; then
	if [ ! -x "$bench" ]; then
		echo "run.sh: $bench not built (run 'make bench' in" \
			"$builddir)" >&2
		exit 1
	fi
	# The peer of the hashing figures; without it there is nothing to
	# compare.
	if ! command -v sha256sum >/dev/null 2>&1; then
		echo "run.sh: sha256sum not found (Debian package:" \
			"coreutils)" >&2
		exit 1
	fi
fi

# The value of "NAME = value" in the build's Makefile, which holds what
# configure decided (config.log holds the same, less directly).
mkvar() {
	sed -n "s/^$1 = //p" "$builddir/Makefile" 2>/dev/null | head -n 1
}

cpu=$(sed -n 's/^model name[[:space:]]*:[[:space:]]*//p' /proc/cpuinfo \
	2>/dev/null | head -n 1)
ncpu=$(getconf _NPROCESSORS_ONLN 2>/dev/null || echo '?')
if grep -qw sha_ni /proc/cpuinfo 2>/dev/null; then
	shani=yes
else
	shani=no
fi
gov=$(cat /sys/devices/system/cpu/cpu0/cpufreq/scaling_governor \
	2>/dev/null || echo 'n/a')
cc=$(mkvar CC)
cflags=$(mkvar CFLAGS)
ferry_cflags=$(mkvar FERRY_CFLAGS)
ferry_cppflags=$(mkvar FERRY_CPPFLAGS)
# Automake compiles with $(AM_CFLAGS) $(CFLAGS), in that order, so the
# last -O flag across FERRY_CFLAGS then CFLAGS is the one that applies.
opt=
for f in $ferry_cflags $cflags; do
	case $f in
	-O*) opt=$f ;;
	esac
done

echo "== Ferry benchmark (bench/run.sh) =="
echo "date:       $(date -u '+%Y-%m-%d %H:%M:%S UTC')"
echo "host:       $(uname -srm)"
echo "cpu:        ${cpu:-unknown} ($ncpu online), sha_ni: $shani," \
	"governor: $gov"
echo "load:       $(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null)" \
	"(other work on the machine skews figures)"
echo "build:      $builddir"
echo "compiler:   $($cc --version 2>/dev/null | head -n 1)"
echo "CFLAGS:     $cflags"
echo "AM_CFLAGS:  $ferry_cflags"
if [ -n "$ferry_cppflags" ]; then
	echo "CPPFLAGS:   $ferry_cppflags"
fi
echo "effective:  ${opt:-no -O flag (-O0)}"
case $opt in
''|-O0|-Og)
	echo "note:       not an optimised build: figures are not" \
		"representative (configure without flags gives -O2)" ;;
*)
	case " $ferry_cflags " in
	*" -O0 "*)
		echo "note:       AM_CFLAGS asks for -O0 but CFLAGS comes" \
			"later and wins: this build is $opt" ;;
	esac ;;
esac
echo "peer:       $(sha256sum --version 2>/dev/null | head -n 1)"
echo "args:       BENCH_ARGS=${BENCH_ARGS:-(defaults)}," \
	"BENCH_CLIENT_ARGS=${BENCH_CLIENT_ARGS:-(defaults)}," \
	"BENCH_SIGN_ARGS=${BENCH_SIGN_ARGS:-(defaults)}," \
	"BENCH_HTTP_ARGS=${BENCH_HTTP_ARGS:-(defaults)}," \
	"BENCH_PUBLISH_TARGETS=${BENCH_PUBLISH_TARGETS:-10000}," \
	"BENCH_MIRROR_ARGS=${BENCH_MIRROR_ARGS:-(defaults)}"
echo

# The arguments are split into words on purpose, but never globbed.
set -f
if [ -z "$only" ] || [ "$only" = meta ]; then
	# shellcheck disable=SC2086
	"$bench" ${BENCH_ARGS:-} || exit $?
	echo
fi
if [ -z "$only" ] || [ "$only" = client ]; then
	# shellcheck disable=SC2086
	sh "$here/client.sh" "$builddir" \
		${BENCH_CLIENT_ARGS:-} || exit $?
fi
if [ -z "$only" ] || [ "$only" = sign ]; then
	# shellcheck disable=SC2086
	sh "$here/sign.sh" "$builddir" \
		${BENCH_SIGN_ARGS:-} || exit $?
fi
if [ -z "$only" ] || [ "$only" = http ]; then
	[ -n "$only" ] || echo
	# shellcheck disable=SC2086
	sh "$here/http.sh" "$builddir" \
		${BENCH_HTTP_ARGS:-} || exit $?
fi
if [ -z "$only" ] || [ "$only" = publish ]; then
	[ -n "$only" ] || echo
	sh "$here/publish.sh" "$builddir" || exit $?
fi
if [ -z "$only" ] || [ "$only" = mirror ]; then
	[ -n "$only" ] || echo
	# shellcheck disable=SC2086
	sh "$here/mirror.sh" "$builddir" \
		${BENCH_MIRROR_ARGS:-} || exit $?
fi
if [ -z "$only" ] || [ "$only" = onion ]; then
	[ -n "$only" ] || echo
	sh "$here/onion.sh" "$builddir" || exit $?
fi
exit 0
