#!/usr/bin/env bash
# Encryption at rest, on vs off in one run, same files, same machine:
#   (1) MB/s of one 1 GiB download                      (best of 3)
#   (2) MB/s of a zip of 1,000 files of 4 MiB           (best of 3)
#   (3) first byte of a seek: a 1,000-byte range in the middle of the 1 GiB file, ms (median of 7)
# The files are imported once (plain); a copy of the data folder is converted by `callmedia storage encrypt` and
# served by a second server with Storage:Encryption=on. Rounds alternate the two servers, so both see the same load
# from the machine's other users; `uptime` is printed before and after.
# Usage: nice -n 10 bash bench/crypt.sh [work-dir]   (needs ~16 GB free; CM=path/to/callmedia skips the publish;
#        REUSE=1 serves the data folders a previous run left in work-dir as they are; ROUNDS=n, 3 by default)
# Before the rounds each server sends the 1 GiB file and the zip once, not counted (page cache, tiered JIT); the last
# line names the CPU, the libcrypto the encrypted server uses and that library's AES-256-GCM speed on 64 KiB chunks,
# the floor of what decryption costs on this machine.
set -euo pipefail
cd "$(dirname "$0")/.."
work=${1:-$(mktemp -d /tmp/callmedia-crypt.XXXXXX)}
mkdir -p "$work"
. bench/lib.sh
for p in curl; do
  dpkg -s "$p" >/dev/null 2>&1 || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$p" >/dev/null; }
done

echo "== load before: $(uptime)"
if [ -z "${CM:-}" ]; then
  echo "== building"
  dotnet publish src/CallMedia -c Release -o "$work/app" -v quiet >/dev/null
  CM="$work/app/callmedia"
fi

echo "== generating files in $work/src"
mkdir -p "$work/src/zip"
make() { [ "$(stat -c %s "$1" 2>/dev/null || echo 0)" = "$2" ] || head -c "$2" /dev/urandom > "$1"; }
for i in $(seq 0 999); do make "$(printf '%s/src/zip/z%04d.mp3' "$work" "$i")" $((4 << 20)); done
make "$work/src/one-gib.mp3" $((1 << 30))

data="$work/data"
keyfile="$work/master.key"
if [ -n "${REUSE:-}" ] && [ -d "$data-enc" ] && [ -s "$keyfile" ]; then
  echo "== reusing $data and $data-enc"
