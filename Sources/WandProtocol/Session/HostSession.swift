/// Why the host could not open a session or open a reply.
public enum SessionError: Error, Equatable, Sendable {
    /// The handshake reply did not decode.
    case malformedHandshake(WireError)
    /// The pump refused the session.
    case refused(SessionRefusal)
    /// No key is known for the pump serial the reply names. Nothing was sent
    /// under a session; provision the pump's key and retry.
    case unknownPump(serial: String)
    /// The pump's confirmation did not verify: the answer did not come from a
    /// pump holding the key (or was modified). Nothing was sealed to it.
    case confirmationFailed
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

/// The host's first half of the handshake: holds the host nonce until the
/// pump answers.
public struct SessionHandshake: Sendable {
    /// The request to send (unsealed, kind pump message, flags 0).
    public let request: OpenSessionRequest

    /// A handshake with a fresh host nonce (or a fixed one, for vectors).
    public init(nonces: NonceSource = .system) {
        request = OpenSessionRequest(hostNonce: nonces.bytes(OpenSessionRequest.nonceLength))
    }

    /// Verifies the pump's reply and derives the session. `keyForSerial`
    /// looks up the pump key by the serial the pump announced.
    public func complete(replyPayload: [UInt8], keyForSerial: (String) -> PumpKey?) throws(SessionError) -> HostSession {
        let reply: OpenSessionReply
        do { reply = try OpenSessionReply(decoding: replyPayload) } catch { throw .malformedHandshake(error) }
        switch reply {
        case .refused(let refusal):
            throw .refused(refusal)
        case .accepted(let accepted):
            guard let key = keyForSerial(accepted.pumpSerial) else { throw .unknownPump(serial: accepted.pumpSerial) }
            let keys = SessionKeys(pumpKey: key, hostNonce: request.hostNonce, pumpNonce: accepted.pumpNonce,
                                   serial: accepted.pumpSerial, sessionId: accepted.sessionId)
            guard keys.isValidConfirmation(accepted.confirmation, request: request.encoded, replyPrefix: accepted.confirmedPrefix) else {
                throw .confirmationFailed
            }
            return HostSession(keys: keys, sessionId: accepted.sessionId, pumpSerial: accepted.pumpSerial)
        }
    }
}

/// The host's side of an open session: seals requests with a strictly
/// increasing counter and opens replies, refusing replays and forgeries.
public struct HostSession: Sendable {
    let keys: SessionKeys
    /// The id the pump gave this session.
    public let sessionId: UInt32
    /// The pump the session is with.
    public let pumpSerial: String
    /// The counter of the last request sealed (0 before the first).
    public private(set) var requestCounter: UInt64 = 0
    /// The counter of the last reply accepted (0 before the first).
    public private(set) var replyCounter: UInt64 = 0

    init(keys: SessionKeys, sessionId: UInt32, pumpSerial: String) {
        self.keys = keys
        self.sessionId = sessionId
        self.pumpSerial = pumpSerial
    }

    /// Seals a request into a complete frame body under a new counter. The
    /// caller retransmits exactly these bytes if the reply is lost.
    public mutating func seal(_ request: PumpRequest, sequence: UInt16) throws(SessionError) -> (frameBody: [UInt8], counter: UInt64) {
        guard requestCounter < UInt64.max else { throw .counterExhausted }
        let counter = requestCounter + 1
        let header = FrameHeader(kind: .pumpMessage, sequence: sequence, flags: .sealed)
        guard let sealed = SessionCipher.seal(request.encoded, key: keys.sealKey, direction: .hostToPump, counter: counter,
                                              header: header, sessionId: sessionId)
        else { throw .authenticationFailed }
        requestCounter = counter
        return (header.encoded + sealed, counter)
    }

    /// Opens the pump's reply to the request sealed with `requestCounter`.
    public mutating func open(_ frame: Frame, answering requestCounter: UInt64) throws(SessionError) -> PumpReply {
        guard let counter = SessionCipher.counter(of: frame.payload) else { throw .authenticationFailed }
        guard counter > replyCounter else { throw .replayed(counter: counter) }
        guard let opened = SessionCipher.open(frame.payload, key: keys.sealKey, direction: .pumpToHost, header: frame.header,
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
