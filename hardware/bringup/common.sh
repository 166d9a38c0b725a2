# Shared by the bring-up scripts: target selection and checked steps.
# Sourced, not run. Every step prints PASS or FAIL; the first FAIL ends the
# script with a non-zero status.

usage_target() {
    cat >&2 <<USAGE
usage: $0 (--simulator | --wand PATH) [--pumpctl BIN] [--state-dir DIR] [--trace-dir DIR] [--key-file FILE]
  --simulator      the simulated wand and pump inside pumpctl (state in --state-dir, default a fresh temporary one)
  --wand PATH      a wand: a tty (wandsim's pty or a serial wand), a /dev/bus/usb node or a serial number
  --pumpctl BIN    the pumpctl to test (default: pumpctl on PATH, else .build/debug/pumpctl)
  --trace-dir DIR  record a pcapng trace of every step there (open with hardware/wireshark/pumpwand.lua)
  --key-file FILE  the pump's key file (pump-smoke.sh on a real pump)
USAGE
    exit 64
}

parse_target() {
    target=()
    pumpctl_bin=""
    state_dir=""
    trace_dir=""
    key_file=""
    while [[ $# -gt 0 ]]; do
        case "$1" in
            --simulator) target=(--simulator); shift ;;
            --wand) [[ $# -ge 2 ]] || usage_target; target=(--wand "$2"); shift 2 ;;
            --pumpctl) [[ $# -ge 2 ]] || usage_target; pumpctl_bin="$2"; shift 2 ;;
            --state-dir) [[ $# -ge 2 ]] || usage_target; state_dir="$2"; shift 2 ;;
            --trace-dir) [[ $# -ge 2 ]] || usage_target; trace_dir="$2"; shift 2 ;;
            --key-file) [[ $# -ge 2 ]] || usage_target; key_file="$2"; shift 2 ;;
            -h|--help) usage_target ;;
            *) echo "unknown argument: $1" >&2; usage_target ;;
        esac
    done
    [[ ${#target[@]} -gt 0 ]] || usage_target
    if [[ -z "$pumpctl_bin" ]]; then
        if command -v pumpctl >/dev/null; then pumpctl_bin=$(command -v pumpctl)
        else pumpctl_bin="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)/.build/debug/pumpctl"; fi
    fi
    [[ -x "$pumpctl_bin" ]] || { echo "pumpctl not found at $pumpctl_bin (build it: swift build --product pumpctl)" >&2; exit 69; }
    if [[ -z "$state_dir" ]]; then
        state_dir=$(mktemp -d "${TMPDIR:-/tmp}/pumpwand-bringup.XXXXXX")
    fi
    mkdir -p "$state_dir"
    [[ -z "$trace_dir" ]] || mkdir -p "$trace_dir"
    step_number=0
}

# pc STEP-NAME ARGS...: runs pumpctl with the target and the state directory,
# JSON output, and a trace per step when --trace-dir was given. Output in $out.
pc() {
    local name="$1"; shift
    local trace=()
    step_number=$((step_number + 1))
    [[ -z "$trace_dir" ]] || trace=(--trace "$trace_dir/$(printf '%02d' "$step_number")-$name.pcapng")
    local keys=()
    [[ -z "$key_file" ]] || keys=(--key-file "$key_file")
    set +e
    out=$("$pumpctl_bin" "${target[@]}" --state-dir "$state_dir" --json "${trace[@]}" "$@" "${keys[@]}" 2>"$state_dir/last-stderr")
    status=$?
    set -e
}

# pc_plain: the same without key file (wand-only commands).
pc_wand() {
    local saved="$key_file"; key_file=""
    pc "$@"
    key_file="$saved"
}

pass() { echo "PASS  $*"; }
fail() {
    echo "FAIL  $*" >&2
    echo "      pumpctl said: $(cat "$state_dir/last-stderr" 2>/dev/null)" >&2
    exit 1
}

# expect_status NAME: the last pumpctl exited 0.
expect_ok() {
    [[ $status -eq 0 ]] || fail "$1 (exit $status)"
}

# json EXPR: evaluates a Python expression over the last output, bound to `r`.
json() {
    python3 -c 'import json,sys; r=json.loads(sys.stdin.read()); v=eval(sys.argv[1]); print(json.dumps(v) if not isinstance(v,str) else v)' "$1" <<<"$out"
}

# check NAME EXPR: the Python expression over the last output is true.
check() {
    local verdict
    verdict=$(json "$2" 2>/dev/null || echo error)
    [[ "$verdict" == "true" ]] || fail "$1 ($2 was $verdict)"
    pass "$1"
}
