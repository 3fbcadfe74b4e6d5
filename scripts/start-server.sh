#!/usr/bin/env bash
# Throwaway MariaDB server in a directory, with the same flags as the test harness (tests/common/server.rs),
# except that it listens on its unix socket only (no TCP port to collide with).
#
#   scripts/start-server.sh start DIR   install a datadir in DIR/data, start mariadbd, print the socket path
#   scripts/start-server.sh stop DIR    clean shutdown (SIGTERM, then SIGKILL after 60 s)
set -euo pipefail

usage() {
    echo "usage: $0 start|stop DIR" >&2
    exit 2
}

find_bin() {
    local name=$1 dir
    local IFS=:
    for dir in $PATH /usr/sbin /usr/libexec; do
        if [ -x "$dir/$name" ]; then
            printf '%s\n' "$dir/$name"
            return 0
        fi
    done
    echo "$name not found; install mariadb-server-core (apt-get install mariadb-server-core mariadb-client)" >&2
    return 1
}

start() {
    local dir=$1 install mariadbd client user i
    install=$(find_bin mariadb-install-db)
    mariadbd=$(find_bin mariadbd)
    client=$(find_bin mariadb)
    user=$(id -un)
    mkdir -p "$dir/tmp"
    dir=$(cd "$dir" && pwd)
    if ! "$install" --no-defaults --datadir="$dir/data" --auth-root-authentication-method=normal \
        --skip-test-db --user="$user" --innodb-buffer-pool-size=64M --innodb-log-file-size=16M \
        >"$dir/install.log" 2>&1; then
        cat "$dir/install.log" >&2
        return 1
    fi
    "$mariadbd" --no-defaults --datadir="$dir/data" --socket="$dir/mysqld.sock" --skip-networking \
        --log-bin=mariadb-bin --server-id=1 --max-allowed-packet=1G \
        --innodb-buffer-pool-size=64M --innodb-log-file-size=16M \
        --innodb-flush-log-at-trx-commit=2 --sync-binlog=0 --event-scheduler=OFF \
        --user="$user" --pid-file="$dir/mysqld.pid" --log-error="$dir/data/error.log" --tmpdir="$dir/tmp" \
        </dev/null >/dev/null 2>&1 &
    for i in $(seq 600); do
        if "$client" --no-defaults --socket="$dir/mysqld.sock" -uroot -e 'SELECT 1' >/dev/null 2>&1; then
            printf '%s\n' "$dir/mysqld.sock"
            return 0
        fi
        sleep 0.1
    done
    echo "mariadbd did not answer within 60 s (try $i); error log tail:" >&2
    tail -n 30 "$dir/data/error.log" >&2 || true
    return 1
}

stop() {
    local dir=$1 pid i
    [ -f "$dir/mysqld.pid" ] || return 0
    pid=$(cat "$dir/mysqld.pid")
    kill -TERM "$pid" 2>/dev/null || return 0
    for i in $(seq 600); do
        kill -0 "$pid" 2>/dev/null || return 0
        sleep 0.1
    done
    echo "mariadbd $pid ignored SIGTERM for 60 s (try $i); killing it" >&2
    kill -KILL "$pid" 2>/dev/null || true
}

[ $# -eq 2 ] || usage
case $1 in
start) start "$2" ;;
stop) stop "$2" ;;
*) usage ;;
esac
