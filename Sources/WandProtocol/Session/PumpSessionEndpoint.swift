/// The pump's side of the session: accepts the handshake, opens sealed
/// requests, enforces the replay rules, executes each accepted request at
/// most once, seals replies and answers an exact retransmission from cache.
/// The simulator uses it to be the pump with this code.
///
/// Time is a monotonic `Duration` since any fixed origin the caller chooses
/// (the simulator's clock); wall-clock UTC is the handler's business.
public struct PumpSessionEndpoint: Sendable {
    /// Counts of what was refused, for the pump's audit log.
    public struct Statistics: Sendable, Equatable {
        /// Sealed frames whose counter was at or below the last accepted one
        /// and were not an exact retransmission.
        public var replaysRejected = 0
        /// Sealed frames that failed authentication (modified, forged, other key).
        public var forgeriesRejected = 0
        /// Sealed frames that arrived with no session (never opened, closed or expired).
        public var withoutSession = 0
        /// Authenticated requests that did not decode.
        public var malformedRequests = 0
        /// Exact retransmissions answered from cache, not executed.
        public var retransmissionsAnswered = 0
        /// Sessions ended by idle expiry.
        public var sessionsExpired = 0
        /// State-changing requests refused because the pump clock was past
        /// their expiry (a held or late request).
        public var expiredRequests = 0
        /// Frames that were not pump messages of a known layout.
        public var framesIgnored = 0
        public init() {}
    }

    /// What the pump's therapy logic sees: a decoded, authenticated request
    /// that is not a repeat. It returns the reply to send (done or refused).
    public typealias Execute = (PumpRequest) -> PumpReply

    /// Default idle expiry: a session with no accepted request for this long is forgotten.
    public static let defaultIdleTimeout: Duration = .seconds(120)

    private struct Session {
        let keys: SessionKeys
        let sessionId: UInt32
        var lastRequestCounter: UInt64 = 0
        var replyCounter: UInt64 = 0
        var lastActivity: Duration
        var closed = false
        /// The last accepted request's frame body and the reply frame body sent for it.
        var cachedRequest: [UInt8] = []
        var cachedReply: [UInt8] = []
        /// The handshake that opened this session and the reply sent, so a
        /// retransmitted handshake gets the same session rather than a new one.
        var handshakeRequest: [UInt8] = []
        var handshakeReply: [UInt8] = []
    }

    public let serial: String
    private let key: PumpKey
    private let nonces: NonceSource
    private let idleTimeout: Duration
    private var session: Session?
    public private(set) var statistics = Statistics()

    /// An endpoint for the pump with this serial and key.
    public init(serial: String, key: PumpKey, idleTimeout: Duration = PumpSessionEndpoint.defaultIdleTimeout,
                nonces: NonceSource = .system) {
        self.serial = serial
        self.key = key
        self.idleTimeout = idleTimeout
        self.nonces = nonces
    }

    /// Whether a session is open (and not idle-expired) at `now`.
    public func hasSession(at now: Duration) -> Bool {
        guard let session, !session.closed else { return false }
        return now - session.lastActivity <= idleTimeout
    }

    /// Handles one received frame body; returns the frame body to send back,
    /// or nil when the frame is dropped (and counted). `outcomes` is the
    /// pump's persistent command record; `utcSeconds` is the pump clock:
    /// it stamps new entries and decides whether a request has expired.
    public mutating func handle(frameBody: [UInt8], now: Duration, utcSeconds: Int64,
                                outcomes: inout CommandOutcomeStore, execute: Execute) -> [UInt8]? {
        guard let frame = try? Frame(body: frameBody), frame.header.kind == .pumpMessage,
              !frame.header.flags.contains(.fromPump)
        else {
            statistics.framesIgnored += 1
            return nil
        }
        expireIfIdle(now)
        if frame.header.flags.contains(.sealed) {
            return handleSealed(frame, body: frameBody, now: now, utcSeconds: utcSeconds, outcomes: &outcomes, execute: execute)
        }
        return handleHandshake(frame, now: now)
    }

    private mutating func expireIfIdle(_ now: Duration) {
        if let current = session, now - current.lastActivity > idleTimeout {
            session = nil
            statistics.sessionsExpired += 1
        }
    }

