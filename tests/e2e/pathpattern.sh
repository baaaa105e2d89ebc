#!/bin/sh
# Delegation path patterns match exactly as python-tuf matches them.
set -eu
top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}
exec /usr/bin/python3 "$top_srcdir/tests/e2e/pathpattern_python.py" "${FERRY_TUFTOOL:?}"
