#!/usr/bin/env bash
# Demo: throwaway server with sample data (fixtures/demo.sql) → mybak dump → sha256sum -c → show the dump.
# Everything lives in a temp dir that is removed (and the server stopped) on exit.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
repo=$(dirname "$here")
tmp=$(mktemp -d "${TMPDIR:-/tmp}/mybak-demo.XXXXXX")

cleanup() {
    "$here/start-server.sh" stop "$tmp/server" || true
    rm -rf "$tmp"
}
trap cleanup EXIT

"$here/install-deps.sh"

echo "==> starting a throwaway MariaDB in $tmp/server"
socket=$("$here/start-server.sh" start "$tmp/server")

echo "==> loading fixtures/demo.sql"
mariadb --no-defaults --binary-mode --socket="$socket" -uroot <"$repo/fixtures/demo.sql"

echo "==> cargo build --release"
(cd "$repo" && cargo build --release)
mybak="${CARGO_TARGET_DIR:-$repo/target}/release/mybak"

echo "==> mybak dump"
dump=$("$mybak" dump --no-defaults --socket "$socket" --user root --output-dir "$tmp/backups")
if [ -z "$dump" ] || [ ! -d "$dump" ]; then
    echo "mybak printed no dump directory (got '$dump')" >&2
    exit 1
fi
echo "dump directory: $dump"

echo "==> sha256sum -c SHA256SUMS"
(cd "$dump" && sha256sum -c SHA256SUMS)

echo "==> dump tree"
(cd "$dump" && find . -type f -printf '%10s  %p\n' | sort -k2)

echo "==> manifest.json (head)"
# The manifest is pretty-printed already; head reads the file itself, so no pipe can break.
head -n 40 "$dump/manifest.json"
