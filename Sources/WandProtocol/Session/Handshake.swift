/// The session handshake, protocol version 2: one exchange of two unsealed
/// pump messages relayed by the wand (PROTOCOL.md section 6).
///
/// ```
/// OpenSessionRequest (host -> pump, kind 0x03, flags 0x00), 34 bytes
/// 0   1   opcode 0x01
/// 1   1   protocol version (2)
/// 2   32  host ephemeral X25519 public key (fresh per handshake)
///
/// OpenSessionReply (pump -> host, kind 0x03, flags 0x02)
/// 0   1   0x81
/// 1   1   status (0 accepted, else SessionRefusal; nothing follows)
/// 2   32  pump ephemeral X25519 public key (fresh per handshake)
/// 34  16  blinded key id: HMAC-SHA256(pump key, "PumpWand key id v2" || host e || pump e), first 16 bytes
/// 50  63  sealed handshake payload: 47 bytes of `HandshakePayload` || 16-byte tag
/// ```
/// The pump serial travels only inside the sealed payload; the key id
/// changes with every pair of ephemerals, so a listener cannot link two
/// sessions of one pump.
public struct OpenSessionRequest: WireMessage {
    public static let ephemeralLength = 32
    public static let length = 2 + ephemeralLength
    public var protocolVersion: UInt8
    public var hostEphemeral: [UInt8]

    public init(protocolVersion: UInt8 = FrameHeader.currentVersion, hostEphemeral: [UInt8]) {
        self.protocolVersion = protocolVersion
        self.hostEphemeral = hostEphemeral
    }

    public init(decoding bytes: [UInt8]) throws(WireError) {
        var reader = ByteReader(bytes)
        try expectOpcode(PumpOpcode.openSession.rawValue, &reader)
        protocolVersion = try reader.uint8("openSession.version")
        hostEphemeral = try reader.bytes(Self.ephemeralLength, "openSession.hostEphemeral")
        try reader.finish()
    }

    public var encoded: [UInt8] { [PumpOpcode.openSession.rawValue, protocolVersion] + hostEphemeral }
}

/// Why a pump refused to open a session. A refusal is not authenticated:
/// the host learns nothing about therapy from it, and neither side ends a
/// session it holds because of one.
public enum SessionRefusal: UInt8, Sendable, CaseIterable, Error {
    /// The pump does not speak the requested protocol version.
    case unsupportedVersion = 0x01
    /// The pump is in a state that allows no session (for example mid-reset); retry later.
    case unavailable = 0x02
}

/// What the pump tells the host inside the handshake's sealed payload
/// (47 bytes, fixed length so the reply's length says nothing about the pump).
///
/// ```
/// 0   1   serial length n (1 ... 32)
/// 1   32  serial: n printable ASCII bytes (0x21 ... 0x7E), then 32 - n zero bytes
/// 33  4   session id, UInt32 LE
/// 37  8   pump clock, UTC seconds Int64 (0 ... 253 402 300 799)
/// 45  2   idle timeout in seconds, UInt16 (1 ... 3600)
/// ```
public struct HandshakePayload: Sendable, Equatable {
    public static let serialField = 32
    public static let length = 1 + serialField + 4 + 8 + 2
    public static let idleTimeoutRange: ClosedRange<UInt16> = 1...3600

    public var pumpSerial: String
    public var sessionId: UInt32
    public var pumpUTCSeconds: Int64
    public var idleTimeoutSeconds: UInt16

    public init(pumpSerial: String, sessionId: UInt32, pumpUTCSeconds: Int64, idleTimeoutSeconds: UInt16) {
        self.pumpSerial = pumpSerial
        self.sessionId = sessionId
        self.pumpUTCSeconds = pumpUTCSeconds
        self.idleTimeoutSeconds = idleTimeoutSeconds
    }

