#!/usr/bin/env bash
# CPU profile of the delivery hot path: `perf record` of one CallMedia server while wrk mints tokens (bench/issue.lua)
# and then redeems them with a 40,521-byte file (bench/redeem-minted.lua), folded into stacks (top frames printed,
# the whole folded file kept for a flame graph: `flamegraph.pl <work>/redeem.folded > redeem.svg`).
# Usage: bash bench/profile.sh <published callmedia folder> <work-dir> [sqlite|postgres]
# PROFILE_WARM=<seconds> (3) of each warm-up run, long enough for tiered compilation to finish.
# Needs perf; managed frames are named through the runtime's perf map (DOTNET_PerfMapEnabled=1).
set -euo pipefail
cd "$(dirname "$0")/.."
app=$1 work=$2 db=${3:-sqlite}
cm=$app/callmedia
. bench/lib.sh
mkdir -p "$work"
extra=()
pgdir=
pids=()
cleanup() { kill "${pids[@]}" 2>/dev/null || true; [[ -z $pgdir ]] || bash scripts/pg.sh stop "$pgdir"; }
trap cleanup EXIT
if [[ $db == postgres ]]; then
  eval "$(bash scripts/pg.sh start)"
  pgdir=$CALLMEDIA_TEST_PGDIR
  extra+=("--ConnectionStrings:CallMedia=$CALLMEDIA_TEST_POSTGRES")
fi
serve_env=(DOTNET_PerfMapEnabled=1 DOTNET_EnableWriteXorExecute=0)
serve_one_call "${PROFILE_WARM:-3}" "${extra[@]}"
. bench/fold.sh
perf record -F 499 -g -p "$pid" -o "$work/issue.data" -- sleep 8 >/dev/null 2>&1 &
wrk -t2 -c32 -d8s -s bench/issue.lua "$url" -- "$session" "$id" "$work/tokens" | grep '^issued'
wait %%perf 2>/dev/null || sleep 1
perf record -F 499 -g -p "$pid" -o "$work/redeem.data" -- sleep 6 >/dev/null 2>&1 &
wrk -t2 -c32 -d6s -s bench/redeem-minted.lua "$url" -- "$session" "$id" "$work/tokens" 2 40521 | grep '^redeemed'
sleep 1
echo "== token issue"; fold "$work/issue" | head -100 > "$work/issue.top"; cat "$work/issue.top"
echo "== redemption"; fold "$work/redeem" | head -100 > "$work/redeem.top"; cat "$work/redeem.top"
