#!/usr/bin/env bash
# Smoke test for a new wand (or wand firmware): identity, loopback echoes
# of every size class, and link quality. Exits non-zero at the first failure.
#
#   hardware/bringup/wand-smoke.sh --simulator
#   hardware/bringup/wand-smoke.sh --wand /dev/pts/7          # wandsim's pty
#   hardware/bringup/wand-smoke.sh --wand PW1-000123 --trace-dir traces/
set -euo pipefail
source "$(dirname "$0")/common.sh"
parse_target "$@"
echo "wand smoke test: ${target[*]} (state in $state_dir)"

pc_wand identity link status
expect_ok "wand answers info and link status"
check "wand serial is printable and 1-32 characters" '1 <= len(r["wand"]["serial"]) <= 32 and r["wand"]["serial"].isprintable()'
check "wand speaks protocol version 2" '2 in r["wand"]["protocol_versions"]'
echo "      wand $(json 'r["wand"]["serial"]') firmware $(json 'r["wand"]["firmware"]')"
check "signal quality is a percentage" '0 <= r["signal_quality_percent"] <= 100'
crc_before=$(json 'r["crc_errors"]')

for size in 0 1 32 255 256; do
    pc_wand "loopback-$size" link loopback --count 20 --size "$size"
    expect_ok "loopback of $size bytes"
    check "loopback $size bytes: 20 sent, 20 intact, none lost or corrupted" \
        'r["sent"] == 20 and r["received"] == 20 and r["lost"] == 0 and r["corrupted"] == 0'
done

pc_wand loopback-long link loopback --count 500 --size 128
expect_ok "500 echoes of 128 bytes"
check "link quality: no loss in 500 echoes" 'r["lost"] == 0 and r["corrupted"] == 0'
check "latency figures are ordered" 'r["latency_ms"]["p50"] <= r["latency_ms"]["p95"] <= r["latency_ms"]["p99"] <= r["latency_ms"]["max"]'
echo "      latency ms p50 $(json 'r["latency_ms"]["p50"]') p99 $(json 'r["latency_ms"]["p99"]'); $(json 'r["throughput_bytes_per_s"]') bytes/s"

pc_wand unknown-opcode raw --wand-command 7f --sequence 4242
expect_ok "an unknown wand opcode is answered"
check "the wand NAKs an unknown opcode with reason 0x07" \
    'r["received"][-1]["kind"] == "nak" and r["received"][-1]["fields"]["code"] == 7 and r["received"][-1]["sequence"] == 4242'

pc_wand status-after link status
expect_ok "link status after the run"
check "no CRC errors seen by the wand during the run" "r[\"crc_errors\"] == $crc_before"

echo "wand smoke test passed"
