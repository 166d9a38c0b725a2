/// The host's end of one wand: frames requests, sends them over a
/// `FrameLink`, waits for the matching reply with a per-attempt timeout,
/// retransmits the identical bytes a bounded number of times, and keeps the
/// pump session.
///
/// Every request gets a fresh sequence number; retransmissions reuse it and
/// every other byte. Replies with other sequence numbers (late answers to
/// earlier exchanges) are ignored and counted.
///
/// One exchange runs at a time: concurrent calls to `wand`, `openSession`
/// and `send` wait their turn in the order they were made (the protocol's
/// "one request at a time", PROTOCOL.md section 8). A call whose task is
/// cancelled before its turn comes sends nothing and returns `notSent`
/// with `.cancelled`.
public actor WandChannel {
    /// Counts for diagnostics and the audit log.
    public struct Statistics: Sendable, Equatable {
        public var framesSent = 0
        public var retransmissions = 0
        /// Frames received that matched no outstanding request.
        public var unmatchedFrames = 0
        /// Sealed replies that failed authentication or replay checks.
        public var rejectedReplies = 0
        /// Sealed replies that authenticated and answered the request but
        /// did not decode (a field out of the protocol's ranges, such as a
        /// zero command id or a time past 9999): the pump answered, but what
        /// it said is not believed, so the exchange stays unacknowledged.
        public var malformedReplies = 0
        /// Handshake replies that did not verify (each followed by one retry with fresh ephemerals).
        public var handshakesRejected = 0
        /// Why the last malformed reply did not decode.
        public var lastMalformedReply: WireError?
        public init() {}
    }

    private let link: any FrameLink
    private let policy: RetryPolicy
    private let gate = ExchangeGate()
    private var decoder = FrameDecoder()
    private var nextSequence: UInt16 = 1
    private var session: HostSession?
    /// Moves whenever `session` is replaced or dropped, so an exchange that
    /// finishes afterwards does not write back a session that is gone.
    private var sessionGeneration: UInt64 = 0
    /// Wand events received while waiting for replies (newest last, at most 32).
    public private(set) var events: [WandEvent] = []
    public private(set) var statistics = Statistics()

    /// A channel over `link` using `policy` for every exchange.
    public init(link: any FrameLink, policy: RetryPolicy = .standard) {
        self.link = link
        self.policy = policy
    }

    /// Statistics of the frame decoder (CRC failures and the like).
    public var decoderStatistics: FrameDecoder.Statistics { decoder.statistics }

    /// The open pump session, if any.
    public var pumpSession: HostSession? { session }

    /// Exchanges waiting for the one in progress to finish.
    var waitingExchanges: Int { gate.waitingCount }

    private func replaceSession(with new: HostSession?) {
        session = new
        sessionGeneration &+= 1
    }

    private func allocateSequence() -> UInt16 {
        defer { nextSequence = nextSequence == UInt16.max ? 1 : nextSequence + 1 }
        return nextSequence
    }

    /// Sends a wand-level request and returns the wand's reply.
    public func wand(_ request: WandRequest) async -> ExchangeOutcome<WandResponse> {
        guard await gate.enter() else { return .notSent(.cancelled) }
        defer { gate.leave() }
        let sequence = allocateSequence()
        let body = FrameHeader(kind: .wandCommand, sequence: sequence).encoded + request.encoded
        return await exchange(body: body, sequence: sequence) { frame in
            guard frame.header.kind == .wandResponse else { return nil }
            return try? WandResponse(decoding: frame.payload)
        }
    }

    /// Opens a pump session; the reply's blinded key id selects the key
    /// among `candidates`.
    ///
    /// One handshake exchange, and once more with fresh ephemerals when the
    /// reply came back but did not verify (bytes corrupted past the CRC, a
    /// key id that matched nothing, a payload that did not open): the pump
    /// kept its previous session through the failed attempt, so a second
    /// try is safe. A refusal is final and, like every failure here, leaves
    /// the session this channel holds, if any, as it was.
    ///
    /// With `askingWandInfo` the opening frame carries the wand-info flag:
    /// the wand answers with its info before relaying it, kept in
    /// `wandInfoWithSession` (nil if that answer was lost or never came,
    /// and then the caller asks the wand separately).
    public func openSession(nonces: NonceSource = .system, candidates: [PumpKeyCandidate],
                            askingWandInfo: Bool = false) async -> Result<HostSession, SessionOpenError> {
        guard await gate.enter() else { return .failure(.notSent(.cancelled)) }
        defer { gate.leave() }
        var lastRejection = SessionError.unknownPump
        wandInfoWithSession = nil
        var flagged = askingWandInfo
        var attempts = 0
        while attempts < Self.handshakeAttempts {
            attempts += 1
            let handshake = SessionHandshake(nonces: nonces)
            let sequence = allocateSequence()
            let flags: FrameFlags = flagged ? .wandInfo : []
            let body = FrameHeader(kind: .pumpMessage, sequence: sequence, flags: flags).encoded + handshake.request.encoded
            var info: WandInfo?
            let outcome: ExchangeOutcome<[UInt8]> = await exchange(body: body, sequence: sequence, aside: { frame in
                // The wand's own answer to the flag: taken, and the wait
                // goes on for the pump's.
                guard flagged, frame.header.kind == .wandResponse, frame.header.flags.isEmpty,
                      case .info(let reply)? = try? WandResponse(decoding: frame.payload) else { return false }
                info = reply
                return true
            }) { frame in
                guard frame.header.kind == .pumpMessage, frame.header.flags == .fromPump else { return nil }
                return frame.payload
            }
            if let info { wandInfoWithSession = info }
            switch outcome {
            case .notSent(.wandRefused(.malformedFrame)) where flagged:
                // A wand that does not know flag 0x04 (PROTOCOL.md section
                // 3): the opening again without it, not counted as an
                // attempt; the caller then asks the wand for its info.
                flagged = false
                attempts -= 1
            case .notSent(let reason):
                return .failure(.notSent(reason))
            case .unacknowledged(let attempts, _, _):
                return .failure(.noReply(attempts: attempts))
            case .replied(let payload, _):
                do throws(SessionError) {
                    let opened = try handshake.complete(replyPayload: payload, candidates: candidates)
                    replaceSession(with: opened)
                    return .success(opened)
                } catch .refused(let refusal) {
                    return .failure(.rejected(.refused(refusal)))
                } catch {
                    statistics.handshakesRejected += 1
                    lastRejection = error
                }
            }
        }
        return .failure(.rejected(lastRejection))
    }

    /// The wand's info as it came with the last session opening that asked for it.
    public private(set) var wandInfoWithSession: WandInfo?

    /// Handshake exchanges per `openSession`: the first and one retry.
    static let handshakeAttempts = 2

    /// Forgets the session (after close, expiry or an authentication failure).
    public func dropSession() { replaceSession(with: nil) }

    /// Sends a sealed pump request and classifies the outcome.
    ///
    /// The reply is opened with the session that sealed the request (its
    /// keys and counters as they were then), and the session's reply counter
    /// is written back only if that session is still the channel's: a
    /// session dropped or replaced meanwhile stays gone.
    public func send(_ request: PumpRequest) async -> PumpExchangeResult {
        guard await gate.enter() else { return .notSent(.cancelled) }
        defer { gate.leave() }
        guard var sealing = session else { return .notSent(.noSession) }
        let generation = sessionGeneration
        let sequence = allocateSequence()
        let sealed: (frameBody: [UInt8], counter: UInt64)
        do { sealed = try sealing.seal(request, sequence: sequence) } catch { return .notSent(.framing("\(error)")) }
        // The counter is spent whether or not the frame goes out: a counter
        // is never sealed twice under one key.
        session = sealing
        let counter = sealed.counter
        var opener = sealing
        // The wand's NAKs are not believed here: it cannot prove what it did
        // with a sealed frame, so once bytes left the result is unknown.
        let outcome: ExchangeOutcome<PumpReply> = await exchange(
            body: sealed.frameBody, sequence: sequence, believeWandRefusals: false
        ) { frame in
            guard frame.header.kind == .pumpMessage, frame.header.flags == [.sealed, .fromPump] else { return nil }
            var attempt = opener
            do throws(SessionError) {
                let reply = try attempt.open(frame, answering: counter)
                opener = attempt
                return reply
            } catch .malformedReply(let why) {
                self.statistics.malformedReplies += 1
                self.statistics.lastMalformedReply = why
                return nil
            } catch {
                self.statistics.rejectedReplies += 1
                return nil
            }
        }
        let current = sessionGeneration == generation
        if current { session = opener }
        switch outcome {
        case .replied(let reply, _):
            if case .refused(let opcode, let refusal) = reply { return .refused(opcode, refusal) }
            if case .sessionClosed = reply, current { replaceSession(with: nil) }
            return .completed(reply)
        case .notSent(let reason):
            return .notSent(reason)
        case .unacknowledged(let attempts, let nak, let linkError):
            return .unacknowledged(attempts: attempts, linkError: linkError, wandSaid: nak)
        }
    }

    /// Seals `request` and sends it once without waiting for a reply: for
    /// the session's close, whose reply would tell the host nothing it acts
    /// on. Returns whether the bytes left this computer; the session is
    /// dropped either way, as the pump drops it on receipt or at its idle
    /// timeout.
    public func sendWithoutReply(_ request: PumpRequest) async -> Bool {
        guard await gate.enter() else { return false }
        defer { gate.leave() }
        guard var sealing = session else { return false }
        let sequence = allocateSequence()
        defer { replaceSession(with: nil) }
        guard let sealed = try? sealing.seal(request, sequence: sequence),
              let wire = try? FrameEncoder.encode(sealed.frameBody) else { return false }
        session = sealing
        do {
            try await link.send(wire)
            statistics.framesSent += 1
            return true
        } catch {
            return false
        }
    }

    /// One exchange: send `body`, wait for a frame `accept` takes, retransmit
    /// the identical bytes up to the policy's limit.
    ///
    /// With `believeWandRefusals` (wand commands, the handshake) an attempt
    /// the wand NAKs with a reason other than `noPumpReply` counts as not
    /// delivered, so NAKs on every attempt end as `notSent(.wandRefused)`.
    /// Without it (sealed pump requests) every attempt whose bytes left the
    /// host counts as possibly delivered, and `notSent` remains only for an
    /// exchange in which the link refused every send.
    private func exchange<Reply: Sendable>(body: [UInt8], sequence: UInt16, believeWandRefusals: Bool = true,
                                           aside: (Frame) -> Bool = { _ in false },
                                           accept: (Frame) -> Reply?) async -> ExchangeOutcome<Reply> {
        let wire: [UInt8]
        do { wire = try FrameEncoder.encode(body) } catch { return .notSent(.framing("\(error)")) }
        var possiblyDelivered = false
        var lastRefusal: NotSentReason = .linkRefused(reason: "no attempt made")
        var lastNak: NegativeAcknowledgement?
        var attempts = 0

        for attempt in 1...policy.maximumAttempts {
            attempts = attempt
            do {
                try await link.send(wire)
                statistics.framesSent += 1
                if attempt > 1 { statistics.retransmissions += 1 }
            } catch FrameLinkError.notSent(let reason) {
                lastRefusal = .linkRefused(reason: reason)
                continue
            } catch {
                // Some bytes may have left; the link is unusable for now.
                return .unacknowledged(attempts: attempt, lastNegativeAcknowledgement: lastNak, linkError: "\(error)")
            }
            var attemptDelivered = true
            let deadline = ContinuousClock.now.advanced(by: policy.attemptTimeout)
            waiting: while true {
                let chunk: [UInt8]?
                do { chunk = try await link.receive(until: deadline) } catch {
                    return .unacknowledged(attempts: attempt, lastNegativeAcknowledgement: lastNak, linkError: "\(error)")
                }
                guard let chunk else { break waiting }
                for frameBody in decoder.feed(chunk) {
                    guard let frame = try? Frame(body: frameBody) else {
                        statistics.unmatchedFrames += 1
                        continue
                    }
                    if frame.header.kind == .event {
                        if let event = try? WandEvent(decoding: frame.payload) {
                            events.append(event)
                            if events.count > 32 { events.removeFirst(events.count - 32) }
                        }
                        continue
                    }
                    guard frame.header.sequence == sequence else {
                        statistics.unmatchedFrames += 1
                        continue
                    }
                    if frame.header.kind == .negativeAcknowledgement,
                       let nak = try? NegativeAcknowledgement(decoding: frame.payload) {
                        lastNak = nak
                        if believeWandRefusals && nak.claimsNotTransmitted {
                            attemptDelivered = false
                            lastRefusal = .wandRefused(nak)
                        }
                        break waiting
                    }
                    if aside(frame) { continue }
                    if let reply = accept(frame) { return .replied(reply, attempts: attempt) }
                    statistics.unmatchedFrames += 1
                }
                if ContinuousClock.now >= deadline { break waiting }
            }
            possiblyDelivered = possiblyDelivered || attemptDelivered
        }
        if possiblyDelivered {
            return .unacknowledged(attempts: attempts, lastNegativeAcknowledgement: lastNak, linkError: nil)
        }
        return .notSent(lastRefusal)
    }
}

/// Why a session could not be opened. No sealed message was sent in any case.
public enum SessionOpenError: Error, Equatable, Sendable {
    /// The handshake never reached the pump.
    case notSent(NotSentReason)
    /// The handshake was sent but no reply came back (pump out of range?).
    case noReply(attempts: Int)
    /// The reply was refused or did not prove the pump's identity.
    case rejected(SessionError)
}
