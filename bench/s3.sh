#!/usr/bin/env bash
# Media in S3 (a Ceph RADOS Gateway on this machine, scripts/s3.sh) vs the local folder, in one run, same files:
#   (1) MB/s of one 1 GiB download                      (best of 3)
#   (2) MB/s of a zip of 1,000 files of 4 MiB           (best of 3)
#   (3) first byte of a seek in a 2-hour MP3 from S3: an open range from the middle (`bytes=N-`, as players ask), ms
#       (median of 9), and the same on the local folder
# The files are imported once into a local data folder; a copy of it is moved into a bucket by
# `callmedia storage migrate --to s3 --delete-local` (timed) and served by a second server with Storage:Kind=s3.
# Rounds alternate the two servers, so both see the same load from the machine's other users.
# Usage: nice -n 10 bash bench/s3.sh [work-dir]   (needs ~11 GB free disk and ~11 GB of RAM: the memstore OSD holds
#        the 5 GiB in memory at about twice their size;
#        CM=path/to/callmedia skips the publish)
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
work=${1:-$(mktemp -d /tmp/callmedia-s3bench.XXXXXX)}
mkdir -p "$work"
. bench/lib.sh
rss_mib() { awk '/VmRSS/ {printf "%d", $2/1024}' "/proc/$1/status"; }

echo "== load before: $(uptime)"
if [ -z "${CM:-}" ]; then
  echo "== building"
  dotnet publish src/CallMedia -c Release -o "$work/app" -v quiet >/dev/null
  CM="$work/app/callmedia"
fi

echo "== starting the S3 store (scripts/s3.sh)"
t0=$(date +%s.%N)
eval "$(S3SH_CAPACITY_GB=${S3SH_CAPACITY_GB:-12} bash "$root/scripts/s3.sh" start)"
echo "store up in $(python3 -c "import time; print(f'{time.time() - $t0:.1f}')") s"
cleanup() { kill ${local_pid:-} ${s3_pid:-} 2>/dev/null || true; bash "$root/scripts/s3.sh" stop "$S3_DATA_DIR" || true; }
trap cleanup EXIT
bucket="bench-$(date +%s)"
# a signed PUT of the bucket (curl signs SigV4 itself; this hash is that of the empty body)
curl -sf -X PUT --aws-sigv4 aws:amz:us-east-1:s3 -H 'x-amz-content-sha256: e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855' \
  --user "$S3_ACCESS_KEY:$S3_SECRET_KEY" "$S3_ENDPOINT/$bucket" >/dev/null
s3opts=(--Storage:Kind=s3 "--Storage:S3:ServiceUrl=$S3_ENDPOINT" "--Storage:S3:Bucket=$bucket" "--Storage:S3:AccessKey=$S3_ACCESS_KEY" "--Storage:S3:SecretKey=$S3_SECRET_KEY")

echo "== generating files in $work/src"
mkdir -p "$work/src/zip"
make() { [ "$(stat -c %s "$1" 2>/dev/null || echo 0)" = "$2" ] || head -c "$2" /dev/urandom > "$1"; }
for i in $(seq 0 999); do make "$(printf '%s/src/zip/z%04d.mp3' "$work" "$i")" $((4 << 20)); done
make "$work/src/one-gib.mp3" $((1 << 30))
[ -s "$work/src/two-hours.mp3" ] || ffmpeg -hide_banner -loglevel error -f lavfi -i "sine=f=440:r=8000:d=7200" -ac 1 -b:a 32k "$work/src/two-hours.mp3"

