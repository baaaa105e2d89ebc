#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
#
# Cross-check ferry-tuftool against securesystemslib (canonical JSON, key
# ids, ed25519 / ecdsa-sha2-nistp256 / rsassa-pss-sha256 signatures).
# Automake test: exit 0 pass, 1 fail, 77 skip.
#
# Needs FERRY_TUFTOOL (path of the ferry-tuftool binary) and a python3 that
# can import securesystemslib (Debian 12: python3-securesystemslib); that is
# /usr/bin/python3 unless FERRY_SSLIB_PYTHON names another.  Missing peers
# skip the test, or fail it when FERRY_REQUIRE_PEERS=1.

top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}
python=${FERRY_SSLIB_PYTHON:-/usr/bin/python3}
script=$top_srcdir/tests/e2e/sslib_crosscheck.py

missing() {
    if [ "${FERRY_REQUIRE_PEERS:-0}" = 1 ]; then
        echo "sslib.sh: FAIL: $1 (FERRY_REQUIRE_PEERS=1)" >&2
        exit 1
    fi
    echo "sslib.sh: SKIP: $1"
    exit 77
}

if [ -z "${FERRY_TUFTOOL:-}" ]; then
    missing "FERRY_TUFTOOL is not set"
fi
if [ ! -x "$FERRY_TUFTOOL" ]; then
    echo "sslib.sh: FAIL: FERRY_TUFTOOL=$FERRY_TUFTOOL is not an executable file" >&2
    exit 1
fi
if [ ! -f "$script" ]; then
    echo "sslib.sh: FAIL: $script not found (top_srcdir=$top_srcdir)" >&2
    exit 1
fi
if [ ! -x "$python" ] ||
   ! "$python" -c 'import securesystemslib.keys, securesystemslib.formats, cryptography, nacl.signing' \
       >/dev/null 2>&1; then
    missing "$python cannot import securesystemslib (with cryptography and nacl)"
fi

tmp=$(mktemp -d "${TMPDIR:-/tmp}/ferry-sslib.XXXXXX") || exit 1
# shellcheck disable=SC2317 # called from the EXIT trap
cleanup() {
    if [ "${FERRY_KEEP_TMP:-0}" = 1 ]; then
        echo "sslib.sh: kept $tmp"
    else
        rm -rf "$tmp"
    fi
}
trap cleanup EXIT
trap 'exit 1' HUP INT TERM

"$python" "$script" "$FERRY_TUFTOOL" "$tmp"
rc=$?
case $rc in
    0) exit 0 ;;
    77) missing "securesystemslib import failed in $script" ;;
    *) exit 1 ;;
esac
