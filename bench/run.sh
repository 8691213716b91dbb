#!/usr/bin/env bash
# Side-by-side benchmark: CallMedia vs nginx and vs a bare Kestrel app (bench/BareKestrel: the same stack serving the
# same files with no checks at all), all over the same real, non-sparse files on this machine, in one run. Prints
# each target of docs/benchmarks.md as a ratio against both references, with the load average beside it:
#   (a) redemption of a token minted beforehand + a 40,521-byte file, requests/s and p99 (wrk -t2 -c32); each
#       reference measured for 4 s right before and 4 s right after CallMedia's 8 s, the ratios against their mean
#   (b) token issue, tokens/s (the tokens (a) then redeems)
#   (c) MB/s of one 1 GiB file
#   (d) MB/s of a zip of 1,000 files of 4 MiB vs one file of the same size; CallMedia's RSS before, after the
#       first zip and after four (flat: the later zips add nothing)
#   (e) (a) on PostgreSQL, one node, vs (a) on SQLite; PostgreSQL's CPU seconds per 1,000 redemptions
#   (f) `callmedia import` of 10,000 small files and one 4 GiB file vs `cp -r` of the same files
#   (g) (c) behind nginx with Delivery:AccelRedirect (CallMedia redeems and audits, nginx sends the file) vs the same
#       nginx serving the file alone, and vs CallMedia sending it through that nginx (proxied); median of 5 rounds
# Usage: bash bench/run.sh [work-dir]   BENCH_PARTS="a b c d e f g" (default: all) picks parts; (a) needs (b).
# BENCH_WARM=seconds (default 8) of warm-up before each measured wrk run, so the runtime has finished compiling the
# hot path (tiered JIT) and the steady state is what is measured: with 2 s the JIT still took 7 - 14 % of the CPU.
# Needs ~20 GB free for all parts; installs nginx-light, wrk and curl when missing.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
work=${1:-$(mktemp -d /tmp/callmedia-bench.XXXXXX)}
parts=" ${BENCH_PARTS:-a b c d e f g} "
warm=${BENCH_WARM:-8}
has() { [[ $parts == *" $1 "* ]]; }
mkdir -p "$work"
for p in nginx-light wrk curl; do
  dpkg -s "$p" >/dev/null 2>&1 || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$p" >/dev/null; }
done

