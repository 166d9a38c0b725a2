import Testing
@testable import WandProtocol

/// Replies that carry command ids and times are checked on decoding: the
/// reserved all-zero id and times outside 0 ... 9999-12-31T23:59:59Z do not
/// decode. Each vector is written by hand from PROTOCOL.md.
@Suite("Receipts and times: validated on decoding")
struct ReceiptValidationTests {
    typealias F = Fixture
    static let id = F.commandIdHex
    static let zeroId = String(repeating: "00", count: 16)
    /// 253 402 300 799 = 0x3AFFF4417F (9999-12-31T23:59:59Z).
    static let maximumTimeHex = "7F41F4FF3A000000"
    /// One second later.
    static let pastMaximumHex = "8041F4FF3A000000"
    static let minusOneHex = "FFFFFFFFFFFFFFFF"
    static let zeroIdError = WireError.invalidValue(field: "commandId", value: 0)

    // MARK: The all-zero command id

    @Test("A receipt, stage receipt, refill begin report or outcome report with the all-zero id does not decode")
    func zeroIdInReplies() {
        // Command receipt for stop infusion (89 00).
        #expect(throws: Self.zeroIdError) { try PumpReply(decoding: hex("89 00 \(Self.zeroId) \(F.timeHex)")) }
        // Refill cancel receipt (93 00).
        #expect(throws: Self.zeroIdError) { try PumpReply(decoding: hex("93 00 \(Self.zeroId) \(F.timeHex)")) }
        // Stage receipt (84 00): id then the 32-byte hash.
        #expect(throws: Self.zeroIdError) { try PumpReply(decoding: hex("84 00 \(Self.zeroId) \(F.hashAAHex)")) }
        // Refill begin report (8B 00): id, residual 1.5 mL, capacity 20 mL.
        #expect(throws: Self.zeroIdError) { try PumpReply(decoding: hex("8B 00 \(Self.zeroId) 60E31600 002D3101")) }
        // Outcome report (91 00) about the zero id, unknown.
        #expect(throws: Self.zeroIdError) { try PumpReply(decoding: hex("91 00 \(Self.zeroId) 00 0000")) }
        // The same replies with a real id decode.
        #expect(throws: Never.self) { try PumpReply(decoding: hex("89 00 \(Self.id) \(F.timeHex)")) }
    }

    @Test("An interrogate report whose command record names the all-zero id does not decode")
    func zeroIdInCommandRecord() {
        let report = F.interrogateHex.replacingOccurrences(of: "01 \(F.commandIdHex) 05 00", with: "01 \(Self.zeroId) 05 00")
        #expect(report != F.interrogateHex)
        #expect(throws: Self.zeroIdError) { try PumpReply(decoding: hex("82 00 \(report)")) }
    }

    @Test("A request with the all-zero id does not decode, and no host makes one")
    func zeroIdInRequests() {
        #expect(throws: Self.zeroIdError) { try PumpRequest(decoding: hex("09 \(Self.zeroId)")) }
        #expect(throws: Self.zeroIdError) { try PumpRequest(decoding: hex("13 \(Self.zeroId)")) }
        #expect(CommandID(bytes: [UInt8](repeating: 0, count: 16)) == nil)
        #expect(CommandID(bytes: [UInt8](repeating: 0, count: 15) + [1]) != nil)
    }

    // MARK: Times

