#!/usr/bin/env python3
"""Every visit figure of docs/performance.md, measured over wandsim's pty.

    python3 scripts/perf_figures.py count [--json] TRACE.pcapng
        exchanges and bytes of one pumpctl --trace file
    python3 scripts/perf_figures.py run --bin DIR [--quick] [--runs N] ...
        the visit figures, audit growth and the link-quality tables
        (scripts/perf-figures.sh builds the release binaries and calls this)

Standard library only. The pcapng reader is written from the pcapng draft
and PROTOCOL.md (section 2 framing, section 3 header), not from the Swift
writer, so the counter checks the traces rather than agreeing with them by
construction.

Definitions (also in docs/performance.md):

* An **attempt** is one frame the host sent (a retransmission is another
  attempt with the same sequence number).
* An **exchange** is an attempt answered in the trace: an inbound wand
  response (0x02), NAK (0x05) or pump message marked "from pump" carrying
  the attempt's sequence number, before the host sent that sequence again.
  A duplicated answer counts once. A frame whose answer the host never read
  (a close it does not wait for, an attempt lost on the link) counts its
  bytes but is no exchange: the host did not spend a round trip on it.
* **bytes** are the trace's frames as they cross the line, both directions:
  each recorded frame body (header + payload) framed again as PROTOCOL.md
  section 2 says, 00 | COBS(body || CRC-32C) | 00. That is what the
  simulated wand charges at --byte-rate. The bodies alone are printed too.
* The **physical limit** of a visit is bytes / byte rate + exchanges x 2 x
  one-way latency: the time the line and the radio need, with no host, wand
  or pump processing at all.
"""
import argparse
import json
import os
import shutil
import signal
import statistics
import struct
import subprocess
import sys
import tempfile
import threading
import time

# ---------------------------------------------------------------- pcapng ---

SECTION_HEADER = 0x0A0D0D0A
INTERFACE_DESCRIPTION = 0x00000001
ENHANCED_PACKET = 0x00000006
BYTE_ORDER_MAGIC = 0x1A2B3C4D
# A trace holds frames of at most 2048 body bytes; a block far beyond that
# is not a PumpWand trace (bounded reads of an untrusted file).
MAXIMUM_BLOCK = 1 << 20
MAXIMUM_BODY = 2048

KIND_WAND_COMMAND = 0x01
KIND_WAND_RESPONSE = 0x02
KIND_PUMP_MESSAGE = 0x03
KIND_EVENT = 0x04
KIND_NAK = 0x05
FLAG_FROM_PUMP = 0x02
KIND_NAMES = {KIND_WAND_COMMAND: "wand command", KIND_WAND_RESPONSE: "wand response", KIND_PUMP_MESSAGE: "pump message",
              KIND_EVENT: "event", KIND_NAK: "NAK"}


class TraceError(Exception):
    pass


from pumpwand_framing import cobs, crc32c  # noqa: E402  (PROTOCOL.md section 2)


def wire_length(body: bytes) -> int:
    """Bytes of the frame on the line, both delimiters included."""
    return 2 + len(cobs(body + struct.pack("<I", crc32c(body))))


