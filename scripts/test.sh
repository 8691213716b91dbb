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
for project in tests/*/; do
  name=$(basename "$project")
  dotnet test "$project" -c Release --no-build --logger "trx;LogFileName=$name.trx" --results-directory "$results" || status=1
done

passed=0; failed=0; skipped=0
for trx in "$results"/*.trx; do
  [[ -f "$trx" ]] || continue
  counters=$(grep -o '<Counters [^>]*>' "$trx")
  get() { echo "$counters" | grep -o " $1=\"[0-9]*\"" | grep -o '[0-9]*'; }
  passed=$((passed + $(get passed)))
  failed=$((failed + $(get failed) + $(get error) + $(get timeout) + $(get aborted)))
  skipped=$((skipped + $(get notExecuted)))
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
