#!/usr/bin/env bash
# Runs CallMedia on its embedded defaults: SQLite and media under ./data, demo recordings and a demo user on
# first start, listening on http://127.0.0.1:8080. Extra arguments go to `callmedia serve`.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
# dotnet run starts the program in the project's folder, so name the data folder (./data here) explicitly;
# a --data given on this command line comes later and wins.
exec dotnet run --project src/CallMedia -c Release -- serve --data "${CALLMEDIA_DATA:-$PWD/data}" "$@"
