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

    /// Pump ephemeral private key 22 x 32, then session id bytes 01 02 03 04.
    static let fixedPumpNonces = NonceSource { count in count == 32 ? [UInt8](repeating: 0x22, count: 32) : [0x01, 0x02, 0x03, 0x04] }

    /// A rig whose pump draws fixed ephemerals (for vectors) or, with
    /// `pumpNonces: .system`, fresh ones as a real pump does.
    init(idleTimeout: Duration = .seconds(120), pumpNonces: NonceSource = SessionRig.fixedPumpNonces) {
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
        return try handshake.complete(replyPayload: reply.payload, candidates: Self.candidates)
    }

    /// The host's keyring in these tests: the rig pump's key, kept for its serial.
    static var candidates: [PumpKeyCandidate] { [PumpKeyCandidate(serial: serial, key: key ?? fallbackKey)] }
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
        // System randomness at the pump: a second handshake would carry another pump ephemeral.
        var pump = PumpSessionEndpoint(serial: "SP-12345", key: SessionRig.fallbackKey, nonces: .system)
        var outcomes = CommandOutcomeStore()
        let request = SessionHandshake(nonces: NonceSource { [UInt8](repeating: 0x11, count: $0) }).request
        let body = FrameHeader(kind: .pumpMessage, sequence: 1).encoded + request.encoded
        let first = pump.handle(frameBody: body, now: .zero, utcSeconds: 0, outcomes: &outcomes) { _ in .sessionClosed }
        let second = pump.handle(frameBody: body, now: .zero, utcSeconds: 0, outcomes: &outcomes) { _ in .sessionClosed }
        #expect(first != nil)
        #expect(first == second)
        #expect(pump.statistics.retransmissionsAnswered == 1)
        // A different handshake (another host ephemeral) gets a new pump ephemeral.
        let otherRequest = SessionHandshake(nonces: NonceSource { [UInt8](repeating: 0x12, count: $0) }).request
        let other = FrameHeader(kind: .pumpMessage, sequence: 2).encoded + otherRequest.encoded
        let third = pump.handle(frameBody: other, now: .zero, utcSeconds: 0, outcomes: &outcomes) { _ in .sessionClosed }
        #expect(third != nil)
        // Pump ephemeral: after the header (5) and 81 00, offset 7.
        #expect(Array((third ?? []).dropFirst(7).prefix(32)) != Array((first ?? []).dropFirst(7).prefix(32)))
    }

    @Test("A host with no matching key finds no key id; a corrupted payload fails confirmation")
    func wrongKey() throws {
        var rig = SessionRig()
        let handshake = SessionHandshake(nonces: NonceSource { [UInt8](repeating: 0x11, count: $0) })
        let reply = try Frame(body: try rig.answer((FrameHeader(kind: .pumpMessage, sequence: 1).encoded + handshake.request.encoded)))
        let wrong = try #require(PumpKey(bytes: [UInt8](repeating: 0x55, count: 32)))
        #expect(throws: SessionError.unknownPump) {
            try handshake.complete(replyPayload: reply.payload, candidates: [PumpKeyCandidate(serial: nil, key: wrong)])
        }
        #expect(throws: SessionError.unknownPump) { try handshake.complete(replyPayload: reply.payload, candidates: []) }
        var corrupted = reply.payload
        corrupted[corrupted.count - 20] ^= 0x01  // inside the sealed payload
        #expect(throws: SessionError.confirmationFailed) {
            try handshake.complete(replyPayload: corrupted, candidates: SessionRig.candidates)
        }
        // The key kept for another serial opens the payload, but the serial must match.
        let key = try #require(SessionRig.key)
        #expect(throws: SessionError.serialMismatch(expected: "SP-99999", found: "SP-12345")) {
            try handshake.complete(replyPayload: reply.payload, candidates: [PumpKeyCandidate(serial: "SP-99999", key: key)])
        }
        // Among many keys, the one whose key id matches is used, whatever its place.
        var keyring = (1...300).compactMap { index in
            PumpKey(bytes: [UInt8](repeating: UInt8(truncatingIfNeeded: index), count: 31) + [0xA5])
                .map { PumpKeyCandidate(serial: "SP-\(index)", key: $0) }
        }
        keyring.insert(contentsOf: SessionRig.candidates, at: 150)
        #expect(try handshake.complete(replyPayload: reply.payload, candidates: keyring).pumpSerial == "SP-12345")
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
