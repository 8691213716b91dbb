#!/usr/bin/env bash
# A throwaway, real S3 endpoint for the tests and benchmarks (like scripts/pg.sh for PostgreSQL):
# a single-node Ceph (1 monitor + 1 OSD on memstore, no mgr, no cephx) with a RADOS Gateway, everything in a fresh
# temp folder, bound to 127.0.0.1 on free ports. Starts in a few seconds and uses ~150 MB.
#
#   eval "$(bash scripts/s3.sh start)"      prints the exports (S3_ENDPOINT, S3_ACCESS_KEY, S3_SECRET_KEY, S3_REGION,
#                                           S3_DATA_DIR, CALLMEDIA_TEST_S3_*); logs go to stderr
#   bash scripts/s3.sh stop "$S3_DATA_DIR"  kills the daemons (by PID) and removes the folder
#   bash scripts/s3.sh status "$S3_DATA_DIR"
#   bash scripts/s3.sh rgw-stop|rgw-start "$S3_DATA_DIR"   stops / starts only the gateway (the tests' store outage)
#
# Environment knobs (all optional):
#   S3SH_STORE=memstore|bluestore  OSD backend. memstore (default): all object data in RAM,
#                                  fastest; bluestore: data in a sparse file in the temp folder.
#   S3SH_CAPACITY_GB=8             size of the memstore "device" / bluestore file.
#   S3SH_ACCESS_KEY / S3SH_SECRET_KEY   fixed credentials (default: random).
#   S3SH_BASEDIR=${TMPDIR:-/tmp}   where the temp folder is created.
# Packages (Debian 12): ceph-mon ceph-osd radosgw (16.2.x, pulls ceph-base/ceph-common) + curl,
# installed with apt-get only when missing.
set -euo pipefail

PROG=s3.sh
PKGS=(ceph-mon ceph-osd radosgw python3-rados curl)
PY=/usr/bin/python3
MARKER=.s3sh-cluster

log() { echo "$PROG: $*" >&2; }
die() { echo "$PROG: ERROR: $*" >&2; exit 1; }
now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN{printf "%.1f", b-a}'; }

ensure_packages() {
  local missing=() p
  for p in "${PKGS[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  [ "$(id -u)" = 0 ] || die "packages missing: ${missing[*]} (need root to apt-get install them)"
  command -v apt-get >/dev/null || die "packages missing: ${missing[*]} and no apt-get"
  log "installing missing packages: ${missing[*]} (one-time, ~30 s)"
  export DEBIAN_FRONTEND=noninteractive
  local apt=(apt-get -o DPkg::Lock::Timeout=300 -y --no-install-recommends)
  # flock: several test runs may call `start` concurrently
  (
    flock -w 600 9 || exit 1
    "${apt[@]}" install "${missing[@]}" >&2 ||
      { log "apt-get install failed; retrying after apt-get update";
        apt-get -o DPkg::Lock::Timeout=300 update >&2 && "${apt[@]}" install "${missing[@]}" >&2; }
  ) 9>/tmp/.s3sh-apt.lock || die "could not install ${missing[*]} with apt-get (see messages above)"
  for p in ceph-mon ceph-osd radosgw radosgw-admin ceph monmaptool; do
    command -v "$p" >/dev/null || die "'$p' still not found after installing packages"
  done
}

check_tools() {
  local p
  for p in ceph-mon ceph-osd radosgw radosgw-admin ceph monmaptool curl setsid flock; do
    command -v "$p" >/dev/null || die "'$p' not found (packages: ${PKGS[*]})"
  done
  "$PY" -c 'import rados' 2>/dev/null || die "$PY with the 'rados' module (python3-rados) is required"
}

free_port() {
  "$PY" -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])'
}

# wait_for SECONDS PID-TO-WATCH DESCRIPTION -- command...
wait_for() {
  local secs=$1 pid=$2 what=$3; shift 4
  local t0; t0=$(now)
  while true; do
    if "$@" >/dev/null 2>&1; then return 0; fi
    if [ -n "$pid" ] && ! is_alive "$pid"; then
      log "$what: process $pid exited"; return 1
    fi
    if awk -v a="$t0" -v b="$(now)" -v s="$secs" 'BEGIN{exit !(b-a>s)}'; then
      log "$what: timed out after ${secs}s"; return 1
    fi
    sleep 0.1
  done
}

# launch NAME cmd... : run a daemon in the foreground (-f), detached from our stdout/stderr
launch() {
  local name=$1; shift
  setsid "$@" </dev/null >>"$D/log/$name.out" 2>&1 &
  echo $! >"$D/pids/$name"
  disown $! 2>/dev/null || true
}

