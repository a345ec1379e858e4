#!/usr/bin/env bash
# Installs PostgreSQL 15 (Debian's postgresql package) when it is missing:
# the tests of the shared state start a throwaway server from it
# (internal/pgtest). `make test` calls this, so a fresh machine needs nothing
# installed by hand.
set -euo pipefail
bindir=${PGTEST_BINDIR:-/usr/lib/postgresql/15/bin}
[ -x "$bindir/postgres" ] && exit 0
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
	echo "PostgreSQL 15 is missing: installing Debian's postgresql package"
	apt-get update -qq
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null
	exit 0
fi
echo "PostgreSQL 15 is missing ($bindir/postgres): install Debian's postgresql package (sudo apt-get install postgresql), or point PGTEST_BINDIR at its bin directory" >&2
exit 1
