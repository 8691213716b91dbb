#!/usr/bin/env bash
# Runs every test (unit and integration, against the real server, ffmpeg and SQLite) and ends with one line:
#   N passed, N failed, N skipped
set -uo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh --test || { echo "setup failed"; echo "0 passed, 1 failed"; exit 1; }

results=$(mktemp -d)
trap 'rm -rf "$results"' EXIT

status=0
dotnet format --verify-no-changes || { echo "test: code is not formatted (run 'dotnet format')"; status=1; }
dotnet build -c Release -warnaserror || { echo "0 passed, 1 failed"; exit 1; }
# A throwaway PostgreSQL cluster: the integration tests run once on SQLite and once on PostgreSQL.
pg_env=$(bash scripts/pg.sh start) || { echo "test: could not start PostgreSQL"; echo "0 passed, 1 failed"; exit 1; }
eval "$pg_env"
trap 'bash scripts/pg.sh stop "$CALLMEDIA_TEST_PGDIR"; rm -rf "$results"' EXIT

dotnet test tests/CallMedia.UnitTests -c Release --no-build --logger "trx;LogFileName=unit.trx" --results-directory "$results" || status=1
for database in sqlite postgres; do
  CALLMEDIA_TEST_DATABASE=$database dotnet test tests/CallMedia.IntegrationTests -c Release --no-build \
    --logger "trx;LogFileName=integration-$database.trx" --results-directory "$results" || status=1
done

passed=0; failed=0; skipped=0
for trx in "$results"/*.trx; do
  [[ -f "$trx" ]] || continue
  counters=$(grep -o '<Counters [^>]*>' "$trx")
  get() { echo "$counters" | grep -o " $1=\"[0-9]*\"" | grep -o '[0-9]*'; }
  passed=$((passed + $(get passed)))
  failed=$((failed + $(get failed) + $(get error) + $(get timeout) + $(get aborted)))
  skipped=$((skipped + $(get total) - $(get executed)))
done

if ((passed + failed == 0)); then
  echo "test: no test ran"
  status=1
fi
if ((status != 0 && failed == 0)); then
  failed=1
fi
echo "$passed passed, $failed failed, $skipped skipped"
exit $status
