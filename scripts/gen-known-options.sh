#!/usr/bin/env bash
# Prints the body of `KNOWN_OPTIONS` in src/optfile/known.rs: the long option names of the
# installed `mariadb` and `mariadb-dump` (from their --help output), plus the MySQL 8
# client and mysqldump options listed below (MySQL 8.0/8.4 reference manual, "mysql Client
# Options", "mysqldump Option Summary", "Command Options for Connection Establishment";
# the ones MariaDB lacks). Names are normalised as `normalize_key` does (`_` -> `-`) and
# sorted bytewise, so `binary_search` works. Run once, paste the output, review the diff.
#
# Not listed: the options handled before option files are parsed (`--no-defaults`,
# `--defaults-file`, `--defaults-extra-file`, `--defaults-group-suffix`, `--print-defaults`):
# the stock clients reject them inside an option file.
set -euo pipefail
export LC_ALL=C

mysql8=(
    # Connection, authentication and TLS (sslopt-longopts.h, caching_sha2_passwordopt-longopts.h,
    # multi_factor_passwordopt-longopts.h and the authentication plugin option headers).
    bind-address compression-algorithms zstd-compression-level default-auth plugin-dir
    enable-cleartext-plugin get-server-public-key server-public-key-path login-path
    password1 password2 password3 pipe shared-memory-base-name protocol dns-srv-name
    network-namespace ssl-mode ssl-fips-mode tls-ciphersuites tls-version tls-sni-servername
    ssl-session-data ssl-session-data-continue-on-failed-reuse
    plugin-authentication-kerberos-client-mode
    plugin-authentication-webauthn-client-preserve-privacy
    authentication-oci-client-config-profile oci-config-file
    fido-register-factor register-factor telemetry-client
    # mysql client.
    commands system-command skip-system-command histignore syslog load-data-local-dir
    show-warnings binary-as-hex
    # mysqldump.
    column-statistics set-gtid-purged network-timeout ignore-error output-as-version
    mysqld-long-query-time show-create-skip-secondary-engine
    skip-generated-invisible-primary-key apply-replica-statements delete-source-logs
    dump-replica include-source-host-port source-data
)

help_names() {
    # Option lines of --help are indented by two spaces: `  -u, --user=name` or `  --quick`.
    "$@" --no-defaults --help --verbose 2>/dev/null |
        grep -o -- '^  \(-., \)\?--[A-Za-z0-9_-]*' | sed 's/.*--//'
}

{
    help_names mariadb
    help_names mariadb-dump
    printf '%s\n' "${mysql8[@]}"
} | tr _ - | sort -u | sed 's/.*/    "&",/'