def read_packets(path, with_times=False):
    """(direction, body) for every Enhanced Packet Block; direction is
    'out' (host to wand), 'in' or None when the block has no epb_flags.
    With `with_times`, (direction, microseconds, body): the block's
    timestamp (the writer's if_tsresol is the default 10^-6 s)."""
    with open(path, "rb") as handle:
        data = handle.read(64 << 20)
    packets = []
    offset = 0
    endian = None
    while offset + 12 <= len(data):
        if endian is None:
            block_type = struct.unpack_from("<I", data, offset)[0]
            if block_type != SECTION_HEADER:
                raise TraceError("not a pcapng file (no section header block first)")
            magic = struct.unpack_from("<I", data, offset + 8)[0]
            if magic == BYTE_ORDER_MAGIC:
                endian = "<"
            elif magic == struct.unpack(">I", struct.pack("<I", BYTE_ORDER_MAGIC))[0]:
                endian = ">"
            else:
                raise TraceError("unknown byte-order magic")
        block_type, total = struct.unpack_from(endian + "II", data, offset)
        if total < 12 or total % 4 or total > MAXIMUM_BLOCK:
            raise TraceError(f"block at {offset} has an impossible length {total}")
        if offset + total > len(data):
            break  # a truncated last block (a crash while writing): stop there
        trailer = struct.unpack_from(endian + "I", data, offset + total - 4)[0]
        if trailer != total:
            raise TraceError(f"block at {offset}: trailing length {trailer} != {total}")
        body = data[offset + 8: offset + total - 4]
        if block_type == ENHANCED_PACKET:
            if len(body) < 20:
                raise TraceError(f"enhanced packet block at {offset} is too short")
            _interface, high, low, captured, _original = struct.unpack_from(endian + "IIIII", body, 0)
            padded = (captured + 3) // 4 * 4
            if captured > MAXIMUM_BODY or 20 + padded > len(body):
                raise TraceError(f"enhanced packet block at {offset}: captured length {captured}")
            frame = body[20: 20 + captured]
            direction = None
            position = 20 + padded
            while position + 4 <= len(body):
                code, length = struct.unpack_from(endian + "HH", body, position)
                if code == 0:
                    break
                value = body[position + 4: position + 4 + length]
                if code == 2 and length == 4:  # epb_flags: bits 0-1 inbound 01, outbound 10
                    bits = struct.unpack(endian + "I", value)[0] & 0x3
                    direction = {1: "in", 2: "out"}.get(bits)
                position += 4 + (length + 3) // 4 * 4
            packets.append((direction, high << 32 | low, frame) if with_times else (direction, frame))
        offset += total
    if endian is None:
        raise TraceError("empty file")
    return packets


def count(packets):
    """The exchange count and bytes of one trace (definitions above)."""
    result = {"frames_out": 0, "frames_in": 0, "attempts": 0, "exchanges": 0, "unanswered": 0,
              "retransmissions": 0, "naks": 0, "events": 0, "body_bytes": 0, "wire_bytes": 0}
    # sequence -> whether its latest attempt has been answered
    latest = {}
    seen_out = set()
    for direction, frame in packets:
        if direction is None:
            raise TraceError("a frame without a direction (epb_flags)")
        result["body_bytes"] += len(frame)
        result["wire_bytes"] += wire_length(frame)
        if len(frame) < 5:
            continue
        kind, sequence, flags = frame[1], frame[2] | frame[3] << 8, frame[4]
        if direction == "out":
            result["frames_out"] += 1
            result["attempts"] += 1
            if sequence in seen_out:
                result["retransmissions"] += 1
            seen_out.add(sequence)
            latest[sequence] = False
            continue
        result["frames_in"] += 1
        if kind == KIND_EVENT:
            result["events"] += 1
            continue
        if kind == KIND_NAK:
            result["naks"] += 1
        answers = kind in (KIND_WAND_RESPONSE, KIND_NAK) or (kind == KIND_PUMP_MESSAGE and flags & FLAG_FROM_PUMP)
        if answers and latest.get(sequence) is False:
            latest[sequence] = True
            result["exchanges"] += 1
    result["unanswered"] = result["attempts"] - result["exchanges"]
    return result


def trace_seconds(path, byte_rate):
    """The visit as the trace saw it: from the first frame the host sent to
    the last frame of the trace, plus that frame's own crossing when it is
    one the host sent (the close, whose reply is not awaited, leaves the
    host at its timestamp and crosses the line after it). Process start and
    what the host does before its first frame and after its last are not
    in it: the wall time of the run is printed beside it."""
    packets = read_packets(path, with_times=True)
    if not packets:
        return None
    first, last = packets[0][1], packets[-1][1]
    tail = wire_length(packets[-1][2]) / byte_rate if packets[-1][0] == "out" and byte_rate > 0 else 0.0
    return (last - first) / 1e6 + tail


def physical_limit(counted, byte_rate, latency_ms):
    return counted["wire_bytes"] / byte_rate + counted["exchanges"] * 2 * latency_ms / 1000.0