    public init(decoding bytes: [UInt8]) throws(WireError) {
        var reader = ByteReader(bytes)
        let length = Int(try reader.uint8("handshake.serial.length"))
        guard (1...Self.serialField).contains(length) else {
            throw .invalidValue(field: "handshake.serial.length", value: Int64(length))
        }
        let field = try reader.bytes(Self.serialField, "handshake.serial")
        for byte in field[..<length] where !(0x21...0x7E).contains(byte) {
            throw .invalidValue(field: "handshake.serial", value: Int64(byte))
        }
        // Zero padding only: one encoding per payload.
        for byte in field[length...] where byte != 0 {
            throw .invalidValue(field: "handshake.serial.padding", value: Int64(byte))
        }
        pumpSerial = String(decoding: field[..<length], as: UTF8.self)
        sessionId = try reader.uint32("handshake.sessionId")
        pumpUTCSeconds = try reader.int64("handshake.pumpClock")
        guard WireTime.utcSecondsRange.contains(pumpUTCSeconds) else {
            throw .invalidValue(field: "handshake.pumpClock", value: pumpUTCSeconds)
        }
        idleTimeoutSeconds = try reader.uint16("handshake.idleTimeout")
        guard Self.idleTimeoutRange.contains(idleTimeoutSeconds) else {
            throw .invalidValue(field: "handshake.idleTimeout", value: Int64(idleTimeoutSeconds))
        }
        try reader.finish()
    }

    /// The 47 payload bytes; a serial longer than 32 bytes is cut (the pump's
    /// own serial is checked when the endpoint is made).
    public var encoded: [UInt8] {
        let raw = Array(pumpSerial.utf8.prefix(Self.serialField))
        var writer = ByteWriter()
        writer.uint8(UInt8(truncatingIfNeeded: raw.count))
        writer.bytes(raw)
        writer.bytes([UInt8](repeating: 0, count: Self.serialField - raw.count))
        writer.uint32(sessionId)
        writer.int64(pumpUTCSeconds)
        writer.uint16(idleTimeoutSeconds)
        return writer.bytes
    }
}

/// The pump's answer to `OpenSessionRequest`.
public enum OpenSessionReply: WireMessage {
    case accepted(Accepted)
    case refused(SessionRefusal)

    public static let keyIdLength = 16
    public static let sealedPayloadLength = HandshakePayload.length + 16
    public static let acceptedLength = 2 + OpenSessionRequest.ephemeralLength + keyIdLength + sealedPayloadLength

    /// The fields of an accepted handshake, as they travel (the payload still sealed).
    public struct Accepted: Sendable, Equatable {
        public var pumpEphemeral: [UInt8]
        public var keyId: [UInt8]
        public var sealedPayload: [UInt8]

        public init(pumpEphemeral: [UInt8], keyId: [UInt8], sealedPayload: [UInt8]) {
            self.pumpEphemeral = pumpEphemeral
            self.keyId = keyId
            self.sealedPayload = sealedPayload
        }
    }

    public init(decoding bytes: [UInt8]) throws(WireError) {
        var reader = ByteReader(bytes)
        try expectOpcode(PumpOpcode.openSession.replyOpcode, &reader)
        let status = try reader.uint8("openSession.status")
        if status != 0 {
            guard let refusal = SessionRefusal(rawValue: status) else {
                throw .invalidValue(field: "openSession.status", value: Int64(status))
            }
            self = .refused(refusal)
        } else {
            let ephemeral = try reader.bytes(OpenSessionRequest.ephemeralLength, "openSession.pumpEphemeral")
            let keyId = try reader.bytes(Self.keyIdLength, "openSession.keyId")
            let sealed = try reader.bytes(Self.sealedPayloadLength, "openSession.payload")
            self = .accepted(Accepted(pumpEphemeral: ephemeral, keyId: keyId, sealedPayload: sealed))
        }
        try reader.finish()
    }

    public var encoded: [UInt8] {
        switch self {
        case .refused(let refusal): [PumpOpcode.openSession.replyOpcode, refusal.rawValue]
        case .accepted(let accepted):
            [PumpOpcode.openSession.replyOpcode, 0] + accepted.pumpEphemeral + accepted.keyId + accepted.sealedPayload
        }
    }
}
