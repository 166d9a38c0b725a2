import Foundation
import SystemPackage
import Testing
import TestSupport
import WandProtocol
@testable import PumpSimulator

/// The answers hardware/PROTOCOL.md gives to implementers (section 9.2 and
/// the rules it points to), held against the simulated pump and wand: each
/// test fails if the simulator stops doing what the document says.
@Suite struct SimulatorSpecRuleTests {
    static let start = SimulatorProtocolTests.start

    func host() throws -> SimulatedHost {
        var host = SimulatedHost(simulation: .fresh(hostNow: Self.start), now: Self.start)
        try host.open()
        return host
    }

    func stop(_ host: inout SimulatedHost, id: UInt8) throws -> PumpReply {
        try host.request(.stopInfusion(StopInfusion(commandId: commandID(id), expiry: host.expiry)))
    }

    func prime(_ id: UInt8, volume: UInt32 = 100_000, dose: UInt32 = 0, expiry: RequestExpiry) -> PumpRequest {
        .startBolus(StartBolus(commandId: commandID(id), expiry: expiry, kind: .prime, doseNanograms: dose, volumeNanolitres: volume,
                               durationSeconds: 3_600))
    }

    func receipt(_ opcode: PumpOpcode, _ id: UInt8, at time: Int64 = SimulatorSpecRuleTests.start) -> PumpReply {
        .executed(opcode, CommandReceipt(commandId: commandID(id), executedAtUTCSeconds: time))
    }

    // MARK: Q1: drop or refuse

    /// A request outside a format range is dropped: no reply, nothing
    /// executed, its id not stored, counted as malformed.
    @Test func outOfFormatRequestIsDroppedAndNotStored() throws {
        var host = try host()
        let before = host.simulation.pump
        let zeroVolume = PumpRequest.startBolus(StartBolus(
            commandId: commandID(1), expiry: host.expiry, kind: .therapeutic, doseNanograms: 0, volumeNanolitres: 0, durationSeconds: 60))
        let (body, counter) = try host.seal(zeroVolume)
        #expect(try host.send(sealed: body, counter: counter) == nil)
        #expect(host.simulation.rejected.malformedRequests == 1)
        #expect(host.simulation.pump.outcomes == before.outcomes)
        #expect(host.simulation.pump.mechanics.bolus == nil)
        #expect(host.simulation.pump.eventLog == before.eventLog)
        guard case let .outcome(report) = try host.request(.queryCommandOutcome(QueryCommandOutcome(commandId: commandID(1))))
        else { Issue.record("expected an outcome report"); return }
        #expect(report.storedReply == nil)
    }

    // MARK: Section 9: lookup order and what is stored

    /// A repeated id is answered from the store before any state check:
    /// a stop repeated during a refill gets its receipt, not 0x10.
    @Test func outcomeLookupComesBeforeStateChecks() throws {
        var host = try host()
        #expect(try stop(&host, id: 1) == receipt(.stopInfusion, 1))
        _ = try host.request(.refillBegin(RefillBegin(commandId: commandID(2), expiry: host.expiry)))
        #expect(try stop(&host, id: 1) == receipt(.stopInfusion, 1))
    }