# The shared helpers (free_port, ratio, compiler_ms); token and speed are defined again below, for this script's servers.
. bench/lib.sh
rss_kib() { awk '/VmRSS/ {print $2}' "/proc/$1/status"; }
load() { echo "[load $(cut -d' ' -f1-3 /proc/loadavg)]"; }
# CPU seconds (user + system) used so far by the given processes and their threads: on this shared machine the
# requests/s move with everyone else's load, the CPU each request costs much less.
cpu_of() { python3 -c "
import os, sys
print(sum(int(f[11]) + int(f[12]) for f in (open(f'/proc/{p}/stat').read().rsplit(')', 1)[1].split() for p in sys.argv[1:])) / os.sysconf('SC_CLK_TCK'))" "$@"; }
per_k() { python3 -c "print(f'{($2 - $1) * 1000 / $3:.3f}')"; } # cpu before, after, requests → CPU s per 1,000
# Every reference file must be real data on disk: a sparse file reads faster (holes) or slower than a real one.
nonsparse() { python3 -c "
import os, sys
for p in sys.argv[1:]:
    s = os.stat(p)
    assert s.st_blocks * 512 >= s.st_size, f'{p} is sparse'" "$@"; }

echo "== building"
# BENCH_APP=<folder of a published callmedia> measures that build instead (e.g. the commit before a change).
cm=${BENCH_APP:-$work/app}/callmedia
[[ -n ${BENCH_APP:-} ]] || dotnet publish src/CallMedia -c Release -o "$work/app" -v quiet >/dev/null
dotnet build bench/BareKestrel -c Release -o "$work/bare" -v quiet >/dev/null

echo "== generating files in $work/src"
python3 - "$work/src" "$parts" <<'PY'
import os, sys
src, parts = sys.argv[1], sys.argv[2].split()
os.makedirs(f"{src}/small", exist_ok=True)
os.makedirs(f"{src}/zip", exist_ok=True)
pool = os.urandom(64 << 20)
def write(path, size, seed):
    # An MP3 starts with an ID3 tag header here, as most real ones do: random bytes alone are sometimes taken for text
    # by the import's content check, and the import rejects those rows.
    head = b"ID3\x04\x00\x00\x00\x00\x00\x00" if path.endswith(".mp3") else b""
    if os.path.exists(path) and os.path.getsize(path) == size:
        with open(path, "rb") as f:
            if f.read(len(head)) == head:
                return
    with open(path, "wb") as f:
        f.write(head)
        off = (seed * 7919) % len(pool)
        left = size - len(head)
        while left:
            n = min(left, len(pool) - off)
            f.write(pool[off:off + n]); left -= n; off = 0
for i in range(10000 if "f" in parts else 1):
    write(f"{src}/small/s{i:05}.mp3", 40521, i)
if "d" in parts:
    for i in range(1000):
        write(f"{src}/zip/z{i:04}.mp3", 4 << 20, i)
if "c" in parts or "g" in parts:
    write(f"{src}/one-gib.mp4", 1 << 30, 1)
if "f" in parts:
    write(f"{src}/four-gib.mp4", 4 << 30, 2)
PY
sync

manifest() { # name, file list → CSV, one couple per file
  local out="$work/$1.csv"; shift
  echo "sid,start,stop,calling_number,called_number,type,path" > "$out"
  local i=0
  for f in "$@"; do
    echo "$(basename "$out" .csv)-$i,2026-11-01T10:00:00Z,2026-11-01T10:05:00Z,+15550100,2001,audio,$f" >> "$out"
    i=$((i + 1))
  done
}

if has f; then
  echo "== (f) import vs cp -r $(load)"
  rm -rf "$work/import-data" "$work/cp"
  manifest import-set "$work"/src/small/*.mp3 "$work/src/four-gib.mp4"
  start=$(date +%s.%N); mkdir -p "$work/cp"; cp -r "$work/src/small" "$work/src/four-gib.mp4" "$work/cp/"; sync; cp_s=$(python3 -c "import time; print(time.time() - $start)")
  start=$(date +%s.%N)
  if ! "$cm" import "$work/import-set.csv" --data "$work/import-data" > "$work/import.out" 2>"$work/import.err"; then
    echo "(f) the import failed; its last lines:"; tail -5 "$work/import.out" "$work/import.err"; exit 1
  fi
  sync; import_s=$(python3 -c "import time; print(time.time() - $start)")
  cat "$work/import.out"
  bytes=$(( 10000 * 40521 + (4 << 30) ))
  echo "import: $(python3 -c "print(f'{10001/$import_s:.0f} files/s, {$bytes/1e6/$import_s:.0f} MB/s in {$import_s:.1f} s')")"
  echo "cp -r:  $(python3 -c "print(f'{10001/$cp_s:.0f} files/s, {$bytes/1e6/$cp_s:.0f} MB/s in {$cp_s:.1f} s')")"
  echo "ratio (f) import/cp time: $(ratio "$cp_s" "$import_s") (cp time / import time; 1.00 = same speed)"
  rm -rf "$work/cp" "$work/import-data"
fi

rm -rf "$work/data"
small="$work/src/small/s00000.mp3"
manifest small-set "$small"
"$cm" import "$work/small-set.csv" --data "$work/data" --link "--Import:AllowedRoots:0=$work/src" >/dev/null 2>&1
if has d; then
  manifest zip-set "$work"/src/zip/*.mp3
  "$cm" import "$work/zip-set.csv" --data "$work/data" --link "--Import:AllowedRoots:0=$work/src" >/dev/null 2>&1
fi
if has c; then
  manifest one-gib "$work/src/one-gib.mp4"
  "$cm" import "$work/one-gib.csv" --data "$work/data" --link "--Import:AllowedRoots:0=$work/src" >/dev/null 2>&1
fi
echo "bench-password" | "$cm" user add bench --role downloader --data "$work/data" >/dev/null

pids=()
pgdir=
cleanup() { kill "${pids[@]}" 2>/dev/null || true; [[ -z $pgdir ]] || bash scripts/pg.sh stop "$pgdir"; }
trap cleanup EXIT
wait_up() { for _ in $(seq 1 150); do curl -s "$1" -o /dev/null && return; sleep 0.2; done; echo "not up: $1" >&2; exit 1; }
serve() { # port, data args...
  local port=$1; shift
  "$cm" serve --no-demo --urls "http://127.0.0.1:$port" --Logging:LogLevel:Default=Warning "--Import:AllowedRoots:0=$work/src" --Tokens:MaxPerSessionPerMinute=10000000 --data "$@" > "$work/serve-$port.log" 2>&1 &
  pids+=($!)
  wait_up "http://127.0.0.1:$port/healthz"
}

cm_port=$(free_port); ng_port=$(free_port); bare_port=$(free_port)
serve "$cm_port" "$work/data"
cm_pid=${pids[-1]}
nginx_conf() { # folder, server block → <folder>/nginx.conf: 2 workers, sendfile, its temp files inside the folder
  mkdir -p "$1/tmp"
  # As root, workers would run as nobody, who may not read a private media folder.
  cat > "$1/nginx.conf" <<NGINX
$([[ $(id -u) -eq 0 ]] && echo "user root;")
worker_processes 2;
pid $1/nginx.pid;
error_log $1/error.log warn;
events { worker_connections 1024; }
http {
  access_log off;
  client_body_temp_path $1/tmp/body; proxy_temp_path $1/tmp/proxy;
  fastcgi_temp_path $1/tmp/fastcgi; uwsgi_temp_path $1/tmp/uwsgi; scgi_temp_path $1/tmp/scgi;
  sendfile on; tcp_nopush on;
  $2
}
NGINX
}
nginx_conf "$work/nginx" "server { listen 127.0.0.1:$ng_port; root $work/src; }"
nginx -c "$work/nginx/nginx.conf" -g 'daemon off;' &
ng_pid=$!; pids+=($!)
DOTNET_gcServer=1 "$work/bare/BareKestrel" "$work/src" "http://127.0.0.1:$bare_port" > "$work/bare.log" 2>&1 &
bare_pid=$!; pids+=($!)
wait_up "http://127.0.0.1:$ng_port/"
wait_up "http://127.0.0.1:$bare_port/healthz"

login() { curl -s -d 'loginname=bench&password=bench-password' "$1/callrec/loginservlet" | sed -n 's/.*sessionid="\([0-9A-F]*\)".*/\1/p'; }
base="http://127.0.0.1:$cm_port/callrec"
session=$(login "http://127.0.0.1:$cm_port")
token() { curl -s "$base/downloadtoken;jsessionid=$session?$1" | sed -n 's/.*<reply>\(.*\)<\/reply>.*/\1/p'; }
ids() { "$cm" calls list --data "$work/data" --limit 100000 | awk -F'\t' -v p="^$1-" '$2 ~ p {print $1}' | paste -sd,; }
small_id=$(ids small-set)

wrk_rps() { # url, duration, pids → requests/s, p99, CPU s of the pids per 1,000 requests
  local c0 out; c0=$(cpu_of "${@:3}")
  out=$(wrk -t2 -c32 -d"$2" --latency "$1" | awk '/requests in/ {n=$1} /Requests\/sec/ {rps=$2} /^ +99%/ {p99=$2} END {printf "%.0f %s %d", rps, p99, n}')
  set -- $out "$(cpu_of "${@:3}")" "$c0"
  echo "$1 $2 $(per_k "$5" "$4" "$3")"
}
# mint_seconds (12): how long tokens are minted for the 8 s of redemption; enough that no thread runs out of them.
mint_and_redeem() { # base url, session, couple, node pid → sets issue_rps/_p99/_cpu, redeem_rps/_p99/_cpu (CPU s per 1,000)
  local url=$1 sid=$2 id=$3 pid=$4 out c0
  rm -f "$work"/tokens.*
  wrk -t2 -c32 -d"${warm}s" -s bench/issue.lua "$url" -- "$sid" "$id" "$work/warm" >/dev/null
  c0=$(cpu_of "$pid")
  out=$(wrk -t2 -c32 -d"${mint_seconds:-12}s" --latency -s bench/issue.lua "$url" -- "$sid" "$id" "$work/tokens" | grep '^issued')
  echo "  $out"
  issue_rps=$(echo "$out" | awk '{printf "%.0f", $2/$6}'); issue_p99=$(echo "$out" | awk '{print $8}')
  issue_cpu=$(per_k "$c0" "$(cpu_of "$pid")" "$(echo "$out" | awk '{print $2}')")
  # Warm the redemption path with the warm-up's own tokens, then redeem the minted ones.
  wrk -t2 -c32 -d"${warm}s" -s bench/redeem-minted.lua "$url" -- "$sid" "$id" "$work/warm" 2 40521 >/dev/null
  ${around_redeem:-true} before
  local p0 j0 jit; p0=$(${cpu_probe:-echo} 0)
  c0=$(cpu_of "$pid"); j0=$(compiler_ms "$pid")
  out=$(wrk -t2 -c32 -d8s --latency -s bench/redeem-minted.lua "$url" -- "$sid" "$id" "$work/tokens" 2 40521 | grep '^redeemed')
  redeem_cpu=$(per_k "$c0" "$(cpu_of "$pid")" "$(echo "$out" | awk '{print $2 + $4}')")
  db_cpu=$(python3 -c "print($(${cpu_probe:-echo} 0) - $p0)")
  jit=$(( $(compiler_ms "$pid") - j0 ))
  ${around_redeem:-true} after
  # Below 0: a compiler thread ended in between and took its time with it; nothing can be said then.
  (( jit >= 0 )) && jit="$jit CPU ms" || jit="an unknown amount (one of its threads ended meanwhile)"
  echo "  $out; the runtime's background compiler ran $jit meanwhile (still warming up if far above 0)"
  [[ $(echo "$out" | awk '{print $4}') == 0 ]] || echo "  (tokens ran out before the end: the redemption rate is a lower bound)"
  redeem_rps=$(echo "$out" | awk '{printf "%.0f", $2/$8}'); redeem_p99=$(echo "$out" | awk '{print $10}')
}

if has a || has b; then
  echo "== (b) token issue, then (a) redemption of those tokens + 40,521-byte file (wrk -t2 -c32) $(load)"
  nonsparse "$small"
  ng_url="http://127.0.0.1:$ng_port/small/s00000.mp3" bare_url="http://127.0.0.1:$bare_port/file/small/s00000.mp3"
  wrk -t2 -c32 -d"${warm}s" "$ng_url" >/dev/null
  wrk -t2 -c32 -d"${warm}s" "$bare_url" >/dev/null
  # This machine's speed drifts by more than most changes within minutes: each reference is measured 4 s right before
  # and 4 s right after CallMedia's 8 s (nginx, bare | CallMedia | bare, nginx), and the ratios use the mean of the two,
  # so a drift that is steady over those 24 s cancels out. Both halves are printed.
  ref_runs=()
  refs() {
    local order=(ng bare)
    [[ $1 == after ]] && order=(bare ng)
    for r in "${order[@]}"; do
      if [[ $r == ng ]]; then
        ref_runs+=("ng $(wrk_rps "$ng_url" 4s "$ng_pid" $(pgrep -P "$ng_pid"))")
      else
        ref_runs+=("bare $(wrk_rps "$bare_url" 4s "$bare_pid")")
      fi
    done
  }
  around_redeem=refs mint_and_redeem "http://127.0.0.1:$cm_port" "$session" "$small_id" "$cm_pid"
  sqlite_redeem=$redeem_rps; sqlite_cpu=$redeem_cpu
  mean_of() { printf '%s\n' "${ref_runs[@]}" | awk -v r="$1" -v f="$2" '$1 == r {s += $f; n++} END {printf (f == 4 ? "%.3f" : "%.0f"), s / n}'; }
  halves() { printf '%s\n' "${ref_runs[@]}" | awk -v r="$1" -v f="${2:-2}" '$1 == r {printf "%s%s", (n++ ? " / " : ""), $f}'; }
  read -r ng_rps ng_cpu bare_rps bare_cpu <<<"$(mean_of ng 2) $(mean_of ng 4) $(mean_of bare 2) $(mean_of bare 4)"
  ng_p99=$(halves ng 3) bare_p99=$(halves bare 3)
  echo "callmedia: $redeem_rps redemptions/s, p99 ${redeem_p99} ms, $redeem_cpu CPU s per 1,000; nginx: $ng_rps req/s (before / after: $(halves ng); p99 $ng_p99; $ng_cpu CPU s per 1,000); bare Kestrel: $bare_rps req/s (before / after: $(halves bare); p99 $bare_p99; $bare_cpu CPU s per 1,000) $(load)"
  echo "ratio (a): $(ratio "$redeem_rps" "$bare_rps") x bare Kestrel, $(ratio "$redeem_rps" "$ng_rps") x nginx (targets >= 0.7 and >= 0.3; p99 < 10 ms)"
  echo "ratio (a) by CPU per request: $(ratio "$bare_cpu" "$redeem_cpu") x bare Kestrel, $(ratio "$ng_cpu" "$redeem_cpu") x nginx"
  echo "(b) token issue: $issue_rps tokens/s, p99 ${issue_p99} ms, $issue_cpu CPU s per 1,000 (target >= 5,000/s); $(ratio "$issue_rps" "$bare_rps") x bare Kestrel, $(ratio "$issue_rps" "$ng_rps") x nginx; by CPU per request $(ratio "$bare_cpu" "$issue_cpu") x bare Kestrel"
fi

speed() { # url → best MB/s of 3
  local best=0
  for _ in 1 2 3; do
    local s; s=$(curl -s -o /dev/null -w '%{speed_download}' "$1")
    best=$(python3 -c "print(max($best, $s/1e6))")
  done
  printf '%.0f' "$best"
}
speed_token() { # query, extension → best MB/s of 3 with a fresh token each time
  local best=0
  for _ in 1 2 3; do
    local t; t=$(token "$1")
    local s; s=$(curl -s -o /dev/null -w '%{speed_download}' "$base/sendcallfile.$2;jsessionid=$session?token=$t")
    best=$(python3 -c "print(max($best, $s/1e6))")
  done
  printf '%.0f' "$best"
}

if has c; then
  echo "== (c) one 1 GiB file, MB/s (best of 3) $(load)"
  nonsparse "$work/src/one-gib.mp4"
  cm_c=$(speed_token "id_call[]=$(ids one-gib)&action=download" mp4)
  ng_c=$(speed "http://127.0.0.1:$ng_port/one-gib.mp4")
  bare_c=$(speed "http://127.0.0.1:$bare_port/file/one-gib.mp4")
  echo "callmedia: $cm_c MB/s; nginx: $ng_c MB/s; bare Kestrel: $bare_c MB/s $(load)"
  echo "ratio (c): $(ratio "$cm_c" "$ng_c") x nginx (target >= 0.9), $(ratio "$cm_c" "$bare_c") x bare Kestrel"
fi

if has d; then
  echo "== (d) zip of 1,000 x 4 MiB, MB/s (best of 3), RSS $(load)"
  nonsparse "$work"/src/zip/*.mp3
  zip_ids=$(ids zip-set)
  rss_before=$(rss_kib "$cm_pid")
  t=$(token "id_call[]=$zip_ids&action=download")
  curl -s -o "$work/src/same-size.zip" "$base/sendcallfile.zip;jsessionid=$session?token=$t"
  rss_one=$(rss_kib "$cm_pid")
  sync; nonsparse "$work/src/same-size.zip"
  cm_d=$(speed_token "id_call[]=$zip_ids&action=download" zip)
  rss_after=$(rss_kib "$cm_pid")
  ng_d=$(speed "http://127.0.0.1:$ng_port/same-size.zip")
  bare_d=$(speed "http://127.0.0.1:$bare_port/file/same-size.zip")
  echo "zip size: $(stat -c %s "$work/src/same-size.zip") bytes"
  echo "callmedia: $cm_d MB/s; nginx (one file of the same size): $ng_d MB/s; bare Kestrel: $bare_d MB/s $(load)"
  echo "ratio (d): $(ratio "$cm_d" "$ng_d") x nginx (target >= 0.9), $(ratio "$cm_d" "$bare_d") x bare Kestrel"
  echo "(d) RSS before $((rss_before / 1024)) MiB, after the first zip $((rss_one / 1024)) MiB, after four $((rss_after / 1024)) MiB: growth $(((rss_one - rss_before) / 1024)) MiB, then $(((rss_after - rss_one) / 1024)) MiB over three more"
fi

if has e; then
  echo "== (e) the same (b)+(a) on PostgreSQL, one node $(load)"
  eval "$(bash scripts/pg.sh start)"
  pgdir=$CALLMEDIA_TEST_PGDIR
  pgport=$(echo "$CALLMEDIA_TEST_POSTGRES" | sed 's/.*Port=\([0-9]*\).*/\1/')
  "$CALLMEDIA_TEST_PGBIN/psql" "host=127.0.0.1 port=$pgport user=postgres dbname=postgres" -qc "CREATE DATABASE bench" >/dev/null
  pg="--ConnectionStrings:CallMedia=${CALLMEDIA_TEST_POSTGRES/Database=postgres/Database=bench}"
  "$cm" import "$work/small-set.csv" --data "$work/pgdata" "$pg" --link "--Import:AllowedRoots:0=$work/src" >/dev/null 2>&1
  echo "bench-password" | "$cm" user add bench --role downloader --data "$work/pgdata" "$pg" >/dev/null
  pg_node=$(free_port)
  serve "$pg_node" "$work/pgdata" "$pg"
  pg_session=$(login "http://127.0.0.1:$pg_node")
  pg_id=$("$cm" calls list --data "$work/pgdata" "$pg" --limit 10 | awk -F'\t' '$2 ~ /^small-set-/ {print $1}' | head -1)
  # CPU seconds (user + system) of every PostgreSQL server process, from /proc.
  pg_cpu() { python3 -c "
import sys
import os
hz = os.sysconf('SC_CLK_TCK'); total = 0
for p in os.listdir('/proc'):
    try:
        if not p.isdigit() or open(f'/proc/{p}/comm').read().strip() != 'postgres': continue
        f = open(f'/proc/{p}/stat').read().rsplit(')', 1)[1].split()
        total += int(f[11]) + int(f[12]) + int(f[13]) + int(f[14])
    except OSError: pass
print(total / hz)" "$@"; }
  # Issue is slower here than redemption: mint for longer, so the redemption's 8 s do not run out of tokens.
  mint_seconds=30 cpu_probe=pg_cpu mint_and_redeem "http://127.0.0.1:$pg_node" "$pg_session" "$pg_id" "${pids[-1]}"
  echo "PostgreSQL: $redeem_rps redemptions/s, p99 ${redeem_p99} ms, node $redeem_cpu CPU s per 1,000; token issue $issue_rps/s, node $issue_cpu CPU s per 1,000 $(load)"
  echo "PostgreSQL server CPU: $(python3 -c "print(f'{$db_cpu:.2f} s over {$redeem_rps * 8:.0f} redemptions = {$db_cpu * 1000 / ($redeem_rps * 8):.3f} s per 1,000')")"
  [[ -n ${sqlite_redeem:-} ]] && echo "ratio (e): $(ratio "$redeem_rps" "$sqlite_redeem") x SQLite (a) (target >= 0.5); by node CPU per redemption $(ratio "$sqlite_cpu" "$redeem_cpu")"
fi
if has g; then
  echo "== (g) one 1 GiB file behind nginx: X-Accel-Redirect offload vs nginx alone vs proxied, MB/s, 5 rounds $(load)"
  # Offload covers files stored in the media folder (not linked in): a data folder of its own with a stored copy.
  if [[ ! -f $work/accel-data/callmedia.db ]]; then
    manifest accel-set "$work/src/one-gib.mp4"
    "$cm" import "$work/accel-set.csv" --data "$work/accel-data" "--Import:AllowedRoots:0=$work/src" >/dev/null 2>&1
    echo "bench-password" | "$cm" user add bench --role downloader --data "$work/accel-data" >/dev/null
  fi
  nonsparse "$work/src/one-gib.mp4" "$(find "$work/accel-data/media" -name '*.mp4' | head -1)"
  accel_port=$(free_port); front_port=$(free_port); proxied_port=$(free_port)
  serve "$accel_port" "$work/accel-data" --Delivery:AccelRedirect=/_callmedia_media/
  serve "$proxied_port" "$work/accel-data"
  nginx_conf "$work/front" "server {
    listen 127.0.0.1:$front_port;
    location /accel/ { proxy_pass http://127.0.0.1:$accel_port/; proxy_buffering off; proxy_http_version 1.1; proxy_set_header Connection \"\"; }
    location /proxied/ { proxy_pass http://127.0.0.1:$proxied_port/; proxy_buffering off; proxy_http_version 1.1; proxy_set_header Connection \"\"; }
    location /_callmedia_media/ { internal; alias $work/accel-data/media/; }
    location /plain/ { alias $work/accel-data/media/; }
  }"
  nginx -c "$work/front/nginx.conf" -g 'daemon off;' &
  pids+=($!)
  wait_up "http://127.0.0.1:$front_port/accel/healthz"
  accel_id=$("$cm" calls list --data "$work/accel-data" --limit 10 | awk -F'\t' '$2 ~ /^accel-set-/ {print $1}' | head -1)
  accel_file=$(find "$work/accel-data/media" -name '*.mp4' | head -1)
  accel_file=${accel_file#"$work/accel-data/media/"}
  get() { curl -s -o /dev/null -w '%{speed_download}' "$1" | python3 -c 'import sys; print(round(float(sys.stdin.read()) / 1e6))'; }
  via() { # front path → MB/s of one download of the 1 GiB file through it, with a fresh token
    local t
    t=$(curl -s "http://127.0.0.1:$front_port/$1/callrec/downloadtoken;jsessionid=${sids[$1]}?id_call[]=$accel_id&action=download" | sed -n 's/.*<reply>\(.*\)<\/reply>.*/\1/p')
    get "http://127.0.0.1:$front_port/$1/callrec/sendcallfile.mp4;jsessionid=${sids[$1]}?token=$t"
  }
  declare -A sids=([accel]=$(login "http://127.0.0.1:$front_port/accel") [proxied]=$(login "http://127.0.0.1:$front_port/proxied"))
  # Rounds of three downloads one after another, so each comparison sees the same moment's load: offloaded,
  # the same file served by the same nginx with no CallMedia at all, and proxied through it to CallMedia.
  rounds=()
  for _ in 1 2 3 4 5; do
    rounds+=("$(via accel) $(get "http://127.0.0.1:$front_port/plain/$accel_file") $(via proxied)")
  done
  printf '  offloaded / nginx alone / proxied MB/s: %s\n' "${rounds[@]}"
  printf '%s\n' "${rounds[@]}" | python3 -c '
import sys, statistics
rows = [list(map(float, l.split())) for l in sys.stdin if l.strip()]
off = statistics.median(r[0] / r[1] for r in rows); prox = statistics.median(r[2] / r[1] for r in rows)
print(f"ratio (g): offloaded {off:.2f} x nginx alone (median of {len(rows)} rounds; target (c) >= 0.9); proxied {prox:.2f} x nginx alone")'
fi
echo "machine: $(nproc) cores, $(free -g | awk '/Mem/ {print $2}') GiB, $(uname -r) $(load)"
