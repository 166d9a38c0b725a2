#!/usr/bin/env bash
# Runs every PumpWand test: installs missing system packages, builds, runs the
# short fuzz run of the protocol decoders, then the Swift test suite (unit,
# property, pty and umockdev hardware-in-the-loop tests), whose summary is
# the last thing printed. Exits non-zero when anything fails.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/install-deps.sh

echo "== build"
swift build --build-tests

echo "== fuzz (short run; any finding fails)"
bash scripts/fuzz.sh

echo "== tests"
# One test at a time: many tests run pumpctl, wandsim or the umockdev
# harness as child processes and wait for them, which would otherwise hold
# the 2-core machine's few concurrency threads and starve the tests that use
# deadlines (and libusb spins under umockdev).
swift test --skip-build --no-parallel
