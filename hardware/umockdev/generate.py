#!/usr/bin/env python3
"""Builds the PumpWand wand's USB descriptors and the umockdev device
descriptions used by the tests.

The descriptors are the single source for every fake wand: the `.umockdev`
files written here (the `descriptors` sysfs attribute and the usbfs node's
contents) and the live harness in Tests/Harness/usb_wand.py, which imports
this module. hardware/usb-identity.md documents the same layout in prose.

Standard library only. Run from anywhere:

    python3 hardware/umockdev/generate.py          # rewrite the .umockdev files
    python3 hardware/umockdev/generate.py --check  # fail if they are out of date
"""

import os
import struct
import sys

VENDOR_ID = 0x1209  # pid.codes open-source vendor id
PRODUCT_ID = 0x0001  # pid.codes test product id: placeholder until one is assigned
BCD_DEVICE = 0x0100  # firmware 1.00
BCD_USB = 0x0200
MANUFACTURER = "PumpWand"
PRODUCT = "PumpWand Programmer Wand"
MAX_PACKET = 64  # full-speed bulk

VENDOR_INTERFACE = 0
VENDOR_OUT = 0x01
VENDOR_IN = 0x81
ACM_COMM_INTERFACE = 1
ACM_NOTIFY_IN = 0x83
ACM_DATA_INTERFACE = 2
ACM_OUT = 0x02
ACM_IN = 0x82

# String descriptor indices.
I_MANUFACTURER, I_PRODUCT, I_SERIAL = 1, 2, 3

# Where the fake host controller sits in sysfs.
HOST_CONTROLLER = "/devices/pci0000:00/0000:00:14.0"
USB_MAJOR = 189  # usb_device character devices
ACM_MAJOR = 166  # ttyACM


def device_descriptor():
    # bLength, bDescriptorType=DEVICE, bcdUSB, class/subclass/protocol
    # 0xEF/0x02/0x01 (miscellaneous, interface association: a composite with
    # an IAD), bMaxPacketSize0, idVendor, idProduct, bcdDevice, string
    # indices, bNumConfigurations. USB is little-endian.
    return struct.pack(
        "<BBHBBBBHHHBBBB",
        18, 0x01, BCD_USB, 0xEF, 0x02, 0x01, 64,
        VENDOR_ID, PRODUCT_ID, BCD_DEVICE,
        I_MANUFACTURER, I_PRODUCT, I_SERIAL, 1,
    )


def interface(number, endpoints, cls, subclass, protocol):
    return struct.pack("<BBBBBBBBB", 9, 0x04, number, 0, endpoints, cls, subclass, protocol, 0)


def endpoint(address, transfer_type, max_packet, interval):
    return struct.pack("<BBBBHB", 7, 0x05, address, transfer_type, max_packet, interval)


BULK, INTERRUPT = 0x02, 0x03


def configuration_descriptor():
    body = b"".join([
        # Interface 0: the vendor interface carrying the framed byte stream.
        interface(VENDOR_INTERFACE, 2, 0xFF, 0x00, 0x00),
        endpoint(VENDOR_OUT, BULK, MAX_PACKET, 0),
        endpoint(VENDOR_IN, BULK, MAX_PACKET, 0),
        # Interface association: interfaces 1 and 2 are one CDC-ACM function.
        # Protocol 0 (no AT commands): the wand is not a modem.
        struct.pack("<BBBBBBBB", 8, 0x0B, ACM_COMM_INTERFACE, 2, 0x02, 0x02, 0x00, 0),
        # Interface 1: CDC communication class, abstract control model.
        interface(ACM_COMM_INTERFACE, 1, 0x02, 0x02, 0x00),
        struct.pack("<BBBH", 5, 0x24, 0x00, 0x0110),  # header, CDC 1.10
        struct.pack("<BBBBB", 5, 0x24, 0x01, 0x00, ACM_DATA_INTERFACE),  # call management
        struct.pack("<BBBB", 4, 0x24, 0x02, 0x02),  # ACM: line coding and serial state
        struct.pack("<BBBBB", 5, 0x24, 0x06, ACM_COMM_INTERFACE, ACM_DATA_INTERFACE),  # union
        endpoint(ACM_NOTIFY_IN, INTERRUPT, 8, 16),
        # Interface 2: CDC data, the bring-up byte stream.
        interface(ACM_DATA_INTERFACE, 2, 0x0A, 0x00, 0x00),
        endpoint(ACM_OUT, BULK, MAX_PACKET, 0),
        endpoint(ACM_IN, BULK, MAX_PACKET, 0),
    ])
    total = 9 + len(body)
    # bNumInterfaces 3, bConfigurationValue 1, bus powered, 100 mA (50 x 2 mA).
    header = struct.pack("<BBHBBBBB", 9, 0x02, total, 3, 1, 0, 0x80, 50)
    return header + body


def descriptors():
    """Device descriptor followed by the one configuration, as in sysfs."""
    return device_descriptor() + configuration_descriptor()