    private mutating func handleHandshake(_ frame: Frame, now: Duration) -> [UInt8]? {
        guard let request = try? OpenSessionRequest(decoding: frame.payload) else {
            statistics.framesIgnored += 1
            return nil
        }
        if let current = session, current.lastRequestCounter == 0, !current.closed,
           current.handshakeRequest == frame.body {
            statistics.retransmissionsAnswered += 1
            return current.handshakeReply
        }
        let header = FrameHeader(kind: .pumpMessage, sequence: frame.header.sequence, flags: .fromPump)
        guard request.protocolVersion == FrameHeader.currentVersion else {
            return header.encoded + OpenSessionReply.refused(.unsupportedVersion).encoded
        }
        let pumpNonce = nonces.bytes(OpenSessionRequest.nonceLength)
        var idReader = ByteReader(nonces.bytes(4))
        let sessionId = (try? idReader.uint32("sessionId")) ?? 0
        let keys = SessionKeys(pumpKey: key, hostNonce: request.hostNonce, pumpNonce: pumpNonce, serial: serial, sessionId: sessionId)
        var accepted = OpenSessionReply.Accepted(pumpSerial: serial, pumpNonce: pumpNonce, sessionId: sessionId, confirmation: [])
        accepted.confirmation = keys.confirmation(request: frame.payload, replyPrefix: accepted.confirmedPrefix)
        // A new handshake replaces any session: the host that lost its keys
        // (restart, lost reply) must be able to start over.
        let reply = header.encoded + OpenSessionReply.accepted(accepted).encoded
        session = Session(keys: keys, sessionId: sessionId, lastActivity: now, handshakeRequest: frame.body, handshakeReply: reply)
        return reply
    }

    private mutating func handleSealed(_ frame: Frame, body: [UInt8], now: Duration, utcSeconds: Int64,
                                       outcomes: inout CommandOutcomeStore, execute: Execute) -> [UInt8]? {
        guard var current = session else {
            statistics.withoutSession += 1
            return nil
        }
        guard let counter = SessionCipher.counter(of: frame.payload) else {
            statistics.forgeriesRejected += 1
            return nil
        }
        if counter <= current.lastRequestCounter {
            // The only old frame answered is the exact last request: its reply
            // was probably lost. Same bytes means same request, already executed.
            if counter == current.lastRequestCounter, body == current.cachedRequest {
                statistics.retransmissionsAnswered += 1
                current.lastActivity = now
                session = current
                return current.cachedReply
            }
            statistics.replaysRejected += 1
            return nil
        }
        guard !current.closed else {
            statistics.withoutSession += 1
            return nil
        }
        guard let opened = SessionCipher.open(frame.payload, key: current.keys.sealKey, direction: .hostToPump,
                                              header: frame.header, sessionId: current.sessionId)
        else {
            statistics.forgeriesRejected += 1
            return nil
        }
        current.lastRequestCounter = opened.counter
        current.lastActivity = now
        guard let request = try? PumpRequest(decoding: opened.plaintext) else {
            statistics.malformedRequests += 1
            session = current
            return nil
        }

        let reply: PumpReply
        switch request {
        case .queryCommandOutcome(let query):
            reply = .outcome(CommandOutcomeReport(commandId: query.commandId, storedReply: outcomes.storedReply(for: query.commandId)))
        case .closeSession:
            current.closed = true
            reply = .sessionClosed
        default:
            if let id = request.commandId {
                switch outcomes.lookup(id, requestPlaintext: opened.plaintext) {
                case .repeated(let stored):
                    reply = (try? PumpReply(decoding: stored)) ?? .refused(request.opcode, .internalFault)
                case .conflicting:
                    reply = .refused(request.opcode, .commandIdReused)
                case .new:
                    // Freshness after the lookup: a retransmission of a
                    // request already carried out gets its stored receipt
                    // however late it comes (exactly once), and an expired
                    // refusal is stored like any other, so the dead intent
                    // stays dead under its id.
                    let executed: PumpReply
                    if let stale = request.expiry?.refusal(atPumpClock: utcSeconds) {
                        if stale == .requestExpired { statistics.expiredRequests += 1 }
                        executed = .refused(request.opcode, stale)
                    } else {
                        executed = execute(request)
                    }
                    reply = executed
                    outcomes.record(id, requestPlaintext: opened.plaintext, reply: executed.encoded, utcSeconds: utcSeconds)
                }
            } else {
                reply = execute(request)
            }
        }

        // The pump's counter cannot pass its limit in practice (2^64 replies);
        // if it ever would, the session ends rather than reuse a nonce.
        guard current.replyCounter < UInt64.max else {
            session = nil
            return nil
        }
        current.replyCounter += 1
        let header = FrameHeader(kind: .pumpMessage, sequence: frame.header.sequence, flags: [.sealed, .fromPump])
        var plaintext = ByteWriter()
        plaintext.uint64(opened.counter)
        plaintext.bytes(reply.encoded)
        guard let sealed = SessionCipher.seal(plaintext.bytes, key: current.keys.sealKey, direction: .pumpToHost,
                                              counter: current.replyCounter, header: header, sessionId: current.sessionId)
        else {
            session = current
            return nil
        }
        let replyBody = header.encoded + sealed
        current.cachedRequest = body
        current.cachedReply = replyBody
        session = current
        return replyBody
    }
}
