#!/usr/bin/env bash
# Side-by-side benchmark: CallMedia vs nginx serving the same files on this machine, in one run.
# Prints ratios for docs/benchmarks.md:
#   (a) token issue + redemption + a 40,521-byte file, requests/s, vs nginx serving that file statically
#   (b) MB/s of one 1 GiB file                                  vs nginx
#   (c) MB/s of a zip of 1,000 files of 4 MiB                   vs nginx sending one file of the same size
#   (d) CallMedia's RSS before and after (c)
#   (e) `callmedia import` of 10,000 small files and one 4 GiB file vs `cp -r` of the same files
# Usage: bash bench/run.sh [work-dir]   (needs ~30 GB free; installs nginx-light and wrk when missing)
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
work=${1:-$(mktemp -d /tmp/callmedia-bench.XXXXXX)}
mkdir -p "$work"
for p in nginx-light wrk curl ffmpeg; do
  dpkg -s "$p" >/dev/null 2>&1 || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$p" >/dev/null; }
done

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
rss_kib() { awk '/VmRSS/ {print $2}' "/proc/$1/status"; }
ratio() { python3 -c "print(f'{$1/$2:.2f}')"; }

echo "== building"
dotnet publish src/CallMedia -c Release -o "$work/app" -v quiet >/dev/null
cm="$work/app/callmedia"

echo "== generating files in $work/src"
python3 - "$work/src" <<'PY'
import os, sys
src = sys.argv[1]
os.makedirs(f"{src}/small", exist_ok=True)
os.makedirs(f"{src}/zip", exist_ok=True)
pool = os.urandom(64 << 20)
def write(path, size, seed):
    if os.path.exists(path) and os.path.getsize(path) == size:
        return
    with open(path, "wb") as f:
        off = (seed * 7919) % len(pool)
        left = size
        while left:
            n = min(left, len(pool) - off)
            f.write(pool[off:off + n]); left -= n; off = 0
for i in range(10000):
    write(f"{src}/small/s{i:05}.mp3", 40521, i)
for i in range(1000):
    write(f"{src}/zip/z{i:04}.mp3", 4 << 20, i)
write(f"{src}/one-gib.mp4", 1 << 30, 1)
write(f"{src}/four-gib.mp4", 4 << 30, 2)
PY

manifest() { # name, file list → CSV, one couple per file
  local out="$work/$1.csv"; shift
  echo "sid,start,stop,calling_number,called_number,type,path" > "$out"
  local i=0
  for f in "$@"; do
    echo "$(basename "$out" .csv)-$i,2026-11-01T10:00:00Z,2026-11-01T10:05:00Z,+15550100,2001,audio,$f" >> "$out"
    i=$((i + 1))
  done
}

echo "== (e) import vs cp -r"
sync
rm -rf "$work/data" "$work/cp"
manifest import-set "$work"/src/small/*.mp3 "$work/src/four-gib.mp4"
start=$(date +%s.%N); cp -r "$work/src/small" "$work/src/four-gib.mp4" "$work/cp/" 2>/dev/null || { mkdir -p "$work/cp"; cp -r "$work/src/small" "$work/src/four-gib.mp4" "$work/cp/"; }; sync; cp_s=$(python3 -c "import time; print(time.time() - $start)")
start=$(date +%s.%N); "$cm" import "$work/import-set.csv" --data "$work/data" > "$work/import.out" 2>"$work/import.err"; sync; import_s=$(python3 -c "import time; print(time.time() - $start)")
cat "$work/import.out"
bytes=$(( 10000 * 40521 + (4 << 30) ))
echo "import: $(python3 -c "print(f'{10001/$import_s:.0f} files/s, {$bytes/1e6/$import_s:.0f} MB/s in {$import_s:.1f} s')")"
echo "cp -r:  $(python3 -c "print(f'{10001/$cp_s:.0f} files/s, {$bytes/1e6/$cp_s:.0f} MB/s in {$cp_s:.1f} s')")"
echo "ratio (e) import/cp time: $(ratio "$cp_s" "$import_s") (cp time / import time; 1.00 = same speed)"
rm -rf "$work/cp"

manifest zip-set "$work"/src/zip/*.mp3
manifest one-gib "$work/src/one-gib.mp4"
"$cm" import "$work/zip-set.csv" --data "$work/data" --link "--Import:AllowedRoots:0=$work/src" >/dev/null 2>&1
"$cm" import "$work/one-gib.csv" --data "$work/data" --link "--Import:AllowedRoots:0=$work/src" >/dev/null 2>&1
echo "bench-password" | "$cm" user add bench --role downloader --data "$work/data" >/dev/null

cm_port=$(free_port); ng_port=$(free_port)
"$cm" serve --no-demo --data "$work/data" --urls "http://127.0.0.1:$cm_port" --Logging:LogLevel:Default=Warning "--Import:AllowedRoots:0=$work/src" --Tokens:MaxPerSessionPerMinute=10000000 > "$work/serve.log" 2>&1 &
cm_pid=$!
mkdir -p "$work/nginx"
cat > "$work/nginx/nginx.conf" <<NGINX
worker_processes 2;
pid $work/nginx/nginx.pid;
error_log $work/nginx/error.log warn;
events { worker_connections 1024; }
http {
  access_log off;
  sendfile on; tcp_nopush on;
  server { listen 127.0.0.1:$ng_port; root $work/src; }
}
NGINX
nginx -c "$work/nginx/nginx.conf" -g 'daemon off;' &
ng_pid=$!
trap 'kill $cm_pid $ng_pid 2>/dev/null || true' EXIT
for _ in $(seq 1 100); do curl -s "http://127.0.0.1:$cm_port/healthz" >/dev/null && curl -s "http://127.0.0.1:$ng_port/" -o /dev/null && break; sleep 0.2; done

base="http://127.0.0.1:$cm_port/callrec"
session=$(curl -s -d 'loginname=bench&password=bench-password' "$base/loginservlet" | sed -n 's/.*sessionid="\([0-9A-F]*\)".*/\1/p')
token() { curl -s "$base/downloadtoken;jsessionid=$session?$1" | sed -n 's/.*<reply>\(.*\)<\/reply>.*/\1/p'; }
small_id=$("$cm" calls list --data "$work/data" --sid import-set-0 | cut -f1)
zip_ids=$("$cm" calls list --data "$work/data" --limit 100000 | awk -F'\t' '$2 ~ /^zip-set-/ {print $1}' | paste -sd,)
gib_id=$("$cm" calls list --data "$work/data" --sid one-gib-0 | cut -f1)

