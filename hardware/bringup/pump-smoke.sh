#!/usr/bin/env bash
# Smoke test for a new pump firmware through a working wand: session,
# interrogate, stage/commit/read back a prescription, a bolus, a refill and
# the event log. Exits non-zero at the first failure.
#
# It CHANGES THE PUMP (prescription, bolus, reservoir): use it on the
# simulator, or on a bench pump that is not implanted, never on a patient.
#
#   hardware/bringup/pump-smoke.sh --simulator
#   hardware/bringup/pump-smoke.sh --wand /dev/pts/7 --key-file bench-pump.key
set -euo pipefail
source "$(dirname "$0")/common.sh"
parse_target "$@"
repo="$(cd "$(dirname "$0")/../.." && pwd)"
prescription="$repo/examples/prescriptions/baclofen-continuous-450.json"
echo "pump smoke test: ${target[*]} (state in $state_dir)"

pc session-interrogate interrogate
expect_ok "session opened and pump interrogated"
check "pump reports a serial and firmware" 'len(r["serial"]) > 0 and len(r["firmware"]) > 0'
check "no command left unresolved" 'r["unresolved_command"] is None'
echo "      pump $(json 'r["serial"]') firmware $(json 'r["firmware"]'), $(json 'r["drug"]'), $(json 'r["daily_dose"]["value"]') $(json 'r["daily_dose"]["unit"]')"
old_hash=$(json 'r["prescription_hash"]')

pc program program "$prescription" --yes
expect_ok "prescription staged, committed and read back"
pc after-program interrogate
expect_ok "interrogate after programming"
check "the new daily dose is active (450 mcg/day)" 'r["daily_dose"]["value"] == 450 and r["daily_dose"]["unit"] == "mcg/day"'
check "the prescription hash changed" "r[\"prescription_hash\"] != \"$old_hash\""
check "nothing is left staged" 'r["staged_hash"] is None'

pc bolus bolus --dose 50mcg --duration 10min --yes
expect_ok "a 50 mcg therapeutic bolus was delivered or started"

pc before-refill interrogate
expect_ok "interrogate before refill"
residual=$(json 'r["reservoir_volume"]["value"]')
unit=$(json 'r["reservoir_volume"]["unit"]')
pc refill refill --withdrawn "$residual$unit" --added 20mL --concentration 2000mcg/mL --yes
expect_ok "refill of 20 mL at the same concentration"
pc after-refill interrogate
expect_ok "interrogate after refill"
check "the reservoir holds what was added (20 mL)" 'abs(r["reservoir_volume"]["value"] - 20) < 0.001 and r["reservoir_volume"]["unit"] == "mL"'

pc event-log log
expect_ok "event log read"
check "the log records the commit, the bolus and the refill" \
    '{"prescription committed", "bolus started", "refill completed"} <= {e["event"] for e in r["events"]}'

echo "pump smoke test passed"
