#!/usr/bin/python3
"""Plugs a fake wand in and out while a command watches, for the hotplug tests.

Runs COMMAND (normally `pumpctl wands --watch --json`) inside a umockdev
testbed (empty, or holding the devices of --present), waits until it prints
{"event":"watching"}; with --fixture and --syspath, adds the devices of
FIXTURE (a .umockdev file) and sends the "add" uevent for SYSPATH, waits for
an "arrived" line, sends the "remove" uevent (umockdev 0.17's remove_device
sends none by itself) and waits for a "removed" line. Then, once the command
catches SIGTERM (its handler is installed, per /proc), it sends SIGTERM and
waits for the command to end.

It reports what happened and judges nothing; the calling test does that.
Output on stdout, one item per line:
  child: LINE     each line the command printed, in order
  timeout: WHAT   a wait ran out (60 s each: long enough for any machine;
                  only there so a broken command fails instead of hanging)
  exit: N         the command's exit status (negative: killed by signal N)

Needs the Debian packages umockdev, gir1.2-umockdev-1.0 and python3-gi; run
it with the system Python (/usr/bin/python3), which has the gi module.

Example:
  /usr/bin/python3 Tests/Harness/hotplug_watch.py \\
      --fixture hardware/umockdev/wand.umockdev \\
      --syspath /sys/devices/pci0000:00/0000:00:14.0/usb1/1-2 \\
      -- .build/debug/pumpctl wands --watch --json
"""

import argparse
import json
import os
import queue
import signal
import subprocess
import sys
import threading
import time

import gi

gi.require_version("UMockdev", "1.0")
from gi.repository import UMockdev  # noqa: E402

WAIT_SECONDS = 60


def catches(pid, signo):
    """True when /proc says process PID has a handler for signal SIGNO."""
    try:
        with open(f"/proc/{pid}/status") as status:
            for line in status:
                if line.startswith("SigCgt:"):
                    return bool(int(line.split()[1], 16) >> (signo - 1) & 1)
    except OSError:
        pass
    return False


def wait_until_catching(pid, signo):
    """Polls until PID catches SIGNO (False after WAIT_SECONDS, or if PID is gone)."""
    deadline = time.monotonic() + WAIT_SECONDS
    while time.monotonic() < deadline:
        if catches(pid, signo):
            return True
        time.sleep(0.01)
    return False


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--present", help="a .umockdev file whose devices are there before COMMAND starts")
    parser.add_argument("--fixture", help="a .umockdev file whose devices arrive while COMMAND watches")
    parser.add_argument("--syspath", help="the wand's USB device in --fixture, /sys/...")
    parser.add_argument("command", nargs=argparse.REMAINDER)
    args = parser.parse_args()
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    if not command:
        parser.error("give the command to run after --")
    if bool(args.fixture) != bool(args.syspath):
        parser.error("--fixture and --syspath go together")

    # The testbed's own libudev calls (sending uevents) must see the fake
    # /sys too, so this process runs under umockdev's preload library.
    if "libumockdev-preload" not in os.environ.get("LD_PRELOAD", ""):
        os.execvp("umockdev-wrapper", ["umockdev-wrapper", sys.executable] + sys.argv)
    if os.environ.get("UMOCKDEV_DIR"):
        raise SystemExit("hotplug_watch.py: already inside a umockdev testbed (UMOCKDEV_DIR is set); refusing to nest")

    testbed = UMockdev.Testbed.new()
    if args.present:
        with open(args.present) as present:
            testbed.add_from_string(present.read())
    env = dict(os.environ, UMOCKDEV_DIR=testbed.get_root_dir())
    child = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, text=True, bufsize=1)

    lines = queue.Queue()

    def read():
        for line in child.stdout:
            lines.put(line.rstrip("\n"))
        lines.put(None)

    threading.Thread(target=read, daemon=True).start()

    def report(text):
        print(text, flush=True)

    def wait_for(event):
        """Echoes the command's lines until one is {"event": EVENT}."""
        while True:
            try:
                line = lines.get(timeout=WAIT_SECONDS)
            except queue.Empty:
                report(f"timeout: waiting for {event}")
                return False
            if line is None:
                report(f"timeout: the command ended before {event}")
                return False
            report(f"child: {line}")
            try:
                if json.loads(line).get("event") == event:
                    return True
            except (ValueError, AttributeError):
                pass

    ok = wait_for("watching")
    if ok and args.fixture:
        with open(args.fixture) as fixture:
            testbed.add_from_string(fixture.read())
        testbed.uevent(args.syspath, "add")
        ok = wait_for("arrived")
    if ok and args.fixture:
        testbed.uevent(args.syspath, "remove")
        ok = wait_for("removed")

    # "watching" is printed before the command's SIGTERM handling is armed:
    # pumpctl sets SIGTERM to SIG_IGN and takes it through a DispatchSource,
    # which libdispatch registers on its own thread a little later; a
    # SIGTERM in between is discarded and the watch never ends. So the
    # signal goes once the command catches it (/proc says so), as a person
    # pressing Ctrl-C later would find it.
    if not wait_until_catching(child.pid, signal.SIGTERM):
        report("timeout: waiting for the command to catch SIGTERM")
    child.send_signal(signal.SIGTERM)
    try:
        code = child.wait(timeout=WAIT_SECONDS)
    except subprocess.TimeoutExpired:
        report("timeout: waiting for the command to exit after SIGTERM")
        child.kill()
        code = child.wait()
    # Whatever the command printed after the last wait.
    while True:
        try:
            line = lines.get(timeout=5)
        except queue.Empty:
            break
        if line is None:
            break
        report(f"child: {line}")
    report(f"exit: {code}")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
