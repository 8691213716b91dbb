#!/usr/bin/env bash
# Call search and token issue latency at scale, on PostgreSQL and on SQLite, in one run on this machine:
# loads N generated couples into each (PostgreSQL: one INSERT ... SELECT over generate_series; SQLite: one
# transaction over a recursive CTE; indexes dropped during the load and rebuilt after), prints the query plans and
# p50/p99 of each search and of a token issue (TokenService alone, and the API path below HTTP).
# Usage: nice -n 10 bash bench/search.sh [couples=1000000] [samples=200] [work-dir]
#   BENCH_DATABASES="sqlite" to run one database only
set -euo pipefail
cd "$(dirname "$0")/.."
couples=${1:-1000000}
samples=${2:-200}
work=${3:-$(mktemp -d /tmp/callmedia-search.XXXXXX)}
mkdir -p "$work"
dotnet build bench/SearchBench -c Release -v quiet -o "$work/bin" >/dev/null
bench="$work/bin/SearchBench"

eval "$(bash scripts/pg.sh start)"
trap 'bash scripts/pg.sh stop "$CALLMEDIA_TEST_PGDIR"' EXIT
pg=(--CallMedia:Data="$work/pg" --ConnectionStrings:CallMedia="$CALLMEDIA_TEST_POSTGRES;Command Timeout=0")
lite=(--CallMedia:Data="$work/sqlite")

for db in ${BENCH_DATABASES:-postgres sqlite}; do
  if [[ $db == postgres ]]; then cfg=("${pg[@]}"); else cfg=("${lite[@]}"); fi
  echo "== $db"
  "$bench" load "$couples" "${cfg[@]}"
  "$bench" explain 0 "${cfg[@]}"
  "$bench" measure "$samples" "${cfg[@]}"
done
