import Testing
@testable import WandProtocol

extension Fixture {
    /// Ten seconds after the pump clock the session fixtures run at
    /// (1 700 000 000): what a host would put on a request sent then.
    ///   1 700 000 010 = 0x6553F10A -> 0A F1 53 65 00 00 00 00
    static let expiry = RequestExpiry(utcSeconds: 1_700_000_010)
    static let expiryHex = "0AF1536500000000"
}

/// A pump endpoint whose clock the test sets, with a therapy stand-in that
/// records what it was asked to execute.
private struct ExpiryRig {
    var rig = SessionRig()
    var pumpClock: Int64 = 1_700_000_000
    var executions: [PumpRequest] = []

    mutating func deliver(_ body: [UInt8]) -> [UInt8]? {
        var executed: [PumpRequest] = []
        // The session's idle timer runs on its own clock (the rig's); only
        // the pump's UTC clock moves here, so expiry alone decides.
        let reply = rig.pump.handle(frameBody: body, now: rig.now, utcSeconds: pumpClock,
                                    outcomes: &rig.outcomes) { request in
            executed.append(request)
            guard let id = request.commandId else { return .clock(WireTime(utcSeconds: pumpClock, zoneOffsetMinutes: 0)) }
            return .executed(request.opcode, CommandReceipt(commandId: id, executedAtUTCSeconds: pumpClock))
        }
        executions += executed
        return reply
    }

    mutating func send(_ request: PumpRequest, host: inout HostSession, sequence: UInt16) throws -> PumpReply {
        let (body, counter) = try host.seal(request, sequence: sequence)
        let delivered = deliver(body)
        let reply = try #require(delivered)
        return try host.open(Frame(body: reply), answering: counter)
    }
}

@Suite("Request expiry: the field, the pump's rule and its order against the outcome store")
struct RequestExpiryTests {
    static let bolus = PumpRequest.startBolus(StartBolus(commandId: Fixture.commandId, expiry: Fixture.expiry, kind: .therapeutic,
                                                         doseNanograms: 100_000, volumeNanolitres: 50_000, durationSeconds: 900))

    @Test("Every state-changing request carries its expiry at offset 17, right after the command id; no read does")
    func everyStateChangingRequestCarriesIt() {
        var rng = SplitMix(seed: 0x1B)
        var seen = Set<PumpOpcode>()
        for _ in 0..<2_000 {
            let request = MessageGenerators.randomRequest(&rng)
            seen.insert(request.opcode)
            guard request.opcode.changesState else {
                #expect(request.expiry == nil, "\(request.opcode)")
                continue
            }
            guard let expiry = request.expiry else {
                Issue.record("\(request.opcode) carries no expiry")
                continue
            }
            var writer = ByteWriter()
            expiry.write(to: &writer)
            #expect(Array(request.encoded[17..<25]) == writer.bytes, "\(request.opcode)")
        }
        let stateChanging = Set(PumpOpcode.allCases.filter(\.changesState))
        #expect(stateChanging.isSubset(of: seen))
    }

