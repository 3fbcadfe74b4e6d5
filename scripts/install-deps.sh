#!/usr/bin/env bash
# Installs what mybak's tests, demo and benchmark need and the machine lacks. From Debian's packages: the
# MariaDB server (with its ARCHIVE, BLACKHOLE and FEDERATED engine plugins) and client, zstd, sha256sum,
# openssl, time zone data, logrotate, ps (the contrib and process-list tests), age (the encryption tests),
# python3 with venv (for the S3 test server) and any extra `command=package` pairs given (e.g. `mydumper=mydumper`); needs root when
# something is missing. Then, from PyPI, the S3-compatible test server `moto[server]` at the pinned
# MOTO_VERSION in a virtualenv at .venv-moto/ in the repository (git-ignored; tests/common/s3.rs runs its
# bin/moto_server), made only when missing or of another version.
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive

MOTO_VERSION=5.2.1
PYTHON=/usr/bin/python3
VENV="$(cd "$(dirname "$0")/.." && pwd)/.venv-moto"

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
# age and age-keygen: the encryption tests make keys and decrypt dump files with the real tool.
command -v age-keygen >/dev/null 2>&1 || missing+=(age)
# Debian's python3 makes virtualenvs only with python3-venv (ensurepip); it pulls in python3 itself.
"$PYTHON" -c 'import venv, ensurepip' >/dev/null 2>&1 || missing+=(python3-venv)
for pair in "$@"; do
    command -v "${pair%%=*}" >/dev/null 2>&1 || missing+=("${pair#*=}")
done

if [ "${#missing[@]}" -gt 0 ]; then
    packages=$(printf '%s\n' "${missing[@]}" | sort -u | tr '\n' ' ')
    if [ "$(id -u)" -ne 0 ]; then
        echo "missing packages: ${packages}(as root: apt-get install ${packages})" >&2
        exit 2
    fi
    echo "==> apt-get install ${packages}"
    apt-get update -q
    # shellcheck disable=SC2086 # one word per package is intended
    apt-get install -y -q --no-install-recommends ${packages}
fi

# The venv is current when its python runs and has moto (and its server extra, flask) at MOTO_VERSION.
moto_current() {
    [ -x "$VENV/bin/moto_server" ] &&
        "$VENV/bin/python" - "$MOTO_VERSION" >/dev/null 2>&1 <<'PY'
import sys
from importlib.metadata import version
sys.exit(0 if version("moto") == sys.argv[1] and version("flask") else 1)
PY
}
if ! moto_current; then
    echo "==> python3 -m venv ${VENV}; pip install moto[server]==${MOTO_VERSION}"
    "$PYTHON" -m venv --clear "$VENV"
    "$VENV/bin/python" -m pip install -q --disable-pip-version-check --root-user-action=ignore \
        "moto[server]==${MOTO_VERSION}"
    moto_current || { echo "moto ${MOTO_VERSION} not usable in ${VENV}" >&2; exit 1; }
fi
