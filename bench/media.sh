#!/usr/bin/env bash
# Media benchmarks, in one run on this machine:
#   - first-byte latency and transcode speed (x real time) of the MP3 stream of a 10-minute WAV
#   - prepare of a 10-minute screen capture + audio through CallMedia vs the same ffmpeg command line run bare
# Usage: bash bench/media.sh [work-dir]
set -euo pipefail
cd "$(dirname "$0")/.."
work=${1:-$(mktemp -d /tmp/callmedia-media.XXXXXX)}
mkdir -p "$work"
dotnet publish src/CallMedia -c Release -o "$work/app" -v quiet >/dev/null
cm="$work/app/callmedia"
ff() { ffmpeg -hide_banner -loglevel error -y "$@"; }
ff -f lavfi -i "aevalsrc=0.5*sin(2*PI*440*t)*(0.55+0.45*sin(2*PI*0.4*t)):s=8000:d=600" -c:a pcm_s16le "$work/call.wav"
ff -f lavfi -i "testsrc2=size=1280x720:rate=10:duration=600" -c:v libx264 -preset ultrafast -pix_fmt yuv420p -f matroska "$work/screen.mkv"
cat > "$work/m.csv" <<CSV
sid,start,stop,calling_number,called_number,type,path
wav-1,2026-11-01T10:00:00Z,2026-11-01T10:10:00Z,100,200,audio,$work/call.wav
cap-1,2026-11-01T11:00:00Z,2026-11-01T11:10:00Z,100,200,audio,$work/call.wav
cap-1,2026-11-01T11:00:00Z,2026-11-01T11:10:00Z,100,200,recd,$work/screen.mkv
CSV
rm -rf "$work/data"
"$cm" import "$work/m.csv" --data "$work/data" >/dev/null
echo "bench-password" | "$cm" user add bench --role supervisor --data "$work/data" >/dev/null
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
"$cm" serve --no-demo --data "$work/data" --urls "http://127.0.0.1:$port" --Logging:LogLevel:Default=Warning > "$work/serve.log" 2>&1 &
pid=$!
trap 'kill $pid 2>/dev/null || true' EXIT
for _ in $(seq 1 100); do curl -s "http://127.0.0.1:$port/healthz" >/dev/null && break; sleep 0.2; done
base="http://127.0.0.1:$port/callrec"
session=$(curl -s -d 'loginname=bench&password=bench-password' "$base/loginservlet" | sed -n 's/.*sessionid="\([0-9A-F]*\)".*/\1/p')
token() { curl -s "$base/downloadtoken;jsessionid=$session?$1" | sed -n 's/.*<reply>\(.*\)<\/reply>.*/\1/p'; }
wav_id=$("$cm" calls list --data "$work/data" --sid wav-1 | cut -f1)
cap_id=$("$cm" calls list --data "$work/data" --sid cap-1 | cut -f1)

echo "== MP3 stream of a 10-minute WAV (first play: transcoded while streaming)"
t=$(token "id_call[]=$wav_id")
curl -s -o /dev/null -w 'first byte %{time_starttransfer} s, whole stream %{time_total} s\n' "$base/sendcallfile.mp3;jsessionid=$session?token=$t" | tee "$work/mp3.txt"
total=$(sed -n 's/.*whole stream \([0-9.]*\) s/\1/p' "$work/mp3.txt")
echo "transcode speed: $(python3 -c "print(f'{600/$total:.0f}')") x real time"

echo "== prepare: 10-minute 1280x720 capture + audio"
t=$(token "id_call[]=$cap_id&type=16&action=prepare")
start=$(date +%s.%N)
curl -s -o /dev/null "$base/sendcallfile.mp4;jsessionid=$session?token=$t"
cm_s=$(python3 -c "import time; print(time.time() - $start)")
cmd=$(grep -m1 '^\$ ' "$work"/data/media/.logs/job-*.log | sed 's/^[^$]*\$ //')
bare="$work/bare.mp4"
cmd=$(echo "$cmd" | sed "s| [^ ]*\.mp4\$| $bare|")
start=$(date +%s.%N)
bash -c "$cmd" > /dev/null 2>&1
bare_s=$(python3 -c "import time; print(time.time() - $start)")
echo "callmedia prepare: $(printf '%.1f' "$cm_s") s; the same ffmpeg command line bare: $(printf '%.1f' "$bare_s") s; ratio $(python3 -c "print(f'{$cm_s/$bare_s:.2f}')")"
echo "machine: $(nproc) cores, $(free -g | awk '/Mem/ {print $2}') GiB"