data="$work/data"
rm -rf "$data" "$data-s3"
{
  echo "sid,start,stop,calling_number,called_number,type,path"
  i=0; for f in "$work"/src/zip/*.mp3; do echo "zip-set-$i,2026-11-01T10:00:00Z,2026-11-01T10:05:00Z,+15550100,2001,audio,$f"; i=$((i + 1)); done
  echo "one-gib-0,2026-11-01T10:00:00Z,2026-11-01T10:05:00Z,+15550100,2001,audio,$work/src/one-gib.mp3"
  echo "two-hours-0,2026-11-01T10:00:00Z,2026-11-01T12:00:00Z,+15550100,2001,audio,$work/src/two-hours.mp3"
} > "$work/set.csv"
echo "== importing (local folder)"
"$CM" import "$work/set.csv" --data "$data" >/dev/null
echo "bench-password" | "$CM" user add bench --role downloader --data "$data" >/dev/null
zip_ids=$("$CM" calls list --data "$data" --limit 100000 | awk -F'\t' '$2 ~ /^zip-set-/ {print $1}' | paste -sd,)
gib_id=$("$CM" calls list --data "$data" --sid one-gib-0 | cut -f1)
mp3_id=$("$CM" calls list --data "$data" --sid two-hours-0 | cut -f1)
mp3_size=$(stat -c %s "$work/src/two-hours.mp3")

echo "== copying the data folder; storage migrate moves the copy into the bucket"
mkdir -p "$data-s3"; cp -a "$data"/callmedia.db* "$data-s3"/; cp -al "$data/media" "$data-s3/media" # hard links: no second copy on disk
start=$(date +%s.%N)
"$CM" storage migrate --to s3 --delete-local --data "$data-s3" "${s3opts[@]}"
echo "migrate took $(python3 -c "import time; print(f'{time.time() - $start:.1f}')") s for $(du -sh "$data/media" | cut -f1) (upload, read back, verify)"

read -r local_pid local_base local_session < <(start_server "$data" local)
read -r s3_pid s3_base s3_session < <(start_server "$data-s3" s3 "${s3opts[@]}")
seek() { # base session → ms to the first byte of an open range from the middle of the 2-hour MP3
  local t; t=$(token "$1" "$2" "id_call[]=$mp3_id&action=download")
  python3 -c "print($(curl -s -o /dev/null -H "Range: bytes=$((mp3_size / 2))-" -w '%{time_starttransfer}' "$1/sendcallfile.mp3;jsessionid=$2?token=$t")*1000)"
}
median() { python3 -c "import statistics,sys; print(f'{statistics.median(map(float, sys.argv[1:])):.1f}')" "$@"; }

seek "$s3_base" "$s3_session" >/dev/null # first request: connections and JIT, not measured
seek "$local_base" "$local_session" >/dev/null
echo "S3 server RSS before: $(rss_mib "$s3_pid") MiB"
lg=(); sg=(); lz=(); sz=(); ls=(); ss=()
for round in 1 2 3; do
  echo "== round $round"
  lg+=("$(speed "$local_base" "$local_session" "id_call[]=$gib_id&action=download" mp3)")
  sg+=("$(speed "$s3_base" "$s3_session" "id_call[]=$gib_id&action=download" mp3)")
  lz+=("$(speed "$local_base" "$local_session" "id_call[]=$zip_ids&action=download" zip)")
  sz+=("$(speed "$s3_base" "$s3_session" "id_call[]=$zip_ids&action=download" zip)")
  for _ in 1 2 3; do
    ls+=("$(seek "$local_base" "$local_session")"); ss+=("$(seek "$s3_base" "$s3_session")")
  done
  echo "1 GiB local ${lg[-1]} S3 ${sg[-1]} MB/s; zip local ${lz[-1]} S3 ${sz[-1]} MB/s; S3 server RSS $(rss_mib "$s3_pid") MiB"
done
local_gib=$(best "${lg[@]}"); s3_gib=$(best "${sg[@]}"); local_zip=$(best "${lz[@]}"); s3_zip=$(best "${sz[@]}")
local_seek=$(median "${ls[@]}"); s3_seek=$(median "${ss[@]}")
echo "local: 1 GiB $local_gib MB/s, zip $local_zip MB/s, 2-hour MP3 seek first byte $local_seek ms (best of 3; median of 9)"
echo "S3:    1 GiB $s3_gib MB/s, zip $s3_zip MB/s, 2-hour MP3 seek first byte $s3_seek ms"
echo "ratio S3/local: 1 GiB $(ratio "$s3_gib" "$local_gib"), zip $(ratio "$s3_zip" "$local_zip") (target >= 0.7); S3 seek first byte $s3_seek ms (target < 100)"
# The store's own speed, without CallMedia: curl GETs of the same 1 GiB straight from the gateway.
sig=(--aws-sigv4 aws:amz:us-east-1:s3 --user "$S3_ACCESS_KEY:$S3_SECRET_KEY" -H 'x-amz-content-sha256: UNSIGNED-PAYLOAD')
curl -sf -X PUT "${sig[@]}" -T "$work/src/one-gib.mp3" "$S3_ENDPOINT/$bucket/raw-one-gib" -o /dev/null
raw=(); for _ in 1 2 3; do raw+=("$(python3 -c "print($(curl -sf "${sig[@]}" "$S3_ENDPOINT/$bucket/raw-one-gib" -o /dev/null -w '%{speed_download}')/1e6)")"); done
echo "the store itself (curl GET of 1 GiB from the gateway): $(best "${raw[@]}") MB/s; CallMedia from S3 / the store: $(ratio "$s3_gib" "$(best "${raw[@]}")")"
echo "S3 server RSS after: $(rss_mib "$s3_pid") MiB; Ceph: $(bash "$root/scripts/s3.sh" status "$S3_DATA_DIR" | tr '\n' ';')"
echo "== load after: $(uptime)"
echo "machine: $(nproc) cores, $(free -g | awk '/Mem/ {print $2}') GiB, $(uname -r)"
