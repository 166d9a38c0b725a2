@preconcurrency import Crypto

/// Why the host could not open a session or open a reply.
public enum SessionError: Error, Equatable, Sendable {
    /// The handshake reply did not decode (or its payload, once opened, did not).
    case malformedHandshake(WireError)
    /// The pump refused the session. Unauthenticated: it says nothing about
    /// therapy, and the host keeps any session it holds.
    case refused(SessionRefusal)
    /// No key held here matches the reply's blinded key id. Nothing was sent
    /// under a session; provision the pump's key and retry.
    case unknownPump
    /// A key id matched but the sealed payload did not open: the answer did
    /// not come from a pump holding that key (or was modified). Nothing was sealed to it.
    case confirmationFailed
    /// The payload opened under the key kept for `expected` but names another pump.
    case serialMismatch(expected: String, found: String)
    /// The host's counter reached its limit; open a new session.
    case counterExhausted
    /// The reply failed authentication (modified, forged, or another session's).
    case authenticationFailed
    /// The reply's counter was not above the last accepted one (a replay).
    case replayed(counter: UInt64)
    /// The reply answers another request than the one outstanding.
    case answersOtherRequest(expected: UInt64, found: UInt64)
    /// The reply opened but did not decode.
    case malformedReply(WireError)
}

/// One key the host may try on a handshake reply: the pump key and, when
/// the host knows it, the serial of the pump it belongs to. A keyring gives
/// the host a list of these; the reply's blinded key id picks the one to use.
public struct PumpKeyCandidate: Sendable {
    /// The serial this key was provisioned for, or nil for a key that may open any pump.
    public var serial: String?
    public var key: PumpKey

    public init(serial: String?, key: PumpKey) {
        self.serial = serial
        self.key = key
    }
}

/// The host's first half of the handshake: holds the ephemeral private key
/// until the pump answers.
public struct SessionHandshake: Sendable {
    /// The request to send (unsealed, kind pump message, flags 0).
    public let request: OpenSessionRequest
    private let ephemeral: Curve25519.KeyAgreement.PrivateKey

    /// A handshake with a fresh ephemeral key (or one made from fixed bytes, for vectors).
    public init(nonces: NonceSource = .system) {
        let raw = nonces.bytes(32)
        ephemeral = (try? Curve25519.KeyAgreement.PrivateKey(rawRepresentation: raw)) ?? Curve25519.KeyAgreement.PrivateKey()
        request = OpenSessionRequest(hostEphemeral: Array(ephemeral.publicKey.rawRepresentation))
    }

    /// Verifies the pump's reply and derives the session.
    ///
    /// Each candidate costs one HMAC to compare with the key id; only a
    /// matching key goes on to the key schedule, so a clinic keyring of
    /// hundreds of pumps stays cheap. The serial reported is the one in the
    /// authenticated payload and must equal the candidate's, if it names one.
    public func complete(replyPayload: [UInt8], candidates: [PumpKeyCandidate]) throws(SessionError) -> HostSession {
        let reply: OpenSessionReply
        do { reply = try OpenSessionReply(decoding: replyPayload) } catch { throw .malformedHandshake(error) }
        let accepted: OpenSessionReply.Accepted
        switch reply {
        case .refused(let refusal): throw .refused(refusal)
        case .accepted(let fields): accepted = fields
        }
        guard let shared = HandshakeSchedule.agree(ephemeral, accepted.pumpEphemeral) else {
            throw .malformedHandshake(.invalidValue(field: "openSession.pumpEphemeral", value: 0))
        }
        var failure = SessionError.unknownPump
        let keyIdMessage = HandshakeSchedule.keyIdMessage(hostEphemeral: request.hostEphemeral, pumpEphemeral: accepted.pumpEphemeral)
        for (index, candidate) in candidates.enumerated()
        where HandshakeSchedule.keyId(pumpKey: candidate.key, message: keyIdMessage) == accepted.keyId {
            var schedule = HandshakeSchedule(version: request.protocolVersion, hostEphemeral: request.hostEphemeral,
                                             pumpEphemeral: accepted.pumpEphemeral, keyId: accepted.keyId)
            schedule.mixKey(shared)
            schedule.mixKeyAndHash(candidate.key.bytes)
            guard let plaintext = schedule.decryptAndHash(accepted.sealedPayload) else {
                failure = .confirmationFailed
                continue
            }
            let payload: HandshakePayload
            do { payload = try HandshakePayload(decoding: plaintext) } catch {
                failure = .malformedHandshake(error)
                continue
            }
            if let expected = candidate.serial, expected != payload.pumpSerial {
                failure = .serialMismatch(expected: expected, found: payload.pumpSerial)
                continue
            }
            return HostSession(keys: schedule.split(), payload: payload, candidateIndex: index)
        }
        throw failure
    }
}

