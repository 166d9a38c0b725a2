/// Reads little-endian fields from received bytes, failing with a typed
/// error (never trapping) when the bytes run out.
public struct ByteReader: Sendable {
    private let bytes: [UInt8]
    private var index: Int

    /// A reader positioned at the first byte of `bytes`.
    public init(_ bytes: [UInt8]) {
        self.bytes = bytes
        self.index = 0
    }

    /// Bytes not yet read.
    public var remaining: Int { bytes.count - index }

    private mutating func take(_ count: Int, _ field: String) throws(WireError) -> ArraySlice<UInt8> {
        guard count >= 0, remaining >= count else {
            throw .truncated(field: field, needed: count, available: remaining)
        }
        defer { index += count }
        return bytes[index..<(index + count)]
    }

    private mutating func unsigned(_ width: Int, _ field: String) throws(WireError) -> UInt64 {
        let slice = try take(width, field)
        var value: UInt64 = 0
        for (shift, byte) in slice.enumerated() { value |= UInt64(byte) << UInt64(8 * shift) }
        return value
    }

    /// One byte.
    public mutating func uint8(_ field: String) throws(WireError) -> UInt8 {
        UInt8(truncatingIfNeeded: try unsigned(1, field))
    }
    /// Two bytes, little-endian.
    public mutating func uint16(_ field: String) throws(WireError) -> UInt16 {
        UInt16(truncatingIfNeeded: try unsigned(2, field))
    }
    /// Four bytes, little-endian.
    public mutating func uint32(_ field: String) throws(WireError) -> UInt32 {
        UInt32(truncatingIfNeeded: try unsigned(4, field))
    }
    /// Eight bytes, little-endian.
    public mutating func uint64(_ field: String) throws(WireError) -> UInt64 {
        try unsigned(8, field)
    }
    /// Two bytes, little-endian two's complement.
    public mutating func int16(_ field: String) throws(WireError) -> Int16 {
        Int16(bitPattern: try uint16(field))
    }
    /// Eight bytes, little-endian two's complement.
    public mutating func int64(_ field: String) throws(WireError) -> Int64 {
        Int64(bitPattern: try uint64(field))
    }
    /// `count` raw bytes.
    public mutating func bytes(_ count: Int, _ field: String) throws(WireError) -> [UInt8] {
        Array(try take(count, field))
    }
    /// Everything left.
    public mutating func rest() -> [UInt8] {
        defer { index = bytes.count }
        return Array(bytes[index...])
    }
    /// A boolean byte: 0 or 1, anything else refused (keeps encodings canonical).
    public mutating func flag(_ field: String) throws(WireError) -> Bool {
        switch try uint8(field) {
        case 0: return false
        case 1: return true
        case let other: throw .invalidValue(field: field, value: Int64(other))
        }
    }
    /// Checks that nothing is left over.
    public func finish() throws(WireError) {
        guard remaining == 0 else { throw .trailingBytes(count: remaining) }
    }
}

/// Appends little-endian fields to an outgoing message.
public struct ByteWriter: Sendable {
    /// The bytes written so far.
    public private(set) var bytes: [UInt8] = []

    /// An empty writer.
    public init() {}

    /// One byte.
    public mutating func uint8(_ value: UInt8) { bytes.append(value) }
    /// Two bytes, little-endian.
    public mutating func uint16(_ value: UInt16) { append(UInt64(value), width: 2) }
    /// Four bytes, little-endian.
    public mutating func uint32(_ value: UInt32) { append(UInt64(value), width: 4) }
    /// Eight bytes, little-endian.
    public mutating func uint64(_ value: UInt64) { append(value, width: 8) }
    /// Two bytes, little-endian two's complement.
    public mutating func int16(_ value: Int16) { uint16(UInt16(bitPattern: value)) }
    /// Eight bytes, little-endian two's complement.
    public mutating func int64(_ value: Int64) { uint64(UInt64(bitPattern: value)) }
    /// Raw bytes.
    public mutating func bytes(_ value: some Sequence<UInt8>) { bytes.append(contentsOf: value) }
    /// A boolean as 0 or 1.
    public mutating func flag(_ value: Bool) { bytes.append(value ? 1 : 0) }

    private mutating func append(_ value: UInt64, width: Int) {
        for shift in 0..<width { bytes.append(UInt8(truncatingIfNeeded: value >> UInt64(8 * shift))) }
    }
}

/// A message with a fixed byte layout: decodes from received bytes
/// (untrusted: every field checked) and encodes to the same canonical bytes.
public protocol WireMessage: Sendable, Equatable {
    /// Decodes the message from exactly these bytes (opcode included).
    init(decoding bytes: [UInt8]) throws(WireError)
    /// The canonical encoding (opcode included).
    var encoded: [UInt8] { get }
}
