#!/usr/bin/env bash
# Installs the Debian packages CallMedia needs, only those missing (no network when all are there).
#   scripts/setup.sh          what the service needs (ffmpeg)
#   scripts/setup.sh --test   plus what the tests use (curl, unzip, 7z, python3, chromium, postgresql, nginx, a Ceph RADOS
#                             Gateway for the S3 tests (ceph-mon ceph-osd radosgw python3-rados), and Node.js
#                             with the npm packages pinned in package-lock.json: axe-core for the web app's tests)
set -euo pipefail

packages=(ffmpeg)
if [[ "${1:-}" == "--test" ]]; then
  packages+=(curl unzip p7zip-full python3 chromium postgresql nginx-light ceph-mon ceph-osd radosgw python3-rados)
  # Node.js may come from elsewhere (its own npm inside); Debian's are installed only when there is no npm at all.
  command -v npm >/dev/null 2>&1 || packages+=(nodejs npm)
fi

missing=()
for p in "${packages[@]}"; do
  dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
done

if ((${#missing[@]} > 0)); then
  echo "setup: installing ${missing[*]}" >&2
  sudo=""
  [[ $(id -u) -eq 0 ]] || sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# The npm packages exactly as locked; again only when the lock changed since the last install.
if [[ "${1:-}" == "--test" ]]; then
  cd "$(dirname "$0")/.."
  if ! cmp -s package-lock.json node_modules/.installed-lock.json 2>/dev/null; then
    echo "setup: npm ci" >&2
    npm ci --no-audit --no-fund --loglevel=error >/dev/null
    cp package-lock.json node_modules/.installed-lock.json
  fi
fi