# running and not a zombie (the daemons are reparented to PID 1, which may reap them late)
is_alive() {
  local st
  st=$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null) || return 1
  [ -n "$st" ] && [ "$st" != Z ] && [ "$st" != X ]
}

kill_all() {  # kill only the daemons recorded in DIR/pids, and only if they still belong to DIR
  local dir=$1 f pid pids=()
  [ -d "$dir/pids" ] || return 0
  for f in "$dir"/pids/*; do
    [ -f "$f" ] || continue
    pid=$(cat "$f")
    [[ $pid =~ ^[0-9]+$ ]] || continue
    if [ -r "/proc/$pid/cmdline" ] && tr '\0' ' ' <"/proc/$pid/cmdline" | grep -qF "$dir/ceph.conf"; then
      pids+=("$pid")
    fi
  done
  [ ${#pids[@]} -eq 0 ] && return 0
  # The data is thrown away anyway: SIGKILL (memstore would otherwise dump RAM to disk on SIGTERM).
  kill -KILL "${pids[@]}" 2>/dev/null || true
  local i
  for i in $(seq 100); do
    local alive=0
    for pid in "${pids[@]}"; do is_alive "$pid" && alive=1; done
    [ $alive = 0 ] && return 0
    sleep 0.05
  done
  log "warning: processes ${pids[*]} did not exit"
}

show_logs() {  # tail of the log of the step that failed, plus daemons' stderr
  local f
  for f in "${FAIL_LOG:-}" "$D"/log/*.out; do
    [ -n "$f" ] && [ -s "$f" ] || continue
    echo "----- $f (last 25 lines)" >&2
    tail -n 25 "$f" >&2
  done
}

write_conf() {
  local fsid=$1 monport=$2 rgwport=$3 store=$4 capacity=$(( ${S3SH_CAPACITY_GB:-8} * 1024 * 1024 * 1024 ))
  cat >"$D/ceph.conf" <<EOF
[global]
fsid = $fsid
mon host = v2:127.0.0.1:$monport
mon initial members = a
public addr = 127.0.0.1
ms bind msgr1 = false
auth cluster required = none
auth service required = none
auth client required = none
# radosgw defaults to a "secure" mon connection, which auth=none cannot provide
ms mon client mode = crc
keyring = /dev/null
run dir = $D/run
log file = $D/log/\$name.log
mon cluster log file = $D/log/cluster.log
admin socket = $D/run/\$name.\$pid.asok
pid file = $D/run/\$name.pid
# single OSD: size-1 pools, few PGs, no autoscaler (no mgr anyway)
osd pool default size = 1
osd pool default min size = 1
osd pool default pg num = 8
osd pool default pgp num = 8
osd pool default pg autoscale mode = off
osd crush chooseleaf type = 0
mon allow pool size one = true
mon allow pool delete = true
mon max pg per osd = 1000
mon warn on pool no redundancy = false
mon warn on insecure global id reclaim allowed = false
mon data avail warn = 2
mon data avail crit = 1
mon osd full ratio = .99
mon osd backfillfull ratio = .99
mon osd nearfull ratio = .98
osd failsafe full ratio = .995
# faster map propagation for a tiny test cluster (default 1 s; 0.1 in Ceph's own test helpers)
paxos propose interval = 0.02
[mon]
mon data = $D/mon
[osd]
osd data = $D/osd
osd objectstore = $store
memstore device bytes = $capacity
bluestore block path = $D/block.img
bluestore block size = $capacity
bluestore block create = true
bluestore cache autotune = false
bluestore cache size = 67108864
osd memory target = 939524096
osd max object size = 1073741824
[client.rgw.a]
rgw frontends = beast endpoint=127.0.0.1:$rgwport
rgw data = $D/rgw
rgw thread pool size = 64
# allow SSE-C over plain http (tests)
rgw crypt require ssl = false
# reclaim deleted data quickly (default waits 2 h)
rgw gc obj min wait = 30
rgw gc processor period = 30
EOF
}

# one start attempt in $D; returns non-zero on failure (caller cleans up)
start_once() {
  local store=${S3SH_STORE:-memstore} t0 fsid osduuid osdid monport rgwport
  mkdir -p "$D"/{mon,osd,log,run,rgw,pids}
  touch "$D/$MARKER"
  fsid=$(cat /proc/sys/kernel/random/uuid)
  monport=$(free_port); rgwport=$(free_port)
  while [ "$rgwport" = "$monport" ]; do rgwport=$(free_port); done
  write_conf "$fsid" "$monport" "$rgwport" "$store"
  local C=(-c "$D/ceph.conf")
  local CEPH=(timeout 20 ceph "${C[@]}" --connect-timeout 10)

  t0=$(now)
  monmaptool --create --fsid "$fsid" --addv a "[v2:127.0.0.1:$monport]" "$D/monmap" >/dev/null ||
    { log "monmaptool failed"; return 1; }
  ceph-mon "${C[@]}" -i a --mkfs --monmap "$D/monmap" >>"$D/log/mkfs.out" 2>&1 ||
    { log "ceph-mon --mkfs failed"; FAIL_LOG=$D/log/mkfs.out; return 1; }
  launch mon ceph-mon "${C[@]}" -i a -f
  FAIL_LOG=$D/log/mon.a.log
  wait_for 30 "$(cat "$D/pids/mon")" "ceph-mon" -- "${CEPH[@]}" mon stat || return 1
  log "mon up (${monport}) after $(since "$t0")s"

  osduuid=$(cat /proc/sys/kernel/random/uuid)
  osdid=$("${CEPH[@]}" osd new "$osduuid") || { log "'ceph osd new' failed"; return 1; }
  ceph-osd "${C[@]}" -i "$osdid" --mkfs --osd-uuid "$osduuid" >>"$D/log/mkfs.out" 2>&1 ||
    { log "ceph-osd --mkfs failed"; FAIL_LOG=$D/log/mkfs.out; return 1; }
  launch osd ceph-osd "${C[@]}" -i "$osdid" -f
  FAIL_LOG=$D/log/osd.$osdid.log
  wait_for 60 "$(cat "$D/pids/osd")" "ceph-osd" -- \
    bash -c "\"\$@\" osd dump | grep -q '^osd\\.$osdid up'" _ "${CEPH[@]}" || return 1
  log "osd.$osdid ($store) up after $(since "$t0")s"

  # Pre-create the RGW pools in one process (avoids ~2 s on the first bucket/object).
  "$PY" - "$D/ceph.conf" >>"$D/log/pools.out" 2>&1 <<'EOF' || { log "pool creation failed"; FAIL_LOG=$D/log/pools.out; return 1; }
import json, sys, rados
c = rados.Rados(conffile=sys.argv[1]); c.connect(timeout=20)
for p in [".rgw.root", "default.rgw.control", "default.rgw.meta", "default.rgw.log",
          "default.rgw.buckets.index", "default.rgw.buckets.data", "default.rgw.buckets.non-ec"]:
    for cmd in ({"prefix": "osd pool create", "pool": p, "pg_num": 8},
                {"prefix": "osd pool application enable", "pool": p, "app": "rgw"}):
        r, out, err = c.mon_command(json.dumps(cmd), b"")
        if r != 0: sys.exit("%s: %s" % (cmd, err))
c.shutdown()
EOF
  log "pools created after $(since "$t0")s"

  launch rgw radosgw "${C[@]}" -n client.rgw.a -f
  FAIL_LOG=$D/log/client.rgw.a.log
  ENDPOINT=http://127.0.0.1:$rgwport
  wait_for 60 "$(cat "$D/pids/rgw")" "radosgw" -- \
    bash -c "[ \"\$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 $ENDPOINT/)\" = 200 ]" || return 1
  log "radosgw up ($ENDPOINT) after $(since "$t0")s"

  AK=${S3SH_ACCESS_KEY:-$(tr -dc 'A-Z0-9' </dev/urandom | head -c 20)}
  SK=${S3SH_SECRET_KEY:-$(tr -dc 'A-Za-z0-9' </dev/urandom | head -c 40)}
  timeout 30 radosgw-admin "${C[@]}" user create --uid=tester --display-name=tester \
      --access-key="$AK" --secret-key="$SK" >>"$D/log/user.out" 2>&1 ||
    { log "radosgw-admin user create failed"; FAIL_LOG=$D/log/user.out; return 1; }
  # authenticated round trip (SigV4) to prove the credentials work
  # (curl 7.88 does not add x-amz-content-sha256 itself; this is the hash of an empty body)
  local EMPTY_SHA=e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855
  wait_for 15 "$(cat "$D/pids/rgw")" "signed request" -- \
    bash -c "curl -sf --max-time 5 --aws-sigv4 aws:amz:us-east-1:s3 -H 'x-amz-content-sha256: $EMPTY_SHA' --user '$AK:$SK' $ENDPOINT/ | grep -q '<ID>tester</ID>'" ||
    return 1
  log "ready after $(since "$t0")s"
}

# if `start` dies half-way (error, Ctrl-C, killed by a test runner), leave nothing behind
abort_cleanup() {
  if [ -n "${D:-}" ] && [ -z "${START_OK:-}" ] && [ -f "$D/$MARKER" ]; then
    kill_all "$D"; [ -n "${S3SH_KEEP_FAILED:-}" ] || rm -rf -- "$D"
  fi
}

cmd_start() {
  case ${S3SH_STORE:-memstore} in memstore|bluestore) ;; *) die "S3SH_STORE must be memstore or bluestore";; esac
  [[ ${S3SH_CAPACITY_GB:-8} =~ ^[1-9][0-9]*$ ]] || die "S3SH_CAPACITY_GB must be a positive integer"
  ensure_packages
  check_tools
  local base=${S3SH_BASEDIR:-${TMPDIR:-/tmp}} attempt
  trap abort_cleanup EXIT
  trap 'exit 130' INT
  trap 'exit 143' TERM
  for attempt in 1 2; do
    D=$(mktemp -d "$base/s3rgw.XXXXXX") || die "mktemp in $base failed"
    FAIL_LOG=
    if start_once; then
      START_OK=1
      cat <<EOF
export S3_ENDPOINT='$ENDPOINT'
export S3_ACCESS_KEY='$AK'
export S3_SECRET_KEY='$SK'
export S3_REGION='us-east-1'
export S3_FORCE_PATH_STYLE='true'
export S3_DATA_DIR='$D'
# Ceph 16 RGW cannot verify the trailing CRC checksums (aws-chunked, STREAMING-UNSIGNED-PAYLOAD-TRAILER)
# that AWS SDKs released since 2025 send by default -> 400 XAmzContentSHA256Mismatch. Turn them off:
export AWS_REQUEST_CHECKSUM_CALCULATION='when_required'
export AWS_RESPONSE_CHECKSUM_VALIDATION='when_required'
# read by the integration tests (CALLMEDIA_TEST_STORAGE=s3) and bench/s3.sh
export CALLMEDIA_TEST_S3_ENDPOINT='$ENDPOINT'
export CALLMEDIA_TEST_S3_ACCESS_KEY='$AK'
export CALLMEDIA_TEST_S3_SECRET_KEY='$SK'
export CALLMEDIA_TEST_S3_DIR='$D'
EOF
      return 0
    fi
    log "start attempt $attempt failed (folder $D)"
    [ $attempt = 2 ] && show_logs   # a second failure is not a port race: show why
    kill_all "$D"
    if [ -n "${S3SH_KEEP_FAILED:-}" ]; then log "kept $D (S3SH_KEEP_FAILED)"; else rm -rf -- "$D"; fi
  done
  die "could not start Ceph RGW (2 attempts); set S3SH_KEEP_FAILED=1 to keep the folders for debugging"
}

check_dir() {
  [ -n "${1:-}" ] || die "usage: $PROG stop|status DIR"
  [ -f "$1/$MARKER" ] || die "$1 is not a folder created by '$PROG start'"
}

cmd_stop() {
  check_dir "${1:-}"
  local dir t0; dir=$(cd "$1" && pwd); t0=$(now)
  kill_all "$dir"
  rm -rf -- "$dir"
  log "stopped and removed $dir in $(since "$t0")s"
}

cmd_rgw_stop() {
  check_dir "${1:-}"
  local dir pid; dir=$(cd "$1" && pwd)
  pid=$(cat "$dir/pids/rgw")
  if is_alive "$pid" && tr '\0' ' ' <"/proc/$pid/cmdline" | grep -qF "$dir/ceph.conf"; then
    kill -KILL "$pid"
    while is_alive "$pid"; do sleep 0.05; done
  fi
}

cmd_rgw_start() {
  check_dir "${1:-}"
  D=$(cd "$1" && pwd)
  if is_alive "$(cat "$D/pids/rgw")"; then return 0; fi
  local endpoint; endpoint=$(sed -n 's/^rgw frontends = beast endpoint=\(.*\)$/http:\/\/\1/p' "$D/ceph.conf")
  launch rgw radosgw -c "$D/ceph.conf" -n client.rgw.a -f
  wait_for 60 "$(cat "$D/pids/rgw")" "radosgw" -- \
    bash -c "[ \"\$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 $endpoint/)\" = 200 ]"
}

cmd_status() {
  check_dir "${1:-}"
  local dir f pid rc=0; dir=$(cd "$1" && pwd)
  for f in "$dir"/pids/*; do
    pid=$(cat "$f")
    if is_alive "$pid"; then
      echo "$(basename "$f") pid $pid running, RSS $(awk '/VmRSS/{print $2" "$3}' /proc/$pid/status)"
    else echo "$(basename "$f") pid $pid NOT running"; rc=1; fi
  done
  return $rc
}

case "${1:-}" in
  start) shift; cmd_start "$@" ;;
  stop) shift; cmd_stop "$@" ;;
  status) shift; cmd_status "$@" ;;
  rgw-stop) shift; cmd_rgw_stop "$@" ;;
  rgw-start) shift; cmd_rgw_start "$@" ;;
  install) ensure_packages ;;
  *) echo "usage: $PROG start | stop DIR | status DIR | rgw-stop DIR | rgw-start DIR | install" >&2; exit 2 ;;
esac
