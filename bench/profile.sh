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
one_call_set "$work"
args=(--data "$work/data")
pgdir=
pids=()
cleanup() { kill "${pids[@]}" 2>/dev/null || true; [[ -z $pgdir ]] || bash scripts/pg.sh stop "$pgdir"; }
trap cleanup EXIT
if [[ $db == postgres ]]; then
  eval "$(bash scripts/pg.sh start)"
  pgdir=$CALLMEDIA_TEST_PGDIR
  args+=("--ConnectionStrings:CallMedia=$CALLMEDIA_TEST_POSTGRES")
fi
"$cm" import "$work/set.csv" "${args[@]}" --link "--Import:AllowedRoots:0=$work/src" >/dev/null 2>&1
echo "bench-password" | "$cm" user add bench --role downloader "${args[@]}" >/dev/null
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
DOTNET_PerfMapEnabled=1 DOTNET_EnableWriteXorExecute=0 "$cm" serve --no-demo --urls "http://127.0.0.1:$port" --Logging:LogLevel:Default=Warning \
  "--Import:AllowedRoots:0=$work/src" --Tokens:MaxPerSessionPerMinute=10000000 "${args[@]}" > "$work/serve.log" 2>&1 &
pid=$!; pids+=($!)
for _ in $(seq 1 150); do curl -s "http://127.0.0.1:$port/healthz" -o /dev/null && break; sleep 0.2; done
session=$(curl -s -d 'loginname=bench&password=bench-password' "http://127.0.0.1:$port/callrec/loginservlet" | sed -n 's/.*sessionid="\([0-9A-F]*\)".*/\1/p')
id=$("$cm" calls list "${args[@]}" --limit 10 | awk -F'\t' '$2 ~ /^p-/ {print $1}' | head -1)
url="http://127.0.0.1:$port"
rm -f "$work"/tokens.* "$work"/warm.*
wrk -t2 -c32 -d"${PROFILE_WARM:-3}s" -s bench/issue.lua "$url" -- "$session" "$id" "$work/warm" >/dev/null
wrk -t2 -c32 -d"${PROFILE_WARM:-3}s" -s bench/redeem-minted.lua "$url" -- "$session" "$id" "$work/warm" 2 40521 >/dev/null
. bench/fold.sh
perf record -F 499 -g -p "$pid" -o "$work/issue.data" -- sleep 8 >/dev/null 2>&1 &
wrk -t2 -c32 -d8s -s bench/issue.lua "$url" -- "$session" "$id" "$work/tokens" | grep '^issued'
wait %%perf 2>/dev/null || sleep 1
perf record -F 499 -g -p "$pid" -o "$work/redeem.data" -- sleep 6 >/dev/null 2>&1 &
wrk -t2 -c32 -d6s -s bench/redeem-minted.lua "$url" -- "$session" "$id" "$work/tokens" 2 40521 | grep '^redeemed'
sleep 1
echo "== token issue"; fold "$work/issue" | head -100 > "$work/issue.top"; cat "$work/issue.top"
echo "== redemption"; fold "$work/redeem" | head -100 > "$work/redeem.top"; cat "$work/redeem.top"
