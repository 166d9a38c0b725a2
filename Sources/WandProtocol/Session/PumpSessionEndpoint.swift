@preconcurrency import Crypto

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
        /// Replies that could not be sealed (too large for one frame): not sent, never cut short.
        public var repliesTooLarge = 0
        /// Handshakes confirmed by the host's first sealed request (each replaced the session held, if any).
        public var sessionsConfirmed = 0
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
        /// When the last request was newly accepted (rule 5). Retransmissions
        /// answered from cache do not move it: a party without the keys can
        /// replay the last frame but cannot keep the session alive with it.
        var lastActivity: Duration
        var closed = false
        /// The last accepted request's frame body and the reply frame body sent for it.
        var cachedRequest: [UInt8] = []
        var cachedReply: [UInt8] = []
    }

    /// A handshake answered but not yet confirmed by the host. It never
    /// touches the current session: only a sealed request that opens under
    /// its keys (the host's key confirmation) makes it the session.
    private struct PendingHandshake {
        let keys: SessionKeys
        let sessionId: UInt32
        let answeredAt: Duration
        /// The handshake request and the reply sent, so an exact
        /// retransmission gets the same reply rather than new ephemerals.
        let request: [UInt8]
        let reply: [UInt8]
    }

    public let serial: String
    private var key: PumpKey
    private let nonces: NonceSource
    private let idleTimeout: Duration
    private var session: Session?
    private var pending: PendingHandshake?
    public private(set) var statistics = Statistics()

    /// An endpoint for the pump with this serial (1 ... 32 printable ASCII
    /// bytes; a longer one is cut to 32 in the handshake) and key.
    public init(serial: String, key: PumpKey, idleTimeout: Duration = PumpSessionEndpoint.defaultIdleTimeout,
                nonces: NonceSource = .system) {
        self.serial = serial
        self.key = key
        self.idleTimeout = idleTimeout
        self.nonces = nonces
    }

    /// Takes a new long-term key (a re-key): handshakes from now on are
    /// answered under it. The session held and a pending handshake keep the
    /// session keys they were opened with, so the session that carried the
    /// re-key ends as it would have, and a stranger's handshake still cannot
    /// end it.
    public mutating func replaceLongTermKey(with newKey: PumpKey) {
        key = newKey
    }

    /// The idle timeout the handshake announces, in whole seconds (1 ... 3600).
    var idleTimeoutSeconds: UInt16 {
        let seconds = idleTimeout.components.seconds
        return UInt16(clamping: min(max(seconds, 1), Int64(HandshakePayload.idleTimeoutRange.upperBound)))
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
        return handleHandshake(frame, now: now, utcSeconds: utcSeconds)
    }

    private mutating func expireIfIdle(_ now: Duration) {
        if let current = session, now - current.lastActivity > idleTimeout {
            session = nil
            statistics.sessionsExpired += 1
        }
        if let waiting = pending, now - waiting.answeredAt > idleTimeout {
            pending = nil
        }
    }

    /// Answers a handshake. Whatever it holds, the current session stays as
    /// it was: a forged or replayed handshake costs the pump one pending
    /// slot and nothing else.
    private mutating func handleHandshake(_ frame: Frame, now: Duration, utcSeconds: Int64) -> [UInt8]? {
        guard let request = try? OpenSessionRequest(decoding: frame.payload) else {
            statistics.framesIgnored += 1
            return nil
        }
        if let waiting = pending, waiting.request == frame.body {
            statistics.retransmissionsAnswered += 1
            return waiting.reply
        }
        let header = FrameHeader(kind: .pumpMessage, sequence: frame.header.sequence, flags: .fromPump)
        guard request.protocolVersion == FrameHeader.currentVersion else {
            return header.encoded + OpenSessionReply.refused(.unsupportedVersion).encoded
        }
        let ephemeral = (try? Curve25519.KeyAgreement.PrivateKey(rawRepresentation: nonces.bytes(32)))
            ?? Curve25519.KeyAgreement.PrivateKey()
        let pumpEphemeral = Array(ephemeral.publicKey.rawRepresentation)
        var idReader = ByteReader(nonces.bytes(4))
        let sessionId = (try? idReader.uint32("sessionId")) ?? 0
        guard let shared = HandshakeSchedule.agree(ephemeral, request.hostEphemeral) else {
            // Not a point (or a low-order one): no key could come of it.
            statistics.framesIgnored += 1
            return nil
        }
        let keyId = HandshakeSchedule.keyId(pumpKey: key, hostEphemeral: request.hostEphemeral, pumpEphemeral: pumpEphemeral)
        var schedule = HandshakeSchedule(version: request.protocolVersion, hostEphemeral: request.hostEphemeral,
                                         pumpEphemeral: pumpEphemeral, keyId: keyId)
        schedule.mixKey(shared)
        schedule.mixKeyAndHash(key.bytes)
        let clock = min(max(utcSeconds, 0), WireTime.maximumUTCSeconds)
        let payload = HandshakePayload(pumpSerial: serial, sessionId: sessionId, pumpUTCSeconds: clock,
                                       idleTimeoutSeconds: idleTimeoutSeconds)
        guard let sealed = schedule.encryptAndHash(payload.encoded) else { return nil }
        let reply = header.encoded
            + OpenSessionReply.accepted(.init(pumpEphemeral: pumpEphemeral, keyId: keyId, sealedPayload: sealed)).encoded
        // At most one pending handshake: a newer one replaces it (the host
        // that sent the older one lost its reply or gave up).
        pending = PendingHandshake(keys: schedule.split(), sessionId: sessionId, answeredAt: now, request: frame.body, reply: reply)
        return reply
    }

    private mutating func handleSealed(_ frame: Frame, body: [UInt8], now: Duration, utcSeconds: Int64,
                                       outcomes: inout CommandOutcomeStore, execute: Execute) -> [UInt8]? {
        guard let counter = SessionCipher.counter(of: frame.payload) else {
            statistics.forgeriesRejected += 1
            return nil
        }
        // The host's key confirmation: a request that opens under the
        // pending handshake's keys. Only now is the old session given up.
        if let waiting = pending, counter >= 1,
           let opened = SessionCipher.open(frame.payload, keys: waiting.keys, direction: .hostToPump,
                                           header: frame.header, sessionId: waiting.sessionId) {
            pending = nil
            statistics.sessionsConfirmed += 1
            var confirmed = Session(keys: waiting.keys, sessionId: waiting.sessionId, lastActivity: now)
            return accept(opened, frame: frame, body: body, current: &confirmed, now: now, utcSeconds: utcSeconds,
                          outcomes: &outcomes, execute: execute)
        }
        guard var current = session else {
            // With a handshake pending, a frame that failed to open under its
            // keys is a forgery (or a wrong key), not a late frame.
            if pending != nil { statistics.forgeriesRejected += 1 } else { statistics.withoutSession += 1 }
            return nil
        }
        if counter <= current.lastRequestCounter {
            // The only old frame answered is the exact last request: its reply
            // was probably lost. Same bytes means same request, already executed.
            if counter == current.lastRequestCounter, body == current.cachedRequest {
                statistics.retransmissionsAnswered += 1
                return current.cachedReply
            }
            statistics.replaysRejected += 1
            return nil
        }
        guard !current.closed else {
            statistics.withoutSession += 1
            return nil
        }
        guard let opened = SessionCipher.open(frame.payload, keys: current.keys, direction: .hostToPump,
                                              header: frame.header, sessionId: current.sessionId)
        else {
            statistics.forgeriesRejected += 1
            return nil
        }
        return accept(opened, frame: frame, body: body, current: &current, now: now, utcSeconds: utcSeconds,
                      outcomes: &outcomes, execute: execute)
    }

    /// Rule 5: a newly accepted request, executed at most once and answered sealed.
    private mutating func accept(_ opened: (counter: UInt64, plaintext: [UInt8]), frame: Frame, body: [UInt8],
                                 current: inout Session, now: Duration, utcSeconds: Int64,
                                 outcomes: inout CommandOutcomeStore, execute: Execute) -> [UInt8]? {
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
        case .closeSession(let close):
            // The anchor it carries is recorded as a 0x16 would record it;
            // the reply is the close's either way (a host need not wait for it).
            if let anchor = close.anchor { _ = execute(.recordAuditAnchor(anchor)) }
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
        guard let sealed = SessionCipher.seal(plaintext.bytes, keys: current.keys, direction: .pumpToHost,
                                              counter: current.replyCounter, header: header, sessionId: current.sessionId)
        else {
            statistics.repliesTooLarge += 1
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