def string_descriptor(text):
    data = text.encode("utf-16-le")
    return bytes([2 + len(data), 0x03]) + data


def strings(serial):
    """String descriptors by index; index 0 lists the languages (en-US)."""
    return {
        0: bytes([4, 0x03, 0x09, 0x04]),
        I_MANUFACTURER: string_descriptor(MANUFACTURER),
        I_PRODUCT: string_descriptor(PRODUCT),
        I_SERIAL: string_descriptor(serial),
    }


class Wand:
    """One wand's place on the fake bus."""

    def __init__(self, serial, bus, address, port, tty_index):
        self.serial, self.bus, self.address, self.port = serial, bus, address, port
        self.tty_index = tty_index

    @property
    def name(self):
        return f"{self.bus}-{self.port}"

    @property
    def syspath(self):
        return f"{HOST_CONTROLLER}/usb{self.bus}/{self.name}"

    @property
    def devnode(self):
        return f"/dev/bus/usb/{self.bus:03d}/{self.address:03d}"

    def interface_syspath(self, number):
        return f"{self.syspath}/{self.name}:1.{number}"

    @property
    def tty_syspath(self):
        # cdc_acm registers the tty under the communication (control)
        # interface, as the kernel does: drivers/usb/class/cdc-acm.c passes
        # &control_interface->dev to tty_port_register_device.
        return f"{self.interface_syspath(ACM_COMM_INTERFACE)}/tty/ttyACM{self.tty_index}"


def hexdump(data):
    return data.hex().upper()


def udev_identity_properties(wand):
    # What udev's usb_id builtin adds; the rules in udev-rules/ match on them.
    return [
        ("ID_BUS", "usb"),
        ("ID_VENDOR", MANUFACTURER),
        ("ID_VENDOR_ID", f"{VENDOR_ID:04x}"),
        ("ID_MODEL", PRODUCT.replace(" ", "_")),
        ("ID_MODEL_ID", f"{PRODUCT_ID:04x}"),
        ("ID_REVISION", f"{BCD_DEVICE:04x}"),
        ("ID_SERIAL", f"{MANUFACTURER}_{PRODUCT.replace(' ', '_')}_{wand.serial}"),
        ("ID_SERIAL_SHORT", wand.serial),
    ]


def record(path, node=None, env=(), attrs=(), binattrs=()):
    lines = [f"P: {path}"]
    if node is not None:
        lines.append(f"N: {node}")
    lines += [f"E: {k}={v}" for k, v in env]
    lines += [f"A: {k}={v}" for k, v in attrs]
    lines += [f"H: {k}={hexdump(v)}" for k, v in binattrs]
    return "\n".join(lines) + "\n"


def root_hub_record(bus):
    # A full-speed root hub so the tree looks like a real machine's and
    # discovery has a non-wand device to skip.
    desc = struct.pack("<BBHBBBBHHHBBBB", 18, 1, 0x0110, 9, 0, 0, 64, 0x1D6B, 0x0001, 0x0606, 3, 2, 1, 1)
    desc += struct.pack("<BBHBBBBB", 9, 2, 25, 1, 1, 0, 0xE0, 0)
    desc += interface(0, 1, 9, 0, 0) + endpoint(0x81, INTERRUPT, 2, 255)
    return record(
        f"{HOST_CONTROLLER}/usb{bus}",
        node=f"bus/usb/{bus:03d}/001={hexdump(desc)}",
        env=[("BUSNUM", f"{bus:03d}"), ("DEVNUM", "001"), ("DEVNAME", f"/dev/bus/usb/{bus:03d}/001"),
             ("DEVTYPE", "usb_device"), ("DRIVER", "usb"), ("MAJOR", str(USB_MAJOR)),
             ("MINOR", str((bus - 1) * 128)), ("PRODUCT", "1d6b/1/606"), ("TYPE", "9/0/0"),
             ("SUBSYSTEM", "usb")],
        attrs=[("busnum", str(bus)), ("devnum", "1"), ("idVendor", "1d6b"), ("idProduct", "0001"),
               ("bcdDevice", "0606"), ("bDeviceClass", "09"), ("bNumConfigurations", "1"),
               ("bConfigurationValue", "1"), ("speed", "12"), ("product", "UHCI Host Controller"),
               ("dev", f"{USB_MAJOR}:{(bus - 1) * 128}")],
        binattrs=[("descriptors", desc)],
    )