/// The host's side of an open session: seals requests with a strictly
/// increasing counter and opens replies, refusing replays and forgeries.
///
/// The pump switches to this session only when the first request sealed
/// here authenticates (the host's key confirmation), so until then a lost
/// reply leaves the pump's previous session, if any, in place.
public struct HostSession: Sendable {
    let keys: SessionKeys
    /// The id the pump gave this session.
    public let sessionId: UInt32
    /// The pump the session is with, from the authenticated handshake payload.
    public let pumpSerial: String
    /// The pump's clock when it answered the handshake (UTC seconds).
    public let pumpUTCSeconds: Int64
    /// How long the pump keeps the session without a newly accepted request.
    public let pumpIdleTimeout: Duration
    /// Which of the candidate keys the host offered opened the session (its
    /// index in that list): the keyring learns from it which key the pump holds.
    public let candidateIndex: Int
    /// The counter of the last request sealed (0 before the first).
    public private(set) var requestCounter: UInt64 = 0
    /// The counter of the last reply accepted (0 before the first).
    public private(set) var replyCounter: UInt64 = 0

    init(keys: SessionKeys, payload: HandshakePayload, candidateIndex: Int) {
        self.keys = keys
        self.candidateIndex = candidateIndex
        sessionId = payload.sessionId
        pumpSerial = payload.pumpSerial
        pumpUTCSeconds = payload.pumpUTCSeconds
        pumpIdleTimeout = .seconds(Int(payload.idleTimeoutSeconds))
    }

    /// Seals a request into a complete frame body under a new counter. The
    /// caller retransmits exactly these bytes if the reply is lost.
    public mutating func seal(_ request: PumpRequest, sequence: UInt16) throws(SessionError) -> (frameBody: [UInt8], counter: UInt64) {
        guard requestCounter < UInt64.max else { throw .counterExhausted }
        let counter = requestCounter + 1
        let header = FrameHeader(kind: .pumpMessage, sequence: sequence, flags: .sealed)
        guard let sealed = SessionCipher.seal(request.encoded, keys: keys, direction: .hostToPump, counter: counter,
                                              header: header, sessionId: sessionId)
        else { throw .authenticationFailed }
        requestCounter = counter
        return (header.encoded + sealed, counter)
    }

    /// Opens the pump's reply to the request sealed with `requestCounter`.
    public mutating func open(_ frame: Frame, answering requestCounter: UInt64) throws(SessionError) -> PumpReply {
        guard let counter = SessionCipher.counter(of: frame.payload) else { throw .authenticationFailed }
        guard counter > replyCounter else { throw .replayed(counter: counter) }
        guard let opened = SessionCipher.open(frame.payload, keys: keys, direction: .pumpToHost, header: frame.header,
                                              sessionId: sessionId)
        else { throw .authenticationFailed }
        var reader = ByteReader(opened.plaintext)
        let answered: UInt64
        do { answered = try reader.uint64("reply.requestCounter") } catch { throw .malformedReply(error) }
        guard answered == requestCounter else { throw .answersOtherRequest(expected: requestCounter, found: answered) }
        replyCounter = counter
        do { return try PumpReply(decoding: reader.rest()) } catch { throw .malformedReply(error) }
    }
}
