# Helpers the benchmarks share (bench/run.sh, bench/s3.sh, bench/crypt.sh, bench/profile.sh, bench/pg-statements.sh): sourced
# after $CM or $cm (the callmedia binary) and $work (the work folder) are set; servers sign in as the user "bench"
# with the password "bench-password".
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
ratio() { python3 -c "print(f'{$1/$2:.2f}')"; }
best() { python3 -c "import sys; print(f'{max(map(float, sys.argv[1:])):.0f}')" "$@"; }

start_server() { # data-dir label extra-options... → "pid base session"
  local dir=$1 label=$2; shift 2
  local port; port=$(free_port)
  "$CM" serve --no-demo --data "$dir" --urls "http://127.0.0.1:$port" --Logging:LogLevel:Default=Warning --Tokens:MaxPerSessionPerMinute=10000000 "$@" > "$work/serve-$label.log" 2>&1 &
  local pid=$!
  for _ in $(seq 1 100); do curl -s "http://127.0.0.1:$port/healthz" >/dev/null && break; sleep 0.2; done
  local base="http://127.0.0.1:$port/callrec"
  local session; session=$(curl -s -d 'loginname=bench&password=bench-password' "$base/loginservlet" | sed -n 's/.*sessionid="\([0-9A-F]*\)".*/\1/p')
  echo "$pid $base $session"
}
# CPU milliseconds so far of the runtime's background compiler (its threads named ".NET Tiered Com") in process $1: it
# promotes hot methods to optimised code only once nothing new was compiled for 100 ms, so a run that starts while it
# is still busy measures a node warming up (docs/benchmarks.md, fifteenth round). A thread that ended takes its time
# with it: compare two readings only as "did it run in between".
compiler_ms() {
  local t ms=0 hz; hz=$(getconf CLK_TCK)
  for t in /proc/"$1"/task/*; do
    [[ $(cat "$t/comm" 2>/dev/null) == ".NET Tiered Com" ]] || continue
    # The name holds spaces: the fields are counted after its closing parenthesis (utime, stime: the 12th and 13th).
    ms=$(( ms + $(awk -v hz="$hz" '{sub(/.*\) /, ""); print int(($12 + $13) * 1000 / hz)}' "$t/stat" 2>/dev/null || echo 0) ))
  done
  echo "$ms"
}
token() { curl -s "$1/downloadtoken;jsessionid=$2?$3" | sed -n 's/.*<reply>\(.*\)<\/reply>.*/\1/p'; }
speed() { # base session query ext → MB/s of one download with a fresh token
  local t; t=$(token "$1" "$2" "$3")
  python3 -c "print($(curl -s -o /dev/null -w '%{speed_download}' "$1/sendcallfile.$4;jsessionid=$2?token=$t")/1e6)"
}

# warm-seconds extra-options... → one node ($cm) over one call with a 40,521-byte file (linked from $work/src, data in
# $work/data, emptied first), signed in as "bench"; sets pid, url, session and id (the call), adds the node to pids, and
# warms it up: token issue (bench/issue.lua), then redemption of those tokens, each for warm-seconds. serve_env=(...)
# puts variables in the node's environment alone.
serve_one_call() {
  local warm=$1; shift
  local args=(--data "$work/data" "$@")
  mkdir -p "$work/src"
  [[ -f $work/src/s.mp3 ]] || head -c 40521 /dev/urandom > "$work/src/s.mp3"
  echo "sid,start,stop,calling_number,called_number,type,path" > "$work/set.csv"
  echo "p-0,2026-11-01T10:00:00Z,2026-11-01T10:05:00Z,+15550100,2001,audio,$work/src/s.mp3" >> "$work/set.csv"
  rm -rf "$work/data"
  "$cm" import "$work/set.csv" "${args[@]}" --link "--Import:AllowedRoots:0=$work/src" >/dev/null 2>&1
  echo "bench-password" | "$cm" user add bench --role downloader "${args[@]}" >/dev/null
  local port; port=$(free_port)
  env "${serve_env[@]}" "$cm" serve --no-demo --urls "http://127.0.0.1:$port" --Logging:LogLevel:Default=Warning \
    "--Import:AllowedRoots:0=$work/src" --Tokens:MaxPerSessionPerMinute=10000000 "${args[@]}" > "$work/serve.log" 2>&1 &
  pid=$!; pids+=("$pid")
  url="http://127.0.0.1:$port"
  for _ in $(seq 1 150); do curl -s "$url/healthz" -o /dev/null && break; sleep 0.2; done
  session=$(curl -s -d 'loginname=bench&password=bench-password' "$url/callrec/loginservlet" | sed -n 's/.*sessionid="\([0-9A-F]*\)".*/\1/p')
  id=$("$cm" calls list "${args[@]}" --limit 10 | awk -F'\t' '$2 ~ /^p-/ {print $1}' | head -1)
  rm -f "$work"/tokens.* "$work"/warm.*
  wrk -t2 -c32 -d"${warm}s" -s bench/issue.lua "$url" -- "$session" "$id" "$work/warm" >/dev/null
  wrk -t2 -c32 -d"${warm}s" -s bench/redeem-minted.lua "$url" -- "$session" "$id" "$work/warm" 2 40521 >/dev/null
}
