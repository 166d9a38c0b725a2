import Testing
@testable import WandProtocol

/// A scripted link: for each frame sent it asks `react` what the far end
/// does, records every byte sent, and hands queued replies back in the
/// chunking given. Receiving with nothing queued times out at once, so no
/// test waits on a clock.
actor ScriptedLink: FrameLink {
    enum Reaction: Sendable {
        /// Deliver these chunks (already framed wire bytes, split as given).
        case reply([[UInt8]])
        /// Nothing comes back.
        case silence
        /// The send fails with nothing written.
        case refuseSend
        /// The send fails after some bytes may have gone out.
        case breakDuringSend
    }

    struct Broken: Error {}

    private let react: @Sendable (_ attempt: Int, _ sent: [UInt8]) -> Reaction
    private(set) var sent: [[UInt8]] = []
    private var queued: [[UInt8]] = []

    init(react: @escaping @Sendable (_ attempt: Int, _ sent: [UInt8]) -> Reaction) { self.react = react }

    func send(_ bytes: [UInt8]) async throws {
        switch react(sent.count + 1, bytes) {
        case .refuseSend: throw FrameLinkError.notSent(reason: "device closed")
        case .breakDuringSend:
            sent.append(bytes)
            throw Broken()
        case .silence: sent.append(bytes)
        case .reply(let chunks):
            sent.append(bytes)
            queued += chunks
        }
    }

    func receive(until deadline: ContinuousClock.Instant) async throws -> [UInt8]? {
        queued.isEmpty ? nil : queued.removeFirst()
    }
}

/// A link with a pump behind it (the session endpoint and a stand-in
/// therapy) that can lose chosen replies.
actor PumpBehindLink: FrameLink {
    private var rig = SessionRig()
    private var decoder = FrameDecoder()
    private var queued: [[UInt8]] = []
    private var replyNumber = 0
    private let loseReplies: Set<Int>
    private let refuseWith: PumpRefusal?
    private(set) var sent: [[UInt8]] = []

    init(loseReplies: Set<Int> = [], refuseWith: PumpRefusal? = nil) {
        self.loseReplies = loseReplies
        self.refuseWith = refuseWith
    }

    var executions: [PumpRequest] { rig.executions }
    var pumpStatistics: PumpSessionEndpoint.Statistics { rig.pump.statistics }

    func send(_ bytes: [UInt8]) async throws {
        sent.append(bytes)
        let bodies = decoder.feed(bytes)
        for body in bodies {
            var pump = rig
            let reply = pump.deliver(body, refusingWith: refuseWith)
            rig = pump
            guard let reply else { continue }
            replyNumber += 1
            if loseReplies.contains(replyNumber) { continue }
            // Deliver one byte at a time to exercise the decoder.
            let wire = try FrameEncoder.encode(reply)
            queued.append(contentsOf: wire.map { [$0] })
        }
    }

    func receive(until deadline: ContinuousClock.Instant) async throws -> [UInt8]? {
        queued.isEmpty ? nil : queued.removeFirst()
    }
}

/// A wand relay in front of a pump whose behaviour for each attempt of a
/// sealed request is scripted. The handshake is always relayed truthfully.
/// The relay may pass the pump's reply back, deliver the frame and answer
/// with a NAK instead (a lying relay), NAK without delivering, or the link
/// may refuse the bytes before any leaves the host.
actor RelayLink: FrameLink {
    enum Behaviour: Sendable {
        case relay
        case relayButAnswer(NegativeAcknowledgement)
        case answerWithoutRelaying(NegativeAcknowledgement)
        case refuseSend
    }

    private var rig = SessionRig()
    private var decoder = FrameDecoder()
    private var queued: [[UInt8]] = []
    private var sealedAttempts = 0
    private let script: @Sendable (_ sealedAttempt: Int) -> Behaviour
    /// Sealed frames whose bytes left the host (the link accepted them).
    private(set) var sealedFramesSent = 0

    init(script: @escaping @Sendable (_ sealedAttempt: Int) -> Behaviour) { self.script = script }

    var executions: [PumpRequest] { rig.executions }

    func send(_ bytes: [UInt8]) async throws {
        var peek = decoder
        let bodies = peek.feed(bytes)
        let sealed = bodies.contains { (try? Frame(body: $0))?.header.flags.contains(.sealed) == true }
        var behaviour = Behaviour.relay
        if sealed {
            sealedAttempts += 1
            behaviour = script(sealedAttempts)
            if case .refuseSend = behaviour { throw FrameLinkError.notSent(reason: "link refused") }
            sealedFramesSent += 1
        }
        decoder = peek
        for body in bodies {
            let sequence = (try? Frame(body: body))?.header.sequence ?? 0
            switch behaviour {
            case .relay:
                if let reply = rig.deliver(body) { queued.append(try FrameEncoder.encode(reply)) }
            case .relayButAnswer(let nak):
                _ = rig.deliver(body)
                queued.append(try FrameEncoder.encode(FrameHeader(kind: .negativeAcknowledgement, sequence: sequence).encoded + nak.encoded))
            case .answerWithoutRelaying(let nak):
                queued.append(try FrameEncoder.encode(FrameHeader(kind: .negativeAcknowledgement, sequence: sequence).encoded + nak.encoded))
            case .refuseSend:
                break
            }
        }
    }

    func receive(until deadline: ContinuousClock.Instant) async throws -> [UInt8]? {
        queued.isEmpty ? nil : queued.removeFirst()
    }
}

