#!/usr/bin/python3
"""A live PumpWand wand on a fake USB bus, for hardware-in-the-loop tests.

Creates a umockdev testbed holding one wand built from the same descriptors
as hardware/umockdev/wand.umockdev (hardware/umockdev/generate.py), answers
the usbdevfs ioctls libusb sends to its device node, and bridges the vendor
interface's bulk endpoints to a byte stream:

  bulk OUT 0x01 (host to wand)  ->  the stream's input
  bulk IN  0x81 (wand to host)  <-  the stream's output

Then it runs COMMAND with umockdev's preload library and UMOCKDEV_DIR set,
so the command's libudev and libusb see the wand, and exits with its status.
The harness re-executes itself under umockdev-wrapper first: the testbed's
own libudev calls (sending uevents) need the preload library too.

Streams (--mode):
  echo                  every byte the host sends comes back
  silent                bytes are accepted, nothing ever comes back
  relay tcp:HOST:PORT   bytes go to and come from a TCP peer (the simulator)
  relay path:PATH       bytes go to and come from a tty or pty (wandsim's pty)

--unplug-after-bytes N: once the host has sent N bytes, the wand is
unplugged: a "remove" uevent is sent and every later ioctl fails with ENODEV,
as the kernel does for a vanished device; the N bytes are not echoed.

--unplug-after-frames N: the same, at a frame boundary: the wand is unplugged
while the host's N-th frame (frames are 00 | COBS | 00) arrives, and that
frame never reaches the stream, so the pump never sees it. With
--unplug-delivers the N-th frame is passed on first, so the pump acts on it
and only its reply is lost. Tests use this to cut the link in the middle of
a chosen exchange (the commit of a prescription, say) without any timing.

Needs the Debian packages umockdev, gir1.2-umockdev-1.0 and python3-gi; run it
with the system Python (/usr/bin/python3), which has the gi module.

Example:
  /usr/bin/python3 Tests/Harness/usb_wand.py --mode echo -- .build/debug/pumpctl wands
"""

import argparse
import errno
import importlib.util
import os
import socket
import struct
import subprocess
import sys
import termios
import threading
import tty

import gi

gi.require_version("UMockdev", "1.0")
from gi.repository import GLib, UMockdev  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
GENERATOR = os.path.join(HERE, "..", "..", "hardware", "umockdev", "generate.py")

# usbdevfs ioctl numbers on x86_64 (linux/usbdevice_fs.h), checked on this
# machine kind; see /work/shared/reference/hil-testing.md in the project notes.
USBDEVFS_SUBMITURB = 0x8038550A
USBDEVFS_DISCARDURB = 0x550B
USBDEVFS_REAPURB = 0x4008550C
USBDEVFS_REAPURBNDELAY = 0x4008550D
USBDEVFS_GET_CAPABILITIES = 0x8004551A
USBDEVFS_CLAIMINTERFACE = 0x8004550F
USBDEVFS_RELEASEINTERFACE = 0x80045510

# struct usbdevfs_urb (56 bytes): type u8 @0, endpoint u8 @1, status i32 @4,
# flags u32 @8, buffer ptr @16, buffer_length i32 @24, actual_length i32 @28.
URB_SIZE = 56
URB_STATUS, URB_BUFFER, URB_BUFFER_LENGTH, URB_ACTUAL_LENGTH = 4, 16, 24, 28
URB_TYPE_CONTROL, URB_TYPE_BULK = 2, 3

CAP_ZERO_PACKET, CAP_BULK_CONTINUATION, CAP_NO_PACKET_SIZE_LIM = 0x01, 0x02, 0x04
CAP_REAP_AFTER_DISCONNECT = 0x10


def load_generator():
    spec = importlib.util.spec_from_file_location("wand_descriptors", GENERATOR)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class Urb:
    """A submitted URB: its client memory and, for IN, its data buffer."""

    def __init__(self, data):
        self.data = data
        # retrieve() copies the client's memory; the `data` field does not
        # come through PyGObject intact.
        raw = bytes(data.retrieve())
        self.type, self.endpoint = raw[0], raw[1]
        self.length = struct.unpack_from("<i", raw, URB_BUFFER_LENGTH)[0]
        self.buffer = data.resolve(URB_BUFFER, self.length) if self.length > 0 else None

    def payload(self):
        return bytes(self.buffer.retrieve())[: self.length] if self.buffer else b""

    def finish(self, status, payload=None, actual=None):
        if payload:
            self.buffer.update(0, payload)
        count = len(payload) if payload is not None else (actual or 0)
        self.data.update(URB_STATUS, struct.pack("<i", status))
        self.data.update(URB_ACTUAL_LENGTH, struct.pack("<i", count))


