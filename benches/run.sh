#!/usr/bin/env bash
# One command for the benchmark: builds mybak (release), makes sure mydumper, mariadb-dump, zstd and a
# MariaDB server are installed, then runs benches/bench.py (a throwaway server, generated data,
# alternated runs). Options: --scale N (data size, 1 = 8 x 500,000 rows), --runs K, --threads T.
set -euo pipefail
cd "$(dirname "$0")/.."

missing=()
command -v mydumper >/dev/null 2>&1 || missing+=(mydumper)
command -v mariadb-dump >/dev/null 2>&1 || missing+=(mariadb-client)
command -v mariadb-install-db >/dev/null 2>&1 || missing+=(mariadb-server-core)
command -v zstd >/dev/null 2>&1 || missing+=(zstd)
command -v python3 >/dev/null 2>&1 || missing+=(python3)
if [ "${#missing[@]}" -gt 0 ]; then
    if [ "$(id -u)" -ne 0 ]; then
        echo "missing: ${missing[*]} (apt-get install ${missing[*]})" >&2
        exit 2
    fi
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -q
    apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

cargo build --release --quiet
exec python3 benches/bench.py "$@"