/// A pump behind a link that holds the pump's replies until the test
/// releases them, and writes down the order of everything that crosses it:
/// "sent N" when a frame with sequence N leaves the host, "replied N" when
/// the reply to it is handed back. A receive with nothing released waits
/// for a release (or, should a test be broken, the deadline), so the
/// passing path never sleeps.
actor HeldRepliesLink: FrameLink {
    private var rig = SessionRig()
    private var decoder = FrameDecoder()
    private var held: [(sequence: UInt16, wire: [UInt8])] = []
    private var released: [(sequence: UInt16, wire: [UInt8])] = []
    /// Receives waiting for a release, by ticket (several wait at once only
    /// if the channel failed to serialize its exchanges).
    private var waiters: [Int: CheckedContinuation<Void, Never>] = [:]
    private var nextWaiter = 0
    /// While false, replies are handed back at once (for the handshake).
    var holding = false
    private(set) var log: [String] = []
    private(set) var sealedFrames: [Frame] = []

    var executions: [PumpRequest] { rig.executions }

    func hold() { holding = true }

    /// Hands every held reply back to the host.
    func release() {
        released += held
        held.removeAll()
        let woken = waiters.values
        waiters.removeAll()
        for waiter in woken { waiter.resume() }
    }

    func send(_ bytes: [UInt8]) async throws {
        for body in decoder.feed(bytes) {
            let frame = try Frame(body: body)
            log.append("sent \(frame.header.sequence)")
            if frame.header.flags.contains(.sealed) { sealedFrames.append(frame) }
            guard let reply = rig.deliver(body) else { continue }
            let entry = (frame.header.sequence, try FrameEncoder.encode(reply))
            if holding { held.append(entry) } else { released.append(entry) }
        }
    }

    func receive(until deadline: ContinuousClock.Instant) async throws -> [UInt8]? {
        if released.isEmpty {
            nextWaiter += 1
            let ticket = nextWaiter
            let timer = Task { [weak self] in
                try? await Task.sleep(until: deadline, clock: .continuous)
                await self?.wake(ticket)
            }
            await withCheckedContinuation { waiters[ticket] = $0 }
            timer.cancel()
        }
        guard !released.isEmpty else { return nil }
        let next = released.removeFirst()
        log.append("replied \(next.sequence)")
        return next.wire
    }

    private func wake(_ ticket: Int) {
        waiters.removeValue(forKey: ticket)?.resume()
    }
}

/// Waits, yielding (never sleeping), until `condition` holds; false after
/// `limit` yields so a broken test fails instead of hanging.
/// Waits until `condition` holds, for up to `seconds` of wall time: a
/// count of yields is no measure on a loaded 2-core machine, where the task
/// being waited for may not have run at all yet. Sleeping lets it run.
func eventually(seconds: Int = 30, _ condition: () async -> Bool) async -> Bool {
    let deadline = ContinuousClock.now + .seconds(seconds)
    while ContinuousClock.now < deadline {
        if await condition() { return true }
        try? await Task.sleep(for: .milliseconds(1))
    }
    return await condition()
}

