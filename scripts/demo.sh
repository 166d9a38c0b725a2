#!/usr/bin/env bash
# The main job, for a newcomer: installs missing system packages, builds
# pumpctl, and shows it working on this machine.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/install-deps.sh
swift build --product pumpctl >&2
pumpctl=.build/debug/pumpctl

run() { printf '\n$ pumpctl %s\n' "$*"; "$pumpctl" "$@"; }

run --help
run wands