echo "== (a) token issue + redemption + 40,521-byte file, requests/s (wrk -t2 -c32 -d15s)"
wrk -t2 -c32 -d3s -s bench/redeem.lua "http://127.0.0.1:$cm_port" -- "$session" "$small_id" >/dev/null
out=$(wrk -t2 -c32 -d15s -s bench/redeem.lua "http://127.0.0.1:$cm_port" -- "$session" "$small_id")
cm_rps=$(echo "$out" | awk '/^redeemed/ {printf "%.0f", $2/$6}')
echo "$out" | grep -E "^redeemed"
ng_rps=$(wrk -t2 -c32 -d15s "http://127.0.0.1:$ng_port/small/s00000.mp3" | awk '/Requests\/sec/ {printf "%.0f", $2}')
echo "callmedia: $cm_rps redemptions/s (each also issued a token: $((cm_rps * 2)) requests/s); nginx: $ng_rps requests/s"
echo "ratio (a): $(ratio "$cm_rps" "$ng_rps")"

speed() { # url → best MB/s of 3
  local best=0
  for _ in 1 2 3; do
    local s; s=$(curl -s -o /dev/null -w '%{speed_download}' "$1")
    best=$(python3 -c "print(max($best, $s/1e6))")
  done
  echo "$best"
}
speed_token() { # query → best MB/s of 3 with a fresh token each time
  local best=0
  for _ in 1 2 3; do
    local t; t=$(token "$1")
    local s; s=$(curl -s -o /dev/null -w '%{speed_download}' "$base/sendcallfile.$2;jsessionid=$session?token=$t")
    best=$(python3 -c "print(max($best, $s/1e6))")
  done
  echo "$best"
}

echo "== (b) one 1 GiB file, MB/s (best of 3)"
cm_b=$(speed_token "id_call[]=$gib_id&action=download" mp4)
ng_b=$(speed "http://127.0.0.1:$ng_port/one-gib.mp4")
echo "callmedia: $cm_b MB/s; nginx: $ng_b MB/s; ratio (b): $(ratio "$cm_b" "$ng_b")"

echo "== (c)+(d) zip of 1,000 x 4 MiB, MB/s (best of 3), RSS"
rss_before=$(rss_kib $cm_pid)
t=$(token "id_call[]=$zip_ids&action=download")
curl -s -o "$work/src/same-size.zip" "$base/sendcallfile.zip;jsessionid=$session?token=$t"
cm_c=$(speed_token "id_call[]=$zip_ids&action=download" zip)
rss_after=$(rss_kib $cm_pid)
ng_c=$(speed "http://127.0.0.1:$ng_port/same-size.zip")
echo "zip size: $(stat -c %s "$work/src/same-size.zip") bytes"
echo "callmedia: $cm_c MB/s; nginx (one file of the same size): $ng_c MB/s; ratio (c): $(ratio "$cm_c" "$ng_c")"
echo "(d) RSS before $((rss_before / 1024)) MiB, after $((rss_after / 1024)) MiB, growth $(((rss_after - rss_before) / 1024)) MiB"
echo "machine: $(nproc) cores, $(free -g | awk '/Mem/ {print $2}') GiB, $(uname -r)"
