#!/usr/bin/env bash
# Builds the fuzz targets with libFuzzer and AddressSanitizer and runs each
# over its committed seed corpus. Exits non-zero if any target finds a crash,
# a sanitizer report, a leak-free timeout or an invariant violation (the
# targets trap on those).
#
# Targets: FuzzFrameDecoder and FuzzMessageParser (the wire), FuzzPumpStatus
# (the host's handling of a decoded interrogate report: status, JSON, the
# screens' formatting) and FuzzTherapyFiles (prescription and clinic policy
# files).
#
#   scripts/fuzz.sh                 short run (CI): 30 s for each wire target,
#                                   25 s for each of the other two
#   FUZZ_SECONDS=300 scripts/fuzz.sh
#                                   every target for 300 s
#   scripts/fuzz.sh --long          until FUZZ_RUNS executions per target
#                                   (default 10 000 000; FUZZ_LONG_SECONDS
#                                   bounds the time, default none)
#   FUZZ_TARGETS="FuzzPumpStatus" scripts/fuzz.sh --long
#                                   only the targets named
#   FUZZ_CONFIGURATION=release scripts/fuzz.sh --long
#                                   optimised targets (still instrumented, with
#                                   AddressSanitizer): several times the
#                                   executions per second, for the long runs;
#                                   built in .build-fuzz-release
#
# Recipe (hardware notes, hil-testing.md): `--sanitize=fuzzer` plus
# `-Xswiftc -sanitize=fuzzer,address` instruments for coverage; giving the
# sanitizers separately builds a binary that fuzzes blind. FUZZING is defined
# so the targets' replay-files entry point is left out (libFuzzer supplies main).
# The build goes to .build-fuzz so it never disturbs the normal .build.
set -euo pipefail

cd "$(dirname "$0")/.."
long=0
if [ "${1:-}" = "--long" ]; then long=1; shift; fi
configuration="${FUZZ_CONFIGURATION:-debug}"
case "$configuration" in
    debug) scratch=".build-fuzz" ;;
    release) scratch=".build-fuzz-release" ;;
    *) echo "FUZZ_CONFIGURATION must be debug or release" >&2; exit 2 ;;
esac
read -r -a targets <<< "${FUZZ_TARGETS:-FuzzFrameDecoder FuzzMessageParser FuzzPumpStatus FuzzTherapyFiles}"

# The short run's time per target: the wire targets keep their 30 s, the
# two slower JSON and status targets add 50 s in all to CI.
short_seconds() {
    case "$1" in
        FuzzPumpStatus|FuzzTherapyFiles) echo "${FUZZ_SECONDS:-25}" ;;
        *) echo "${FUZZ_SECONDS:-30}" ;;
    esac
}
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

status=0
for target in "${targets[@]}"; do
    echo "== building $target"
    swift build -c "$configuration" --scratch-path "$scratch" --product "$target" \
        --sanitize=fuzzer -Xswiftc -sanitize=fuzzer,address -Xswiftc -DFUZZING
    binary="$(swift build -c "$configuration" --scratch-path "$scratch" --show-bin-path)/$target"

    # New inputs go to a scratch corpus; the committed seeds are read only.
    mkdir -p "$work/$target/corpus" "$work/$target/artifacts"
    seeds="Tests/Fuzz/corpus/$target"
    if [ "$long" -eq 1 ]; then
        limit=(-runs="${FUZZ_RUNS:-10000000}" -max_total_time="${FUZZ_LONG_SECONDS:-0}")
        echo "== fuzzing $target for ${FUZZ_RUNS:-10000000} executions (seeds: $seeds)"
    else
        seconds="$(short_seconds "$target")"
        limit=(-max_total_time="$seconds")
        echo "== fuzzing $target for ${seconds}s (seeds: $seeds)"
    fi
    # A target's dictionary (Tests/Fuzz/TARGET.dict), when it has one.
    dictionary=()
    if [ -f "Tests/Fuzz/$target.dict" ]; then dictionary=(-dict="Tests/Fuzz/$target.dict"); fi
    if ! ASAN_OPTIONS="detect_leaks=0:abort_on_error=1" "$binary" \
        "${limit[@]}" ${dictionary[@]+"${dictionary[@]}"} -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
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