@Suite("Exchange layer: retries, timeouts and the three-way result")
struct ExchangeTests {
    static let info = WandInfo(firmwareMajor: 1, firmwareMinor: 4, firmwarePatch: 2, serial: "PW-00042", supportedVersions: [2])

    static func wandReply(to sent: [UInt8], kind: FrameKind = .wandResponse, payload: [UInt8]) -> [UInt8] {
        var decoder = FrameDecoder()
        let sequence = decoder.feed(sent).first.flatMap { try? Frame(body: $0) }?.header.sequence ?? 0
        return (try? FrameEncoder.encode(FrameHeader(kind: kind, sequence: sequence).encoded + payload)) ?? []
    }

    @Test("A wand info exchange answered in split chunks completes on the first attempt")
    func wandInfo() async throws {
        let link = ScriptedLink { _, sent in
            let reply = ExchangeTests.wandReply(to: sent, payload: WandResponse.info(ExchangeTests.info).encoded)
            return .reply([Array(reply[0..<3]), Array(reply[3..<9]), Array(reply[9...])])
        }
        let channel = WandChannel(link: link)
        guard case .replied(let response, let attempts) = await channel.wand(.info) else {
            Issue.record("expected a reply"); return
        }
        #expect(response == .info(Self.info))
        #expect(attempts == 1)
        // The bytes sent are the framed request: header 02 01 0100 00, opcode 01.
        #expect(await link.sent == [try FrameEncoder.encode(hex("02 01 0100 00 01"))])
    }

    @Test("Silence on every attempt: the identical frame is sent 3 times, then unacknowledged")
    func silence() async {
        let link = ScriptedLink { _, _ in .silence }
        let channel = WandChannel(link: link, policy: RetryPolicy(attemptTimeout: .milliseconds(1), maximumAttempts: 3))
        guard case .unacknowledged(let attempts, let nak, _) = await channel.wand(.linkStatus) else {
            Issue.record("expected unacknowledged"); return
        }
        #expect(attempts == 3)
        #expect(nak == nil)
        let sent = await link.sent
        #expect(sent.count == 3)
        #expect(Set(sent).count == 1)
    }

    @Test("A reply to the second attempt completes after a retransmission")
    func secondAttempt() async {
        let link = ScriptedLink { attempt, sent in
            attempt == 1 ? .silence : .reply([ExchangeTests.wandReply(to: sent, payload: [0x84])])
        }
        let channel = WandChannel(link: link)
        guard case .replied(let response, let attempts) = await channel.wand(.linkReset) else {
            Issue.record("expected a reply"); return
        }
        #expect(response == .linkReset)
        #expect(attempts == 2)
        #expect(await channel.statistics.retransmissions == 1)
    }

    @Test("The wand proving non-delivery on every attempt is a certain failure")
    func notInRange() async {
        let link = ScriptedLink { _, sent in
            .reply([ExchangeTests.wandReply(to: sent, kind: .negativeAcknowledgement, payload: [0x04])])
        }
        let channel = WandChannel(link: link)
        guard case .notSent(let reason) = await channel.wand(.info) else { Issue.record("expected not sent"); return }
        #expect(reason == .wandRefused(.pumpNotInRange))
        #expect(await link.sent.count == 3)
    }

    @Test("A 'no pump reply' NAK leaves the outcome unknown")
    func noPumpReply() async {
        let link = ScriptedLink { _, sent in
            .reply([ExchangeTests.wandReply(to: sent, kind: .negativeAcknowledgement, payload: [0x06])])
        }
        let channel = WandChannel(link: link)
        guard case .unacknowledged(let attempts, let nak, _) = await channel.wand(.info) else {
            Issue.record("expected unacknowledged"); return
        }
        #expect(attempts == 3)
        #expect(nak == .noPumpReply)
    }

    @Test("Mixed: one attempt refused by the wand, one silent: unknown, not certain")
    func mixed() async {
        let link = ScriptedLink { attempt, sent in
            attempt == 2 ? .silence : .reply([ExchangeTests.wandReply(to: sent, kind: .negativeAcknowledgement, payload: [0x05])])
        }
        let channel = WandChannel(link: link)
        guard case .unacknowledged = await channel.wand(.info) else { Issue.record("expected unacknowledged"); return }
    }

