/// Why received bytes were not accepted as a message. Nothing in a refused
/// message is acted on; the receiver drops it (and counts it where the
/// protocol says so). Senders never produce these: they mean corruption that
/// slipped past the CRC, a peer speaking another protocol version, or an attack.
public enum WireError: Error, Equatable, Sendable {
    /// The message ended before `field` (which needs `needed` bytes, `available` left).
    case truncated(field: String, needed: Int, available: Int)
    /// Bytes remained after the last field; the message is not in canonical form.
    case trailingBytes(count: Int)
    /// `field` held a value outside its documented range.
    case invalidValue(field: String, value: Int64)
    /// A list `field` declared more entries than the protocol allows.
    case tooMany(field: String, count: Int, maximum: Int)
    /// The first byte names no message of this kind.
    case unknownOpcode(UInt8)
    /// The message was a different one than the decoder was asked for.
    case unexpectedOpcode(expected: UInt8, found: UInt8)
    /// The frame header names a protocol version this build does not speak.
    case unsupportedVersion(UInt8)
}
