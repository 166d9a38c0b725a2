#!/usr/bin/env bash
# Regenerates docs/screenshots/{programming,refill}-report.png (or in the
# folder given as the argument, e.g. CI's artefacts): a visit on
# the simulator (a patient record, a programming change to a prescription
# with patient boluses, then a routine refill), each HTML report rendered
# by headless Chromium, and its print (A4) page count checked with pdfinfo.
# Needs chromium and poppler-utils (scripts/install-deps.sh) and a build
# (swift build); the simulator's state lives in a temporary directory.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
out="${1:-$root/docs/screenshots}"
pumpctl="${PUMPCTL:-$root/.build/debug/pumpctl}"
[[ -x "$pumpctl" ]] || { echo "no $pumpctl: run swift build first (or set PUMPCTL)" >&2; exit 1; }
for tool in chromium pdfinfo; do
    command -v "$tool" >/dev/null || { echo "$tool is missing: run scripts/install-deps.sh" >&2; exit 1; }
done
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
run() { "$pumpctl" --simulator --state-dir "$work/state" --operator nurse.a --color never "$@"; }

run patient set --serial RP20-DEMO-0001 --name "Ada Lovelace" --mrn MRN-0042 --mrn-system urn:oid:2.16.840.1.113883.19.5 --dob 1980-02-29 \
    --prescriber "Dr. Grace Hopper" >/dev/null
cat > "$work/prescription.json" <<'JSON'
{"drug":"baclofen","concentration":"2000mcg/mL","indication":"spinal","mode":"continuous","daily_dose":"450mcg/day",
 "patient_bolus":{"dose":"20mcg","duration":"10min","lockout":"3h","max_per_24h":4},"catheter":{"volume":"0.26mL"}}
JSON
report() { sed -n 's/^Report: \(.*\.html\)$/\1/p'; }
programming="$(run --yes program "$work/prescription.json" | report)"
refill="$(run --yes refill --withdrawn 12mL --added 18mL --concentration 2000mcg/mL | report)"

mkdir -p "$out"
for pair in "programming:$programming" "refill:$refill"; do
    name="${pair%%:*}" html="${pair#*:}"
    [[ -f "$html" ]] || { echo "no $name report was written" >&2; exit 1; }
    chromium --headless --no-sandbox --disable-gpu --hide-scrollbars --user-data-dir="$work/chromium" \
        --window-size=1100,1200 --screenshot="$out/$name-report.png" "file://$html" 2>/dev/null
    chromium --headless --no-sandbox --disable-gpu --no-pdf-header-footer --user-data-dir="$work/chromium" \
        --print-to-pdf="$work/$name.pdf" "file://$html" 2>/dev/null
    echo "$name report: $(pdfinfo "$work/$name.pdf" | sed -n 's/^Pages: *//p') printed A4 page(s), $out/$name-report.png"
done
