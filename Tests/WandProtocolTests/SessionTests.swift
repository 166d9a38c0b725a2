import Testing
@testable import WandProtocol

/// A pump (endpoint plus a minimal therapy stand-in) and a host, wired
/// directly without a link, with fixed keys and nonces.
struct SessionRig {
    static let keyBytes: [UInt8] = (0..<32).map { UInt8($0) }
    static let key = PumpKey(bytes: keyBytes)
    static let serial = "SP-12345"

    var pump: PumpSessionEndpoint
    var outcomes = CommandOutcomeStore()
    var executions: [PumpRequest] = []
    var now: Duration = .zero

    init(idleTimeout: Duration = .seconds(120)) {
        // Pump nonce 22 x 32, then session id bytes 01 02 03 04.
        let pumpNonces = NonceSource { count in count == 32 ? [UInt8](repeating: 0x22, count: 32) : [0x01, 0x02, 0x03, 0x04] }
        pump = PumpSessionEndpoint(serial: Self.serial, key: Self.key ?? Self.fallbackKey, idleTimeout: idleTimeout, nonces: pumpNonces)
    }

    static let fallbackKey = PumpKey(bytes: [UInt8](repeating: 9, count: 32)) ?? { preconditionFailure("32-byte key") }()

    /// The pump's reply frame body to a frame body, executing accepted
    /// requests with a stand-in that records them and always succeeds.
    mutating func deliver(_ body: [UInt8], refusingWith refusal: PumpRefusal? = nil) -> [UInt8]? {
        var executed: [PumpRequest] = []
        let reply = pump.handle(frameBody: body, now: now, utcSeconds: 1_700_000_000, outcomes: &outcomes) { request in
            executed.append(request)
            if let refusal { return .refused(request.opcode, refusal) }
            if let id = request.commandId {
                if case .stagePrescription(let stage) = request {
                    return .staged(StageReceipt(commandId: id, stagedHash: stage.prescription.hash))
                }
                return .executed(request.opcode, CommandReceipt(commandId: id, executedAtUTCSeconds: 1_700_000_000))
            }
            return .clock(WireTime(utcSeconds: 1_700_000_000, zoneOffsetMinutes: 0))
        }
        executions += executed
        return reply
    }

    /// The reply to a frame body, failing the test when the pump dropped it.
    mutating func answer(_ body: [UInt8]) throws -> [UInt8] {
        guard let reply = deliver(body) else { throw RigError.dropped }
        return reply
    }

    enum RigError: Error { case dropped }

    /// Opens a session with host nonce 11 x 32.
    mutating func openSession(sequence: UInt16 = 1) throws -> HostSession {
        let handshake = SessionHandshake(nonces: NonceSource { [UInt8](repeating: 0x11, count: $0) })
        let requestBody = FrameHeader(kind: .pumpMessage, sequence: sequence).encoded + handshake.request.encoded
        let replyBody = try #require(deliver(requestBody))
        let reply = try Frame(body: replyBody)
        return try handshake.complete(replyPayload: reply.payload) { $0 == Self.serial ? Self.key : nil }
    }
}

@Suite("Sessions: handshake, sealing, replay rules, exactly-once commands")
struct SessionTests {
    @Test("Handshake derives the same keys on both sides; first sealed request is answered")
    func handshake() throws {
        var rig = SessionRig()
        var host = try rig.openSession()
        #expect(host.sessionId == 0x0403_0201)  // bytes 01 02 03 04, little-endian
        #expect(host.pumpSerial == "SP-12345")
        let (body, counter) = try host.seal(.readClock(ReadClock()), sequence: 2)
        #expect(counter == 1)
        let reply = try Frame(body: try rig.answer((body)))
        #expect(reply.header == FrameHeader(kind: .pumpMessage, sequence: 2, flags: [.sealed, .fromPump]))
        #expect(try host.open(reply, answering: counter) == .clock(WireTime(utcSeconds: 1_700_000_000, zoneOffsetMinutes: 0)))
        #expect(rig.executions.count == 1)
    }