else
  rm -rf "$data" "$data-enc"
  umask 077; python3 -c 'import os,base64; print(base64.b64encode(os.urandom(32)).decode())' > "$keyfile"; umask 022
  {
    echo "sid,start,stop,calling_number,called_number,type,path"
    i=0; for f in "$work"/src/zip/*.mp3; do echo "zip-set-$i,2026-11-01T10:00:00Z,2026-11-01T10:05:00Z,+15550100,2001,audio,$f"; i=$((i + 1)); done
    echo "one-gib-0,2026-11-01T10:00:00Z,2026-11-01T10:05:00Z,+15550100,2001,audio,$work/src/one-gib.mp3"
  } > "$work/set.csv"
  echo "== importing (plain copies)"
  "$CM" import "$work/set.csv" --data "$data" >/dev/null
  echo "bench-password" | "$CM" user add bench --role downloader --data "$data" >/dev/null
  echo "== copying the data folder; storage encrypt converts the copy in place"
  rm -rf "$data-enc"; cp -a "$data" "$data-enc"
  start=$(date +%s.%N)
  "$CM" storage encrypt --data "$data-enc" --Storage:Encryption=on "--Storage:KeyFile=$keyfile"
  echo "encrypt took $(python3 -c "import time; print(f'{time.time() - $start:.1f}')") s for $(du -sh "$data-enc/media" | cut -f1)"
fi
zip_ids=$("$CM" calls list --data "$data" --limit 100000 | awk -F'\t' '$2 ~ /^zip-set-/ {print $1}' | paste -sd,)
gib_id=$("$CM" calls list --data "$data" --sid one-gib-0 | cut -f1)

read -r plain_pid plain_base plain_session < <(start_server "$data" plain)
read -r enc_pid enc_base enc_session < <(start_server "$data-enc" encrypted --Storage:Encryption=on "--Storage:KeyFile=$keyfile")
trap 'kill $plain_pid $enc_pid 2>/dev/null || true' EXIT
seek() { # base session → ms to the first byte of a 1,000-byte range in the middle of the 1 GiB file
  local t; t=$(token "$1" "$2" "id_call[]=$gib_id&action=download")
  python3 -c "print($(curl -s -o /dev/null -H 'Range: bytes=536870000-536870999' -w '%{time_starttransfer}' "$1/sendcallfile.mp3;jsessionid=$2?token=$t")*1000)"
}
median() { python3 -c "import statistics,sys; print(f'{statistics.median(map(float, sys.argv[1:])):.2f}')" "$@"; }

# Server CPU time of one download, in seconds per GiB sent: on a machine whose cores are busy with other work the
# throughput follows the load, while this stays what the transfer itself costs.
ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
cpu_per_gib() { python3 -c "print(f'{$1 / $(getconf CLK_TCK) / $2:.2f}')"; }
timed() { # array pid gib command... → appends MB/s to the array, CPU s/GiB to array_cpu
  local -n into=$1 cpu=$1_cpu; local pid=$2 gib=$3; shift 3
  local t0; t0=$(ticks "$pid")
  into+=("$("$@")"); cpu+=("$(cpu_per_gib $(($(ticks "$pid") - t0)) "$gib")")
}
zip_gib=$(python3 -c "print(1000 * 4 / 1024)")

# Rounds alternate plain and encrypted, so both see the same load from the machine's other users.
pg=(); eg=(); pz=(); ez=(); ps=(); es=(); pg_cpu=(); eg_cpu=(); pz_cpu=(); ez_cpu=()
echo "== warm-up (not counted)"
for s in "$plain_base $plain_session" "$enc_base $enc_session"; do
  # shellcheck disable=SC2086
  speed $s "id_call[]=$gib_id&action=download" mp3 >/dev/null; speed $s "id_call[]=$zip_ids&action=download" zip >/dev/null
done
for round in $(seq 1 "${ROUNDS:-3}"); do
  echo "== round $round"
  timed pg "$plain_pid" 1 speed "$plain_base" "$plain_session" "id_call[]=$gib_id&action=download" mp3
  timed eg "$enc_pid" 1 speed "$enc_base" "$enc_session" "id_call[]=$gib_id&action=download" mp3
  timed pz "$plain_pid" "$zip_gib" speed "$plain_base" "$plain_session" "id_call[]=$zip_ids&action=download" zip
  timed ez "$enc_pid" "$zip_gib" speed "$enc_base" "$enc_session" "id_call[]=$zip_ids&action=download" zip
  for _ in 1 2 3; do
    ps+=("$(seek "$plain_base" "$plain_session")"); es+=("$(seek "$enc_base" "$enc_session")")
  done
  echo "1 GiB plain ${pg[-1]} encrypted ${eg[-1]} MB/s; zip plain ${pz[-1]} encrypted ${ez[-1]} MB/s;" \
    "server CPU s/GiB: 1 GiB ${pg_cpu[-1]} / ${eg_cpu[-1]}, zip ${pz_cpu[-1]} / ${ez_cpu[-1]}"
done
plain_gib=$(best "${pg[@]}"); enc_gib=$(best "${eg[@]}"); plain_zip=$(best "${pz[@]}"); enc_zip=$(best "${ez[@]}")
plain_seek=$(median "${ps[@]}"); enc_seek=$(median "${es[@]}")
echo "plain:     1 GiB $plain_gib MB/s, zip $plain_zip MB/s, seek first byte $plain_seek ms (best of ${ROUNDS:-3}; median of $((3 * ${ROUNDS:-3})))"
echo "encrypted: 1 GiB $enc_gib MB/s, zip $enc_zip MB/s, seek first byte $enc_seek ms"
echo "server CPU s/GiB (median): plain 1 GiB $(median "${pg_cpu[@]}"), zip $(median "${pz_cpu[@]}"); encrypted 1 GiB $(median "${eg_cpu[@]}"), zip $(median "${ez_cpu[@]}")"
echo "ratio encrypted/plain: 1 GiB $(ratio "$enc_gib" "$plain_gib"), zip $(ratio "$enc_zip" "$plain_zip"); seek first byte $plain_seek ms -> $enc_seek ms"
echo "== load after: $(uptime)"
libcrypto=$(awk '/libcrypto/ {print $6; exit}' "/proc/$enc_pid/maps")
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | xargs), $(free -g | awk '/Mem/ {print $2}') GiB," \
  "$(uname -r), $(grep -m1 -o -w aes /proc/cpuinfo || echo no) AES-NI, $(grep -m1 -o -w vaes /proc/cpuinfo || echo no) VAES"
echo "libcrypto of the encrypted server: ${libcrypto:-?} ($(openssl version 2>/dev/null || echo 'openssl CLI missing'))"
echo "AES-256-GCM decrypt, 64 KiB, that library (openssl speed, 3 s): $(openssl speed -seconds 3 -evp aes-256-gcm -bytes 65536 -decrypt 2>/dev/null | awk '/^AES-256-GCM/ {printf "%.2f GB/s", $2 / 1e6}')"
