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

# The production shape: PostgreSQL + media in S3 (a throwaway Ceph RADOS Gateway, scripts/s3.sh), for the tests of
# everything that reads or writes media: delivery, zips, media (transcodes, prepares), import, several nodes, and
# the object store's own tests.
if s3_env=$(bash scripts/s3.sh start); then
  eval "$s3_env"
  trap 'bash scripts/s3.sh stop "$S3_DATA_DIR"; bash scripts/pg.sh stop "$CALLMEDIA_TEST_PGDIR"; rm -rf "$results"' EXIT
  s3_classes=(DeliveryTests SendCallFileTests DownloadOptionsTests LargeZipTests ResumeTests MediaTests ImportTests MultiNodeTests ObjectStorageTests ObjectStorageOutageTests)
  filter=$(printf '|FullyQualifiedName~.%s.' "${s3_classes[@]}")
  CALLMEDIA_TEST_DATABASE=postgres CALLMEDIA_TEST_STORAGE=s3 dotnet test tests/CallMedia.IntegrationTests -c Release --no-build \
    --filter "${filter:1}" --logger "trx;LogFileName=integration-postgres-s3.trx" --results-directory "$results" || status=1
else
  echo "test: could not start the S3 store (scripts/s3.sh)"; status=1
fi

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