    @Test("A retransmitted handshake gets the same reply and session, not a new one")
    func handshakeRetransmission() throws {
        // System nonces: a second session would carry a different pump nonce.
        var pump = PumpSessionEndpoint(serial: "SP-12345", key: SessionRig.fallbackKey, nonces: .system)
        var outcomes = CommandOutcomeStore()
        let body = FrameHeader(kind: .pumpMessage, sequence: 1).encoded + OpenSessionRequest(hostNonce: [UInt8](repeating: 0x11, count: 32)).encoded
        let first = pump.handle(frameBody: body, now: .zero, utcSeconds: 0, outcomes: &outcomes) { _ in .sessionClosed }
        let second = pump.handle(frameBody: body, now: .zero, utcSeconds: 0, outcomes: &outcomes) { _ in .sessionClosed }
        #expect(first != nil)
        #expect(first == second)
        #expect(pump.statistics.retransmissionsAnswered == 1)
        // A different handshake (new host nonce) does start a new session.
        let other = FrameHeader(kind: .pumpMessage, sequence: 2).encoded + OpenSessionRequest(hostNonce: [UInt8](repeating: 0x12, count: 32)).encoded
        let third = pump.handle(frameBody: other, now: .zero, utcSeconds: 0, outcomes: &outcomes) { _ in .sessionClosed }
        #expect(third != nil)
        // Pump nonce: after header (5), 81 00, serial length and 8 serial bytes = offset 16.
        #expect(Array((third ?? []).dropFirst(16).prefix(32)) != Array((first ?? []).dropFirst(16).prefix(32)))
    }

    @Test("A host with the wrong key rejects the pump's confirmation")
    func wrongKey() throws {
        var rig = SessionRig()
        let handshake = SessionHandshake(nonces: NonceSource { [UInt8](repeating: 0x11, count: $0) })
        let reply = try Frame(body: try rig.answer((FrameHeader(kind: .pumpMessage, sequence: 1).encoded + handshake.request.encoded)))
        let wrong = PumpKey(bytes: [UInt8](repeating: 0x55, count: 32))
        #expect(throws: SessionError.confirmationFailed) { try handshake.complete(replyPayload: reply.payload) { _ in wrong } }
        #expect(throws: SessionError.unknownPump(serial: "SP-12345")) { try handshake.complete(replyPayload: reply.payload) { _ in nil } }
    }

    @Test("An exact retransmission is answered from cache with identical bytes and not executed again")
    func retransmission() throws {
        var rig = SessionRig()
        var host = try rig.openSession()
        let bolus = PumpRequest.startBolus(StartBolus(commandId: Fixture.commandId, expiry: Fixture.expiry, kind: .therapeutic, doseNanograms: 100_000,
                                                      volumeNanolitres: 50_000, durationSeconds: 900))
        let (body, counter) = try host.seal(bolus, sequence: 7)
        let first = try rig.answer((body))
        let second = try rig.answer((body))
        #expect(first == second)
        #expect(rig.executions.count == 1)
        #expect(rig.pump.statistics.retransmissionsAnswered == 1)
        #expect(try host.open(Frame(body: second), answering: counter) == .executed(.startBolus, CommandReceipt(commandId: Fixture.commandId, executedAtUTCSeconds: 1_700_000_000)))
        // The duplicate reply (same pump counter) is now a replay to the host.
        #expect(throws: SessionError.replayed(counter: 1)) { try host.open(Frame(body: first), answering: counter) }
    }

    @Test("A replayed older request is rejected, counted and not executed")
    func replayOfOlder() throws {
        var rig = SessionRig()
        var host = try rig.openSession()
        let (first, _) = try host.seal(.stopInfusion(StopInfusion(commandId: Fixture.commandId, expiry: Fixture.expiry)), sequence: 2)
        let (second, _) = try host.seal(.readClock(ReadClock()), sequence: 3)
        #expect(rig.deliver(first) != nil)
        #expect(rig.deliver(second) != nil)
        #expect(rig.deliver(first) == nil)  // counter 1 after counter 2
        #expect(rig.pump.statistics.replaysRejected == 1)
        #expect(rig.executions.count == 2)
    }