    @Test("A receipt time that is negative or past 9999-12-31T23:59:59Z does not decode; the last second does")
    func receiptTimes() throws {
        #expect(throws: WireError.invalidValue(field: "receipt.executedAt", value: -1)) {
            try PumpReply(decoding: hex("87 00 \(Self.id) \(Self.minusOneHex)"))
        }
        #expect(throws: WireError.invalidValue(field: "receipt.executedAt", value: Int64.min)) {
            try PumpReply(decoding: hex("87 00 \(Self.id) 0000000000000080"))
        }
        #expect(throws: WireError.invalidValue(field: "receipt.executedAt", value: 253_402_300_800)) {
            try PumpReply(decoding: hex("87 00 \(Self.id) \(Self.pastMaximumHex)"))
        }
        #expect(try PumpReply(decoding: hex("87 00 \(Self.id) \(Self.maximumTimeHex)"))
                == .executed(.startBolus, CommandReceipt(commandId: F.commandId, executedAtUTCSeconds: 253_402_300_799)))
        #expect(try PumpReply(decoding: hex("87 00 \(Self.id) 0000000000000000"))
                == .executed(.startBolus, CommandReceipt(commandId: F.commandId, executedAtUTCSeconds: 0)))
    }

    @Test("Interrogate's clock, last change and command record times are held to the same range")
    func interrogateTimes() {
        let base = F.interrogateHex
        // The report's clock comes first after serial and firmware.
        let clock = base.replacingOccurrences(of: "02 01 00  \(F.timeHex) 3C00", with: "02 01 00  \(Self.pastMaximumHex) 3C00")
        #expect(throws: WireError.invalidValue(field: "time.utcSeconds", value: 253_402_300_800)) {
            try PumpReply(decoding: hex("82 00 \(clock)"))
        }
        // Last change: the time after the alarm list.
        let lastChange = base.replacingOccurrences(of: "01 0100  \(F.timeHex)", with: "01 0100  \(Self.minusOneHex)")
        #expect(throws: WireError.invalidValue(field: "interrogate.lastChange", value: -1)) {
            try PumpReply(decoding: hex("82 00 \(lastChange)"))
        }
        // The command record's time.
        let record = base.replacingOccurrences(of: "05 00 \(F.timeHex)", with: "05 00 \(Self.pastMaximumHex)")
        #expect(throws: WireError.invalidValue(field: "record.utcSeconds", value: 253_402_300_800)) {
            try PumpReply(decoding: hex("82 00 \(record)"))
        }
        for changed in [clock, lastChange, record] { #expect(changed != base) }
    }

    @Test("An event time or a clock reading out of range does not decode")
    func eventAndClockTimes() {
        #expect(throws: WireError.invalidValue(field: "event.utcSeconds", value: -1)) {
            try PumpReply(decoding: hex("8E 00 0000 0100 01000000 01 00000000 \(Self.minusOneHex) 0100 07000000"))
        }
        #expect(throws: WireError.invalidValue(field: "time.utcSeconds", value: 253_402_300_800)) {
            try PumpReply(decoding: hex("8F 00 \(Self.pastMaximumHex) 0000"))
        }
        // Set clock carries the same time type: a host cannot send year 10000.
        #expect(throws: WireError.invalidValue(field: "time.utcSeconds", value: 253_402_300_800)) {
            try PumpRequest(decoding: hex("10 \(Self.id) \(F.expiryHex) \(Self.pastMaximumHex) 0000"))
        }
    }

    // MARK: The stored reply inside an outcome report

    @Test("An outcome report's stored reply must decode and be about the same command id")
    func storedReplies() throws {
        // Stored: stop infusion executed (89 00), 26 bytes = 0x1A.
        let good = "91 00 \(Self.id) 01 1A00 89 00 \(Self.id) \(F.timeHex)"
        #expect(try PumpReply(decoding: hex(good))
                == .outcome(CommandOutcomeReport(commandId: F.commandId, storedReply: hex("89 00 \(Self.id) \(F.timeHex)"))))
        // A stored receipt about another command: the report cannot be believed.
        let other = "101112131415161718191A1B1C1D1E1F"
        #expect(throws: WireError.invalidValue(field: "outcome.reply.commandId", value: 0)) {
            try PumpReply(decoding: hex("91 00 \(Self.id) 01 1A00 89 00 \(other) \(F.timeHex)"))
        }
        // A stored receipt with an out-of-range time.
        #expect(throws: WireError.invalidValue(field: "receipt.executedAt", value: -1)) {
            try PumpReply(decoding: hex("91 00 \(Self.id) 01 1A00 89 00 \(Self.id) \(Self.minusOneHex)"))
        }
        // A stored reply to a read (clock, 8F 00 ...): no command id is ever stored for one.
        #expect(throws: WireError.invalidValue(field: "outcome.reply.opcode", value: 0x0F)) {
            try PumpReply(decoding: hex("91 00 \(Self.id) 01 0C00 8F 00 \(F.timeHex) 0000"))
        }
        // A stored refusal names no id and is kept as it is.
        #expect(try PumpReply(decoding: hex("91 00 \(Self.id) 01 0200 87 09"))
                == .outcome(CommandOutcomeReport(commandId: F.commandId, storedReply: [0x87, 0x09])))
    }

    // MARK: Checking a receipt against the command sent

    @Test("A receipt answers the command id it names and no other")
    func receiptAnswers() {
        let other = CommandID(unchecked: (16..<32).map { UInt8($0) })
        let receipt = CommandReceipt(commandId: F.commandId, executedAtUTCSeconds: 1_700_000_000)
        #expect(receipt.answers(F.commandId))
        #expect(!receipt.answers(other))
        #expect(StageReceipt(commandId: F.commandId, stagedHash: F.hashAA).answers(F.commandId))
        #expect(!RefillBeginReport(commandId: other, expectedResidualNanolitres: 1, reservoirCapacityNanolitres: 2).answers(F.commandId))
        #expect(CommandOutcomeReport(commandId: F.commandId, storedReply: nil).answers(F.commandId))
    }

    @Test("A reply answers a request when the opcode and any named command id agree")
    func replyAnswersRequest() {
        let other = CommandID(unchecked: (16..<32).map { UInt8($0) })
        let stop = PumpRequest.stopInfusion(StopInfusion(commandId: F.commandId, expiry: F.expiry))
        let receipt = CommandReceipt(commandId: F.commandId, executedAtUTCSeconds: 1_700_000_000)
        #expect(PumpReply.executed(.stopInfusion, receipt).answers(stop))
        #expect(!PumpReply.executed(.stopInfusion, CommandReceipt(commandId: other, executedAtUTCSeconds: 1)).answers(stop))
        #expect(!PumpReply.executed(.resumeInfusion, receipt).answers(stop))
        #expect(PumpReply.refused(.stopInfusion, .alreadyStopped).answers(stop))
        #expect(PumpReply.executed(.stopInfusion, receipt).commandId == F.commandId)
        #expect(PumpReply.refused(.stopInfusion, .alreadyStopped).commandId == nil)
        let query = PumpRequest.queryCommandOutcome(QueryCommandOutcome(commandId: F.commandId))
        #expect(PumpReply.outcome(CommandOutcomeReport(commandId: F.commandId, storedReply: nil)).answers(query))
        #expect(!PumpReply.outcome(CommandOutcomeReport(commandId: other, storedReply: nil)).answers(query))
        #expect(PumpReply.clock(WireTime(utcSeconds: 1, zoneOffsetMinutes: 0)).answers(.readClock(ReadClock())))
    }

    // MARK: How the exchange classifies it

    @Test("A pump that answers with a zero-id receipt: a malformed reply, the command unacknowledged")
    func exchangeClassifiesAMalformedReceipt() async throws {
        let link = MisreportingPumpLink()
        let channel = WandChannel(link: link)
        let opened = await channel.openSession(nonces: NonceSource { [UInt8](repeating: 0x11, count: $0) }, candidates: SessionRig.candidates)
        guard case .success = opened else { Issue.record("no session"); return }
        let result = await channel.send(.stopInfusion(StopInfusion(commandId: F.commandId, expiry: F.expiry)))
        // The pump did answer (it executed the stop), so this is not "not sent".
        #expect(result == .unacknowledged(attempts: 3, linkError: nil, wandSaid: nil))
        let statistics = await channel.statistics
        #expect(statistics.malformedReplies == 3)  // the reply, then its two cached copies
        #expect(statistics.rejectedReplies == 0)
        #expect(statistics.lastMalformedReply == Self.zeroIdError)
        #expect(await link.executed == 1)
    }
}

/// A pump whose every receipt names the all-zero command id (a pump with a
/// corrupted command record), behind a link that hands replies back at once.
actor MisreportingPumpLink: FrameLink {
    private var rig = SessionRig()
    private var decoder = FrameDecoder()
    private var queued: [[UInt8]] = []
    private(set) var executed = 0

    func send(_ bytes: [UInt8]) async throws {
        for body in decoder.feed(bytes) {
            var count = 0
            var pump = rig.pump
            var outcomes = rig.outcomes
            defer {
                rig.pump = pump
                rig.outcomes = outcomes
            }
            let reply = pump.handle(frameBody: body, now: .zero, utcSeconds: 1_700_000_000, outcomes: &outcomes) { request in
                count += 1
                return .executed(request.opcode, CommandReceipt(commandId: CommandID(unchecked: [UInt8](repeating: 0, count: 16)),
                                                                executedAtUTCSeconds: 1_700_000_000))
            }
            executed += count
            if let reply { queued.append(try FrameEncoder.encode(reply)) }
        }
    }

    func receive(until deadline: ContinuousClock.Instant) async throws -> [UInt8]? {
        queued.isEmpty ? nil : queued.removeFirst()
    }
}
