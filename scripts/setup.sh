#!/usr/bin/env bash
# Installs the Debian packages CallMedia needs, only those missing (no network when all are there).
#   scripts/setup.sh          what the service needs (ffmpeg)
#   scripts/setup.sh --test   plus what the tests use (curl, unzip, 7z, python3, chromium, postgresql)
set -euo pipefail

packages=(ffmpeg)
if [[ "${1:-}" == "--test" ]]; then
  packages+=(curl unzip p7zip-full python3 chromium postgresql)
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
