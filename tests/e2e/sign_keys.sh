#!/bin/sh
# ferry-sign key: generate, check, passwd and export on the real binary;
# key files checked against schemas/ and key ids against securesystemslib;
# refusals (existing files, wrong passphrase, altered files) leave every
# file byte for byte as it was; and the signer cannot use the network: it
# imports no socket function, links no network library, and its seccomp
# sandbox makes socket(2) fail even for code injected into the process.
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
echo "PASS: sign_keys"