def wand_records(wand):
    desc = descriptors()
    minor = (wand.bus - 1) * 128 + wand.address - 1
    product_env = f"{VENDOR_ID:x}/{PRODUCT_ID:x}/{BCD_DEVICE:x}"
    ident = udev_identity_properties(wand)
    blocks = [record(
        wand.syspath,
        node=f"{wand.devnode[len('/dev/'):]}={hexdump(desc)}",
        env=[("BUSNUM", f"{wand.bus:03d}"), ("DEVNUM", f"{wand.address:03d}"),
             ("DEVNAME", wand.devnode), ("DEVTYPE", "usb_device"), ("DRIVER", "usb"),
             ("MAJOR", str(USB_MAJOR)), ("MINOR", str(minor)), ("PRODUCT", product_env),
             ("TYPE", "239/2/1"), ("SUBSYSTEM", "usb")] + ident,
        attrs=[("busnum", str(wand.bus)), ("devnum", str(wand.address)), ("devpath", str(wand.port)),
               ("idVendor", f"{VENDOR_ID:04x}"), ("idProduct", f"{PRODUCT_ID:04x}"),
               ("bcdDevice", f"{BCD_DEVICE:04x}"), ("bDeviceClass", "ef"), ("bDeviceSubClass", "02"),
               ("bDeviceProtocol", "01"), ("bMaxPacketSize0", "64"), ("bNumConfigurations", "1"),
               ("bNumInterfaces", " 3"), ("bConfigurationValue", "1"), ("bmAttributes", "80"),
               ("bMaxPower", "100mA"), ("version", " 2.00"), ("speed", "12"),
               ("manufacturer", MANUFACTURER), ("product", PRODUCT), ("serial", wand.serial),
               ("authorized", "1"), ("removable", "removable"),
               ("dev", f"{USB_MAJOR}:{minor}")],
        binattrs=[("descriptors", desc)],
    )]
    interfaces = [
        (VENDOR_INTERFACE, 0xFF, 0x00, 0x00, 2, None),
        (ACM_COMM_INTERFACE, 0x02, 0x02, 0x00, 1, "cdc_acm"),
        (ACM_DATA_INTERFACE, 0x0A, 0x00, 0x00, 2, "cdc_acm"),
    ]
    for number, cls, sub, proto, eps, driver in interfaces:
        env = [("DEVTYPE", "usb_interface"), ("PRODUCT", product_env), ("TYPE", "239/2/1"),
               ("INTERFACE", f"{cls}/{sub}/{proto}"),
               ("MODALIAS", modalias(cls, sub, proto, number)), ("SUBSYSTEM", "usb")]
        if driver:
            env.insert(0, ("DRIVER", driver))
        blocks.append(record(
            wand.interface_syspath(number),
            env=env,
            attrs=[("bInterfaceNumber", f"{number:02x}"), ("bAlternateSetting", " 0"),
                   ("bInterfaceClass", f"{cls:02x}"), ("bInterfaceSubClass", f"{sub:02x}"),
                   ("bInterfaceProtocol", f"{proto:02x}"), ("bNumEndpoints", f"{eps:02x}"),
                   ("modalias", modalias(cls, sub, proto, number))],
        ))
    blocks.append(record(
        wand.tty_syspath,
        node=f"ttyACM{wand.tty_index}",
        env=[("DEVNAME", f"/dev/ttyACM{wand.tty_index}"), ("MAJOR", str(ACM_MAJOR)),
             ("MINOR", str(wand.tty_index)), ("SUBSYSTEM", "tty"),
             ("ID_USB_INTERFACE_NUM", f"{ACM_COMM_INTERFACE:02d}"), ("ID_USB_DRIVER", "cdc_acm")] + ident,
        attrs=[("dev", f"{ACM_MAJOR}:{wand.tty_index}")],
    ))
    return blocks


def modalias(cls, sub, proto, number):
    return (f"usb:v{VENDOR_ID:04X}p{PRODUCT_ID:04X}d{BCD_DEVICE:04X}"
            f"dcEFdsc02dp01ic{cls:02X}isc{sub:02X}ip{proto:02X}in{number:02X}")


def description(wands):
    # Parents before children, so a loader that creates directories in order
    # never meets a child whose parent is missing.
    blocks = [root_hub_record(1)]
    for wand in wands:
        blocks += wand_records(wand)
    return "\n".join(blocks)


ONE_WAND = [Wand("PW1-000123", bus=1, address=2, port=2, tty_index=0)]
TWO_WANDS = ONE_WAND + [Wand("PW1-000456", bus=1, address=3, port=3, tty_index=1)]

# umockdev record files have no comment syntax: the note that these files
# are generated lives in hardware/usb-identity.md and hardware/umockdev/README.md.


def outputs():
    return {
        "wand.umockdev": description(ONE_WAND),
        "two-wands.umockdev": description(TWO_WANDS),
    }


def main(argv):
    here = os.path.dirname(os.path.abspath(__file__))
    stale = []
    for name, text in outputs().items():
        path = os.path.join(here, name)
        if "--check" in argv:
            try:
                with open(path, encoding="ascii") as f:
                    if f.read() != text:
                        stale.append(name)
            except FileNotFoundError:
                stale.append(name)
        else:
            with open(path, "w", encoding="ascii") as f:
                f.write(text)
    if stale:
        print("out of date, run hardware/umockdev/generate.py: " + ", ".join(stale), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