    @Test("An expiry outside the wire's time range does not decode")
    func outOfRangeExpiryDoesNotDecode() throws {
        for bad: Int64 in [-1, WireTime.maximumUTCSeconds + 1, .max, .min] {
            var bytes = Self.bolus.encoded
            var writer = ByteWriter()
            writer.int64(bad)
            bytes.replaceSubrange(17..<25, with: writer.bytes)
            #expect(throws: WireError.invalidValue(field: "request.expiry", value: bad)) {
                _ = try PumpRequest(decoding: bytes)
            }
        }
    }

    @Test("The pump's rule: past the expiry is requestExpired, more than 60 s ahead is malformed, the edges are in time")
    func rule() {
        let expiry = RequestExpiry(utcSeconds: 1_000)
        #expect(expiry.refusal(atPumpClock: 1_001) == .requestExpired)
        #expect(expiry.refusal(atPumpClock: 1_000) == nil)
        #expect(expiry.refusal(atPumpClock: 940) == nil)
        #expect(expiry.refusal(atPumpClock: 939) == .malformedRequest)
        // A clock far below zero cannot overflow the difference into "in time".
        #expect(expiry.refusal(atPumpClock: .min) == .malformedRequest)
        #expect(RequestExpiry(utcSeconds: 0).refusal(atPumpClock: .max) == .requestExpired)
    }

    @Test("The host's expiry is its validity after the pump clock, held inside the wire range")
    func hostExpiry() {
        #expect(RequestExpiry.after(pumpClock: 1_700_000_000) == Fixture.expiry)
        #expect(RequestExpiry.hostValiditySeconds < RequestExpiry.maximumAheadSeconds)
        // Three attempts of the standard policy fit inside the validity.
        let attempts = RetryPolicy.standard.attemptTimeout * RetryPolicy.standard.maximumAttempts
        #expect(attempts < .seconds(RequestExpiry.hostValiditySeconds))
        #expect(RequestExpiry.after(pumpClock: .max).utcSeconds == WireTime.maximumUTCSeconds)
        #expect(RequestExpiry.after(pumpClock: -100).utcSeconds == 0)
    }

    @Test("A request arriving after its expiry is refused 0x1B, not executed, and the refusal is stored under its id")
    func expiredIsRefusedAndStored() throws {
        var pump = ExpiryRig()
        var host = try pump.rig.openSession()
        pump.pumpClock = Fixture.expiry.utcSeconds + 1
        #expect(try pump.send(Self.bolus, host: &host, sequence: 2) == .refused(.startBolus, .requestExpired))
        #expect(pump.executions.isEmpty)
        #expect(pump.rig.pump.statistics.expiredRequests == 1)
        // Stored: the same id again (a new session, a new counter) gets the same refusal.
        var again = try pump.rig.openSession(sequence: 3)
        #expect(try pump.send(Self.bolus, host: &again, sequence: 4) == .refused(.startBolus, .requestExpired))
        #expect(pump.executions.isEmpty)
        // And query command outcome reports it.
        let outcome = try pump.send(.queryCommandOutcome(QueryCommandOutcome(commandId: Fixture.commandId)), host: &again, sequence: 5)
        guard case .outcome(let report) = outcome else {
            Issue.record("expected an outcome report, got \(outcome)")
            return
        }
        #expect(try report.decodedReply() == .refused(.startBolus, .requestExpired))
    }

    @Test("A request carried out in time keeps its receipt after its expiry: the outcome lookup comes first")
    func executedReceiptOutlivesExpiry() throws {
        var pump = ExpiryRig()
        var host = try pump.rig.openSession()
        let receipt = try pump.send(Self.bolus, host: &host, sequence: 2)
        #expect(receipt == .executed(.startBolus, CommandReceipt(commandId: Fixture.commandId, executedAtUTCSeconds: 1_700_000_000)))
        #expect(pump.executions.count == 1)
        // Long after the expiry the same request comes again under a new session.
        pump.pumpClock = Fixture.expiry.utcSeconds + 3_600
        var later = try pump.rig.openSession(sequence: 3)
        #expect(try pump.send(Self.bolus, host: &later, sequence: 4) == receipt)
        #expect(pump.executions.count == 1)
        #expect(pump.rig.pump.statistics.expiredRequests == 0)
        // The same id for another request is still a conflict, not an expiry.
        let other = PumpRequest.stopInfusion(StopInfusion(commandId: Fixture.commandId, expiry: Fixture.expiry))
        #expect(try pump.send(other, host: &later, sequence: 5) == .refused(.stopInfusion, .commandIdReused))
        #expect(pump.executions.count == 1)
    }

    @Test("An exact retransmission after the expiry is answered from cache, byte for byte")
    func exactRetransmissionAfterExpiry() throws {
        var pump = ExpiryRig()
        var host = try pump.rig.openSession()
        let (body, _) = try host.seal(Self.bolus, sequence: 2)
        let answered = pump.deliver(body)
        let first = try #require(answered)
        pump.pumpClock = Fixture.expiry.utcSeconds + 5
        let again = pump.deliver(body)
        #expect(again == first)
        #expect(pump.executions.count == 1)
    }

    @Test("An expiry more than 60 s ahead of the pump clock is refused as malformed and not executed")
    func tooFarAheadIsRefused() throws {
        var pump = ExpiryRig()
        var host = try pump.rig.openSession()
        let longLived = PumpRequest.startBolus(StartBolus(
            commandId: Fixture.commandId, expiry: RequestExpiry(utcSeconds: 1_700_000_061), kind: .therapeutic,
            doseNanograms: 100_000, volumeNanolitres: 50_000, durationSeconds: 900))
        #expect(try pump.send(longLived, host: &host, sequence: 2) == .refused(.startBolus, .malformedRequest))
        #expect(pump.executions.isEmpty)
        #expect(pump.rig.pump.statistics.expiredRequests == 0)
        // Exactly 60 s ahead is accepted.
        let id = try #require(CommandID(bytes: [UInt8](repeating: 0x61, count: 16)))
        let edge = PumpRequest.stopInfusion(StopInfusion(commandId: id, expiry: RequestExpiry(utcSeconds: 1_700_000_060)))
        #expect(try pump.send(edge, host: &host, sequence: 3) == .executed(.stopInfusion, CommandReceipt(commandId: id, executedAtUTCSeconds: 1_700_000_000)))
    }

    @Test("Reads carry no expiry and are answered whatever the clock")
    func readsAreNotExpired() throws {
        var pump = ExpiryRig()
        var host = try pump.rig.openSession()
        pump.pumpClock = WireTime.maximumUTCSeconds
        #expect(try pump.send(.readClock(ReadClock()), host: &host, sequence: 2)
                == .clock(WireTime(utcSeconds: WireTime.maximumUTCSeconds, zoneOffsetMinutes: 0)))
    }

    @Test("The refusal code is 0x1B and says nothing was changed")
    func refusalCode() {
        #expect(PumpRefusal.requestExpired.rawValue == 0x1B)
        #expect(PumpRefusal.requestExpired.meaning == "the request arrived after its expiry; nothing was changed")
        #expect(PumpReply.refused(.startBolus, .requestExpired).encoded == [0x87, 0x1B])
    }
}
