/// Wand-level messages: between the host and the wand only, never relayed to
/// the pump and never sealed (they carry no therapy and no secrets). A reply
/// opcode is the request opcode with bit 7 set.

/// Wand command opcodes.
public enum WandOpcode: UInt8, Sendable, CaseIterable {
    case info = 0x01
    case linkStatus = 0x02
    case loopback = 0x03
    case linkReset = 0x04

    /// The opcode of the wand's reply.
    public var replyOpcode: UInt8 { rawValue | 0x80 }
}

/// A request from the host to the wand.
///
/// ```
/// info        01
/// link status 02
/// loopback    03 | data (0...256 bytes, echoed back)
/// link reset  04
/// ```
public enum WandRequest: WireMessage {
    /// Firmware version, serial number, protocol versions.
    case info
    /// Whether the pump is in range, signal quality and link counters.
    case linkStatus
    /// Echo these bytes back (link test).
    case loopback([UInt8])
    /// Drop the RF link to the pump and zero the wand's counters.
    case linkReset

    /// Largest loopback payload.
    public static let maximumLoopbackLength = 256

    public init(decoding bytes: [UInt8]) throws(WireError) {
        var reader = ByteReader(bytes)
        let opcodeByte = try reader.uint8("wand.opcode")
        guard let opcode = WandOpcode(rawValue: opcodeByte) else { throw .unknownOpcode(opcodeByte) }
        switch opcode {
        case .info: self = .info
        case .linkStatus: self = .linkStatus
        case .linkReset: self = .linkReset
        case .loopback:
            let data = reader.rest()
            guard data.count <= Self.maximumLoopbackLength else {
                throw .tooMany(field: "loopback.data", count: data.count, maximum: Self.maximumLoopbackLength)
            }
            self = .loopback(data)
        }
        try reader.finish()
    }

    /// The opcode of this request.
    public var opcode: WandOpcode {
        switch self {
        case .info: .info
        case .linkStatus: .linkStatus
        case .loopback: .loopback
        case .linkReset: .linkReset
        }
    }

    public var encoded: [UInt8] {
        if case .loopback(let data) = self { return [opcode.rawValue] + data }
        return [opcode.rawValue]
    }
}

/// The wand's identity.
///
/// ```
/// offset size field
///  0     1    opcode 0x81
///  1     1    firmware major
///  2     1    firmware minor
///  3     1    firmware patch
///  4     1    serial length n (1...32)
///  5     n    serial, printable ASCII 0x21...0x7E
///  5+n   1    count m of supported protocol versions (1...8)
///  6+n   m    supported protocol versions, one byte each
/// ```
public struct WandInfo: WireMessage {
    public var firmwareMajor: UInt8
    public var firmwareMinor: UInt8
    public var firmwarePatch: UInt8
    /// The wand's serial number (the same as its USB iSerial).
    public var serial: String
    /// Protocol versions the wand can relay.
    public var supportedVersions: [UInt8]

    public static let maximumSerialLength = 32
    public static let maximumVersionCount = 8

    public init(firmwareMajor: UInt8, firmwareMinor: UInt8, firmwarePatch: UInt8, serial: String, supportedVersions: [UInt8]) {
        self.firmwareMajor = firmwareMajor
        self.firmwareMinor = firmwareMinor
        self.firmwarePatch = firmwarePatch
        self.serial = serial
        self.supportedVersions = supportedVersions
    }

    public init(decoding bytes: [UInt8]) throws(WireError) {
        var reader = ByteReader(bytes)
        try expectOpcode(WandOpcode.info.replyOpcode, &reader)
        firmwareMajor = try reader.uint8("info.firmwareMajor")
        firmwareMinor = try reader.uint8("info.firmwareMinor")
        firmwarePatch = try reader.uint8("info.firmwarePatch")
        serial = try readSerial(&reader, field: "info.serial", maximum: Self.maximumSerialLength)
        let count = Int(try reader.uint8("info.versionCount"))
        guard (1...Self.maximumVersionCount).contains(count) else {
            throw .tooMany(field: "info.supportedVersions", count: count, maximum: Self.maximumVersionCount)
        }
        supportedVersions = try reader.bytes(count, "info.supportedVersions")
        try reader.finish()
    }

