import Crypto

/// A command id: 16 random bytes chosen by the host for each state-changing
/// command. The pump remembers the outcome of recent ids across sessions and
/// power cycles, so a repeated id is answered, never executed twice.
///
/// The all-zero id is reserved and never valid: it is what a pump with a
/// blank or corrupted command record would report, so a message carrying it
/// does not decode, and no host ever chooses it.
public struct CommandID: Hashable, Sendable, CustomStringConvertible {
    /// The 16 bytes as sent on the wire.
    public let bytes: [UInt8]

    /// Wire length.
    public static let length = 16

    /// A command id from exactly 16 bytes; nil for any other length and for
    /// the reserved all-zero id.
    public init?(bytes: [UInt8]) {
        guard bytes.count == Self.length, !Self.isReserved(bytes) else { return nil }
        self.bytes = bytes
    }

    /// A fresh id from the system's cryptographic random source (never the
    /// reserved all-zero id).
    public static func random() -> CommandID {
        var generator = SystemRandomNumberGenerator()
        while true {
            let bytes = (0..<length).map { _ in UInt8.random(in: .min ... .max, using: &generator) }
            if !isReserved(bytes) { return CommandID(unchecked: bytes) }
        }
    }

    static func isReserved(_ bytes: [UInt8]) -> Bool { bytes.allSatisfy { $0 == 0 } }

    /// Whether this is the id the host sent: the check a host makes on every
    /// receipt before it believes the receipt is about its command.
    public func matches(_ sent: CommandID) -> Bool { bytes == sent.bytes }

    init(unchecked bytes: [UInt8]) { self.bytes = bytes }

    /// Lower-case hex, as written in logs and the audit trail.
    public var description: String { bytes.map { hexByte($0) }.joined() }
}

extension CommandID: WireFields {
    public init(reading reader: inout ByteReader) throws(WireError) {
        let read = try reader.bytes(Self.length, "commandId")
        guard !Self.isReserved(read) else { throw .invalidValue(field: "commandId", value: 0) }
        bytes = read
    }
    public func write(to writer: inout ByteWriter) { writer.bytes(bytes) }
}

/// SHA-256 of a prescription's canonical encoding (all 32 bytes, no
/// truncation). The pump's commit step compares hashes, so the host commits
/// exactly the prescription it reviewed.
public struct PrescriptionHash: Hashable, Sendable, CustomStringConvertible {
    /// The 32 digest bytes.
    public let bytes: [UInt8]

    /// Wire length.
    public static let length = 32

    /// A hash from exactly 32 bytes; nil for any other length.
    public init?(bytes: [UInt8]) {
        guard bytes.count == Self.length else { return nil }
        self.bytes = bytes
    }

    init(unchecked bytes: [UInt8]) { self.bytes = bytes }

    /// The hash of an encoding.
    public static func of(_ encoding: [UInt8]) -> PrescriptionHash {
        PrescriptionHash(unchecked: Array(SHA256.hash(data: encoding)))
    }

    /// Lower-case hex.
    public var description: String { bytes.map { hexByte($0) }.joined() }
}

extension PrescriptionHash: WireFields {
    public init(reading reader: inout ByteReader) throws(WireError) {
        bytes = try reader.bytes(Self.length, "prescriptionHash")
    }
    public func write(to writer: inout ByteWriter) { writer.bytes(bytes) }
}

func hexByte(_ byte: UInt8) -> String {
    let digits = Array("0123456789abcdef")
    return String([digits[Int(byte >> 4)], digits[Int(byte & 0x0F)]])
}

/// Drug codes on the wire.
public enum WireDrug: UInt8, Sendable, CaseIterable {
    case baclofen = 1
    case morphine = 2
    case ziconotide = 3
}

/// Why the pump is implanted.
public enum WireIndication: UInt8, Sendable, CaseIterable {
    /// Spasticity of spinal origin (baclofen titration up to 30% a day).
    case spasticitySpinal = 1
    /// Spasticity of cerebral origin (baclofen titration up to 15% a day).
    case spasticityCerebral = 2
    /// Chronic pain (morphine, ziconotide).
    case chronicPain = 3
}

/// A UTC time and the pump's zone offset.
public struct WireTime: Sendable, Equatable, Hashable, WireFields {
    /// Seconds since 1970-01-01T00:00:00Z, 0 ... `maximumUTCSeconds`.
    public var utcSeconds: Int64
    /// Minutes east of UTC, -720 ... +840.
    public var zoneOffsetMinutes: Int16

    public static let zoneOffsetRange: ClosedRange<Int16> = -720...840

    /// 9999-12-31T23:59:59Z: the last second every calendar library can
    /// show. A later (or negative) time on the wire is corruption or a
    /// pump with a lost clock, never a real event time.
    public static let maximumUTCSeconds: Int64 = 253_402_300_799
    /// The range of every UTC-seconds field in the protocol.
    public static let utcSecondsRange: ClosedRange<Int64> = 0...maximumUTCSeconds

    public init(utcSeconds: Int64, zoneOffsetMinutes: Int16) {
        self.utcSeconds = utcSeconds
        self.zoneOffsetMinutes = zoneOffsetMinutes
    }

    public init(reading reader: inout ByteReader) throws(WireError) {
        utcSeconds = try readUTCSeconds(&reader, "time.utcSeconds")
        zoneOffsetMinutes = try reader.int16("time.zoneOffsetMinutes")
        guard Self.zoneOffsetRange.contains(zoneOffsetMinutes) else {
            throw .invalidValue(field: "time.zoneOffsetMinutes", value: Int64(zoneOffsetMinutes))
        }
    }

    public func write(to writer: inout ByteWriter) {
        writer.int64(utcSeconds)
        writer.int16(zoneOffsetMinutes)
    }
}

/// A UTC-seconds field (Int64), refused outside `WireTime.utcSecondsRange`.
func readUTCSeconds(_ reader: inout ByteReader, _ field: String) throws(WireError) -> Int64 {
    let seconds = try reader.int64(field)
    guard WireTime.utcSecondsRange.contains(seconds) else { throw .invalidValue(field: field, value: seconds) }
    return seconds
}

func readEnum<E: RawRepresentable>(_ type: E.Type, _ reader: inout ByteReader, _ field: String) throws(WireError) -> E
where E.RawValue == UInt8 {
    let raw = try reader.uint8(field)
    guard let value = E(rawValue: raw) else { throw .invalidValue(field: field, value: Int64(raw)) }
    return value
}
