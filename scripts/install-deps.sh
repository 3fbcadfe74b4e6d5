#!/usr/bin/env bash
# Installs, from Debian's packages, what mybak's tests, demo and benchmark need and the machine lacks:
# the MariaDB server (with its ARCHIVE, BLACKHOLE and FEDERATED engine plugins) and client, zstd, sha256sum,
# openssl, time zone data, logrotate and ps (the contrib and process-list tests), and any extra
# `command=package` pairs given (e.g. `mydumper=mydumper`). Needs root when something is missing.
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive

missing=()
command -v mariadbd >/dev/null 2>&1 || [ -x /usr/sbin/mariadbd ] || missing+=(mariadb-server-core)
command -v mariadb-install-db >/dev/null 2>&1 || missing+=(mariadb-server-core)
command -v mariadb >/dev/null 2>&1 || missing+=(mariadb-client)
# The ARCHIVE, BLACKHOLE and FEDERATED engines the test fixtures use are plugins of mariadb-server.
[ -e /usr/lib/mysql/plugin/ha_archive.so ] || missing+=(mariadb-server)
command -v zstd >/dev/null 2>&1 || missing+=(zstd)
command -v sha256sum >/dev/null 2>&1 || missing+=(coreutils)
command -v openssl >/dev/null 2>&1 || missing+=(openssl)
[ -d /usr/share/zoneinfo ] || missing+=(tzdata)
command -v logrotate >/dev/null 2>&1 || [ -x /usr/sbin/logrotate ] || missing+=(logrotate)
command -v ps >/dev/null 2>&1 || missing+=(procps)
for pair in "$@"; do
    command -v "${pair%%=*}" >/dev/null 2>&1 || missing+=("${pair#*=}")
done
[ "${#missing[@]}" -eq 0 ] && exit 0

packages=$(printf '%s\n' "${missing[@]}" | sort -u | tr '\n' ' ')
if [ "$(id -u)" -ne 0 ]; then
    echo "missing packages: ${packages}(as root: apt-get install ${packages})" >&2
    exit 2
fi
echo "==> apt-get install ${packages}"
apt-get update -q
# shellcheck disable=SC2086 # one word per package is intended
apt-get install -y -q --no-install-recommends ${packages}