# ---------------------------------------------------------------- visits ---

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PRESCRIPTION = os.path.join(ROOT, "examples/prescriptions/baclofen-continuous-450.json")
# The visits of hardware/bringup/pump-smoke.sh and scripts/demo.sh on a
# fresh simulated pump (baclofen 2000 mcg/mL, 400 mcg/day, 12 mL).
OPERATIONS = {
    "interrogate": ["interrogate"],
    "program": ["program", PRESCRIPTION, "--yes"],
    "refill": ["refill", "--withdrawn", "12mL", "--added", "20mL", "--concentration", "2000mcg/mL", "--yes"],
}
TARGET_RATIO = 1.15
TARGET_EXCHANGES = {"interrogate": 2, "program": 5}
EXIT_NAMES = {0: "success", 64: "usage", 65: "refused", 69: "not found", 70: "internal error",
              71: "state directory busy", 73: "changed, not verified", 74: "communication failure",
              75: "uncertain", 76: "device fault", 77: "permission denied", 79: "not delivering",
              80: "reservoir unknown", 130: "cancelled"}


class Bench:
    def __init__(self, bin_dir, scratch):
        self.pumpctl = os.path.join(bin_dir, "pumpctl")
        self.wandsim = os.path.join(bin_dir, "wandsim")
        self.bench = os.path.join(bin_dir, "pumpwand-bench")
        self.scratch = scratch
        self.key = os.path.join(scratch, "demo.key")
        subprocess.run([self.wandsim, "--write-demo-key", self.key], check=True, stdout=subprocess.DEVNULL)
        self.serial = 0

    def folder(self, name):
        self.serial += 1
        path = os.path.join(self.scratch, f"{self.serial:04d}-{name}")
        os.makedirs(path, mode=0o700)
        return path

    def start_wandsim(self, folder, latency_ms, byte_rate, loss=0, corruption=0, seed=1):
        child = subprocess.Popen(
            [self.wandsim, "--state", os.path.join(folder, "wandsim.json"), "--seed", str(seed),
             "--latency-ms", str(latency_ms), "--byte-rate", str(byte_rate),
             "--loss", str(loss), "--corruption", str(corruption)],
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            line = child.stdout.readline()
            if not line:
                break
            if line.startswith("SIMULATED pty: "):
                # Whatever wandsim prints later is read and dropped, so a
                # full pipe can never stall the wand mid-visit.
                threading.Thread(target=child.stdout.read, daemon=True).start()
                return child, line[len("SIMULATED pty: "):].strip()
        child.kill()
        child.wait()
        raise RuntimeError("wandsim printed no pty")

    @staticmethod
    def stop(child):
        child.send_signal(signal.SIGTERM)
        try:
            child.wait(timeout=30)
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()

    def host(self, folder):
        """The host's state and configuration folders of a visit (0700)."""
        state, config = os.path.join(folder, "host"), os.path.join(folder, "config")
        for path in (state, config):
            os.makedirs(path, mode=0o700, exist_ok=True)
        return state, config

    def pumpctl_run(self, pty, state, config, arguments, trace=None):
        command = [self.pumpctl, "--wand", pty, "--key-file", self.key, "--state-dir", state,
                   "--config-dir", config, "--operator", "bench.tech"]
        if trace:
            command += ["--trace", trace]
        began = time.monotonic()
        done = subprocess.run(command + arguments, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                              stderr=subprocess.PIPE, text=True, timeout=300)
        return done.returncode, time.monotonic() - began, done.stderr

    def visit(self, operation, latency_ms, byte_rate, loss=0, corruption=0, seed=1):
        """One visit on a fresh simulated pump and a fresh host: status, seconds, trace counts."""
        folder = self.folder(operation)
        state, config = self.host(folder)
        child, pty = self.start_wandsim(folder, latency_ms, byte_rate, loss, corruption, seed)
        trace = os.path.join(folder, "trace.pcapng")
        try:
            status, seconds, stderr = self.pumpctl_run(pty, state, config, OPERATIONS[operation], trace)
        finally:
            self.stop(child)
        counted = count(read_packets(trace)) if os.path.exists(trace) else None
        if counted is not None:
            counted["trace_seconds"] = trace_seconds(trace, byte_rate)
        shutil.rmtree(folder, ignore_errors=True)
        return status, seconds, counted, stderr


def fmt_status(status):
    return f"exit {status} ({EXIT_NAMES.get(status, 'other')})"


def visit_figures(bench, repetitions, byte_rate, out):
    """Part a: exchanges, bytes, measured / physical limit, per operation and latency."""
    out("== visits: exchanges, bytes, measured / physical limit "
        f"(wandsim pty, --byte-rate {byte_rate}, median of {repetitions})")
    for latency in (0, 20):
        for operation in OPERATIONS:
            times, counts, failures = [], [], []
            for _ in range(repetitions):
                status, seconds, counted, stderr = bench.visit(operation, latency, byte_rate)
                if status != 0:
                    failures.append((status, stderr.strip().splitlines()[-1:] or [""]))
                    continue
                times.append(seconds)
                counts.append(counted)
            if not times:
                out(f"{operation:<12} latency {latency:2d} ms  FAILED every run: "
                    + "; ".join(f"{fmt_status(s)} {m[0]}" for s, m in failures))
                continue
            wall = statistics.median(times)
            measured = statistics.median(c["trace_seconds"] for c in counts)
            # The median run's counts. Bytes move by a byte or two between
            # runs (fresh nonces and keys change where COBS needs a code
            # byte); a change in exchanges is a different visit and is said.
            counted = sorted(counts, key=lambda c: (c["exchanges"], c["wire_bytes"]))[len(counts) // 2]
            if len({c["exchanges"] for c in counts}) > 1:
                out(f"{operation:<12} note: the exchanges differ between runs: "
                    + ", ".join(str(c["exchanges"]) for c in counts))
            spread = {c["wire_bytes"] for c in counts}
            limit = physical_limit(counted, byte_rate, latency)
            ratio = measured / limit if limit > 0 else float("inf")
            targets = []
            if operation in TARGET_EXCHANGES:
                mark = "ok" if counted["exchanges"] <= TARGET_EXCHANGES[operation] else "MISSED"
                targets.append(f"exchanges <= {TARGET_EXCHANGES[operation]}: {mark}")
            if latency == 20:
                mark = "ok" if ratio <= TARGET_RATIO else "MISSED"
                targets.append(f"ratio <= {TARGET_RATIO} at 20 ms: {mark}")
            out(f"{operation:<12} latency {latency:2d} ms  exchanges {counted['exchanges']}"
                f"  bytes {counted['wire_bytes']}"
                + (f" ({min(spread)}-{max(spread)})" if len(spread) > 1 else "")
                + f" (bodies {counted['body_bytes']})  unanswered {counted['unanswered']}"
                f"  measured {measured:.3f} s  limit {limit:.3f} s  ratio {ratio:.2f}"
                f"  over the limit {1000 * (measured - limit):.0f} ms"
                + (f"  (target {'; '.join(targets)})" if targets else "")
                + f"  [whole run {wall:.3f} s, min {min(times):.3f} max {max(times):.3f}]")
            if failures:
                out(f"{'':<12} {len(failures)} of {repetitions} runs failed: "
                    + "; ".join(f"{fmt_status(s)} {m[0]}" for s, m in failures))


def audit_growth(bench, repetitions, byte_rate, latency, sizes, out):
    """Part b: interrogate and program --dry-run with rows of other pumps in the audit log."""
    out(f"== audit growth: the same visit with N rows in the host's audit log "
        f"(latency {latency} ms, --byte-rate {byte_rate}, median of {repetitions})")
    operations = {"interrogate": ["interrogate"], "program --dry-run": ["program", PRESCRIPTION, "--dry-run"]}
    baseline = {}
    for size in sizes:
        folder = bench.folder(f"audit-{size}")
        state, config = bench.host(folder)
        filled = subprocess.run([bench.bench, "fill-audit", state, config, str(size)],
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        if filled.returncode != 0:
            out(f"{size:6d} rows: could not fill the audit log: {filled.stdout.strip()}")
            continue
        child, pty = bench.start_wandsim(folder, latency, byte_rate)
        try:
            for name, arguments in operations.items():
                times, failures = [], []
                for _ in range(repetitions):
                    status, seconds, stderr = bench.pumpctl_run(pty, state, config, arguments)
                    if status == 0:
                        times.append(seconds)
                    else:
                        failures.append(f"{fmt_status(status)} {(stderr.strip().splitlines() or [''])[-1]}")
                if not times:
                    out(f"{size:6d} rows  {name:<18} FAILED every run: {'; '.join(failures)}")
                    continue
                measured = statistics.median(times)
                baseline.setdefault(name, measured)
                out(f"{size:6d} rows  {name:<18} measured {measured:.3f} s  = {measured / baseline[name]:.2f}x empty"
                    f"  [min {min(times):.3f} max {max(times):.3f}]"
                    + (f"  ({len(failures)} failed: {'; '.join(failures)})" if failures else ""))
        finally:
            bench.stop(child)
            shutil.rmtree(folder, ignore_errors=True)


def link_quality(bench, runs, byte_rate, latency, out):
    """Part c: loss and corruption per mille; success rate and median time against the clean link.

    The clean cell is run here, in the same loop and with the same seeds, so
    the machine's load at the time is in both sides of each ratio."""
    out(f"== link quality: {runs} runs per cell, seeds 1..{runs}, latency {latency} ms, --byte-rate {byte_rate};"
        " time = median of the exit-0 runs / the clean cell's median")
    for operation in ("interrogate", "program"):
        reference = None
        for fault, per_mille in [("clean", 0)] + [(f, n) for f in ("loss", "corruption") for n in (1, 10, 50)]:
            times, outcomes, retransmissions = [], {}, 0
            for seed in range(1, runs + 1):
                arguments = {"loss": per_mille} if fault == "loss" else {"corruption": per_mille}
                status, seconds, counted, _ = bench.visit(operation, latency, byte_rate, seed=seed, **arguments)
                outcomes[status] = outcomes.get(status, 0) + 1
                retransmissions += counted["retransmissions"] if counted else 0
                if status == 0:
                    times.append(seconds)
            if fault == "clean" and times:
                reference = statistics.median(times)
            succeeded = outcomes.get(0, 0)
            others = ", ".join(f"{n} x {fmt_status(s)}" for s, n in sorted(outcomes.items()) if s != 0)
            if times and reference:
                timing = (f"median {statistics.median(times):.3f} s = {statistics.median(times) / reference:.2f}x clean"
                          f"  max {max(times):.3f} s = {max(times) / reference:.2f}x")
            else:
                timing = "no successful run" if not times else f"median {statistics.median(times):.3f} s (no clean figure)"
            out(f"{operation:<12} {fault:<10} {per_mille:2d}/1000  success {succeeded}/{runs}"
                f" ({100.0 * succeeded / runs:.0f}%)  {timing}  retransmissions {retransmissions}"
                + (f"  other: {others}" if others else ""))


def bench_sections(bench, out):
    """Part d: the pumpwand-bench sections that belong to the visit figures."""
    listed = subprocess.run([bench.bench, "--list"], stdout=subprocess.PIPE, text=True, check=True).stdout
    names = [line.split("\t", 1)[0] for line in listed.splitlines() if line.strip()]
    chosen = [name for name in ("baseline", "audit", "startup") if name in names]
    out(f"== pumpwand-bench {' '.join(chosen)}" + ("" if "startup" in names else "  (no startup section in this build)"))
    sys.stdout.flush()
    done = subprocess.run([bench.bench] + chosen, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    for line in done.stdout.splitlines():
        out(line)
    if done.returncode != 0:
        out(f"pumpwand-bench exited {done.returncode}")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)
    counting = commands.add_parser("count", help="exchanges and bytes of one trace")
    counting.add_argument("trace")
    counting.add_argument("--json", action="store_true")
    counting.add_argument("--list", action="store_true", help="also one line per frame")
    counting.add_argument("--byte-rate", type=int, default=11520)
    counting.add_argument("--latency-ms", type=int, default=20)
    running = commands.add_parser("run", help="every visit figure")
    running.add_argument("--bin", required=True, help="folder with release pumpctl, wandsim and pumpwand-bench")
    running.add_argument("--quick", action="store_true", help="fewer repetitions, to try it out")
    running.add_argument("--repetitions", type=int, help="runs per visit figure (default 5, quick 2)")
    running.add_argument("--runs", type=int, help="runs per link-quality cell (default 20, quick 3)")
    running.add_argument("--byte-rate", type=int, default=11520)
    running.add_argument("--skip", action="append", default=[], choices=["visits", "audit", "link", "bench"])
    arguments = parser.parse_args()

    if arguments.command == "count":
        try:
            counted = count(read_packets(arguments.trace))
        except (TraceError, OSError) as error:
            print(f"{arguments.trace}: {error}", file=sys.stderr)
            return 65
        limit = physical_limit(counted, arguments.byte_rate, arguments.latency_ms)
        if arguments.list:
            for direction, frame in read_packets(arguments.trace):
                kind = KIND_NAMES.get(frame[1], f"kind {frame[1]:#04x}") if len(frame) > 1 else "short"
                sequence = frame[2] | frame[3] << 8 if len(frame) >= 5 else 0
                flags = frame[4] if len(frame) >= 5 else 0
                opener = f"  first payload byte {frame[5]:#04x}" if len(frame) > 5 and not flags & 0x01 else ""
                print(f"{'host ->' if direction == 'out' else '<- wand'}  seq {sequence:5d}  {kind:<13} flags {flags:#04x}"
                      f"  body {len(frame):4d}  wire {wire_length(frame):4d}{opener}")
        if arguments.json:
            print(json.dumps(dict(counted, limit_seconds=limit, byte_rate=arguments.byte_rate,
                                  latency_ms=arguments.latency_ms), sort_keys=True))
        else:
            print(f"exchanges {counted['exchanges']}  attempts {counted['attempts']}  unanswered {counted['unanswered']}"
                  f"  bytes {counted['wire_bytes']} (bodies {counted['body_bytes']})"
                  f"  limit {limit:.3f} s at {arguments.byte_rate} B/s and {arguments.latency_ms} ms")
        return 0

    repetitions = arguments.repetitions or (2 if arguments.quick else 5)
    runs = arguments.runs or (3 if arguments.quick else 20)
    sizes = (0, 10_000) if arguments.quick else (0, 10_000, 50_000)

    def out(line):
        print(line, flush=True)

    began = time.monotonic()
    revision = subprocess.run(["git", "-C", ROOT, "rev-parse", "--short", "HEAD"], stdout=subprocess.PIPE,
                              stderr=subprocess.DEVNULL, text=True).stdout.strip() or "unknown"
    dirty = subprocess.run(["git", "-C", ROOT, "status", "--porcelain", "--untracked-files=no"],
                           stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True).stdout.strip()
    out(f"perf figures: commit {revision}{' (with uncommitted changes)' if dirty else ''}, "
        f"{os.cpu_count()} cores, load {os.getloadavg()[0]:.2f}, {'quick' if arguments.quick else 'full'} run")
    scratch = tempfile.mkdtemp(prefix="pumpwand-figures-")
    try:
        bench = Bench(arguments.bin, scratch)
        if "visits" not in arguments.skip:
            visit_figures(bench, repetitions, arguments.byte_rate, out)
        if "audit" not in arguments.skip:
            audit_growth(bench, repetitions, arguments.byte_rate, 20, sizes, out)
        if "link" not in arguments.skip:
            link_quality(bench, runs, arguments.byte_rate, 20, out)
        if "bench" not in arguments.skip:
            bench_sections(bench, out)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    out(f"perf figures done in {time.monotonic() - began:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
