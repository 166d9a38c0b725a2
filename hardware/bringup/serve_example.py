#!/usr/bin/env python3
"""Worked example of `pumpctl serve`: one pump session, many reads.

    python3 hardware/bringup/serve_example.py --simulator
    python3 hardware/bringup/serve_example.py --wand /dev/pts/7 --key-file bench-pump.key

Starts pumpctl serve, sends one JSON request per line, reads one JSON
response per line, and exits non-zero if any request fails.
"""
import json
import subprocess
import sys


def main(argv):
    pumpctl = "pumpctl"
    if "--pumpctl" in argv:
        at = argv.index("--pumpctl")
        pumpctl = argv[at + 1]
        argv = argv[:at] + argv[at + 2:]
    # Global options (--simulator, --wand PATH, --state-dir DIR, --trace FILE)
    # go before `serve`; session options (--key-file) after it.
    before, after = [], []
    i = 0
    while i < len(argv):
        if argv[i] == "--key-file":
            after += argv[i:i + 2]; i += 2
        elif argv[i] in ("--wand", "--state-dir", "--trace"):
            before += argv[i:i + 2]; i += 2
        else:
            before.append(argv[i]); i += 1
    server = subprocess.Popen([pumpctl, *before, "serve", *after],
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, bufsize=1)
    next_id = 0

    def request(command, **arguments):
        nonlocal next_id
        next_id += 1
        server.stdin.write(json.dumps({"id": next_id, "command": command, **arguments}) + "\n")
        server.stdin.flush()
        line = server.stdout.readline()
        if not line:
            raise SystemExit(f"pumpctl serve ended before answering {command}")
        response = json.loads(line)
        assert response["id"] == next_id, response
        if not response["ok"]:
            error = response["error"]
            raise SystemExit(f"{command} failed ({error['code']}, exit status {error['exit_status']}, pump {error['pump']}): {error['message']}")
        return response["result"]

    status = request("interrogate")
    print(f"pump {status['serial']} firmware {status['firmware']}: {status['drug']}, "
          f"{status['daily_dose']['value']} {status['daily_dose']['unit']}, "
          f"reservoir {status['reservoir_volume']['value']} {status['reservoir_volume']['unit']}")

    link = request("link-status")
    print(f"wand {link['wand']['serial']}: signal {link['signal_quality_percent']}%, "
          f"{link['crc_errors']} CRC errors, {link['frames_relayed']} frames relayed")

    for size in (0, 64, 256):
        echo = request("loopback", size=size, count=10)
        print(f"loopback {size:3d} bytes: {echo['received']}/{echo['sent']} intact, "
              f"p50 {echo['latency_ms']['p50']} ms")
        if echo["lost"] or echo["corrupted"]:
            raise SystemExit("loopback lost or corrupted echoes")

    active = request("read-prescription")
    print(f"prescription {active['prescription_hash'][:16]}: {active['prescription']['daily_dose']['value']}{active['prescription']['daily_dose']['unit']}")
    assert active["prescription_hash"] == status["prescription_hash"]

    events = request("event-log")["events"]
    print(f"{len(events)} events in the log; newest: {events[0]['event'] if events else 'none'}")

    request("close")
    server.stdin.close()
    return server.wait()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