    @Test("A link that refuses every send is a certain failure; one that breaks mid-send is not")
    func linkFailures() async {
        let refusing = WandChannel(link: ScriptedLink { _, _ in .refuseSend })
        guard case .notSent(.linkRefused) = await refusing.wand(.info) else { Issue.record("expected not sent"); return }
        let breaking = WandChannel(link: ScriptedLink { _, _ in .breakDuringSend })
        guard case .unacknowledged(let attempts, _, let error) = await breaking.wand(.info) else {
            Issue.record("expected unacknowledged"); return
        }
        #expect(attempts == 1)
        #expect(error != nil)
    }

    @Test("Replies with another sequence and wand events are not taken as the answer")
    func staleReplies() async {
        let link = ScriptedLink { _, sent in
            let stale = (try? FrameEncoder.encode(FrameHeader(kind: .wandResponse, sequence: 999).encoded + [0x84])) ?? []
            let event = (try? FrameEncoder.encode(FrameHeader(kind: .event, sequence: 0).encoded + [0x02])) ?? []
            return .reply([stale, event, ExchangeTests.wandReply(to: sent, payload: [0x84])])
        }
        let channel = WandChannel(link: link)
        guard case .replied(.linkReset, 1) = await channel.wand(.linkReset) else { Issue.record("expected a reply"); return }
        #expect(await channel.statistics.unmatchedFrames == 1)
        #expect(await channel.events == [.pumpLeftRange])
    }

    static func openedChannel(_ link: PumpBehindLink) async throws -> WandChannel {
        let channel = WandChannel(link: link)
        let opened = await channel.openSession(nonces: NonceSource { [UInt8](repeating: 0x11, count: $0) }, candidates: SessionRig.candidates)
        guard case .success = opened else { throw SessionRig.RigError.dropped }
        return channel
    }

    static let bolus = PumpRequest.startBolus(StartBolus(commandId: Fixture.commandId, expiry: Fixture.expiry, kind: .therapeutic, doseNanograms: 100_000,
                                                         volumeNanolitres: 50_000, durationSeconds: 900))

    @Test("A lost pump reply: retransmission answered from the pump's cache, executed once")
    func lostReply() async throws {
        // Reply 1 is the handshake; reply 2 (the bolus's first answer) is lost.
        let link = PumpBehindLink(loseReplies: [2])
        let channel = try await Self.openedChannel(link)
        let result = await channel.send(Self.bolus)
        #expect(result == .completed(.executed(.startBolus, CommandReceipt(commandId: Fixture.commandId, executedAtUTCSeconds: 1_700_000_000))))
        #expect(await link.executions.count == 1)
        #expect(await link.pumpStatistics.retransmissionsAnswered == 1)
        let sent = await link.sent
        #expect(sent.count == 3)
        #expect(sent[1] == sent[2])
    }

    @Test("All replies lost: unacknowledged; the command-id query then tells what happened")
    func unacknowledgedThenQuery() async throws {
        let link = PumpBehindLink(loseReplies: [2, 3, 4])
        let channel = try await Self.openedChannel(link)
        #expect(await channel.send(Self.bolus) == .unacknowledged(attempts: 3))
        #expect(await link.executions.count == 1)
        let query = await channel.send(.queryCommandOutcome(QueryCommandOutcome(commandId: Fixture.commandId)))
        guard case .completed(.outcome(let report)) = query else { Issue.record("expected an outcome"); return }
        #expect(try report.decodedReply() == .executed(.startBolus, CommandReceipt(commandId: Fixture.commandId, executedAtUTCSeconds: 1_700_000_000)))
    }

    @Test("A pump refusal is a certain failure; no session is a certain failure")
    func refusals() async throws {
        let link = PumpBehindLink(refuseWith: .bolusInProgress)
        let channel = try await Self.openedChannel(link)
        let result = await channel.send(Self.bolus)
        #expect(result == .refused(.startBolus, .bolusInProgress))
        #expect(result.isCertainFailure)
    }

    @Test("Without a session nothing is sent")
    func noSession() async {
        let fresh = WandChannel(link: ScriptedLink { _, _ in .silence })
        #expect(await fresh.send(Self.bolus) == .notSent(.noSession))
        #expect(PumpExchangeResult.unacknowledged(attempts: 3).isCertainFailure == false)
    }

    // MARK: A wand NAK never proves a sealed request was not delivered

