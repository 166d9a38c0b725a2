#!/usr/bin/env python3
"""Independent generator of the worked examples in hardware/PROTOCOL.md.

Written from the specification alone, with Python's `cryptography` package
(HKDF-SHA256, HMAC-SHA256, ChaCha20-Poly1305) and a bit-by-bit CRC-32C, so
the Swift implementation is checked against a second implementation rather
than against itself. Prints one `name: hex` line per example; the Swift test
`ProtocolExampleTests` checks the same bytes as they appear in PROTOCOL.md.
"""
import hashlib
import hmac
import struct

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305
from cryptography.hazmat.primitives.kdf.hkdf import HKDF


def crc32c(data: bytes) -> int:
    crc = 0xFFFFFFFF
    for byte in data:
        crc ^= byte
        for _ in range(8):
            crc = (crc >> 1) ^ 0x82F63B78 if crc & 1 else crc >> 1
    return crc ^ 0xFFFFFFFF


assert crc32c(b"123456789") == 0xE3069283


def cobs(data: bytes) -> bytes:
    out = bytearray([0])
    code_at, code = 0, 1
    for i, byte in enumerate(data):
        if byte == 0:
            out[code_at] = code
            code_at, code = len(out), 1
            out.append(0)
        else:
            out.append(byte)
            code += 1
            if code == 0xFF and i + 1 < len(data):
                out[code_at] = code
                code_at, code = len(out), 1
                out.append(0)
    out[code_at] = code
    return bytes(out)


assert cobs(bytes.fromhex("11220033")) == bytes.fromhex("0311220233")


def frame(body: bytes) -> bytes:
    return b"\x00" + cobs(body + struct.pack("<I", crc32c(body))) + b"\x00"


def header(kind: int, seq: int, flags: int) -> bytes:
    return bytes([1, kind]) + struct.pack("<H", seq) + bytes([flags])


def h(text: str) -> bytes:
    return bytes.fromhex("".join(text.split()))


KEY = bytes(range(32))
HOST_NONCE = b"\x11" * 32
PUMP_NONCE = b"\x22" * 32
SESSION_ID = 0x04030201
SERIAL = b"SP-12345"
CID1 = bytes(range(16))
CID2 = bytes(range(16, 32))
CID3 = bytes(range(32, 48))
CID4 = bytes(range(48, 64))
ZERO_ID = bytes(16)
TIME = struct.pack("<q", 1_700_000_000)

CONTINUOUS = h("01 80841E00 01 01 400D0300 801A0600 00 00 00 F0490200")
FLEX = h("""02 40787D01 03 02 00000000 00000000 01 02
            0000 A0860100 A0252600  E001 F0490200 70383900
            01 20A10700 204E0000 58020000 100E0000 04  F0490200""")
INTERROGATE_REPORT = (
    bytes([8]) + SERIAL + h("02 01 00") + TIME + h("3C00 B80B 00 C0E1E400 002D3101 80841E00 01 80841E00 00")
    + CONTINUOUS + hashlib.sha256(CONTINUOUS).digest() + h("00") + h("01 0100") + TIME
    + h("01") + CID1 + h("05 00") + TIME
    # Fluid path: one segment of 350 000 nL of baclofen 2 000 000 ng/mL,
    # pathway 200 000 nL, catheter 150 000 nL, no outgoing prescription, no bolus.
    + struct.pack("<BIBI", 1, 350_000, 1, 2_000_000) + struct.pack("<II", 200_000, 150_000) + h("00 00")
)

examples = {}

# 1. Wand info exchange (sequence 1).
examples["wand-info-request"] = frame(header(0x01, 1, 0x00) + h("01"))
examples["wand-info-reply"] = frame(header(0x02, 1, 0x00) + h("81 01 04 02 08") + b"PW-00042" + h("01 01"))

