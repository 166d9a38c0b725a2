#!/usr/bin/python3
"""A serial line between a host and a wand's tty that can be cut on cue.

Opens the wand's tty (wandsim's pty, say), makes a new pseudo-terminal for
the host, prints its path as

  RELAY pty: /dev/pts/N

and copies bytes both ways. With --hangup-after-frames N the line is cut
while the host's N-th frame (frames are 00 | COBS | 00) arrives: the host's
pty hangs up (its master is closed, so reads return 0 and writes fail with
EIO, as when a USB serial adapter is pulled) and the relay exits. The N-th
frame never reaches the wand, unless --hangup-delivers is given: then it is
passed on first and only the reply is lost.

This is how the tests hang up a serial session in the middle of a chosen
exchange without timing anything. Needs only the Python standard library.

Example:
  /usr/bin/python3 Tests/Harness/pty_relay.py --to /dev/pts/7 --hangup-after-frames 5
"""

import argparse
import os
import select
import sys
import termios
import tty


def raw(fd):
    # A fresh pty is cooked (XON/XOFF eaten, CR turned to LF, echo).
    tty.setraw(fd, termios.TCSANOW)


def write_all(fd, data):
    while data:
        written = os.write(fd, data)
        data = data[written:]


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--to", required=True, help="the wand's tty or pty")
    parser.add_argument("--hangup-after-frames", type=int,
                        help="hang up while the host's N-th frame arrives (it is not passed on)")
    parser.add_argument("--hangup-delivers", action="store_true",
                        help="pass the N-th frame on, then hang up before its reply")
    args = parser.parse_args()
    if args.hangup_after_frames is not None and args.hangup_after_frames < 1:
        parser.error("--hangup-after-frames counts from 1")
    if args.hangup_delivers and args.hangup_after_frames is None:
        parser.error("--hangup-delivers needs --hangup-after-frames")

    wand = os.open(args.to, os.O_RDWR | os.O_NOCTTY)
    raw(wand)
    master, slave = os.openpty()
    raw(master)
    raw(slave)
    # The relay keeps its own slave descriptor open until it hangs up, so
    # the master never sees "no slave open" (EIO) between host opens.
    print(f"RELAY pty: {os.ttyname(slave)}", flush=True)

    delimiters = 0
    target = args.hangup_after_frames
    while True:
        readable, _, _ = select.select([master, wand], [], [])
        if wand in readable:
            try:
                data = os.read(wand, 4096)
            except OSError:
                data = b""
            if not data:
                return 0  # the wand went away: so does the line
            write_all(master, data)
        if master in readable:
            try:
                data = os.read(master, 4096)
            except OSError:
                # EIO: no host has the slave open right now (only possible
                # after the relay's own slave is closed); keep waiting.
                data = b""
            if not data:
                continue
            if target is None:
                write_all(wand, data)
                continue
            for index, byte in enumerate(data):
                if byte != 0:
                    continue
                delimiters += 1
                cut = None
                if delimiters == 2 * target - 1 and not args.hangup_delivers:
                    cut = index  # the chosen frame starts here: drop it
                elif delimiters == 2 * target and args.hangup_delivers:
                    cut = index + 1  # the chosen frame ends here: pass it on
                if cut is not None:
                    write_all(wand, data[:cut])
                    os.close(slave)
                    os.close(master)
                    print("RELAY hung up", flush=True)
                    return 0
            write_all(wand, data)


if __name__ == "__main__":
    sys.exit(main())