    static func channel(over link: RelayLink) async throws -> WandChannel {
        let channel = WandChannel(link: link)
        let opened = await channel.openSession(nonces: NonceSource { [UInt8](repeating: 0x11, count: $0) }, candidates: SessionRig.candidates)
        guard case .success = opened else { throw SessionRig.RigError.dropped }
        return channel
    }

    @Test("A NAK of any reason after the request's bytes left is unacknowledged and carries that NAK",
          arguments: NegativeAcknowledgement.allCases)
    func nakAfterBytesLeft(nak: NegativeAcknowledgement) async throws {
        let link = RelayLink { _ in .answerWithoutRelaying(nak) }
        let channel = try await Self.channel(over: link)
        let result = await channel.send(Self.bolus)
        #expect(result == .unacknowledged(attempts: 3, linkError: nil, wandSaid: nak))
        #expect(result.isCertainFailure == false)
        #expect(await link.sealedFramesSent == 3)
    }

    /// The incident this rule comes from: the relay delivered the bolus and
    /// answered "pump not in range". Believing it, a host would have sent
    /// the bolus again under a new id; the pump would have run it twice.
    @Test("A relay that delivers and then claims each NAK reason cannot make a bolus look not sent",
          arguments: NegativeAcknowledgement.allCases)
    func lyingRelay(nak: NegativeAcknowledgement) async throws {
        let link = RelayLink { attempt in attempt == 1 ? .relayButAnswer(nak) : attempt <= 3 ? .answerWithoutRelaying(nak) : .relay }
        let channel = try await Self.channel(over: link)
        #expect(await channel.send(Self.bolus) == .unacknowledged(attempts: 3, linkError: nil, wandSaid: nak))
        #expect(await link.executions.count == 1)
        // The query the result calls for tells the truth: it was executed.
        let query = await channel.send(.queryCommandOutcome(QueryCommandOutcome(commandId: Fixture.commandId)))
        guard case .completed(.outcome(let report)) = query else { Issue.record("expected an outcome, got \(query)"); return }
        #expect(try report.decodedReply() == .executed(.startBolus, CommandReceipt(commandId: Fixture.commandId, executedAtUTCSeconds: 1_700_000_000)))
        // Executed once; the query is answered from the outcome store.
        #expect(await link.executions.count == 1)
    }

    @Test("A sealed request the link refused on every attempt is not sent, and the pump saw nothing")
    func allAttemptsRefusedByTheLink() async throws {
        let link = RelayLink { _ in .refuseSend }
        let channel = try await Self.channel(over: link)
        let result = await channel.send(Self.bolus)
        #expect(result == .notSent(.linkRefused(reason: "link refused")))
        #expect(result.isCertainFailure)
        #expect(await link.sealedFramesSent == 0)
        #expect(await link.executions.isEmpty)
    }

    @Test("Bytes that left on one attempt keep the request unacknowledged even when later attempts are refused")
    func leftOnceThenRefused() async throws {
        let link = RelayLink { attempt in attempt == 1 ? .answerWithoutRelaying(.pumpNotInRange) : .refuseSend }
        let channel = try await Self.channel(over: link)
        #expect(await channel.send(Self.bolus) == .unacknowledged(attempts: 3, linkError: nil, wandSaid: .pumpNotInRange))
    }

    @Test("The handshake still takes the wand's word: NAKs on every attempt are not sent")
    func handshakeBelievesTheWand() async throws {
        let link = ScriptedLink { _, sent in
            .reply([ExchangeTests.wandReply(to: sent, kind: .negativeAcknowledgement, payload: [0x04])])
        }
        let channel = WandChannel(link: link)
        let opened = await channel.openSession(candidates: SessionRig.candidates)
        guard case .failure(let error) = opened else { Issue.record("a session opened through NAKs"); return }
        #expect(error == .notSent(.wandRefused(.pumpNotInRange)))
        #expect(await link.sent.count == 3)
    }

    // MARK: One exchange at a time

    static let clockRead = PumpRequest.readClock(ReadClock())
    static let clockReply = PumpReply.clock(WireTime(utcSeconds: 1_700_000_000, zoneOffsetMinutes: 0))
    static let bolusReceipt = PumpReply.executed(.startBolus, CommandReceipt(commandId: Fixture.commandId, executedAtUTCSeconds: 1_700_000_000))

