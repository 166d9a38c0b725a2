#!/usr/bin/env bash
# The main job, for a newcomer: a whole visit (interrogate, reprogram,
# refill, alarm date, audit) against a fresh SIMULATED pump. Installs
# missing system packages, builds pumpctl, and keeps the simulator's state
# in a fresh folder so every run starts from the same routine-visit pump.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/install-deps.sh
echo "Building pumpctl (the first build takes a few minutes)..." >&2
swift build --product pumpctl >&2
pumpctl=.build/debug/pumpctl
state=$(mktemp -d "${TMPDIR:-/tmp}/pumpwand-demo.XXXXXX")
rx=examples/prescriptions

step() { printf '\n== %s\n' "$1"; }
run() { printf '$ pumpctl %s\n' "$*"; "$pumpctl" --simulator --state-dir "$state" --operator demo.technician "$@"; }

step "Wands attached to this machine (a real one is never needed for the demo)"
"$pumpctl" wands

step "1. Interrogate the simulated pump: identity, reservoir, prescription, alarm date"
run interrogate

step "2. A tenfold typing error is refused before anything reaches the pump"
run program "$rx/baclofen-tenfold-error.json" --dry-run || echo "(refused, exit status $?)"

step "3. Review and program a new prescription: stage, commit by hash, read back"
run program "$rx/baclofen-continuous-450.json" --yes

step "4. Refill: withdraw the residual, add 20 mL, check the residual, new alarm date"
run refill --withdrawn 12mL --added 20mL --concentration 2000mcg/mL --yes

step "5. The audit trail of the visit, and its hash chain checked"
run audit
run audit verify

printf '\nSIMULATED visit complete; state and reports are in %s\n' "$state"
