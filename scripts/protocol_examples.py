#!/usr/bin/env python3
"""Independent generator of the worked examples in hardware/PROTOCOL.md.

Written from the specification alone, with Python's `cryptography` package
(X25519, ChaCha20-Poly1305), the standard library's HMAC-SHA256 (the key
schedule's HKDF is written out from RFC 5869) and a bit-by-bit CRC-32C, so
the Swift implementation is checked against a second implementation rather
than against itself. Prints one `name: hex` line per example; the Swift test
`ProtocolExampleTests` checks the same bytes as they appear in PROTOCOL.md.
"""
import hashlib
import hmac
import struct

from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat


from pumpwand_framing import cobs, crc32c, frame  # noqa: E402,F401  (PROTOCOL.md section 2)


def header(kind: int, seq: int, flags: int) -> bytes:
    return bytes([VERSION, kind]) + struct.pack("<H", seq) + bytes([flags])


def h(text: str) -> bytes:
    return bytes.fromhex("".join(text.split()))


VERSION = 2
KEY = bytes(range(32))
# Fixed test ephemeral private keys (a real host and pump draw fresh ones
# from a cryptographic generator for every handshake).
HOST_EPHEMERAL_PRIVATE = b"\x11" * 32
PUMP_EPHEMERAL_PRIVATE = b"\x22" * 32
PUMP_CLOCK = 1_700_000_000
IDLE_TIMEOUT = 120
SESSION_ID = 0x04030201
SERIAL = b"SP-12345"
CID1 = bytes(range(16))
CID2 = bytes(range(16, 32))
CID3 = bytes(range(32, 48))
CID4 = bytes(range(48, 64))
ZERO_ID = bytes(16)
TIME = struct.pack("<q", 1_700_000_000)
# Request expiry (PROTOCOL.md section 5, "Request expiry"): every CID
# request carries, right after its command id, the pump time after which it
# must not run. The examples are sent at pump time TIME, so 10 s later.
EXPIRY = struct.pack("<q", 1_700_000_010)

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
    # No newest event page: the request did not ask for one.
    + h("00")
)

examples = {}

# 1. Wand info exchange (sequence 1).
examples["wand-info-request"] = frame(header(0x01, 1, 0x00) + h("01"))
examples["wand-info-reply"] = frame(header(0x02, 1, 0x00) + h("81 01 04 02 08") + b"PW-00042" + h("01 02"))


# 2. Session opening (sequence 2): the key schedule of PROTOCOL.md 6.3.
def sha256(data: bytes) -> bytes:
    return hashlib.sha256(data).digest()


def hmac_sha256(key: bytes, data: bytes) -> bytes:
    return hmac.new(key, data, hashlib.sha256).digest()


def hkdf(ck: bytes, ikm: bytes, outputs: int) -> list:
    """RFC 5869 with salt = ck, empty info: T(i) = HMAC(PRK, T(i-1) || i)."""
    prk = hmac_sha256(ck, ikm)
    out, previous = [], b""
    for i in range(1, outputs + 1):
        previous = hmac_sha256(prk, previous + bytes([i]))
        out.append(previous)
    return out


def public(private: bytes) -> bytes:
    key = X25519PrivateKey.from_private_bytes(private)
    return key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)


host_e = public(HOST_EPHEMERAL_PRIVATE)
pump_e = public(PUMP_EPHEMERAL_PRIVATE)
open_request = bytes([0x01, VERSION]) + host_e
examples["open-session-request"] = frame(header(0x03, 2, 0x00) + open_request)

key_id = hmac_sha256(KEY, b"PumpWand key id v2" + host_e + pump_e)[:16]
examples["key-id"] = key_id
ck = hh = sha256(b"Noise_NNpsk2_25519_ChaChaPoly_SHA256")
hh = sha256(hh + b"PumpWand v2" + bytes([VERSION]))
hh = sha256(hh + host_e)
hh = sha256(hh + pump_e)
hh = sha256(hh + key_id)
ee = X25519PrivateKey.from_private_bytes(PUMP_EPHEMERAL_PRIVATE).exchange(X25519PublicKey.from_public_bytes(host_e))
assert ee == X25519PrivateKey.from_private_bytes(HOST_EPHEMERAL_PRIVATE).exchange(X25519PublicKey.from_public_bytes(pump_e))
ck, k = hkdf(ck, ee, 2)
ck, temp_h, k = hkdf(ck, KEY, 3)
hh = sha256(hh + temp_h)
payload = (bytes([len(SERIAL)]) + SERIAL + bytes(32 - len(SERIAL)) + struct.pack("<I", SESSION_ID)
           + struct.pack("<q", PUMP_CLOCK) + struct.pack("<H", IDLE_TIMEOUT))