    /// Refusals are stored under their id (a repeat gets the stored 0x10
    /// even after the refill ended); the 0x13 refusal of a reused id is not.
    @Test func refusalsAreStoredButAReusedIdIsNot() throws {
        var host = try host()
        _ = try stop(&host, id: 1)
        _ = try host.request(.refillBegin(RefillBegin(commandId: commandID(2), expiry: host.expiry)))
        let resume = PumpRequest.resumeInfusion(ResumeInfusion(commandId: commandID(3), expiry: host.expiry))
        #expect(try host.request(resume) == .refused(.resumeInfusion, .refillInProgress))
        _ = try host.request(.refillCancel(RefillCancel(commandId: commandID(4), expiry: host.expiry)))
        #expect(try host.request(resume) == .refused(.resumeInfusion, .refillInProgress))
        #expect(try host.interrogate().infusionState == .stopped)

        // id 1 belongs to the stop: a resume under it is refused and not stored.
        #expect(try host.request(.resumeInfusion(ResumeInfusion(commandId: commandID(1), expiry: host.expiry)))
                == .refused(.resumeInfusion, .commandIdReused))
        guard case let .outcome(report) = try host.request(.queryCommandOutcome(QueryCommandOutcome(commandId: commandID(1))))
        else { Issue.record("expected an outcome report"); return }
        #expect(report.storedReply == receipt(.stopInfusion, 1).encoded)
    }

    /// After 64 more stored replies an id is forgotten: the query says
    /// unknown, and the interrogate report's records (the newest 8 of the
    /// same store) do not name it either.
    @Test func anAgedOutIdIsUnknownAndAbsentFromTheRecords() throws {
        var host = try host()
        _ = try stop(&host, id: 200)
        for n in 0..<64 {
            let threshold = UInt32(2_000_000 + n * 1_000)
            _ = try host.request(.setAlarmConfiguration(SetAlarmConfiguration(
                commandId: commandID(UInt8(n + 1)), expiry: host.expiry, lowReservoirThresholdNanolitres: threshold)))
        }
        guard case let .outcome(report) = try host.request(.queryCommandOutcome(QueryCommandOutcome(commandId: commandID(200))))
        else { Issue.record("expected an outcome report"); return }
        #expect(report.storedReply == nil)
        let records = try host.interrogate().recentCommands
        #expect(records.map(\.commandId) == (57...64).reversed().map { commandID(UInt8($0)) })
        #expect(!records.contains { $0.commandId == commandID(200) })
    }

    // MARK: Q6: event log pages

    @Test func eventLogPages() throws {
        var host = try host()
        #expect(host.simulation.pump.eventLog.entries.isEmpty)
        guard case let .eventLog(empty) = try host.request(.readEventLog(ReadEventLog(page: 0))) else {
            Issue.record("expected a page"); return
        }
        #expect(empty.pageCount == 1 && empty.totalEvents == 0 && empty.events.isEmpty)
        #expect(try host.request(.readEventLog(ReadEventLog(page: 1))) == .refused(.readEventLog, .pageOutOfRange))

        // Every refusal is logged (0x0070 with the opcode): that is entry 0.
        #expect(host.simulation.pump.eventLog.entries.map { [$0.index, UInt32($0.code), $0.detail] }
                == [[0, UInt32(PumpEventCode.commandRefused.rawValue), UInt32(PumpOpcode.readEventLog.rawValue)]])
        for n in 0..<16 { host.simulation.pump.eventLog.append(time: Self.start, code: 0x0031, detail: UInt32(n)) }
        guard case let .eventLog(first) = try host.request(.readEventLog(ReadEventLog(page: 0))),
              case let .eventLog(last) = try host.request(.readEventLog(ReadEventLog(page: 1)))
        else { Issue.record("expected pages"); return }
        #expect(first.pageCount == 2 && first.totalEvents == 17)
        #expect(first.events.map(\.index) == (1...16).reversed().map(UInt32.init))
        #expect(last.events.map(\.index) == [0])
        #expect(try host.request(.readEventLog(ReadEventLog(page: 2))) == .refused(.readEventLog, .pageOutOfRange))
    }

    // MARK: Q7: withdrawn volume

    @Test func withdrawnVolumeIsLoggedBeforeTheAddedVolume() throws {
        var host = try host()
        _ = try host.request(.refillBegin(RefillBegin(commandId: commandID(1), expiry: host.expiry)))
        let complete = RefillComplete(commandId: commandID(2), expiry: host.expiry, withdrawnNanolitres: 11_500_000, addedNanolitres: 18_000_000,
                                      drug: .baclofen, concentrationNanogramsPerMillilitre: 2_000_000, newPrescription: nil)
        #expect(try host.request(.refillComplete(complete)) == receipt(.refillComplete, 2))
        let tail = host.simulation.pump.eventLog.entries.suffix(2).map { [UInt32($0.code), $0.detail] }
        #expect(tail == [[UInt32(PumpEventCode.refillWithdrawn.rawValue), 11_500_000],
                         [UInt32(PumpEventCode.refillCompleted.rawValue), 18_000_000]])
    }

    // MARK: Q9: refill state

    /// Refill begin in a refill is 0x10; the refill outlives its session
    /// (close, a new handshake) and the pump stays paused until cancelled.
    @Test func refillSurvivesTheSession() throws {
        var host = try host()
        _ = try host.request(.refillBegin(RefillBegin(commandId: commandID(1), expiry: host.expiry)))
        #expect(try host.request(.refillBegin(RefillBegin(commandId: commandID(2), expiry: host.expiry))) == .refused(.refillBegin, .refillInProgress))
        #expect(try host.request(.closeSession(CloseSession())) == .sessionClosed)
        try host.open()
        let delivered = host.simulation.pump.mechanics.deliveredNanograms
        // Longer than the session's idle limit, within the refill's.
        try host.wait(seconds: SimulatedPump.refillTimeLimit - 60)
        #expect(host.simulation.pump.mechanics.deliveredNanograms == delivered)
        #expect(try host.interrogate().infusionState == .refillInProgress)
        #expect(try host.request(.refillCancel(RefillCancel(commandId: commandID(3), expiry: host.expiry))) == receipt(.refillCancel, 3, at: host.now))
        #expect(try host.interrogate().infusionState == .infusing)
    }

    /// The refill is in the pump's persistent state: after a power cycle
    /// (the simulator saved and loaded) it is still paused in the refill.
    @Test func refillSurvivesAPowerCycle() throws {
        var host = try host()
        _ = try host.request(.refillBegin(RefillBegin(commandId: commandID(1), expiry: host.expiry)))
        let temporary = try TemporaryDirectory(prefix: "pumpwand-spec-refill")
        defer { temporary.remove() }
        let folder = URL(fileURLWithPath: temporary.path)
        let file = SimulatorStateFile(path: FilePath(folder.appendingPathComponent("simulator.json").path))
        try file.save(host.simulation)
        var restarted = SimulatedHost(simulation: try file.load(), now: host.now)
        try restarted.open()
        #expect(try restarted.interrogate().infusionState == .refillInProgress)
        #expect(try restarted.request(.resumeInfusion(ResumeInfusion(commandId: commandID(2), expiry: restarted.expiry)))
                == .refused(.resumeInfusion, .refillInProgress))
    }

    // MARK: Q10: clock

    @Test func setClockDuringBolusIsRefused() throws {
        var host = try host()
        _ = try stop(&host, id: 1)
        #expect(try host.request(prime(2, expiry: host.expiry)) == receipt(.startBolus, 2))
        let set = PumpRequest.setClock(SetClock(commandId: commandID(3), expiry: host.expiry, time: WireTime(utcSeconds: 0, zoneOffsetMinutes: 0)))
        #expect(try host.request(set) == .refused(.setClock, .bolusInProgress))
        // With no bolus running, any time that decodes is accepted (the
        // simulated pump has no manufacture time): never 0x12.
        _ = try host.request(.cancelBolus(CancelBolus(commandId: commandID(4), expiry: host.expiry)))
        #expect(try host.request(.setClock(SetClock(commandId: commandID(5), expiry: host.expiry, time: WireTime(utcSeconds: 0, zoneOffsetMinutes: 840))))
                == receipt(.setClock, 5, at: 0))
    }

    // MARK: Q11: dose and volume

    /// The pump delivers the volume whatever the dose field says; what it
    /// put into the patient is its own 0x0025.
    @Test func bolusDoseIsNotThePumpsToCheck() throws {
        var host = try host()
        let bolus = PumpRequest.startBolus(StartBolus(
            commandId: commandID(1), expiry: host.expiry, kind: .therapeutic, doseNanograms: 999_999_999, volumeNanolitres: 10_000, durationSeconds: 600))
        #expect(try host.request(bolus) == receipt(.startBolus, 1))
        #expect(host.simulation.pump.mechanics.bolus?.remaining == FineVolume(nanolitres: 10_000))
        try host.wait(seconds: 601)
        let drug = host.simulation.pump.eventLog.entries.last { $0.code == PumpEventCode.bolusDrugDelivered.rawValue }
        // 10 uL of 2 mg/mL baclofen: 20 mcg, not the dose field.
        #expect(drug?.detail == 20_000)
    }

    // MARK: Q12: stop during a bolus

    /// A prime runs with infusion stopped; stop ends it instead of being
    /// refused as "already stopped" while the prime goes on.
    @Test func stopEndsAPrimeRunningWithInfusionStopped() throws {
        var host = try host()
        _ = try stop(&host, id: 1)
        #expect(try host.request(prime(2, expiry: host.expiry)) == receipt(.startBolus, 2))
        #expect(try stop(&host, id: 3) == receipt(.stopInfusion, 3))
        #expect(host.simulation.pump.mechanics.bolus == nil)
        let codes = host.simulation.pump.eventLog.entries.suffix(3).map(\.code)
        #expect(codes == [PumpEventCode.bolusCancelled, .bolusDrugDelivered, .infusionStopped].map(\.rawValue))
        // Nothing pumping now: stop is "already stopped".
        #expect(try stop(&host, id: 4) == .refused(.stopInfusion, .alreadyStopped))
    }

    // MARK: Q13: stage and commit

    /// A set fluid path between stage and commit makes the staged
    /// prescription's catheter volume wrong: commit re-checks and refuses.
    @Test func commitRechecksTheCatheterVolume() throws {
        var host = try host()
        _ = try stop(&host, id: 1)
        let staged = Prescriptions.continuous(rate: 300_000)
        guard case .staged = try host.request(.stagePrescription(StagePrescription(commandId: commandID(2), expiry: host.expiry, prescription: staged)))
        else { Issue.record("expected a stage receipt"); return }
        let replaced = SetFluidPath(commandId: commandID(3), expiry: host.expiry, event: .catheterReplaced, catheterNanolitres: 300_000)
        #expect(try host.request(.setFluidPath(replaced)) == receipt(.setFluidPath, 3))
        let commit = CommitStagedPrescription(commandId: commandID(4), expiry: host.expiry, stagedHash: staged.hash)
        #expect(try host.request(.commitStagedPrescription(commit)) == .refused(.commitStagedPrescription, .catheterMismatch))
        #expect(try host.interrogate().stagedHash == staged.hash)
    }

    /// Stage replaces what is staged; discard with nothing staged is done.
    @Test func stageReplacesAndDiscardIsIdempotent() throws {
        var host = try host()
        let first = Prescriptions.continuous(rate: 300_000), second = Prescriptions.continuous(rate: 400_000)
        _ = try host.request(.stagePrescription(StagePrescription(commandId: commandID(1), expiry: host.expiry, prescription: first)))
        _ = try host.request(.stagePrescription(StagePrescription(commandId: commandID(2), expiry: host.expiry, prescription: second)))
        #expect(try host.interrogate().stagedHash == second.hash)
        let old = CommitStagedPrescription(commandId: commandID(3), expiry: host.expiry, stagedHash: first.hash)
        #expect(try host.request(.commitStagedPrescription(old)) == .refused(.commitStagedPrescription, .stagedHashMismatch))
        #expect(try host.request(.discardStagedPrescription(DiscardStagedPrescription(commandId: commandID(4), expiry: host.expiry)))
                == receipt(.discardStagedPrescription, 4))
        #expect(try host.request(.discardStagedPrescription(DiscardStagedPrescription(commandId: commandID(5), expiry: host.expiry)))
                == receipt(.discardStagedPrescription, 5))
    }

    // MARK: Q16: last therapy change

    @Test func lastTherapyChange() throws {
        var host = try host()
        let initial = try host.interrogate().lastChangeUTCSeconds
        try host.wait(seconds: 10)
        _ = try host.request(.setAlarmConfiguration(SetAlarmConfiguration(commandId: commandID(1), expiry: host.expiry, lowReservoirThresholdNanolitres: 3_000_000)))
        _ = try host.request(.stagePrescription(StagePrescription(commandId: commandID(2), expiry: host.expiry, prescription: Prescriptions.continuous(rate: 300_000))))
        _ = try host.request(.discardStagedPrescription(DiscardStagedPrescription(commandId: commandID(3), expiry: host.expiry)))
        _ = try host.request(.startBolus(StartBolus(commandId: commandID(4), expiry: host.expiry, kind: .therapeutic, doseNanograms: 20_000,
                                                    volumeNanolitres: 10_000, durationSeconds: 600)))
        _ = try host.request(.cancelBolus(CancelBolus(commandId: commandID(5), expiry: host.expiry)))
        _ = try host.request(.refillBegin(RefillBegin(commandId: commandID(6), expiry: host.expiry)))
        _ = try host.request(.refillCancel(RefillCancel(commandId: commandID(7), expiry: host.expiry)))
        _ = try host.request(.refillBegin(RefillBegin(commandId: commandID(8), expiry: host.expiry)))
        _ = try host.request(.refillComplete(RefillComplete(
            commandId: commandID(9), expiry: host.expiry, withdrawnNanolitres: 0, addedNanolitres: 15_000_000, drug: .baclofen,
            concentrationNanogramsPerMillilitre: 2_000_000, newPrescription: nil)))
        #expect(try host.interrogate().lastChangeUTCSeconds == initial)

        let stopped = host.simulation.pump.clock
        _ = try stop(&host, id: 10)
        #expect(try host.interrogate().lastChangeUTCSeconds == stopped)
        try host.wait(seconds: 10)
        _ = try host.request(.resumeInfusion(ResumeInfusion(commandId: commandID(11), expiry: host.expiry)))
        #expect(try host.interrogate().lastChangeUTCSeconds == stopped + 10)
        try host.wait(seconds: 10)
        let next = Prescriptions.continuous(rate: 300_000)
        _ = try host.request(.stagePrescription(StagePrescription(commandId: commandID(12), expiry: host.expiry, prescription: next)))
        _ = try host.request(.commitStagedPrescription(CommitStagedPrescription(commandId: commandID(13), expiry: host.expiry, stagedHash: next.hash)))
        #expect(try host.interrogate().lastChangeUTCSeconds == stopped + 20)
    }

    // MARK: Q17, Q18: infusion state and alarms

    @Test func infusionStatePriority() throws {
        var host = try host()
        #expect(try host.interrogate().infusionState == .infusing)
        _ = try host.request(.startBolus(StartBolus(commandId: commandID(1), expiry: host.expiry, kind: .therapeutic, doseNanograms: 20_000,
                                                    volumeNanolitres: 10_000, durationSeconds: 600)))
        #expect(try host.interrogate().infusionState == .bolusInProgress)
        _ = try host.request(.cancelBolus(CancelBolus(commandId: commandID(2), expiry: host.expiry)))
        _ = try stop(&host, id: 3)
        _ = try host.request(prime(4, expiry: host.expiry))
        let priming = try host.interrogate()
        #expect(priming.infusionState == .stopped)
        #expect(priming.fluidPath.bolus?.kind == .prime)
        _ = try host.request(.refillBegin(RefillBegin(commandId: commandID(5), expiry: host.expiry)))
        host.simulation.pump.raise(.motorStall)
        #expect(try host.interrogate().infusionState == .refillInProgress)
    }

    @Test(arguments: SimulatedAlarm.allCases)
    func deliveryStoppingAlarms(alarm: SimulatedAlarm) throws {
        var host = try host()
        host.simulation.pump.raise(alarm)
        let stops: Set<SimulatedAlarm> = [.emptyReservoir, .endOfService, .motorStall, .memoryFault]
        #expect(alarm.stopsDelivery == stops.contains(alarm))
        let report = try host.interrogate()
        #expect(report.activeAlarms.contains(alarm.wireCode))
        #expect((report.infusionState == .stopped) == stops.contains(alarm))
    }

    // MARK: Q19, Q20: the wand

    /// Link reset zeroes the wand's counters and leaves the pump's session:
    /// the next sealed request in the same session is answered.
    @Test func linkResetKeepsThePumpSession() throws {
        var host = try host()
        _ = try host.interrogate()
        let resetSequence = host.nextSequence()
        let reset = host.exchange(FrameHeader(kind: .wandCommand, sequence: resetSequence).encoded + WandRequest.linkReset.encoded)
        #expect(reset.first?.header.kind == .wandResponse)
        let statusSequence = host.nextSequence()
        let status = host.exchange(FrameHeader(kind: .wandCommand, sequence: statusSequence).encoded + WandRequest.linkStatus.encoded)
        guard let frame = status.first, case let .linkStatus(link) = try WandResponse(decoding: frame.payload) else {
            Issue.record("expected link status"); return
        }
        #expect(link.framesRelayed == 0 && link.crcErrors == 0 && link.retries == 0)
        #expect(try host.interrogate().serial == host.simulation.pump.identity.serial)
    }

    @Test(arguments: [
        // a sealed wand command (info)
        ([0x02, 0x01, 0x21, 0x00, 0x01, 0x01], NegativeAcknowledgement.malformedFrame),
        // a pump message claiming to come from the pump
        ([0x02, 0x03, 0x21, 0x00, 0x02, 0x01, 0x01], .malformedFrame),
        // a wand response sent by the host
        ([0x02, 0x02, 0x21, 0x00, 0x00, 0x81], .unknownKind),
        // an event sent by the host
        ([0x02, 0x04, 0x21, 0x00, 0x00, 0x01], .unknownKind),
        // info with a trailing byte
        ([0x02, 0x01, 0x21, 0x00, 0x00, 0x01, 0x00], .malformedFrame),
        // an opcode the wand does not know
        ([0x02, 0x01, 0x21, 0x00, 0x00, 0x09], .unknownWandOpcode),
        // a sealed pump message asking for the wand's info (flags 0x05)
        ([0x02, 0x03, 0x21, 0x00, 0x05, 0x01], .malformedFrame),
        // a wand command with the wand-info flag
        ([0x02, 0x01, 0x21, 0x00, 0x04, 0x01], .malformedFrame),
    ])
    func framesOfTheWrongKindOrDirection(body: [UInt8], reason: NegativeAcknowledgement) throws {
        var simulation = PumpSimulation.fresh(hostNow: Self.start)
        let relayed = simulation.relayedMessageCount
        var decoder = FrameDecoder()
        let frames = decoder.feed(simulation.receive(fromHost: try FrameEncoder.encode(body)).flatMap(\.bytes))
        let frame = try Frame(body: try #require(frames.first))
        #expect(frames.count == 1)
        #expect(frame.header.kind == .negativeAcknowledgement && frame.header.sequence == 0x0021)
        #expect(try NegativeAcknowledgement(decoding: frame.payload) == reason)
        #expect(simulation.relayedMessageCount == relayed)
    }

    // MARK: 5.1: patient bolus fields

    struct PatientBolusCase: Sendable, CustomTestStringConvertible {
        var volume: UInt32
        var doseOffset: Int64 = 0
        var duration: UInt32 = 600
        var lockout: UInt32 = 3_600
        var perDay: UInt8 = 4
        var accepted: Bool
        var testDescription: String {
            "\(volume) nL, dose floor\(doseOffset >= 0 ? "+" : "")\(doseOffset), \(duration) s, lockout \(lockout) s, \(perDay)/24 h"
        }
    }

    /// The patient bolus rules the pump keeps (0x03), each broken alone,
    /// and the exact floor rule for its dose.
    @Test(arguments: [
        PatientBolusCase(volume: 10_000, accepted: true),
        PatientBolusCase(volume: 10_000, doseOffset: 1, accepted: false),
        PatientBolusCase(volume: 10_000, doseOffset: -1, accepted: false),
        PatientBolusCase(volume: 0, accepted: false),
        PatientBolusCase(volume: 10_000, duration: 0, accepted: false),
        PatientBolusCase(volume: 10_000, duration: 3_601, accepted: false),
        // lockout x maximum per 24 h: 3 600 x 24 = 86 400 is the limit, one second more is over it
        PatientBolusCase(volume: 10_000, perDay: 24, accepted: true),
        PatientBolusCase(volume: 10_000, lockout: 3_601, perDay: 24, accepted: false),
        PatientBolusCase(volume: 10_000, lockout: 86_400, perDay: 1, accepted: true),
        // faster than the maximum bolus rate (720 mL/day)
        PatientBolusCase(volume: 10_000_000, duration: 1, accepted: false),
    ])
    func patientBolusRules(_ rule: PatientBolusCase) throws {
        var host = try host()
        let floor = Int64(rule.volume) * 2_000_000 / 1_000_000
        let bolus = WirePrescription.PatientBolus(
            doseNanograms: UInt32(max(0, floor + rule.doseOffset)), volumeNanolitres: rule.volume, durationSeconds: rule.duration,
            lockoutSeconds: rule.lockout, maximumPer24Hours: rule.perDay)
        let candidate = Prescriptions.continuous(rate: 200_000, patientBolus: bolus)
        let reply = try host.request(.stagePrescription(StagePrescription(commandId: commandID(1), expiry: host.expiry, prescription: candidate)))
        if rule.accepted {
            #expect(reply == .staged(StageReceipt(commandId: commandID(1), stagedHash: candidate.hash)))
        } else {
            #expect(reply == .refused(.stagePrescription, .prescriptionInvalid))
        }
    }

    // MARK: Refill complete: order of the checks

    /// Overfill is checked before the drug change; a concentration change
    /// without a prescription is 0x07; with one for another concentration
    /// the request does not decode (no reply, still in refill).
    @Test func refillCompleteCheckOrder() throws {
        var host = try host()
        _ = try host.request(.refillBegin(RefillBegin(commandId: commandID(1), expiry: host.expiry)))
        func complete(_ id: UInt8, added: UInt32, concentration: UInt32, _ prescription: WirePrescription? = nil) -> PumpRequest {
            .refillComplete(RefillComplete(commandId: commandID(id), expiry: host.expiry, withdrawnNanolitres: 11_000_000, addedNanolitres: added,
                                           drug: .baclofen, concentrationNanogramsPerMillilitre: concentration,
                                           newPrescription: prescription))
        }
        #expect(try host.request(complete(2, added: 21_000_000, concentration: 1_000_000)) == .refused(.refillComplete, .reservoirOverfill))
        #expect(try host.request(complete(3, added: 18_000_000, concentration: 1_000_000))
                == .refused(.refillComplete, .concentrationChangeNeedsPrescription))
        let (body, counter) = try host.seal(complete(4, added: 18_000_000, concentration: 1_000_000,
                                                    Prescriptions.continuous(rate: 200_000)))
        #expect(try host.send(sealed: body, counter: counter) == nil)
        #expect(try host.interrogate().infusionState == .refillInProgress)
        let next = Prescriptions.continuous(rate: 400_000, concentration: 1_000_000)
        #expect(try host.request(complete(5, added: 18_000_000, concentration: 1_000_000, next)) == receipt(.refillComplete, 5))
        #expect(try host.interrogate().prescriptionHash == next.hash)
    }

    // MARK: Refill complete under a blocking alarm

    /// A refill complete carrying a prescription activates it, so it is
    /// refused like a commit while a blocking alarm is active.
    @Test func refillCompleteWithPrescriptionHonoursBlockingAlarms() throws {
        var host = try host()
        _ = try host.request(.refillBegin(RefillBegin(commandId: commandID(1), expiry: host.expiry)))
        host.simulation.pump.raise(.motorStall)
        let complete = RefillComplete(commandId: commandID(2), expiry: host.expiry, withdrawnNanolitres: 11_000_000, addedNanolitres: 18_000_000,
                                      drug: .baclofen, concentrationNanogramsPerMillilitre: 2_000_000,
                                      newPrescription: Prescriptions.continuous(rate: 300_000))
        #expect(try host.request(.refillComplete(complete)) == .refused(.refillComplete, .blockingAlarmActive))
        #expect(try host.interrogate().infusionState == .refillInProgress)
    }
}
