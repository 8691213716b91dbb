#!/usr/bin/env bash
# A throwaway PostgreSQL cluster for the tests, in a temp folder, on a free port of 127.0.0.1.
#   eval "$(bash scripts/pg.sh start)"   prints the exports: CALLMEDIA_TEST_POSTGRES, CALLMEDIA_TEST_PGDATA, CALLMEDIA_TEST_PGBIN
#   bash scripts/pg.sh stop <dir>        stops it and deletes the folder
# PostgreSQL refuses to run as root, so as root the cluster belongs to the 'postgres' user.
set -euo pipefail
bin=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)
as_owner() { if [[ $(id -u) -eq 0 ]]; then runuser -u postgres -- "$@"; else "$@"; fi; }

case "${1:-}" in
  start)
    dir=$(mktemp -d /tmp/callmedia-pg.XXXXXX)
    [[ $(id -u) -eq 0 ]] && chown postgres "$dir"
    port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
    as_owner "$bin/initdb" -D "$dir/data" -A trust -U postgres -E UTF8 >/dev/null
    # In the configuration file, so a plain `pg_ctl start` (a test that restarts the server) keeps them.
    cat >> "$dir/data/postgresql.conf" <<CONF
port = $port
unix_socket_directories = '$dir'
listen_addresses = '127.0.0.1'
max_connections = 1000
fsync = off
synchronous_commit = off
full_page_writes = off
CONF
    as_owner "$bin/pg_ctl" -D "$dir/data" -l "$dir/log" -w start >/dev/null
    echo "export CALLMEDIA_TEST_POSTGRES='Host=127.0.0.1;Port=$port;Username=postgres;Database=postgres'"
    echo "export CALLMEDIA_TEST_PGDATA='$dir/data'"
    echo "export CALLMEDIA_TEST_PGBIN='$bin'"
    echo "export CALLMEDIA_TEST_PGDIR='$dir'"
    ;;
  stop)
    dir=${2:?usage: pg.sh stop <dir>}
    as_owner "$bin/pg_ctl" -D "$dir/data" -m immediate stop >/dev/null 2>&1 || true
    rm -rf "$dir"
    ;;
  *)
    echo "usage: pg.sh start | stop <dir>" >&2
    exit 2
    ;;
esac