assert len(payload) == 47
sealed_payload = ChaCha20Poly1305(k).encrypt(bytes(12), payload, hh)
hh = sha256(hh + sealed_payload)
host_to_pump, pump_to_host = hkdf(ck, b"", 2)
examples["handshake-hash"] = hh
examples["host-to-pump-key"] = host_to_pump
examples["pump-to-host-key"] = pump_to_host
examples["open-session-reply"] = frame(header(0x03, 2, 0x02) + h("81 00") + pump_e + key_id + sealed_payload)

SIZES = (64, 128, 256, 512, 1024, 2016)


def pad(plaintext: bytes) -> bytes:
    size = next(size for size in SIZES if size >= len(plaintext) + 1)
    return plaintext + b"\x80" + bytes(size - len(plaintext) - 1)


def sealed(direction: int, counter: int, hdr: bytes, plaintext: bytes) -> bytes:
    key = host_to_pump if direction == 1 else pump_to_host
    nonce = bytes([direction, 0, 0, 0]) + struct.pack("<Q", counter)
    aad = hdr + struct.pack("<I", SESSION_ID)
    return hdr + struct.pack("<Q", counter) + ChaCha20Poly1305(key).encrypt(nonce, pad(plaintext), aad)


def request(seq: int, counter: int, plaintext: bytes) -> bytes:
    return frame(sealed(1, counter, header(0x03, seq, 0x01), plaintext))


def reply(seq: int, counter: int, answering: int, plaintext: bytes) -> bytes:
    return frame(sealed(2, counter, header(0x03, seq, 0x03), struct.pack("<Q", answering) + plaintext))


# 3. Sealed interrogate (sequence 3, host counter 1, pump counter 1).
# Byte 1 of the request is 0: no newest event page wanted.
examples["interrogate-request"] = request(3, 1, h("02 00"))
examples["interrogate-reply"] = reply(3, 1, 1, h("82 00") + INTERROGATE_REPORT)

# 4. Stage (sequence 4, counter 2) and commit (sequence 5, counter 3).
flex_hash = hashlib.sha256(FLEX).digest()
examples["stage-request"] = request(4, 2, h("04") + CID1 + EXPIRY + FLEX)
examples["stage-reply"] = reply(4, 2, 2, h("84 00") + CID1 + flex_hash)
examples["commit-request"] = request(5, 3, h("05") + CID2 + EXPIRY + flex_hash)
examples["commit-reply"] = reply(5, 3, 3, h("85 00") + CID2 + TIME)

# 7. Refill cancel (sequence 6, host counter 4, pump counter 4): opcode 0x13,
# a command id and the expiry; the reply 0x93 carries a CommandReceipt.
examples["refill-cancel-request"] = request(6, 4, h("13") + CID3 + EXPIRY)
examples["refill-cancel-reply"] = reply(6, 4, 4, h("93 00") + CID3 + TIME)

# 8. A receipt the host does not accept (sequence 7, host counter 5, pump
# counter 5): stop infusion with CID4, answered by a faulty pump with a
# CommandReceipt naming the reserved all-zero command id.
examples["stop-request"] = request(7, 5, h("09") + CID4 + EXPIRY)
examples["zero-id-receipt-reply"] = reply(7, 5, 5, h("89 00") + ZERO_ID + TIME)

# 9. Re-key (opcode 0x15), plaintext only (sealed like any request): CID1
# and the new key A0 A1 ... BF; the receipt 0x95 as for any CID request.
# The pump's event 0x0090 carries the key id: SHA-256("PumpWand key id v1"
# || key), first 4 bytes read big-endian.
NEW_KEY = bytes(range(0xA0, 0xC0))
plaintext_examples = {}
plaintext_examples["rekey-request"] = h("15") + CID1 + EXPIRY + NEW_KEY
plaintext_examples["rekey-reply"] = h("95 00") + CID1 + TIME
plaintext_examples["rekey-key-id"] = hashlib.sha256(b"PumpWand key id v1" + NEW_KEY).digest()[:4]