    @Test("Reordered delivery: the later counter wins, the earlier one is refused as old")
    func reorder() throws {
        var rig = SessionRig()
        var host = try rig.openSession()
        let (first, _) = try host.seal(.readClock(ReadClock()), sequence: 2)
        let (second, _) = try host.seal(.readClock(ReadClock()), sequence: 3)
        #expect(rig.deliver(second) != nil)
        #expect(rig.deliver(first) == nil)
        #expect(rig.pump.statistics.replaysRejected == 1)
        #expect(rig.executions.count == 1)
    }

    @Test("A frame with the same counter but other bytes is refused, not served from cache")
    func sameCounterOtherBytes() throws {
        var rig = SessionRig()
        var host = try rig.openSession()
        let (body, _) = try host.seal(.readClock(ReadClock()), sequence: 2)
        #expect(rig.deliver(body) != nil)
        var altered = body
        altered[2] ^= 0x01  // sequence changed: header is authenticated
        #expect(rig.deliver(altered) == nil)
        #expect(rig.pump.statistics.replaysRejected == 1)
    }

    @Test("Every single-bit flip of a sealed request is rejected and counted; nothing executes")
    func forgery() throws {
        var rig = SessionRig()
        var host = try rig.openSession()
        let (body, _) = try host.seal(.stopInfusion(StopInfusion(commandId: Fixture.commandId, expiry: Fixture.expiry)), sequence: 2)
        var rejected = 0
        for index in 0..<body.count {
            for bit in 0..<8 {
                var flipped = body
                flipped[index] ^= UInt8(1) << UInt8(bit)
                if rig.deliver(flipped) == nil { rejected += 1 }
            }
        }
        #expect(rejected == body.count * 8)
        #expect(rig.executions.isEmpty)
        #expect(rig.pump.statistics.forgeriesRejected > 0)
        // The genuine frame still works afterwards: forgeries did not advance the counter.
        #expect(rig.deliver(body) != nil)
        #expect(rig.executions.count == 1)
    }

    @Test("A forged reply is rejected by the host")
    func forgedReply() throws {
        var rig = SessionRig()
        var host = try rig.openSession()
        let (body, counter) = try host.seal(.readClock(ReadClock()), sequence: 2)
        var reply = try rig.answer((body))
        reply[reply.count - 1] ^= 0x80
        #expect(throws: SessionError.authenticationFailed) { try host.open(Frame(body: reply), answering: counter) }
    }

