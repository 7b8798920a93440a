#!/bin/sh
# Make sure the team-mode test pass can run: Debian's PostgreSQL server binaries.
# Non-interactive; installs with apt-get (as root) only when no initdb is found.
set -eu

find_initdb() {
    for candidate in /usr/lib/postgresql/*/bin/initdb; do
        if [ -x "$candidate" ]; then
            echo "$candidate"
            return 0
        fi
    done
    command -v initdb 2>/dev/null || return 1
}

if initdb_path=$(find_initdb); then
    echo "PostgreSQL: $("$initdb_path" --version)"
    exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
    echo "PostgreSQL is not installed and this is not root: run 'apt-get install postgresql' as root" >&2
    exit 1
fi

echo "PostgreSQL not found: installing Debian's postgresql"
export DEBIAN_FRONTEND=noninteractive
apt-get update -q </dev/null
apt-get install -y -q --no-install-recommends postgresql </dev/null
# Debian's package starts a system cluster; the tests run their own private one.
if command -v pg_lsclusters >/dev/null 2>&1; then
    pg_lsclusters -h 2>/dev/null | while read -r version name _rest; do
        pg_ctlcluster "$version" "$name" stop 2>/dev/null || true
    done
fi

initdb_path=$(find_initdb) || { echo "postgresql installed but no initdb found" >&2; exit 1; }
echo "PostgreSQL: $("$initdb_path" --version)"
