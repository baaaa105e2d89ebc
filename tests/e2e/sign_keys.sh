#!/bin/sh
# ferry-sign key: generate, check, passwd and export on the real binary;
# key files checked against schemas/ and key ids against securesystemslib;
# refusals (existing files, wrong passphrase, altered files) leave every
# file byte for byte as it was; the signer cannot use the network: it
# imports no socket function, links no network library, and its seccomp
# sandbox makes socket(2) fail even for code injected into the process;
# and once key generate, key check (with the right passphrase or a wrong
# one), key passwd and sign are done, no copy of the key's seed or of a
# passphrase is left anywhere in the process's memory.
set -eu
top_builddir=${top_builddir:-$(pwd)}
top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}
sign=$top_builddir/ferry-sign
tool=${FERRY_TUFTOOL:-$top_builddir/ferry-tuftool}
PYTHON=/usr/bin/python3
tmp=$(mktemp -d "${TMPDIR:-/tmp}/ferry-sign-keys.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
trap 'exit 1' INT TERM HUP
fail() { echo "FAIL: $*"; exit 1; }
cd "$tmp"

# run EXPECTED-STATUS CMD...: run, keep stdout/stderr in out/err.
run() {
	want=$1
	shift
	set +e
	"$@" >out 2>err
	got=$?
	set -e
	[ "$got" -eq "$want" ] ||
	    fail "$* exited $got, not $want: $(cat err)"
}
has() { grep -q -- "$1" "$2" || fail "$2 lacks '$1': $(cat "$2")"; }
same() { cmp -s "$1" "$2" || fail "$1 changed"; }

echo "== help"
run 0 "$sign" --help
has "key" out
run 0 "$sign" key --help
has "never taken from the command line" out
run 2 "$sign"
run 2 "$sign" nosuch
run 2 "$sign" key generate --passphrase secret a.key
run 2 "$sign" key generate --kdf cheap a.key
has "must be sensitive, moderate or interactive" err
run 2 "$sign" key generate --passphrase-fd x a.key
has "not a file descriptor" err
run 2 "$sign" key check --label x a.key
has "key check: --label does not apply" err
run 2 "$sign" key export --passphrase-fd 0 a.key
has "key export: --passphrase-fd does not apply" err

echo "== generate"
printf 'correct horse battery\n' >pw
run 0 "$sign" key generate --kdf interactive --label "alice (root)" \
    --passphrase-fd 3 alice.key 3<pw
keyid=$(cut -d' ' -f1 out)
[ "$(stat -c %a alice.key)" = 600 ] || fail "alice.key mode $(stat -c %a alice.key)"
[ "$(stat -c %a alice.pub)" = 644 ] || fail "alice.pub mode"
grep -q "\"keyid\":\"$keyid\"" alice.pub || fail "alice.pub keyid"
has "wrote alice.key (private, encrypted) and alice.pub" err
# The key id, as securesystemslib computes it from the public key.
if [ -x "$PYTHON" ] && "$PYTHON" -c 'import securesystemslib' 2>/dev/null; then
	"$PYTHON" - alice.pub "$keyid" <<'EOF' || fail "key id differs from securesystemslib's"
import hashlib, json, sys
from securesystemslib.formats import encode_canonical
k = json.load(open(sys.argv[1]))
del k["keyid"]
want = hashlib.sha256(encode_canonical(k).encode()).hexdigest()
sys.exit(0 if want == sys.argv[2] else 1)
EOF
	echo "key id matches securesystemslib"
else
	echo "(securesystemslib not installed: key id cross-check skipped)"
fi
if [ -x "$PYTHON" ] && "$PYTHON" -c 'import jsonschema' 2>/dev/null; then
	"$PYTHON" "$top_srcdir/tests/e2e/schema_check.py" \
	    "$top_srcdir/schemas" alice.key alice.pub || fail "schema"
	sed 's/"opslimit":2/"opslimit":1/' alice.key >weak.key
	"$PYTHON" "$top_srcdir/tests/e2e/schema_check.py" \
	    "$top_srcdir/schemas" weak.key >out && fail "weak KDF validated"
	has "/kdf/opslimit" out
fi
# No passphrase from a terminal when there is none.
if command -v setsid >/dev/null; then
	run 1 setsid -w "$sign" key generate --kdf interactive b.key </dev/null
	has "passphrase-fd" err
	[ ! -e b.key ] && [ ! -e b.pub ] || fail "b.key written without a passphrase"
fi

echo "== refusals leave files alone"
cp alice.key alice.key.orig
cp alice.pub alice.pub.orig
run 1 "$sign" key generate --kdf interactive --passphrase-fd 3 alice.key 3<pw
has "already exists" err
same alice.key alice.key.orig
: >bob.pub
run 1 "$sign" key generate --kdf interactive --passphrase-fd 3 bob.key 3<pw
has "bob.pub: already exists" err
[ ! -e bob.key ] || fail "bob.key written though bob.pub existed"
printf 'wrong\n' >bad
run 1 "$sign" key check --passphrase-fd 3 alice.key 3<bad
has "alice.key: wrong passphrase, or the key file was altered" err
printf 'wrong\nnew one\n' >badpw
run 1 "$sign" key passwd --passphrase-fd 3 alice.key 3<badpw
same alice.key alice.key.orig
run 0 "$sign" key check --passphrase-fd 3 alice.key 3<pw
has "$keyid: the passphrase opens it" out

echo "== altered key files"
# A label, a cost parameter, a ciphertext digit: each breaks decryption.
sed 's/alice (root)/mallory (root)/' alice.key >t1.key
sed 's/"memlimit":67108864/"memlimit":67109888/' alice.key >t2.key
sed 's/"ciphertext":"0/"ciphertext":"Z/; s/"ciphertext":"[1-9a-f]/"ciphertext":"0/
    s/"ciphertext":"Z/"ciphertext":"1/' alice.key >t3.key
for t in t1 t2 t3; do
	cmp -s alice.key $t.key && fail "$t.key is not altered"
	run 1 "$sign" key check --passphrase-fd 3 $t.key 3<pw
	has "$t.key: wrong passphrase, or the key file was altered" err
done
sed 's/"format":1/"format":2/' alice.key >t4.key
run 1 "$sign" key check --passphrase-fd 3 t4.key 3<pw
has "t4.key: format: this version reads format 1 only" err
sed 's/"memlimit":67108864/"memlimit":1099511627776/' alice.key >t5.key
run 1 "$sign" key check --passphrase-fd 3 t5.key 3<pw
has "t5.key: kdf.memlimit" err
head -c 100 alice.key >t6.key
run 1 "$sign" key check --passphrase-fd 3 t6.key 3<pw
has "t6.key" err
run 1 "$sign" key export nosuch.key
has "nosuch.key" err

echo "== passwd"
printf 'correct horse battery\nstaple\n' >pw2
run 0 "$sign" key passwd --passphrase-fd 3 alice.key 3<pw2
cmp -s alice.key alice.key.orig && fail "passwd did not rewrite alice.key"
[ "$(stat -c %a alice.key)" = 600 ] || fail "mode after passwd"
grep -q '"label":"alice (root)"' alice.key || fail "label lost"
grep -q "\"keyid\":\"$keyid\"" alice.key || fail "keyid changed"
run 1 "$sign" key check --passphrase-fd 3 alice.key 3<pw
printf 'staple\n' >pw3
run 0 "$sign" key check --passphrase-fd 3 alice.key 3<pw3
# The new passphrase from a descriptor of its own, and a new cost.
printf 'a third one\n' >pw4
run 0 "$sign" key passwd --kdf moderate --passphrase-fd 3 \
    --new-passphrase-fd 4 alice.key 3<pw3 4<pw4
grep -q '"opslimit":3' alice.key || fail "--kdf moderate not applied"
run 0 "$sign" key check --passphrase-fd 3 alice.key 3<pw4
ls -a | grep -q '\.tmp' && fail "temporary file left: $(ls -a)"

echo "== export"
run 0 "$sign" key export alice.key
cmp -s out alice.pub.orig || {
	# export ends with a newline; the .pub file need not.
	printf '%s\n' "$(cat alice.pub.orig)" | cmp -s out - ||
	    fail "export differs from alice.pub"
}
run 0 "$sign" key export -o copy.pub alice.key
cmp -s copy.pub alice.pub.orig || fail "export -o differs from alice.pub"

echo "== the default cost is libsodium's sensitive level"
run 0 "$sign" key generate --passphrase-fd 3 sens.key 3<pw
grep -q '"opslimit":4' sens.key && grep -q '"memlimit":1073741824' sens.key ||
    fail "sens.key: not the sensitive level: $(cat sens.key)"
run 0 "$sign" key check --passphrase-fd 3 sens.key 3<pw

echo "== no network"
# Imports: none of the socket calls, no network library.
nets='socket|socketpair|connect|bind|listen|accept|accept4|sendto|sendmsg|recvfrom|recvmsg|getaddrinfo|gethostbyname|gethostbyname2|getnameinfo'
nm -D --undefined-only "$sign" >imports || fail "nm -D $sign"
[ -s imports ] || fail "nm -D listed nothing for $sign"
if grep -Ew "($nets)(@.*)?$" imports; then
	fail "ferry-sign imports a socket function"
fi
readelf -d "$sign" | grep NEEDED >needed || fail "readelf -d $sign"
if grep -Ei 'libcurl|libmicrohttpd|libgit2|libssl|libgnutls|libtor' needed; then
	fail "ferry-sign links a network library"
fi
# The same checks see them in the client, which does use the network:
# ferry needs libcurl, and libcurl imports socket and connect.
readelf -d "$top_builddir/ferry" | grep -qi libcurl ||
    fail "the NEEDED check cannot see libcurl in ferry"
curl_so=$(ldd "$top_builddir/ferry" | awk '/libcurl/ { print $3; exit }')
[ -n "$curl_so" ] || fail "ldd does not resolve libcurl for ferry"
nm -D --undefined-only "$curl_so" | grep -Ew "($nets)(@.*)?$" >curlnet ||
    fail "the import check sees no socket call in $curl_so"
grep -qw connect curlnet || fail "the import check misses connect in $curl_so"

# The sandbox: code run inside ferry-sign after main (a destructor of a
# preloaded library) cannot make a socket; the same library in another
# program can, which shows the library itself works.
CC=${CC:-cc}
if command -v "$CC" >/dev/null 2>&1; then
	cat >shim.c <<'EOF'
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
__attribute__((destructor)) static void
probe(void)
{
	const char *out = getenv("SHIM_OUT");
	int s = socket(AF_INET, SOCK_STREAM, 0);
	FILE *f;

	if (out == NULL || (f = fopen(out, "w")) == NULL)
		return;
	fprintf(f, "%s\n", s >= 0 ? "socket ok" : strerror(errno));
	fclose(f);
	if (s >= 0)
		close(s);
}
EOF
	"$CC" -shared -fPIC -o shim.so shim.c || fail "cannot build the probe"
	SHIM_OUT=$tmp/control LD_PRELOAD=$tmp/shim.so /bin/true
	has "socket ok" control
	SHIM_OUT=$tmp/probe ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0 \
	    LD_PRELOAD=$tmp/shim.so "$sign" --help >/dev/null
	[ -s probe ] || fail "the probe did not run in ferry-sign"
	has "Permission denied" probe
	echo "sandbox: socket(2) in ferry-sign: $(cat probe)"
else
	echo "(no C compiler: sandbox probe skipped)"
fi

echo "== no secret left in memory"
# tests/e2e/secret_probe.c, preloaded, reads all of ferry-sign's memory
# as it exits (after main has returned) and counts the copies of secrets
# it is given masked: a random mask and the secret XOR the mask, so that
# no secret is ever in the environment.  The seed is never written down
# at all: it is the XOR of two random halves, from which the probe makes
# the key that key generate writes.  The control is the key file's name,
# 64 random hex digits that the process holds in its arguments.
rand_hex() { od -An -v -N"$1" -tx1 /dev/urandom | tr -d ' \n'; }
ascii_hex() { printf %s "$1" | od -An -v -tx1 | tr -d ' \n'; }
xor_hex() {
	a=$1 b=$2 x=
	while [ -n "$a" ]; do
		x=$x$(printf %02x $((0x${a%"${a#??}"} ^ 0x${b%"${b#??}"})))
		a=${a#??} b=${b#??}
	done
	printf %s "$x"
}
# masked NAME TEXT: the probe's NAME:MASK:X for the bytes of TEXT.
masked() {
	h=$(ascii_hex "$2")
	m=$(rand_hex $((${#h} / 2)))
	printf '%s:%s:%s' "$1" "$m" "$(xor_hex "$h" "$m")"
}
# probed WANT NAME SECRETS CMD...: run CMD under the probe; every secret
# in SECRETS but ctl must be nowhere, whole or in part, readable or not.
probed() {
	want=$1 name=$2 secrets=$3
	shift 3
	rm -f "$name.scan"
	run "$want" env PROBE_OUT="$tmp/$name.scan" PROBE_SECRETS="$secrets" \
	    ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0 \
	    LD_PRELOAD="$tmp/probe.so" "$@"
	[ -s "$name.scan" ] || fail "$name: the probe did not report"
	! grep '^error' "$name.scan" || fail "$name: the probe could not scan"
	# The scan ran inside the sandbox, and read the stack and the heap.
	has "^dumpable 0 seccomp 2$" "$name.scan"
	grep -q '^scanned [0-9]\{7,\} stack 1 heap 1$' "$name.scan" ||
	    fail "$name: the scan read too little: $(cat "$name.scan")"
	n=0
	for s in $secrets; do n=$((n + 1)); done
	[ "$(grep -c ' found ' "$name.scan")" -eq "$n" ] ||
	    fail "$name: the probe did not take every secret"
	grep -q '^ctl found [1-9]' "$name.scan" ||
	    fail "$name: the probe does not see the control: $(cat "$name.scan")"
	if grep -v '^ctl ' "$name.scan" | grep ' found ' |
	    grep -v ' found 0 hidden 0 stray 0$' >/dev/null; then
		fail "$name: a secret left in memory: $(cat "$name.scan")"
	fi
	echo "$name: no secret left in $(sed -n 's/^scanned \([0-9]*\).*/\1/p' \
	    "$name.scan") bytes"
}
if command -v "$CC" >/dev/null 2>&1 &&
    "$CC" -shared -fPIC -o probe.so "$top_srcdir/tests/e2e/secret_probe.c" \
    $(pkg-config --cflags --libs libsodium 2>/dev/null || echo -lsodium) \
    -ldl 2>probe.err; then
	seed="seed:$(rand_hex 32):$(rand_hex 32)"
	ctl=$(rand_hex 32)
	pass=$(rand_hex 32)
	pass2=$(rand_hex 32)
	wrong=$(rand_hex 32)
	printf '%s\n' "$pass" >mpw
	printf '%s\n%s\n' "$pass" "$pass2" >mpw2
	printf '%s\n' "$pass2" >mpw3
	printf '%s\n' "$wrong" >mbad
	mk=k$ctl.key
	mp=$(masked pass "$pass")
	mp2=$(masked pass2 "$pass2")
	mc=$(masked ctl "$ctl")
	probed 0 generate "$seed $mp $mc" \
	    "$sign" key generate --kdf interactive --passphrase-fd 3 "$mk" 3<mpw
	# The key written is the one made from the seed.
	pk=$(sed -n 's/^keypair //p' generate.scan)
	[ -n "$pk" ] || fail "the probe did not make the key"
	grep -q "\"public\":\"$pk\"" "k$ctl.pub" ||
	    fail "k$ctl.pub is not the key made from the seed"
	probed 0 check "$seed $mp $mc" \
	    "$sign" key check --passphrase-fd 3 "$mk" 3<mpw
	probed 1 wrong "$seed $mp $(masked wrong "$wrong") $mc" \
	    "$sign" key check --passphrase-fd 3 "$mk" 3<mbad
	probed 0 passwd "$seed $mp $mp2 $mc" \
	    "$sign" key passwd --passphrase-fd 3 "$mk" 3<mpw2
	run 0 "$sign" init -C mws --key root="k$ctl.pub" \
	    --key targets="k$ctl.pub" --key snapshot="k$ctl.pub" \
	    --key timestamp="k$ctl.pub"
	run 0 "$sign" request -C mws -o mreq.json
	probed 0 sign "$seed $mp2 $mc" \
	    "$sign" sign --key "$mk" --passphrase-fd 3 -o msig.json mreq.json \
	    3<mpw3
	has '"sig"' msig.json
else
	echo "(no C compiler or no libsodium headers: memory probe skipped:" \
	    "$(cat probe.err 2>/dev/null))"
fi
echo "PASS: sign_keys"
