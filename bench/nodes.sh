#!/usr/bin/env bash
# Token issue + redemption (+ a 40,521-byte file) per second with 1, 2 and 3 nodes on one PostgreSQL, next to one
# node on SQLite, all on this machine in one run. One wrk per node (-t1 -c16 -d10s), redemptions summed.
# Usage: bash bench/nodes.sh [work-dir]
set -euo pipefail
cd "$(dirname "$0")/.."
work=${1:-$(mktemp -d /tmp/callmedia-nodes.XXXXXX)}
mkdir -p "$work"
for p in wrk curl postgresql; do
  dpkg -s "$p" >/dev/null 2>&1 || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$p" >/dev/null; }
done
dotnet publish src/CallMedia -c Release -o "$work/app" -v quiet >/dev/null
cm="$work/app/callmedia"
eval "$(bash scripts/pg.sh start)"
pids=()
cleanup() { kill "${pids[@]}" 2>/dev/null || true; bash scripts/pg.sh stop "$CALLMEDIA_TEST_PGDIR"; }
trap cleanup EXIT

rm -rf "$work/sqlite" "$work/pg"
python3 -c "import os; open('$work/small.mp3','wb').write(os.urandom(40521))"
printf 'sid,start,stop,calling_number,called_number,type,path\nbench-1,2026-11-01T10:00:00Z,2026-11-01T10:05:00Z,100,200,audio,%s\n' "$work/small.mp3" > "$work/m.csv"
psql "host=127.0.0.1 port=$(echo "$CALLMEDIA_TEST_POSTGRES" | sed 's/.*Port=\([0-9]*\).*/\1/') user=postgres dbname=postgres" -qc "CREATE DATABASE bench" >/dev/null
pg="--ConnectionStrings:CallMedia=$(echo "$CALLMEDIA_TEST_POSTGRES" | sed 's/Database=postgres/Database=bench/')"

setup() { # args: data dir, extra db args
  "$cm" import "$work/m.csv" --data "$@" >/dev/null
  echo "bench-password" | "$cm" user add bench --role downloader --data "$@" >/dev/null
}
setup "$work/sqlite"
setup "$work/pg" "$pg"

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
start_node() { # port, data dir, extra args
  local port=$1; shift
  "$cm" serve --no-demo --urls "http://127.0.0.1:$port" --Logging:LogLevel:Default=Warning --Tokens:MaxPerSessionPerMinute=10000000 --data "$@" >/dev/null 2>&1 &
  pids+=($!)
  for _ in $(seq 1 100); do curl -s "http://127.0.0.1:$port/healthz" >/dev/null && return; sleep 0.2; done
}

run() { # label, ports...
  local label=$1; shift
  local session; session=$(curl -s -d 'loginname=bench&password=bench-password' "http://127.0.0.1:$1/callrec/loginservlet" | sed -n 's/.*sessionid="\([0-9A-F]*\)".*/\1/p')
  local id=1 # the one couple imported into each fresh database above
  local outs=()
  for port in "$@"; do
    wrk -t1 -c16 -d10s -s bench/redeem.lua "http://127.0.0.1:$port" -- "$session" "$id" > "$work/wrk-$port.out" &
    outs+=($!)
  done
  wait "${outs[@]}"
  local total=0
  for port in "$@"; do
    total=$(python3 -c "print($total + $(awk '/^redeemed/ {print $2/$6}' "$work/wrk-$port.out"))")
  done
  printf '%-28s %8.0f redemptions/s (each after its own token request)\n' "$label" "$total"
}

p1=$(free_port); start_node "$p1" "$work/sqlite"
run "SQLite, 1 node" "$p1"
kill "${pids[@]}"; pids=()
ports=()
for n in 1 2 3; do
  port=$(free_port); start_node "$port" "$work/pg" "$pg"; ports+=("$port")
  run "PostgreSQL, $n node(s)" "${ports[@]}"
done
echo "machine: $(nproc) cores, $(free -g | awk '/Mem/ {print $2}') GiB; wrk and every node share these cores"