# 10. Record audit anchor (request 0x16, no command id), as plaintexts: the
# host's audit log (audit key AUDIT_KEY) has 42 rows and its last row's
# HMAC-SHA256 is ROW_MAC; its log id is the first 16 bytes of
# HMAC-SHA256(audit key, "PumpWand audit log id v1"). The pump already held
# an anchor of 17 rows of another laptop's log (audit key OTHER_KEY). Reply
# 0x96: the anchors held, newest first, each pump time Int64, log id (16),
# row count UInt64, MAC (32).
AUDIT_KEY = bytes(range(0x40, 0x60))
OTHER_KEY = bytes(range(0x60, 0x80))
LOG_ID = hmac.new(AUDIT_KEY, b"PumpWand audit log id v1", hashlib.sha256).digest()[:16]
OTHER_LOG_ID = hmac.new(OTHER_KEY, b"PumpWand audit log id v1", hashlib.sha256).digest()[:16]
ROW_MAC = hmac.new(AUDIT_KEY, b"row 42", hashlib.sha256).digest()
OLDER_MAC = hmac.new(OTHER_KEY, b"row 17", hashlib.sha256).digest()
plaintext_examples["audit-log-id"] = LOG_ID
# A log made since the log nonce (pumpctl's AuditLogIdentity) draws 8 random
# bytes once; here 01 ... 08. Its log id is the nonce, then the first 8 bytes
# of HMAC-SHA256(audit key, "PumpWand audit log id v2" || nonce), and its
# command ids are 8 random bytes (here A0 ... A7), then the first 8 bytes of
# HMAC-SHA256(audit key, "PumpWand command id v2" || log id || random). The
# pump treats both as opaque 16 bytes.
LOG_NONCE = bytes(range(0x01, 0x09))
LOG_ID_V2 = LOG_NONCE + hmac.new(AUDIT_KEY, b"PumpWand audit log id v2" + LOG_NONCE, hashlib.sha256).digest()[:8]
COMMAND_RANDOM = bytes(range(0xA0, 0xA8))
plaintext_examples["audit-log-id-v2"] = LOG_ID_V2
plaintext_examples["audit-command-id-v2"] = COMMAND_RANDOM + hmac.new(
    AUDIT_KEY, b"PumpWand command id v2" + LOG_ID_V2 + COMMAND_RANDOM, hashlib.sha256).digest()[:8]
plaintext_examples["audit-anchor-request"] = h("16 01") + LOG_ID + struct.pack("<Q", 42) + ROW_MAC
plaintext_examples["audit-anchor-report-request"] = h("16 00") + bytes(16) + struct.pack("<Q", 0) + bytes(32)
plaintext_examples["audit-anchor-reply"] = (
    h("96 00 02")
    + struct.pack("<q", 1_700_000_600) + LOG_ID + struct.pack("<Q", 42) + ROW_MAC
    + struct.pack("<q", 1_700_000_000) + OTHER_LOG_ID + struct.pack("<Q", 17) + OLDER_MAC
)

# 11. The wand's info with the session opening: the opening frame of
# example 2 sent with flags 0x04 (wand info) is answered first by the wand,
# under the opening's sequence, then by the pump (example 2's reply).
examples["wand-info-with-opening-reply"] = frame(header(0x02, 2, 0x00) + h("81 01 04 02 08") + b"PW-00042" + h("01 02"))

# 12. Interrogate asking for the newest event page (plaintext), and the
# tail the report then ends with instead of the single 00: present, then
# page 0 of 1 holding 1 event (index 7 at TIME, code 0x0091, detail 42).
plaintext_examples["interrogate-with-events-request"] = h("02 01")
plaintext_examples["interrogate-events-tail"] = (
    h("01") + struct.pack("<HHIB", 0, 1, 1, 1) + struct.pack("<I", 7) + TIME + struct.pack("<HI", 0x0091, 42)
)

# 13. Close session (0x12), plain and carrying the audit head of example 10
# (42 rows, ROW_MAC); the reply 0x92 either way.
plaintext_examples["close-request"] = h("12 00")
plaintext_examples["close-with-anchor-request"] = h("12 01") + LOG_ID + struct.pack("<Q", 42) + ROW_MAC
plaintext_examples["close-reply"] = h("92 00")

if __name__ == "__main__":
    for name, value in examples.items():
        print(f"{name}: {value.hex(' ').upper()}")
    for name, value in plaintext_examples.items():
        print(f"plaintext {name}: {value.hex(' ').upper()}")
