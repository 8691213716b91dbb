#!/usr/bin/env bash
# CPU profile of encrypted vs plain delivery: the data folders bench/crypt.sh left in <work-dir> (plain and encrypted)
# served by two servers; `perf record -g` of each while curl downloads the 1 GiB file (or the 1,000-file zip) a few
# times, folded into stacks like bench/profile.sh (top frames printed, the folded files kept for a flame graph).
# Usage: bash bench/crypt-profile.sh <callmedia binary> <crypt.sh work-dir> [gib|zip] [downloads]
# Needs perf; managed frames are named through the runtime's perf map (DOTNET_PerfMapEnabled=1).
set -euo pipefail
cd "$(dirname "$0")/.."
CM=$1 work=$2 what=${3:-gib} n=${4:-3}
data="$work/data"
keyfile="$work/master.key"
[[ -d $data-enc && -s $keyfile ]] || { echo "no data folders in $work: run bench/crypt.sh $work first" >&2; exit 1; }
. bench/lib.sh
export DOTNET_PerfMapEnabled=1 DOTNET_EnableWriteXorExecute=0
if [[ $what == zip ]]; then
  query="id_call[]=$("$CM" calls list --data "$data" --limit 100000 | awk -F'\t' '$2 ~ /^zip-set-/ {print $1}' | paste -sd,)&action=download" ext=zip
else
  query="id_call[]=$("$CM" calls list --data "$data" --sid one-gib-0 | cut -f1)&action=download" ext=mp3
fi
read -r plain_pid plain_base plain_session < <(start_server "$data" plain)
read -r enc_pid enc_base enc_session < <(start_server "$data-enc" encrypted --Storage:Encryption=on "--Storage:KeyFile=$keyfile")
trap 'kill $plain_pid $enc_pid 2>/dev/null || true' EXIT
. bench/fold.sh
ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
for label in plain encrypted; do
  if [[ $label == plain ]]; then pid=$plain_pid base=$plain_base session=$plain_session; else pid=$enc_pid base=$enc_base session=$enc_session; fi
  speed "$base" "$session" "$query" "$ext" >/dev/null # warm-up: page cache, JIT
  perf record -F 999 -g -p "$pid" -o "$work/prof-$label.data" >/dev/null 2>&1 &
  perf_pid=$!
  sleep 0.5
  t0=$(ticks "$pid")
  for _ in $(seq 1 "$n"); do echo "$label $(speed "$base" "$session" "$query" "$ext") MB/s"; done
  echo "$label server CPU: $(python3 -c "print(($(ticks "$pid") - $t0) / $(getconf CLK_TCK))") s for $n downloads"
  kill -INT "$perf_pid"; wait "$perf_pid" || true
done
for label in plain encrypted; do
  echo "== $label"; fold "$work/prof-$label" | tee "$work/prof-$label.top"
done
