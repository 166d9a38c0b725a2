import Crypto
import Foundation

/// The keyed chain over audit rows: each row's MAC (HMAC-SHA256 under the
/// audit key) covers its sequence number, the previous row's MAC and the
/// row's canonical bytes, so changing, deleting, renumbering or reordering
/// any row breaks its MAC and every one after it, and without the key no
/// one can compute a chain that verifies.
///
/// The canonical bytes are the stored column texts themselves, each
/// length-prefixed in a fixed order (no JSON on the way): what the readers
/// show is exactly what was MAC'd, and checking a row costs one HMAC.
enum AuditChain {
    static let genesis = String(repeating: "0", count: 64)
    /// Domain separation: a row MAC can never pass for a head MAC.
    static let rowLabel = Array("pumpwand-audit-row-v1".utf8)
    static let headLabel = Array("pumpwand-audit-head-v1".utf8)

    /// One row as stored: the texts the MAC covers.
    struct StoredRow {
        var sequence: Int64
        var time: String
        var operatorName: String
        var secondOperator: String?
        var pumpSerial: String?
        var command: String
        var phase: String
        var commandID: String?
        var parameters: String
        var outcome: String?
        var overrides: String
        var previousMAC: String
    }

    /// The row's canonical bytes, into `buffer` (cleared first; reused
    /// across rows so a long verify allocates once).
    static func canonical(_ row: StoredRow, into buffer: inout [UInt8]) {
        buffer.removeAll(keepingCapacity: true)
        buffer.append(contentsOf: rowLabel)
        appendInteger(UInt64(bitPattern: row.sequence), to: &buffer)
        appendField(row.previousMAC, to: &buffer)
        for field in [row.time, row.operatorName, row.secondOperator, row.pumpSerial, row.command, row.phase,
                      row.commandID, row.parameters, row.outcome, row.overrides] {
            appendField(field, to: &buffer)
        }
    }

    static func mac(of canonical: [UInt8], key: SymmetricKey) -> String {
        hex(HMAC<SHA256>.authenticationCode(for: canonical, using: key))
    }

    /// The head's own MAC: the sequence and MAC of the last sealed row.
    static func headMAC(sequence: Int64, rowMAC: String, key: AuditKey) -> String {
        var bytes = headLabel
        appendInteger(UInt64(bitPattern: sequence), to: &bytes)
        appendField(rowMAC, to: &bytes)
        return hex(HMAC<SHA256>.authenticationCode(for: bytes, using: key.symmetric))
    }

    /// Compares two MAC texts in time independent of where they differ.
    static func same(_ a: String, _ b: String) -> Bool {
        let x = Array(a.utf8), y = Array(b.utf8)
        guard x.count == y.count else { return false }
        var difference: UInt8 = 0
        for index in x.indices { difference |= x[index] ^ y[index] }
        return difference == 0
    }

    /// A nil field is 0xFF; a present one is 0x01, its UTF-8 length (8
    /// bytes, big-endian) and its bytes, so no two rows share canonical bytes.
    private static func appendField(_ text: String?, to buffer: inout [UInt8]) {
        guard let text else {
            buffer.append(0xFF)
            return
        }
        buffer.append(0x01)
        appendInteger(UInt64(text.utf8.count), to: &buffer)
        buffer.append(contentsOf: text.utf8)
    }

    private static func appendInteger(_ value: UInt64, to buffer: inout [UInt8]) {
        for shift in stride(from: 56, through: 0, by: -8) { buffer.append(UInt8(truncatingIfNeeded: value >> UInt64(shift))) }
    }

    private static let digits = Array("0123456789abcdef".utf8)

    static func hex(_ code: some Sequence<UInt8>) -> String {
        var text: [UInt8] = []
        text.reserveCapacity(64)
        for byte in code {
            text.append(digits[Int(byte >> 4)])
            text.append(digits[Int(byte & 0x0F)])
        }
        return String(decoding: text, as: UTF8.self)
    }

    /// The `count` bytes (32: a MAC) of a lower-case hex text, nil when it
    /// is not 2 x `count` hex digits.
    static func bytes(ofHex text: String, count: Int = 32) -> [UInt8]? {
        let utf8 = Array(text.utf8)
        guard utf8.count == 2 * count else { return nil }
        var result: [UInt8] = []
        result.reserveCapacity(count)
        var index = 0
        while index < utf8.count {
            guard let high = nibble(utf8[index]), let low = nibble(utf8[index + 1]) else { return nil }
            result.append(high << 4 | low)
            index += 2
        }
        return result
    }

    private static func nibble(_ c: UInt8) -> UInt8? {
        switch c {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): c - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): c - UInt8(ascii: "a") + 10
        default: nil
        }
    }
}