class LiveWand:
    """The wand's side of usbdevfs, bridging bulk endpoints to a stream."""

    def __init__(self, descriptors, serial, sink, unplug_after, unplug_after_frames=None, unplug_delivers=False):
        self.descriptors = descriptors
        self.serial = serial
        self.sink = sink  # called with bytes from the host; None = echo
        self.unplug_after = unplug_after
        self.unplug_after_frames = unplug_after_frames
        self.unplug_delivers = unplug_delivers
        # Frame delimiters (0x00) seen from the host: frame k ends at the
        # (2k)-th, since every frame opens and closes with one.
        self.delimiters = 0
        self.unplug_callback = None
        self.lock = threading.Lock()
        self.to_host = bytearray()
        self.pending_in = []
        self.completed = []
        self.discarded = []
        self.received = 0
        self.unplugged = False
        self.claims = {}  # interface number -> the client holding it

    # Called when a client closes the device node: its claims end, as the
    # kernel releases a closed usbfs file's interfaces.
    def client_vanished(self, _handler, client):
        with self.lock:
            for number, holder in list(self.claims.items()):
                if holder is client:
                    del self.claims[number]

    # Called from umockdev's worker thread.
    def handle_ioctl(self, _handler, client):
        request = client.get_request()
        arg = client.get_arg()
        with self.lock:
            if self.unplugged:
                return self.after_unplug(client, request, arg)
            if request == USBDEVFS_GET_CAPABILITIES:
                caps = arg.resolve(0, 4)
                caps.update(0, struct.pack("<I", CAP_ZERO_PACKET | CAP_BULK_CONTINUATION
                                           | CAP_NO_PACKET_SIZE_LIM | CAP_REAP_AFTER_DISCONNECT))
                client.complete(0, 0)
                return True
            if request in (USBDEVFS_CLAIMINTERFACE, USBDEVFS_RELEASEINTERFACE):
                number = struct.unpack("<I", bytes(arg.resolve(0, 4).retrieve())[:4])[0]
                holder = self.claims.get(number)
                if request == USBDEVFS_CLAIMINTERFACE:
                    if holder is not None and holder is not client:
                        # Another open file holds it: usbfs answers EBUSY.
                        client.complete(-1, errno.EBUSY)
                        return True
                    self.claims[number] = client
                elif holder is client:
                    del self.claims[number]
                client.complete(0, 0)
                return True
            if request == USBDEVFS_SUBMITURB:
                return self.submit(client, Urb(arg.resolve(0, URB_SIZE)))
            if request in (USBDEVFS_REAPURB, USBDEVFS_REAPURBNDELAY):
                return self.reap(client, arg)
            if request == USBDEVFS_DISCARDURB:
                address = struct.unpack("<Q", bytes(arg.retrieve())[:8])[0]
                for urb in self.pending_in:
                    if urb.data.client_addr == address:
                        self.pending_in.remove(urb)
                        # Completed with -ENOENT, libusb reports a timeout.
                        urb.finish(-errno.ENOENT, actual=0)
                        self.discarded.append(urb)
                        client.complete(0, 0)
                        return True
                client.complete(-1, errno.EINVAL)
                return True
        # GETDRIVER, CLEAR_HALT...: umockdev's stateless defaults.
        return False

    def after_unplug(self, client, request, arg):
        # As the kernel does after a disconnect: URBs that finished can
        # still be reaped (USBDEVFS_CAP_REAP_AFTER_DISCONNECT), everything
        # else fails with ENODEV.
        if request in (USBDEVFS_REAPURB, USBDEVFS_REAPURBNDELAY) and (self.completed or self.discarded):
            return self.reap(client, arg)
        client.complete(-1, errno.ENODEV)
        return True

    def unplug(self):
        """Marks the wand gone; the caller holds the lock."""
        self.unplugged = True
        # The kernel kills a vanished device's URBs with -ESHUTDOWN, which
        # libusb reports as LIBUSB_TRANSFER_NO_DEVICE.
        for urb in self.pending_in:
            urb.finish(-errno.ESHUTDOWN, actual=0)
            self.completed.append(urb)
        self.pending_in.clear()
        if self.unplug_callback:
            GLib.idle_add(self.unplug_callback)

    def submit(self, client, urb):
        if urb.type == URB_TYPE_CONTROL and urb.endpoint in (0x00, 0x80):
            self.control(urb)
        elif urb.type == URB_TYPE_BULK and urb.endpoint == 0x01:
            data = urb.payload()
            urb.finish(0, actual=urb.length)
            self.completed.append(urb)
            self.from_host(data)
        elif urb.type == URB_TYPE_BULK and urb.endpoint == 0x81:
            self.pending_in.append(urb)
            self.fill()
        else:
            # The CDC-ACM endpoints are not bridged here: the serial path is
            # tested over a pty.
            client.complete(-1, errno.EINVAL)
            return True
        client.complete(0, 0)
        return True

    def reap(self, client, arg):
        source = self.discarded if self.discarded else self.completed
        if not source:
            client.complete(-1, errno.EAGAIN)
            return True
        urb = source.pop(0)
        out = arg.resolve(0, 8)
        out.set_ptr(0, urb.data)
        client.complete(0, 0)
        return True

    def control(self, urb):
        setup = urb.payload()[:8]
        request_type, request, value, index, length = struct.unpack("<BBHHH", setup)
        reply = None
        if request_type == 0x80 and request == 6:  # GET_DESCRIPTOR
            kind, number = value >> 8, value & 0xFF
            gen = self.descriptors
            if kind == 1:
                reply = gen.device_descriptor()
            elif kind == 2 and number == 0:
                reply = gen.configuration_descriptor()
            elif kind == 3:
                reply = gen.strings(self.serial).get(number)
        if reply is None:
            urb.finish(-errno.EPIPE, actual=0)  # a stall, as a device answers unknown requests
        else:
            reply = reply[:length]
            # The data stage follows the 8-byte setup packet in the buffer;
            # actual_length counts the data stage only.
            urb.buffer.update(8, reply)
            urb.finish(0, actual=len(reply))
        self.completed.append(urb)

    def from_host(self, data):
        self.received += len(data)
        if self.unplug_after is not None and self.received >= self.unplug_after:
            self.unplug()
            return
        if self.unplug_after_frames is not None:
            data = self.cut_at_frame(data)
            if self.unplugged:
                return
        if self.sink is None:
            self.to_host.extend(data)
            self.fill()
        else:
            self.sink(data)

    def cut_at_frame(self, data):
        """Passes on `data` up to the chosen frame; unplugs inside it."""
        target = self.unplug_after_frames
        for index, byte in enumerate(data):
            if byte != 0:
                continue
            self.delimiters += 1
            if self.delimiters == 2 * target - 1 and not self.unplug_delivers:
                # The chosen frame starts here: what came before it goes on,
                # the frame itself dies with the wand.
                self.deliver(data[:index])
                self.unplug()
                return b""
            if self.delimiters == 2 * target and self.unplug_delivers:
                self.deliver(data[: index + 1])
                self.unplug()
                return b""
        return data

    def deliver(self, data):
        if not data:
            return
        if self.sink is None:
            self.to_host.extend(data)
            self.fill()
        else:
            self.sink(data)

    def to_host_bytes(self, data):
        with self.lock:
            self.to_host.extend(data)
            self.fill()

    def fill(self):
        while self.pending_in and self.to_host:
            urb = self.pending_in.pop(0)
            count = min(urb.length, len(self.to_host))
            urb.finish(0, payload=bytes(self.to_host[:count]))
            del self.to_host[:count]
            self.completed.append(urb)


