#!/usr/bin/env bash
# A/B of two builds on the redemption path, both running at once and measured in turns (this machine's speed drifts
# from minute to minute: two builds measured minutes apart differ by more than most changes do). Each build serves one
# call (bench/lib.sh serve_one_call) in a folder of its own; tokens are minted for both first (bench/issue.lua), then
# redeemed (bench/redeem-minted.lua, a 40,521-byte file, wrk -t2 -c32) in <rounds> rounds of <seconds> each, the two
# builds in turns (A B, B A, ...). Prints each round's redemptions/s and CPU ms per redemption of each build, then the
# median of the per-round ratios of CPU per redemption (B / A; below 1: B costs less) with a 90 % interval for it (the
# rounds resampled), and each build's median p99 latency. The same build on both sides gave medians of 1.018 (10
# rounds of 3 s) and 1.008 (30 rounds of 1 s), rounds from 0.88 to 1.29 (docs/benchmarks.md, eighteenth round): a
# change is told from the drift only when its interval leaves 1 out and a run the other way round (A and B swapped)
# agrees; many short rounds narrow the interval most.
# Usage: bash bench/pair.sh <published folder A> <published folder B> [rounds (30)] [seconds (1)] [work-dir]
# PAIR_ENV_A / PAIR_ENV_B="NAME=value ..." put variables in that build's environment (the same build twice, with and
# without a runtime setting, measures the setting).
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${3:-30} secs=${4:-1} base=${5:-/tmp/callmedia-pair}
. bench/lib.sh
pids=()
trap 'kill "${pids[@]}" 2>/dev/null || true' EXIT
declare -A P U S I W
for side in A B; do
  [[ $side == A ]] && cm=$1/callmedia || cm=$2/callmedia
  [[ $side == A ]] && settings=${PAIR_ENV_A:-PAIR=A} || settings=${PAIR_ENV_B:-PAIR=B}
  read -r -a serve_env <<<"$settings"
  work=$base/$side
  mkdir -p "$work"
  serve_one_call 3
  P[$side]=$pid U[$side]=$url S[$side]=$session I[$side]=$id W[$side]=$work
done
mint=$(( rounds * secs * 15 / 10 + 2 ))
for side in A B; do
  wrk -t2 -c32 -d"${mint}s" -s bench/issue.lua "${U[$side]}" -- "${S[$side]}" "${I[$side]}" "${W[$side]}/tokens" | sed "s/^/$side /" | grep issued
  for t in 0 1; do
    n=$(wc -l < "${W[$side]}/tokens.$t"); per=$(( n / rounds ))
    for r in $(seq 0 $((rounds - 1))); do sed -n "$((r * per + 1)),$(((r + 1) * per))p" "${W[$side]}/tokens.$t" > "${W[$side]}/r$r.$t"; done
  done
done
cpu() { awk '{print $14 + $15}' "/proc/$1/stat"; }
hz=$(getconf CLK_TCK)
ratios=()
declare -A p99s=([A]="" [B]="")
for r in $(seq 0 $((rounds - 1))); do
  (( r % 2 == 0 )) && order="A B" || order="B A"
  declare -A C
  line="round $r:"
  for side in $order; do
    c0=$(cpu "${P[$side]}")
    out=$(wrk -t2 -c32 -d"${secs}s" -s bench/redeem-minted.lua "${U[$side]}" -- "${S[$side]}" "${I[$side]}" "${W[$side]}/r$r" 2 40521 | grep '^redeemed')
    c1=$(cpu "${P[$side]}")
    C[$side]=$(echo "$out" | awk -v c=$((c1 - c0)) -v hz="$hz" '{printf "%.4f", c*1000/hz/$2}')
    line+=$(echo "$out" | awk -v s="$side" -v c="${C[$side]}" '{printf " %s %.0f/s %.3f ms p99 %.1f ms", s, $2/$8, c, $10}')
    p99s[$side]+=" $(echo "$out" | awk '{print $10}')"
  done
  ratios+=("$(python3 -c "print(${C[B]}/${C[A]})")")
  echo "$line"
done
python3 - "${p99s[A]}" "${p99s[B]}" "${ratios[@]}" <<'PY'
import random, statistics, sys
a, b = (sorted(map(float, x.split())) for x in sys.argv[1:3])
r = sorted(map(float, sys.argv[3:]))
rng = random.Random(1)
medians = sorted(statistics.median(rng.choices(r, k=len(r))) for _ in range(2000))
low, high = medians[len(medians) // 20], medians[-len(medians) // 20 - 1]
print(f"CPU per redemption B / A: median {statistics.median(r):.3f}, 90 % interval {low:.3f} - {high:.3f} (rounds: {' '.join(f'{x:.3f}' for x in r)})")
print(f"p99 latency, median of the rounds: A {statistics.median(a):.2f} ms, B {statistics.median(b):.2f} ms")
PY
