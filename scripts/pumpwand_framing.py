"""PumpWand framing (PROTOCOL.md section 2) in Python, standard library
only: CRC-32C and canonical COBS, shared by the independent worked examples
(protocol_examples.py) and the visit figures (perf_figures.py)."""

import struct


def crc32c(data: bytes) -> int:
    crc = 0xFFFFFFFF
    for byte in data:
        crc ^= byte
        for _ in range(8):
            crc = (crc >> 1) ^ 0x82F63B78 if crc & 1 else crc >> 1
    return crc ^ 0xFFFFFFFF


def cobs(data: bytes) -> bytes:
    """Canonical COBS: no 01 after a final full block."""
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


def frame(body: bytes) -> bytes:
    """00 | COBS(body || CRC-32C LE) | 00."""
    return b"\x00" + cobs(body + struct.pack("<I", crc32c(body))) + b"\x00"


assert crc32c(b"123456789") == 0xE3069283
assert cobs(bytes.fromhex("11220033")) == bytes.fromhex("0311220233")
