#!/usr/bin/env bash
# Demo: build mybak, start a throwaway MariaDB with sample data (fixtures/demo.sql), dump it, check the
# checksums, verify it offline and by a test restore, restore it beside the original under another name,
# and list the dumps. The server is stopped and removed at the end; the dump directory is kept.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
repo=$(dirname "$here")
tmp=$(mktemp -d "${TMPDIR:-/tmp}/mybak-demo.XXXXXX")
keep="$tmp/backups"

cleanup() {
    "$here/start-server.sh" stop "$tmp/server" >/dev/null 2>&1 || true
    rm -rf "$tmp/server"
}
trap cleanup EXIT

"$here/install-deps.sh"

echo "==> cargo build --release"
(cd "$repo" && cargo build --release)
mybak="${CARGO_TARGET_DIR:-$repo/target}/release/mybak"

echo "==> starting a throwaway MariaDB in $tmp/server"
socket=$("$here/start-server.sh" start "$tmp/server")
conn=(--no-defaults --socket "$socket" --user root)

echo "==> loading fixtures/demo.sql"
mariadb --no-defaults --binary-mode --socket="$socket" -uroot <"$repo/fixtures/demo.sql"

echo "==> mybak dump"
dump=$("$mybak" --no-config dump "${conn[@]}" --output-dir "$keep")
if [ -z "$dump" ] || [ ! -d "$dump" ]; then
    echo "mybak printed no dump directory (got '$dump')" >&2
    exit 1
fi
echo "dump directory: $dump"

echo "==> sha256sum -c SHA256SUMS"
(cd "$dump" && sha256sum -c SHA256SUMS)

echo "==> dump tree"
(cd "$dump" && find . -type f -printf '%10s  %M  %p\n' | sort -k3)

echo "==> manifest.json (head)"
# The manifest is pretty-printed already; head reads the file itself, so no pipe can break.
head -n 30 "$dump/manifest.json"

echo "==> mybak verify (offline: hashes, decompression, statements, row counts)"
"$mybak" --no-config verify "$dump"

echo "==> mybak verify --restore-test (restore under temporary names, compare every table)"
"$mybak" --no-config verify "$dump" --restore-test "${conn[@]}"

echo "==> mybak restore --rename-database shop=shop_copy (beside the original)"
"$mybak" --no-config restore "$dump" "${conn[@]}" --rename-database shop=shop_copy
for db in shop shop_copy; do
    mariadb --no-defaults --socket="$socket" -uroot -N -e \
        "SELECT '$db', COUNT(*) FROM $db.customers UNION ALL SELECT '$db', COUNT(*) FROM $db.orders"
done

echo "==> mybak list"
"$mybak" --no-config list "$keep"

echo
echo "The dump is kept in $keep"
echo "Remove it with: rm -rf '$tmp'"