    @Test("A repeated command id in a new session returns the stored outcome without executing")
    func exactlyOnceAcrossSessions() throws {
        var rig = SessionRig()
        var host = try rig.openSession()
        let request = PumpRequest.stopInfusion(StopInfusion(commandId: Fixture.commandId, expiry: Fixture.expiry))
        let (body, counter) = try host.seal(request, sequence: 2)
        let firstReply = try host.open(Frame(body: try rig.answer((body))), answering: counter)
        // New session (lost reply, host restarted): same command id again.
        var second = try rig.openSession(sequence: 3)
        let (again, againCounter) = try second.seal(request, sequence: 4)
        let secondReply = try second.open(Frame(body: try rig.answer((again))), answering: againCounter)
        #expect(firstReply == secondReply)
        #expect(rig.executions.count == 1)
        // The same id for a different command is refused.
        let (conflict, conflictCounter) = try second.seal(.resumeInfusion(ResumeInfusion(commandId: Fixture.commandId, expiry: Fixture.expiry)), sequence: 5)
        #expect(try second.open(Frame(body: try rig.answer((conflict))), answering: conflictCounter)
                == .refused(.resumeInfusion, .commandIdReused))
        #expect(rig.executions.count == 1)
        // Query the outcome: the stored reply comes back.
        let (query, queryCounter) = try second.seal(.queryCommandOutcome(QueryCommandOutcome(commandId: Fixture.commandId)), sequence: 6)
        let outcome = try second.open(Frame(body: try rig.answer((query))), answering: queryCounter)
        guard case .outcome(let report) = outcome else { Issue.record("expected an outcome report"); return }
        #expect(try report.decodedReply() == firstReply)
        // An unknown id is reported unknown.
        let unknown = try #require(CommandID(bytes: [UInt8](repeating: 0xEE, count: 16)))
        let (query2, query2Counter) = try second.seal(.queryCommandOutcome(QueryCommandOutcome(commandId: unknown)), sequence: 7)
        #expect(try second.open(Frame(body: try rig.answer((query2))), answering: query2Counter)
                == .outcome(CommandOutcomeReport(commandId: unknown, storedReply: nil)))
    }

    @Test("An idle session expires; a sealed request after expiry is dropped")
    func idleExpiry() throws {
        var rig = SessionRig(idleTimeout: .seconds(120))
        var host = try rig.openSession()
        let (first, _) = try host.seal(.readClock(ReadClock()), sequence: 2)
        rig.now = .seconds(100)
        #expect(rig.deliver(first) != nil)
        let (second, _) = try host.seal(.readClock(ReadClock()), sequence: 3)
        rig.now = .seconds(100 + 121)  // 121 s after the last accepted request
        #expect(rig.deliver(second) == nil)
        #expect(rig.pump.statistics.sessionsExpired == 1)
        #expect(rig.pump.statistics.withoutSession == 1)
        #expect(rig.executions.count == 1)
    }

    @Test("After close, new requests are dropped; the close itself can be retransmitted")
    func close() throws {
        var rig = SessionRig()
        var host = try rig.openSession()
        let (closeBody, closeCounter) = try host.seal(.closeSession(CloseSession()), sequence: 2)
        let reply = try rig.answer((closeBody))
        #expect(rig.deliver(closeBody) == reply)
        #expect(try host.open(Frame(body: reply), answering: closeCounter) == .sessionClosed)
        let (late, _) = try host.seal(.readClock(ReadClock()), sequence: 3)
        #expect(rig.deliver(late) == nil)
    }

    @Test("A reply for another request is refused by the host")
    func replyBinding() throws {
        var rig = SessionRig()
        var host = try rig.openSession()
        let (first, firstCounter) = try host.seal(.readClock(ReadClock()), sequence: 2)
        let reply = try rig.answer((first))
        #expect(throws: SessionError.answersOtherRequest(expected: firstCounter + 1, found: firstCounter)) {
            try host.open(Frame(body: reply), answering: firstCounter + 1)
        }
    }

    @Test("The outcome store is bounded and forgets the oldest first")
    func storeBound() throws {
        var store = CommandOutcomeStore(capacity: 64)
        // Ids 01...01 to 46...46 (the all-zero id is reserved).
        for index in 1...70 {
            let id = try #require(CommandID(bytes: [UInt8](repeating: UInt8(index), count: 16)))
            store.record(id, requestPlaintext: [0x09] + id.bytes, reply: [0x89, 0x00], utcSeconds: Int64(index))
        }
        #expect(store.entries.count == 64)
        let oldest = try #require(CommandID(bytes: [UInt8](repeating: 1, count: 16)))
        let newest = try #require(CommandID(bytes: [UInt8](repeating: 70, count: 16)))
        #expect(store.lookup(oldest, requestPlaintext: [0x09] + oldest.bytes) == .new)
        #expect(store.lookup(newest, requestPlaintext: [0x09] + newest.bytes) == .repeated(reply: [0x89, 0x00]))
        #expect(store.recentRecords().first?.commandId == newest)
        #expect(store.recentRecords().count == 8)
    }
}
