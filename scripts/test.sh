#!/usr/bin/env bash
# Runs every PumpWand test: installs missing system packages, builds, runs the
# Swift test suite (unit, property, pty and umockdev hardware-in-the-loop
# tests), then the short fuzz run. Exits non-zero when anything fails.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/install-deps.sh

echo "== build"
swift build --build-tests

echo "== tests"
swift test --skip-build

if [[ -x scripts/fuzz.sh ]]; then
    echo "== fuzz (short run; any finding fails)"
    bash scripts/fuzz.sh
fi
