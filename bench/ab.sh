#!/usr/bin/env bash
# Quick A/B of builds on the redemption path: one node over one call (bench/lib.sh serve_one_call), tokens minted for
# 10 s (bench/issue.lua), then redeemed with a 40,521-byte file for 6 s (bench/redeem-minted.lua, wrk -t2 -c32).
# Prints redemptions/s, p99 and the node's CPU ms per redemption; with AB_SYSCALLS=1 also the node's system calls per
# redemption (perf stat of the syscall tracepoints, needs perf; the counting costs CPU of its own, so compare CPU from
# runs without it). Run builds alternately: this machine's speed drifts.
# Usage: bash bench/ab.sh <published callmedia folder> <label> [work-dir]
# AB_ENV="NAME=value ..." puts variables in the node's environment (runtime settings to try).
# AB_DB=postgres runs the node on a throwaway PostgreSQL cluster (scripts/pg.sh) and prints the server processes' CPU ms
# per redemption too.
set -euo pipefail
cd "$(dirname "$0")/.."
app=$1 label=$2 work=${3:-/tmp/callmedia-ab/$2}
cm=$app/callmedia
. bench/lib.sh
pids=()
pgdir=
trap 'kill "${pids[@]}" 2>/dev/null || true; [[ -z $pgdir ]] || bash scripts/pg.sh stop "$pgdir"' EXIT
mkdir -p "$work"
read -r -a serve_env <<<"${AB_ENV:-AB=1}"
extra=()
if [[ ${AB_DB:-sqlite} == postgres ]]; then
  eval "$(bash scripts/pg.sh start)"
  pgdir=$CALLMEDIA_TEST_PGDIR
  extra+=("--ConnectionStrings:CallMedia=$CALLMEDIA_TEST_POSTGRES")
fi
serve_one_call 5 "${extra[@]}"
wrk -t2 -c32 -d10s -s bench/issue.lua "$url" -- "$session" "$id" "$work/tokens" | grep '^issued'
cpu() { awk '{print $14 + $15}' "/proc/$pid/stat"; }
# CPU ticks (user + system) of every PostgreSQL server process.
db_cpu() { [[ -n $pgdir ]] && cat /proc/[0-9]*/stat 2>/dev/null | awk '$2 == "(postgres)" {t += $14 + $15} END {print t + 0}' || echo 0; }
if [[ ${AB_SYSCALLS:-0} == 1 ]]; then
  events=context-switches,raw_syscalls:sys_enter
  for s in pwrite64 pread64 readlink fcntl newlstat flock newfstat statx openat close sendmsg recvfrom sched_yield; do events+=",syscalls:sys_enter_$s"; done
  perf stat -e "$events" -p "$pid" -o "$work/syscalls.txt" -- sleep 6 &
  counting=$!
fi
c0=$(cpu); d0=$(db_cpu)
out=$(wrk -t2 -c32 -d6s -s bench/redeem-minted.lua "$url" -- "$session" "$id" "$work/tokens" 2 40521 | grep '^redeemed')
c1=$(cpu); d1=$(db_cpu)
[[ -z ${counting:-} ]] || wait "$counting"
n=$(echo "$out" | awk '{print $2}')
echo "$out" | awk -v c=$((c1 - c0)) -v d=$((d1 - d0)) -v l="$label" -v hz="$(getconf CLK_TCK)" -v pg="$pgdir" \
  '{printf "%s: %.0f redemptions/s, p99 %s ms, CPU ms per redemption %.3f", l, $2/$8, $10, c*1000/hz/$2; if (pg != "") printf ", PostgreSQL %.3f", d*1000/hz/$2; printf "\n"}'
if [[ ${AB_SYSCALLS:-0} == 1 ]]; then
  awk -v n="$n" '$1 ~ /^[0-9,]+$/ {gsub(",", "", $1); sub("syscalls:sys_enter_", "", $2); sub("raw_syscalls:sys_enter", "all", $2); printf "  %-12s %6.2f per redemption\n", $2, $1/n}' "$work/syscalls.txt"
fi