    public var encoded: [UInt8] {
        var writer = ByteWriter()
        writer.uint8(WandOpcode.info.replyOpcode)
        writer.uint8(firmwareMajor)
        writer.uint8(firmwareMinor)
        writer.uint8(firmwarePatch)
        writeSerial(serial, &writer)
        writer.uint8(UInt8(truncatingIfNeeded: supportedVersions.count))
        writer.bytes(supportedVersions)
        return writer.bytes
    }
}

/// The state of the wand's radio link to the pump.
///
/// ```
/// offset size field
///  0     1    opcode 0x82
///  1     1    pump in range (0 no, 1 yes)
///  2     1    signal quality, percent 0...100 (0 when out of range)
///  3     4    CRC errors seen by the wand (host side and radio), UInt32 LE
///  7     4    radio retries, UInt32 LE
/// 11     4    frames relayed to the pump, UInt32 LE
/// ```
public struct LinkStatus: WireMessage {
    public var pumpInRange: Bool
    public var signalQualityPercent: UInt8
    public var crcErrors: UInt32
    public var retries: UInt32
    public var framesRelayed: UInt32

    public init(pumpInRange: Bool, signalQualityPercent: UInt8, crcErrors: UInt32, retries: UInt32, framesRelayed: UInt32) {
        self.pumpInRange = pumpInRange
        self.signalQualityPercent = signalQualityPercent
        self.crcErrors = crcErrors
        self.retries = retries
        self.framesRelayed = framesRelayed
    }

    public init(decoding bytes: [UInt8]) throws(WireError) {
        var reader = ByteReader(bytes)
        try expectOpcode(WandOpcode.linkStatus.replyOpcode, &reader)
        pumpInRange = try reader.flag("linkStatus.pumpInRange")
        signalQualityPercent = try reader.uint8("linkStatus.signalQuality")
        guard signalQualityPercent <= 100 else {
            throw .invalidValue(field: "linkStatus.signalQuality", value: Int64(signalQualityPercent))
        }
        crcErrors = try reader.uint32("linkStatus.crcErrors")
        retries = try reader.uint32("linkStatus.retries")
        framesRelayed = try reader.uint32("linkStatus.framesRelayed")
        try reader.finish()
    }

    public var encoded: [UInt8] {
        var writer = ByteWriter()
        writer.uint8(WandOpcode.linkStatus.replyOpcode)
        writer.flag(pumpInRange)
        writer.uint8(signalQualityPercent)
        writer.uint32(crcErrors)
        writer.uint32(retries)
        writer.uint32(framesRelayed)
        return writer.bytes
    }
}

/// A reply from the wand.
///
/// ```
/// info        81 | WandInfo fields
/// link status 82 | LinkStatus fields
/// loopback    83 | the request's data, unchanged
/// link reset  84
/// ```
public enum WandResponse: WireMessage {
    case info(WandInfo)
    case linkStatus(LinkStatus)
    case loopback([UInt8])
    case linkReset

    public init(decoding bytes: [UInt8]) throws(WireError) {
        guard let first = bytes.first else { throw .truncated(field: "wand.opcode", needed: 1, available: 0) }
        switch first {
        case WandOpcode.info.replyOpcode: self = .info(try WandInfo(decoding: bytes))
        case WandOpcode.linkStatus.replyOpcode: self = .linkStatus(try LinkStatus(decoding: bytes))
        case WandOpcode.loopback.replyOpcode:
            let data = Array(bytes.dropFirst())
            guard data.count <= WandRequest.maximumLoopbackLength else {
                throw .tooMany(field: "loopback.data", count: data.count, maximum: WandRequest.maximumLoopbackLength)
            }
            self = .loopback(data)
        case WandOpcode.linkReset.replyOpcode:
            guard bytes.count == 1 else { throw .trailingBytes(count: bytes.count - 1) }
            self = .linkReset
        default: throw .unknownOpcode(first)
        }
    }

    public var encoded: [UInt8] {
        switch self {
        case .info(let info): info.encoded
        case .linkStatus(let status): status.encoded
        case .loopback(let data): [WandOpcode.loopback.replyOpcode] + data
        case .linkReset: [WandOpcode.linkReset.replyOpcode]
        }
    }
}

