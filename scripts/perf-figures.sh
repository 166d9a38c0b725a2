#!/usr/bin/env bash
# Every visit figure of docs/performance.md in one run: exchanges, bytes and
# measured / physical limit of interrogate, program and refill over
# wandsim's pty (0 and 20 ms, --byte-rate 11520, i.e. 115200 baud), audit
# growth at 0, 10k and 50k rows, the loss and corruption tables, and the
# pumpwand-bench sections baseline, audit (and startup when present).
#
#   scripts/perf-figures.sh            the figures of docs/performance.md (about 10 minutes)
#   scripts/perf-figures.sh --quick    fewer repetitions, to try it out
#   scripts/perf-figures.sh --skip link --repetitions 9 ...   (scripts/perf_figures.py run --help)
#
# Builds release pumpctl, wandsim, pumpwand-bench, the two start-up floor
# programs and their spawner first (the figures are meaningless in debug). Every visit runs on a fresh simulated pump in a
# temporary folder with the published DEMO key; nothing outside that
# folder is touched. Timings are printed, never asserted.
set -euo pipefail
cd "$(dirname "$0")/.."

for product in pumpctl wandsim pumpwand-bench startup-floor-print startup-floor-parser startup-spawner; do
    echo "building release $product..." >&2
    swift build -c release --product "$product" 2>&1 | tail -3 >&2
done
bin=$(swift build -c release --show-bin-path)
exec python3 scripts/perf_figures.py run --bin "$bin" "$@"
