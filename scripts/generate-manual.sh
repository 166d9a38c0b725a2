#!/usr/bin/env bash
# Regenerates docs/man/pumpctl.1 and docs/man/wandsim.1 from the command
# parsers, with swift-argument-parser's generate-manual plugin (works
# offline once the package's dependencies are resolved). Run it after a
# change to any command's help; ManualPageTests fails while the committed
# pages miss a command or option the parser has.
#
#   scripts/generate-manual.sh [DATE]     DATE (yyyy-mm-dd) defaults to today
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
date="${1:-$(date -u +%Y-%m-%d)}"
cd "$repo"
# --disable-sandbox: the plugin runs the tools it built; the debug build is
# the one `swift build` already keeps up to date.
swift package --disable-sandbox plugin generate-manual --configuration debug --date "$date"
for tool in pumpctl wandsim; do
    cp ".build/plugins/GenerateManual/outputs/$tool/$tool.1" "docs/man/$tool.1"
done
echo "docs/man/pumpctl.1 and docs/man/wandsim.1 regenerated ($date)"
