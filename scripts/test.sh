#!/usr/bin/env bash
# Runs every PumpWand test: installs missing system packages, builds, runs the
# short fuzz run of the protocol decoders, then the Swift test suite (unit,
# property, pty and umockdev hardware-in-the-loop tests), whose summary is
# the last thing printed. Exits non-zero when anything fails.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/install-deps.sh

# Everything the build and the tests put in the temporary directory (audit
# logs, keys and simulated patient records, umockdev testbeds, what a child
# killed at its time limit left) goes in a private TMPDIR, removed when this
# script ends however it ends: a machine that runs the suite every day does
# not fill /tmp. Tests make their folders with NSTemporaryDirectory (which
# reads TMPDIR) and remove them themselves; this catches the rest.
run_tmp=$(mktemp -d "${TMPDIR:-/tmp}/pumpwand-test-run.XXXXXX")
# Others may pass through it, not list it or write in it: the permission
# tests run pumpctl as another user on the bench's files inside.
chmod 0711 "$run_tmp"
# u+rwx first: a test may leave a folder it made unwritable (chmod -R does
# not follow symbolic links it meets, and rm -rf removes links, not targets).
trap 'chmod -R u+rwx -- "$run_tmp" 2>/dev/null || true; rm -rf -- "$run_tmp"' EXIT
export TMPDIR="$run_tmp"

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