    static func heldChannel() async throws -> (HeldRepliesLink, WandChannel) {
        let link = HeldRepliesLink()
        let channel = WandChannel(link: link)
        let opened = await channel.openSession(nonces: NonceSource { [UInt8](repeating: 0x11, count: $0) }, candidates: SessionRig.candidates)
        guard case .success = opened else { throw SessionRig.RigError.dropped }
        await link.hold()
        return (link, channel)
    }

    @Test("Two concurrent sends go out strictly one exchange after the other, each reply opened by its own session state")
    func concurrentSendsAreSerialized() async throws {
        let (link, channel) = try await Self.heldChannel()
        let first = Task { await channel.send(Self.bolus) }
        #expect(await eventually { await link.sealedFrames.count == 1 })
        let second = Task { await channel.send(Self.clockRead) }
        // The second send is queued behind the first, and has sent nothing.
        #expect(await eventually { await channel.waitingExchanges == 1 })
        #expect(await link.sealedFrames.count == 1)

        await link.release()
        #expect(await first.value == .completed(Self.bolusReceipt))
        #expect(await eventually { await link.sealedFrames.count == 2 })
        await link.release()
        #expect(await second.value == .completed(Self.clockReply))

        // Handshake (sequence 1), then each exchange whole: out, answer, next.
        #expect(await link.log == ["sent 1", "replied 1", "sent 2", "replied 2", "sent 3", "replied 3"])
        // Sealed in call order, with consecutive counters.
        let counters = await link.sealedFrames.map { SessionCipher.counter(of: $0.payload) }
        #expect(counters == [1, 2])
        #expect(await link.executions.map(\.opcode) == [.startBolus, .readClock])
        #expect(await channel.pumpSession?.replyCounter == 2)
        #expect(await channel.statistics.rejectedReplies == 0)
    }

    @Test("Waiters get their turn first come, first served")
    func fifo() async throws {
        let (link, channel) = try await Self.heldChannel()
        let first = Task { await channel.send(Self.clockRead) }
        #expect(await eventually { await link.sealedFrames.count == 1 })
        var later: [Task<PumpExchangeResult, Never>] = []
        for index in 1...3 {
            later.append(Task { await channel.send(.readEventLog(ReadEventLog(page: UInt16(index)))) })
            #expect(await eventually { await channel.waitingExchanges == index })
        }
        for count in 2...4 {
            await link.release()
            #expect(await eventually { await link.sealedFrames.count == count })
        }
        await link.release()
        _ = await first.value
        for task in later { _ = await task.value }
        let pages = await link.executions.compactMap { request -> UInt16? in
            if case .readEventLog(let read) = request { return read.page }
            return nil
        }
        #expect(pages == [1, 2, 3])
    }

    @Test("A send cancelled while waiting its turn sends nothing and does not hold up the next one")
    func cancelledWhileWaiting() async throws {
        let (link, channel) = try await Self.heldChannel()
        let first = Task { await channel.send(Self.bolus) }
        #expect(await eventually { await link.sealedFrames.count == 1 })
        let cancelled = Task { await channel.send(.stopInfusion(StopInfusion(commandId: ProtocolExampleTests.cid2, expiry: Fixture.expiry))) }
        #expect(await eventually { await channel.waitingExchanges == 1 })
        let third = Task { await channel.send(Self.clockRead) }
        #expect(await eventually { await channel.waitingExchanges == 2 })
        cancelled.cancel()
        #expect(await cancelled.value == .notSent(.cancelled))
        #expect(await channel.waitingExchanges == 1)

        await link.release()
        #expect(await first.value == .completed(Self.bolusReceipt))
        #expect(await eventually { await link.sealedFrames.count == 2 })
        await link.release()
        #expect(await third.value == .completed(Self.clockReply))
        #expect(await link.executions.map(\.opcode) == [.startBolus, .readClock])
    }

    @Test("A session dropped while a reply is awaited is not brought back by that reply")
    func droppedSessionStaysDropped() async throws {
        let (link, channel) = try await Self.heldChannel()
        let inFlight = Task { await channel.send(Self.clockRead) }
        #expect(await eventually { await link.sealedFrames.count == 1 })
        await channel.dropSession()
        await link.release()
        // The reply is still opened with the session that sealed the request.
        #expect(await inFlight.value == .completed(Self.clockReply))
        #expect(await channel.pumpSession == nil)
        #expect(await channel.send(Self.clockRead) == .notSent(.noSession))
    }
}
