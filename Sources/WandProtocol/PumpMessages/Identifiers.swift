import Crypto

/// A command id: 16 random bytes chosen by the host for each state-changing
/// command. The pump remembers the outcome of recent ids across sessions and
/// power cycles, so a repeated id is answered, never executed twice.
public struct CommandID: Hashable, Sendable, CustomStringConvertible {
    /// The 16 bytes as sent on the wire.
    public let bytes: [UInt8]

    /// Wire length.
    public static let length = 16

    /// A command id from exactly 16 bytes; nil for any other length.
    public init?(bytes: [UInt8]) {
        guard bytes.count == Self.length else { return nil }
        self.bytes = bytes
    }

    /// A fresh id from the system's cryptographic random source.
    public static func random() -> CommandID {
        var generator = SystemRandomNumberGenerator()
        return CommandID(unchecked: (0..<length).map { _ in UInt8.random(in: .min ... .max, using: &generator) })
    }

    init(unchecked bytes: [UInt8]) { self.bytes = bytes }

    /// Lower-case hex, as written in logs and the audit trail.
    public var description: String { bytes.map { hexByte($0) }.joined() }
}

extension CommandID: WireFields {
    public init(reading reader: inout ByteReader) throws(WireError) {
        bytes = try reader.bytes(Self.length, "commandId")
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
    /// Seconds since 1970-01-01T00:00:00Z.
    public var utcSeconds: Int64
    /// Minutes east of UTC, -720 ... +840.
    public var zoneOffsetMinutes: Int16

    public static let zoneOffsetRange: ClosedRange<Int16> = -720...840

    public init(utcSeconds: Int64, zoneOffsetMinutes: Int16) {
        self.utcSeconds = utcSeconds
        self.zoneOffsetMinutes = zoneOffsetMinutes
    }

    public init(reading reader: inout ByteReader) throws(WireError) {
        utcSeconds = try reader.int64("time.utcSeconds")
        guard utcSeconds >= 0 else { throw .invalidValue(field: "time.utcSeconds", value: utcSeconds) }
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

func readEnum<E: RawRepresentable>(_ type: E.Type, _ reader: inout ByteReader, _ field: String) throws(WireError) -> E
where E.RawValue == UInt8 {
    let raw = try reader.uint8(field)
    guard let value = E(rawValue: raw) else { throw .invalidValue(field: field, value: Int64(raw)) }
    return value
}
