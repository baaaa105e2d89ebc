#!/bin/sh
# Regenerate the test list and the build system (needs autoconf, automake,
# autoconf-archive, libtool's aclocal files and pkg-config).
set -eu
cd "$(dirname "$0")"
build-aux/gen-tests-am.sh . > tests/tests.am.new
if cmp -s tests/tests.am.new tests/tests.am 2>/dev/null; then
	rm tests/tests.am.new
else
	mv tests/tests.am.new tests/tests.am
fi
exec autoreconf -fi
