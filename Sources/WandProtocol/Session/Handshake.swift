/// The session handshake: two unsealed pump messages relayed by the wand.
///
/// ```
/// OpenSessionRequest (host -> pump, kind 0x03, flags 0x00)
/// 0   1   opcode 0x01
/// 1   1   protocol version (1)
/// 2   32  host nonce (fresh random)
///
/// OpenSessionReply (pump -> host, kind 0x03, flags 0x02)
/// 0   1   0x81
/// 1   1   status (0 accepted, else SessionRefusal; nothing follows)
/// 2   1+n pump serial: length n (1 ... 32), printable ASCII
/// +0  32  pump nonce (fresh random)
/// +32 4   session id, UInt32 LE (fresh random)
/// +36 32  pump confirmation: HMAC-SHA256(confirm key, "PumpWand pump confirm v1"
///         || request bytes || reply bytes before this field)
/// ```
public struct OpenSessionRequest: WireMessage {
    public static let nonceLength = 32
    public var protocolVersion: UInt8
    public var hostNonce: [UInt8]

    public init(protocolVersion: UInt8 = FrameHeader.currentVersion, hostNonce: [UInt8]) {
        self.protocolVersion = protocolVersion
        self.hostNonce = hostNonce
    }

    public init(decoding bytes: [UInt8]) throws(WireError) {
        var reader = ByteReader(bytes)
        try expectOpcode(PumpOpcode.openSession.rawValue, &reader)
        protocolVersion = try reader.uint8("openSession.version")
        hostNonce = try reader.bytes(Self.nonceLength, "openSession.hostNonce")
        try reader.finish()
    }

    public var encoded: [UInt8] { [PumpOpcode.openSession.rawValue, protocolVersion] + hostNonce }
}

/// Why a pump refused to open a session.
public enum SessionRefusal: UInt8, Sendable, CaseIterable, Error {
    /// The pump does not speak the requested protocol version.
    case unsupportedVersion = 0x01
    /// The pump is in a state that allows no session (for example mid-reset); retry later.
    case unavailable = 0x02
}

/// The pump's answer to `OpenSessionRequest`.
public enum OpenSessionReply: WireMessage {
    case accepted(Accepted)
    case refused(SessionRefusal)

    /// The fields of an accepted handshake.
    public struct Accepted: Sendable, Equatable {
        public var pumpSerial: String
        public var pumpNonce: [UInt8]
        public var sessionId: UInt32
        public var confirmation: [UInt8]

        public init(pumpSerial: String, pumpNonce: [UInt8], sessionId: UInt32, confirmation: [UInt8]) {
            self.pumpSerial = pumpSerial
            self.pumpNonce = pumpNonce
            self.sessionId = sessionId
            self.confirmation = confirmation
        }

        /// The reply bytes the confirmation covers (everything before it).
        var confirmedPrefix: [UInt8] {
            var writer = ByteWriter()
            writer.uint8(PumpOpcode.openSession.replyOpcode)
            writer.uint8(0)
            writeSerial(pumpSerial, &writer)
            writer.bytes(pumpNonce)
            writer.uint32(sessionId)
            return writer.bytes
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
            let serial = try readSerial(&reader, field: "openSession.serial", maximum: 32)
            let nonce = try reader.bytes(OpenSessionRequest.nonceLength, "openSession.pumpNonce")
            let sessionId = try reader.uint32("openSession.sessionId")
            let confirmation = try reader.bytes(32, "openSession.confirmation")
            self = .accepted(Accepted(pumpSerial: serial, pumpNonce: nonce, sessionId: sessionId, confirmation: confirmation))
        }
        try reader.finish()
    }

    public var encoded: [UInt8] {
        switch self {
        case .refused(let refusal): [PumpOpcode.openSession.replyOpcode, refusal.rawValue]
        case .accepted(let accepted): accepted.confirmedPrefix + accepted.confirmation
        }
    }
}