# 2. Session opening (sequence 2).
open_request = h("01 01") + HOST_NONCE
examples["open-session-request"] = frame(header(0x03, 2, 0x00) + open_request)
info = b"PumpWand session v1" + bytes([len(SERIAL)]) + SERIAL + struct.pack("<I", SESSION_ID)
okm = HKDF(algorithm=hashes.SHA256(), length=64, salt=HOST_NONCE + PUMP_NONCE, info=info).derive(KEY)
seal_key, confirm_key = okm[:32], okm[32:]
examples["seal-key"] = seal_key
examples["confirm-key"] = confirm_key
reply_prefix = h("81 00") + bytes([len(SERIAL)]) + SERIAL + PUMP_NONCE + struct.pack("<I", SESSION_ID)
confirmation = hmac.new(confirm_key, b"PumpWand pump confirm v1" + open_request + reply_prefix, hashlib.sha256).digest()
examples["open-session-reply"] = frame(header(0x03, 2, 0x02) + reply_prefix + confirmation)

aead = ChaCha20Poly1305(seal_key)


def sealed(direction: int, counter: int, hdr: bytes, plaintext: bytes) -> bytes:
    nonce = bytes([direction, 0, 0, 0]) + struct.pack("<Q", counter)
    aad = hdr + struct.pack("<I", SESSION_ID)
    return hdr + struct.pack("<Q", counter) + aead.encrypt(nonce, plaintext, aad)


def request(seq: int, counter: int, plaintext: bytes) -> bytes:
    return frame(sealed(1, counter, header(0x03, seq, 0x01), plaintext))


def reply(seq: int, counter: int, answering: int, plaintext: bytes) -> bytes:
    return frame(sealed(2, counter, header(0x03, seq, 0x03), struct.pack("<Q", answering) + plaintext))


# 3. Sealed interrogate (sequence 3, host counter 1, pump counter 1).
examples["interrogate-request"] = request(3, 1, h("02"))
examples["interrogate-reply"] = reply(3, 1, 1, h("82 00") + INTERROGATE_REPORT)

# 4. Stage (sequence 4, counter 2) and commit (sequence 5, counter 3).
flex_hash = hashlib.sha256(FLEX).digest()
examples["stage-request"] = request(4, 2, h("04") + CID1 + FLEX)
examples["stage-reply"] = reply(4, 2, 2, h("84 00") + CID1 + flex_hash)
examples["commit-request"] = request(5, 3, h("05") + CID2 + flex_hash)
examples["commit-reply"] = reply(5, 3, 3, h("85 00") + CID2 + TIME)

# 7. Refill cancel (sequence 6, host counter 4, pump counter 4): opcode 0x13
# and a command id; the reply 0x93 carries a CommandReceipt.
examples["refill-cancel-request"] = request(6, 4, h("13") + CID3)
examples["refill-cancel-reply"] = reply(6, 4, 4, h("93 00") + CID3 + TIME)

# 8. A receipt the host does not accept (sequence 7, host counter 5, pump
# counter 5): stop infusion with CID4, answered by a faulty pump with a
# CommandReceipt naming the reserved all-zero command id.
examples["stop-request"] = request(7, 5, h("09") + CID4)
examples["zero-id-receipt-reply"] = reply(7, 5, 5, h("89 00") + ZERO_ID + TIME)

# 9. Record audit anchor (request 0x16, no command id), as plaintexts: the
# host's audit log has 42 rows and its last row's HMAC-SHA256 is ROW_MAC;
# the pump already held an anchor of 17 rows. Reply 0x96: the anchors held,
# newest first, each pump time Int64, row count UInt64, MAC (32).
AUDIT_KEY = bytes(range(0x40, 0x60))
ROW_MAC = hmac.new(AUDIT_KEY, b"row 42", hashlib.sha256).digest()
OLDER_MAC = hmac.new(AUDIT_KEY, b"row 17", hashlib.sha256).digest()
plaintext_examples = {}
plaintext_examples["audit-anchor-request"] = h("16 01") + struct.pack("<Q", 42) + ROW_MAC
plaintext_examples["audit-anchor-report-request"] = h("16 00") + struct.pack("<Q", 0) + bytes(32)
plaintext_examples["audit-anchor-reply"] = (
    h("96 00 02")
    + struct.pack("<qQ", 1_700_000_600, 42) + ROW_MAC
    + struct.pack("<qQ", 1_700_000_000, 17) + OLDER_MAC
)

if __name__ == "__main__":
    for name, value in examples.items():
        print(f"{name}: {value.hex(' ').upper()}")
    for name, value in plaintext_examples.items():
        print(f"plaintext {name}: {value.hex(' ').upper()}")
