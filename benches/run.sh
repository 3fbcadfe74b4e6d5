#!/usr/bin/env bash
# One command for the benchmark: builds mybak (release), makes sure mydumper, mariadb-dump, zstd and a
# MariaDB server are installed, then runs benches/bench.py (a throwaway server, generated data,
# alternated runs). Options: --scale N (data size, 1 = 8 x 500,000 rows), --runs K, --threads T,
# --eta, --scaling 1,2,4,8, --data-dir DIR; see BENCHMARKS.md "Reproduce" or bench.py --help.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/install-deps.sh mydumper=mydumper mariadb-dump=mariadb-client python3=python3

cargo build --release --quiet
exec python3 benches/bench.py "$@"
