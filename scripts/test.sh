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
# In parallel (Swift Testing; there are no XCTest tests). Tests wait for
# child processes without holding a concurrency thread (TestSupport's
# ChildProcess, which also kills a child at its time limit), suites with
# child processes, ptys or the umockdev harness are serialized, and a
# process budget keeps them from starving each other on a 2-core machine
# (one umockdev harness bench at a time; TestSupport/ChildProcessBudget.swift).
# The run's summary line is the last thing printed.
# USBTransportLiveTests runs only inside the umockdev harness, as the child
# of USBTransportUnderHarnessTests (one child per harness mode); at the top
# level it is left out rather than reported as skipped.
swift test --skip-build --parallel --skip 'WandLinkTests.USBTransportLiveTests'