/// Why the wand did not handle a frame. Sent as a frame of kind
/// `negativeAcknowledgement` whose sequence is that of the refused frame;
/// the payload is one byte, the reason.
public enum NegativeAcknowledgement: UInt8, Sendable, CaseIterable, WireMessage {
    /// The frame header or wand command could not be parsed. Not relayed.
    case malformedFrame = 0x01
    /// The header's protocol version is not one the wand relays. Not relayed.
    case unsupportedVersion = 0x02
    /// The header's kind is not one the host may send. Not relayed.
    case unknownKind = 0x03
    /// No pump is in radio range; the message was not transmitted.
    case pumpNotInRange = 0x04
    /// The wand is still relaying an earlier message; this one was not transmitted.
    case busy = 0x05
    /// The message was transmitted to the pump but no reply came back within
    /// the wand's radio timeout: the pump may or may not have acted on it.
    case noPumpReply = 0x06
    /// The wand command opcode is unknown. Not relayed.
    case unknownWandOpcode = 0x07

    /// True when the wand claims it did not handle or transmit the frame
    /// (every reason but `noPumpReply`). Taken at its word for wand commands
    /// and the handshake; for a sealed pump request it is only a claim, never
    /// proof that the pump did not receive it (PROTOCOL.md section 8).
    public var claimsNotTransmitted: Bool { self != .noPumpReply }

    /// What the wand says, in words (NAK 0x01 ... 0x07, PROTOCOL.md section 3).
    public var meaning: String {
        switch self {
        case .malformedFrame: "malformed frame (0x01): it did not understand the frame, and did not relay it"
        case .unsupportedVersion: "unsupported protocol version (0x02)"
        case .unknownKind: "unknown frame kind (0x03)"
        case .pumpNotInRange: "no pump in range (0x04)"
        case .busy: "busy (0x05)"
        case .noPumpReply: "no reply from the pump (0x06)"
        case .unknownWandOpcode: "unknown wand command (0x07)"
        }
    }

    public init(decoding bytes: [UInt8]) throws(WireError) {
        guard bytes.count == 1 else {
            if bytes.isEmpty { throw .truncated(field: "nak.reason", needed: 1, available: 0) }
            throw .trailingBytes(count: bytes.count - 1)
        }
        guard let reason = NegativeAcknowledgement(rawValue: bytes[0]) else {
            throw .invalidValue(field: "nak.reason", value: Int64(bytes[0]))
        }
        self = reason
    }

    public var encoded: [UInt8] { [rawValue] }
}

/// An unsolicited notice from the wand. The payload is one byte.
public enum WandEvent: UInt8, Sendable, CaseIterable, WireMessage {
    /// A pump answered the wand's radio beacon.
    case pumpEnteredRange = 0x01
    /// The pump stopped answering.
    case pumpLeftRange = 0x02
    /// The wand restarted; any exchange in flight was lost.
    case wandRestarted = 0x03

    public init(decoding bytes: [UInt8]) throws(WireError) {
        guard bytes.count == 1 else {
            if bytes.isEmpty { throw .truncated(field: "event.code", needed: 1, available: 0) }
            throw .trailingBytes(count: bytes.count - 1)
        }
        guard let event = WandEvent(rawValue: bytes[0]) else {
            throw .invalidValue(field: "event.code", value: Int64(bytes[0]))
        }
        self = event
    }

    public var encoded: [UInt8] { [rawValue] }
}

// MARK: - Shared field helpers

func expectOpcode(_ expected: UInt8, _ reader: inout ByteReader) throws(WireError) {
    let found = try reader.uint8("opcode")
    guard found == expected else { throw .unexpectedOpcode(expected: expected, found: found) }
}

/// A length-prefixed printable-ASCII identifier (serial numbers).
func readSerial(_ reader: inout ByteReader, field: String, maximum: Int) throws(WireError) -> String {
    let length = Int(try reader.uint8(field + ".length"))
    guard (1...maximum).contains(length) else {
        throw .invalidValue(field: field + ".length", value: Int64(length))
    }
    let raw = try reader.bytes(length, field)
    for byte in raw where !(0x21...0x7E).contains(byte) {
        throw .invalidValue(field: field, value: Int64(byte))
    }
    return String(decoding: raw, as: UTF8.self)
}

func writeSerial(_ serial: String, _ writer: inout ByteWriter) {
    let raw = Array(serial.utf8)
    writer.uint8(UInt8(truncatingIfNeeded: raw.count))
    writer.bytes(raw)
}