def open_relay(spec, wand):
    """Connects the relay, starts its reader thread, returns the sink."""
    kind, _, target = spec.partition(":")
    if kind == "tcp":
        host, _, port = target.rpartition(":")
        conn = socket.create_connection((host, int(port)))
        write = conn.sendall
        read = lambda: conn.recv(4096)  # noqa: E731
    elif kind == "path":
        fd = os.open(target, os.O_RDWR | os.O_NOCTTY)
        if os.isatty(fd):
            tty.setraw(fd, termios.TCSANOW)
        write = lambda data: os.write(fd, data)  # noqa: E731
        read = lambda: os.read(fd, 4096)  # noqa: E731
    else:
        raise SystemExit(f"usb_wand.py: unknown relay {spec!r} (tcp:HOST:PORT or path:PATH)")

    def pump():
        while True:
            try:
                data = read()
            except OSError:
                data = b""
            if not data:
                # The simulator went away: so does the wand.
                with wand.lock:
                    wand.unplug()
                return
            wand.to_host_bytes(data)

    threading.Thread(target=pump, daemon=True).start()
    return write


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--mode", default="echo", help="echo, silent, or relay")
    parser.add_argument("--relay", help="tcp:HOST:PORT or path:PATH (with --mode relay)")
    parser.add_argument("--serial", default="PW1-000123")
    parser.add_argument("--unplug-after-bytes", type=int)
    parser.add_argument("--unplug-after-frames", type=int,
                        help="unplug while the host's N-th frame arrives (it is not passed on)")
    parser.add_argument("--unplug-delivers", action="store_true",
                        help="with --unplug-after-frames: pass the N-th frame on, then unplug before its reply")
    parser.add_argument("command", nargs=argparse.REMAINDER)
    args = parser.parse_args()
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    if not command:
        parser.error("give the command to run after --")

    # The testbed's own libudev calls (sending uevents) must see the fake
    # /sys too, so this process runs under umockdev's preload library.
    if "libumockdev-preload" not in os.environ.get("LD_PRELOAD", ""):
        os.execvp("umockdev-wrapper", ["umockdev-wrapper", sys.executable] + sys.argv)

    if os.environ.get("UMOCKDEV_DIR"):
        # A child of a harness starting another harness would recurse.
        raise SystemExit("usb_wand.py: already inside a umockdev testbed (UMOCKDEV_DIR is set); refusing to nest")

    gen = load_generator()
    wand_place = gen.Wand(args.serial, bus=1, address=2, port=2, tty_index=0)
    testbed = UMockdev.Testbed.new()
    if args.unplug_after_frames is not None and args.unplug_after_frames < 1:
        parser.error("--unplug-after-frames counts from 1")
    if args.unplug_delivers and args.unplug_after_frames is None:
        parser.error("--unplug-delivers needs --unplug-after-frames")
    wand = LiveWand(gen, args.serial, sink=None, unplug_after=args.unplug_after_bytes,
                    unplug_after_frames=args.unplug_after_frames, unplug_delivers=args.unplug_delivers)

    if args.mode == "silent":
        wand.sink = lambda data: None
    elif args.mode == "relay":
        if not args.relay:
            parser.error("--mode relay needs --relay tcp:HOST:PORT or path:PATH")
        wand.sink = open_relay(args.relay, wand)
    elif args.mode != "echo":
        parser.error(f"unknown mode {args.mode!r}")

    def unplug():
        testbed.uevent("/sys" + wand_place.syspath, "remove")
        return False

    wand.unplug_callback = unplug

    handler = UMockdev.IoctlBase()
    handler.connect("handle-ioctl", wand.handle_ioctl)
    handler.connect("client-vanished", wand.client_vanished)
    # Attach before the device exists, so no open can race the handler.
    testbed.attach_ioctl(wand_place.devnode, handler)
    testbed.add_from_string(gen.description([wand_place]))

    env = dict(os.environ, UMOCKDEV_DIR=testbed.get_root_dir())
    # LD_PRELOAD is inherited from this process, so the child sees the testbed.
    child = subprocess.Popen(command, env=env)
    loop = GLib.MainLoop()
    status = {}

    def wait():
        status["code"] = child.wait()
        GLib.idle_add(loop.quit)

    threading.Thread(target=wait, daemon=True).start()
    loop.run()
    code = status.get("code", 1)
    sys.exit(code if code >= 0 else 128 - code)


if __name__ == "__main__":
    main()
