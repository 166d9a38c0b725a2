/// The five bytes that start every frame body.
///
/// ```
/// offset size field
///  0     1    protocol version (2)
///  1     1    kind (FrameKind)
///  2     2    sequence number, UInt16 LE (chosen by the host; echoed in replies)
///  4     1    flags (FrameFlags; undefined bits must be 0)
///  5     ...  payload (depends on kind)
/// ```
public struct FrameHeader: Sendable, Equatable, Hashable {
    /// The protocol version this build speaks.
    public static let currentVersion: UInt8 = 2
    /// Header length in bytes.
    public static let length = 5

    /// Protocol version of the frame.
    public var version: UInt8
    /// What the payload is.
    public var kind: FrameKind
    /// Host-chosen sequence number; a reply carries the sequence of its request.
    public var sequence: UInt16
    /// Sealed and direction bits.
    public var flags: FrameFlags

    /// A header for the current protocol version.
    public init(kind: FrameKind, sequence: UInt16, flags: FrameFlags = [], version: UInt8 = FrameHeader.currentVersion) {
        self.version = version
        self.kind = kind
        self.sequence = sequence
        self.flags = flags
    }

    /// The five header bytes.
    public var encoded: [UInt8] {
        [version, kind.rawValue, UInt8(truncatingIfNeeded: sequence), UInt8(truncatingIfNeeded: sequence >> 8), flags.rawValue]
    }
}

/// What a frame carries.
public enum FrameKind: UInt8, Sendable, CaseIterable {
    /// Host to wand: a wand-level request (not relayed, not sealed).
    case wandCommand = 0x01
    /// Wand to host: the answer to a wand command.
    case wandResponse = 0x02
    /// Host to pump or pump to host, relayed by the wand unchanged.
    case pumpMessage = 0x03
    /// Wand to host, unsolicited: the pump came into or left range.
    case event = 0x04
    /// Wand to host: the frame with this sequence was not handled (reason in payload).
    case negativeAcknowledgement = 0x05
}

/// Frame flags. Bits 3 to 7 are reserved and must be zero.
public struct FrameFlags: OptionSet, Sendable, Hashable {
    public let rawValue: UInt8
    public init(rawValue: UInt8) { self.rawValue = rawValue }

    /// The payload is an AEAD-sealed pump message (see Sessions).
    public static let sealed = FrameFlags(rawValue: 0x01)
    /// The frame travels from the pump to the host.
    public static let fromPump = FrameFlags(rawValue: 0x02)

    /// Host to wand, on an unsealed pump message (a session opening) only:
    /// the wand answers with its info (a wand response, this frame's
    /// sequence) before it relays the frame, with this bit cleared, to the
    /// pump. It saves the separate info exchange at the start of a visit.
    public static let wandInfo = FrameFlags(rawValue: 0x04)

    /// Every defined bit.
    public static let defined: FrameFlags = [.sealed, .fromPump, .wandInfo]
}

/// One frame body: header and payload.
public struct Frame: Sendable, Equatable {
    /// The header.
    public var header: FrameHeader
    /// Everything after the header.
    public var payload: [UInt8]

    /// A frame from its parts.
    public init(header: FrameHeader, payload: [UInt8]) {
        self.header = header
        self.payload = payload
    }

    /// Parses a frame body delivered by `FrameDecoder`.
    public init(body: [UInt8]) throws(WireError) {
        var reader = ByteReader(body)
        let version = try reader.uint8("header.version")
        guard version == FrameHeader.currentVersion else { throw .unsupportedVersion(version) }
        let kindByte = try reader.uint8("header.kind")
        guard let kind = FrameKind(rawValue: kindByte) else {
            throw .invalidValue(field: "header.kind", value: Int64(kindByte))
        }
        let sequence = try reader.uint16("header.sequence")
        let flagByte = try reader.uint8("header.flags")
        let flags = FrameFlags(rawValue: flagByte)
        guard FrameFlags.defined.isSuperset(of: flags) else {
            throw .invalidValue(field: "header.flags", value: Int64(flagByte))
        }
        header = FrameHeader(kind: kind, sequence: sequence, flags: flags, version: version)
        payload = reader.rest()
    }

    /// The frame body (header then payload), ready for `FrameEncoder`.
    public var body: [UInt8] { header.encoded + payload }
}
