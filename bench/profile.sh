#!/usr/bin/env bash
# CPU profile of the delivery hot path: `perf record` of one CallMedia server while wrk mints tokens (bench/issue.lua)
# and then redeems them with a 40,521-byte file (bench/redeem-minted.lua), folded into stacks (top frames printed,
# the whole folded file kept for a flame graph: `flamegraph.pl <work>/redeem.folded > redeem.svg`); then bare Kestrel
# (bench/BareKestrel) serving the same file, profiled the same way, and both split into where the time goes, in CPU
# microseconds per request (bench/categories.py).
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
cpu() { awk '{print $14 + $15}' "/proc/$1/stat"; }
hz=$(getconf CLK_TCK)
c0=$(cpu "$pid")
perf record -F 499 -g -p "$pid" -o "$work/redeem.data" -- sleep 6 >/dev/null 2>&1 &
redeemed=$(wrk -t2 -c32 -d6s -s bench/redeem-minted.lua "$url" -- "$session" "$id" "$work/tokens" 2 40521 | grep '^redeemed')
sleep 1
# Per request answered: redemptions and, should a thread run out of tokens, the token requests it makes instead.
redeem_us=$(echo "$redeemed" | awk -v c=$(( $(cpu "$pid") - c0 )) -v hz="$hz" '$2 + $4 > 0 {printf "%.1f", c * 1e6 / hz / ($2 + $4)}')
echo "$redeemed; $redeem_us CPU us per redemption (profiling included)"

# The reference: bare Kestrel (bench/BareKestrel) serving the same file, profiled the same way.
dotnet build bench/BareKestrel -c Release -o "$work/bare" -v quiet >/dev/null
bare_port=$(free_port)
env "${serve_env[@]}" DOTNET_gcServer=1 "$work/bare/BareKestrel" "$work/src" "http://127.0.0.1:$bare_port" > "$work/bare.log" 2>&1 &
bare_pid=$!; pids+=("$bare_pid")
for _ in $(seq 1 150); do curl -s "http://127.0.0.1:$bare_port/healthz" -o /dev/null && break; sleep 0.2; done
wrk -t2 -c32 -d"${PROFILE_WARM:-3}s" "http://127.0.0.1:$bare_port/file/s.mp3" >/dev/null
c0=$(cpu "$bare_pid")
perf record -F 499 -g -p "$bare_pid" -o "$work/bare.data" -- sleep 6 >/dev/null 2>&1 &
bare_perf=$!
served=$(wrk -t2 -c32 -d6s "http://127.0.0.1:$bare_port/file/s.mp3" | awk '/requests in/ {print $1}')
wait "$bare_perf" 2>/dev/null || true
bare_us=$(awk -v n="${served:-0}" -v c=$(( $(cpu "$bare_pid") - c0 )) -v hz="$hz" 'BEGIN {if (n > 0) printf "%.1f", c * 1e6 / hz / n}')
echo "bare Kestrel: $served requests; $bare_us CPU us per request (profiling included)"

echo "== token issue"; fold "$work/issue" | head -100 > "$work/issue.top"; cat "$work/issue.top"
echo "== redemption"; fold "$work/redeem" | head -100 > "$work/redeem.top"; cat "$work/redeem.top"
fold "$work/bare" > /dev/null
echo "== where the time goes, redemption ($redeem_us us) and bare Kestrel serving the same file ($bare_us us)"
python3 bench/categories.py "$work/redeem.folded" "$redeem_us" > "$work/redeem.categories"
python3 bench/categories.py "$work/bare.folded" "$bare_us" > "$work/bare.categories"
paste "$work/redeem.categories" "$work/bare.categories" | awk -F'\t' '{printf "%-58s | %s\n", $1, substr($2, 36)}' 
