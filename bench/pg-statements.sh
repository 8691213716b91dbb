#!/usr/bin/env bash
# What PostgreSQL runs for the delivery path: one CallMedia node on a throwaway cluster with pg_stat_statements
# loaded mints tokens (bench/issue.lua), then redeems them with a 40,521-byte file (bench/redeem-minted.lua, 8 s);
# the statistics are reset between the two, so the table printed (calls, total execution time, rows, statement) is
# the redemption's alone: statements per redemption, and which of them cost the server most.
# Usage: bash bench/pg-statements.sh <published callmedia folder> <work-dir>
# Needs the postgresql package (pg_stat_statements comes with it), wrk and curl.
set -euo pipefail
cd "$(dirname "$0")/.."
app=$1 work=$2
cm=$app/callmedia
. bench/lib.sh
mkdir -p "$work"
eval "$(bash scripts/pg.sh start)"
pgdir=$CALLMEDIA_TEST_PGDIR
pids=()
cleanup() { kill "${pids[@]}" 2>/dev/null || true; bash scripts/pg.sh stop "$pgdir"; }
trap cleanup EXIT
echo "shared_preload_libraries = 'pg_stat_statements'" >> "$CALLMEDIA_TEST_PGDATA/postgresql.conf"
owner=(); [[ $(id -u) -eq 0 ]] && owner=(runuser -u postgres --)
"${owner[@]}" "$CALLMEDIA_TEST_PGBIN/pg_ctl" -D "$CALLMEDIA_TEST_PGDATA" -l "$pgdir/log" -w restart >/dev/null
pgport=$(echo "$CALLMEDIA_TEST_POSTGRES" | sed 's/.*Port=\([0-9]*\).*/\1/')
sql() { "$CALLMEDIA_TEST_PGBIN/psql" "host=127.0.0.1 port=$pgport user=postgres dbname=postgres" -q "$@"; }
sql -c "CREATE EXTENSION pg_stat_statements"
serve_env=()
serve_one_call 5 "--ConnectionStrings:CallMedia=$CALLMEDIA_TEST_POSTGRES"
wrk -t2 -c32 -d15s -s bench/issue.lua "$url" -- "$session" "$id" "$work/tokens" | grep '^issued'
sql -c "SELECT pg_stat_statements_reset()" >/dev/null
wrk -t2 -c32 -d8s -s bench/redeem-minted.lua "$url" -- "$session" "$id" "$work/tokens" 2 40521 | grep '^redeemed'
sql -c "SELECT calls, round(total_exec_time::numeric, 1) AS exec_ms, rows, left(regexp_replace(query, '\s+', ' ', 'g'), 100) AS statement
        FROM pg_stat_statements WHERE query NOT LIKE '%pg_stat_statements%' ORDER BY calls DESC LIMIT 25"
