#!/usr/bin/env bash
# Builds the protocol fuzz targets with libFuzzer and AddressSanitizer and
# runs each for a bounded time over its committed seed corpus. Exits non-zero
# if any target finds a crash, a sanitizer report, a leak-free timeout or an
# invariant violation (the targets trap on those).
#
#   scripts/fuzz.sh                 30 s per target
#   FUZZ_SECONDS=300 scripts/fuzz.sh
#
# Recipe (hardware notes, hil-testing.md): `--sanitize=fuzzer` plus
# `-Xswiftc -sanitize=fuzzer,address` instruments for coverage; giving the
# sanitizers separately builds a binary that fuzzes blind. FUZZING is defined
# so the targets' replay-files entry point is left out (libFuzzer supplies main).
# The build goes to .build-fuzz so it never disturbs the normal .build.
set -euo pipefail

cd "$(dirname "$0")/.."
seconds="${FUZZ_SECONDS:-30}"
scratch=".build-fuzz"
targets=(FuzzFrameDecoder FuzzMessageParser)
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

status=0
for target in "${targets[@]}"; do
    echo "== building $target"
    swift build -c debug --scratch-path "$scratch" --product "$target" \
        --sanitize=fuzzer -Xswiftc -sanitize=fuzzer,address -Xswiftc -DFUZZING
    binary="$(swift build -c debug --scratch-path "$scratch" --show-bin-path)/$target"

    # New inputs go to a scratch corpus; the committed seeds are read only.
    mkdir -p "$work/$target/corpus" "$work/$target/artifacts"
    seeds="Tests/Fuzz/corpus/$target"
    echo "== fuzzing $target for ${seconds}s (seeds: $seeds)"
    if ! ASAN_OPTIONS="detect_leaks=0:abort_on_error=1" "$binary" \
        -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
        -artifact_prefix="$work/$target/artifacts/" \
        "$work/$target/corpus" "$seeds"; then
        status=1
        echo "!! $target found a problem; reproducer(s):"
        for artifact in "$work/$target/artifacts/"*; do
            [ -e "$artifact" ] || continue
            keep="Tests/Fuzz/corpus/$target/regression_$(basename "$artifact").bin"
            cp "$artifact" "$keep"
            echo "   $keep (replay: swift run $target $keep)"
        done
    fi
done

if [ "$status" -ne 0 ]; then
    echo "fuzzing found problems"
else
    echo "fuzzing found nothing"
fi
exit "$status"
