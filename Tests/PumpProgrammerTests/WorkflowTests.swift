import Foundation
import PumpSimulator
import Testing
import Therapy
import WandProtocol
@testable import PumpProgrammer

/// The workflows end to end against the simulated pump, through the real
/// protocol. Tests named `requirementN...` cover clinical.md's safety
/// requirement N.
@Suite struct WorkflowTests {
    static let increase = #"{"drug":"baclofen","concentration":"2000mcg/mL","indication":"spinal","mode":"continuous","daily_dose":"450mcg/day","catheter":{"volume":"0.26mL"}}"#

    @Test func interrogateReportsThePumpAndTheAlarmDate() async throws {
        let visit = SimulatedVisit()
        let programmer = try await visit.programmer()
        let (status, resolution) = try await programmer.interrogate()
        #expect(resolution == nil)
        #expect(status.serial == PumpIdentity.demoSerial)
        #expect(status.model == "RP-20")
        #expect(status.drug == .baclofen)
        #expect(status.concentration == .mcgPerML(2000))
        #expect(status.dailyDose == .mcgPerDay(400))
        #expect(status.reservoirVolume == .mL(12))
        #expect(status.alarms.isEmpty)
        // 12 mL, alarm at 2 mL, 0.2 mL/day: 50 days after 2027-01-15T08:00Z.
        #expect(status.lowReservoirAlarmDate?.iso8601 == "2027-03-06T08:00:00Z")
        #expect(status.schedulerSentence == "Tell the scheduler: low-reservoir alarm on 2027-03-06")
        #expect(status.simulated)
    }

    @Test func requirement9TheAlarmDateIsRecomputedOnEveryChange() async throws {
        let visit = SimulatedVisit()
        let programmer = try await visit.programmer()
        // 12 mL, alarm at 2 mL: 0.2 mL/day -> 50 days; 0.225 mL/day -> 10 mL / 0.225 = 44.44 days
        // (44 days 10 h 40 min); refilled to 20 mL -> 18 / 0.225 = 80 days.
        let before = try await programmer.interrogate().status
        #expect(before.daysToAlarm == 50)
        let plan = try await programmer.review(try prescription(Self.increase))
        let programmed = try await programmer.program(plan, overrides: [], confirmation: .flag(yes: true)).status
        #expect(programmed.daysToAlarm == 44)
        #expect(programmed.lowReservoirAlarmDate?.iso8601 == "2027-02-28T18:40:00Z")
        let refilled = try await programmer.refill(
            RefillRequest(withdrawn: .mL(12), added: .mL(20), drug: nil, concentration: .mcgPerML(2000), newPrescription: nil,
                          discrepancyAcknowledgement: nil), confirmation: .flag(yes: true)).status
        #expect(refilled.daysToAlarm == 80)
        #expect(refilled.lowReservoirAlarmDate?.iso8601 == "2027-04-05T08:00:00Z")
    }

    @Test func aPolicyCanAskASecondProviderForDoseIncreases() async throws {
        var policy = try ClinicPolicy.shippedDefaults()
        policy.secondOperatorRequiredFor = [.doseIncrease, .concentrationChange]
        let visit = SimulatedVisit()
        let alone = try await visit.programmer(policy: policy)
        let plan = try await alone.review(try prescription(Self.increase))
        let refused = await failure { try await alone.program(plan, overrides: [], confirmation: .flag(yes: true)) }
        guard case .refusedByPolicy(let message)? = refused else {
            Issue.record("a dose increase without the second provider the policy asks for must be refused")
            return
        }
        #expect(message.contains("--second-operator"))
        let sameAgain = try await visit.programmer(secondOperator: "tech.a", policy: policy)
        await #expect(throws: ProgrammerError.self) {
            _ = try await sameAgain.program(try await sameAgain.review(try prescription(Self.increase)), overrides: [],
                                            confirmation: .flag(yes: true))
        }
        let witnessed = try await visit.programmer(secondOperator: "tech.b", policy: policy)
        let done = try await witnessed.program(try await witnessed.review(try prescription(Self.increase)), overrides: [],
                                               confirmation: .flag(yes: true))
        #expect(done.status.dailyDose == .mcgPerDay(450))
        #expect(try visit.audit().entries().contains { $0.command == "program" && $0.secondOperator == "tech.b" })
    }

    @Test func requirement14TheWrongPumpIsRefused() async throws {
        let visit = SimulatedVisit()
        await #expect(throws: ProgrammerError.self) {
            _ = try await visit.programmer(expectedSerial: "RP20-000999")
        }
        let entries = try visit.audit().entries()
        #expect(entries.contains { $0.outcome == "refused: wrong pump" })
    }

    @Test func requirement6And7ProgramReviewsStagesCommitsAndReadsBack() async throws {
        let visit = SimulatedVisit()
        let programmer = try await visit.programmer()
        let plan = try await programmer.review(try prescription(Self.increase))
        let changed = plan.review.rows.filter(\.changed).map(\.field)
        #expect(changed.contains("daily dose"))
        #expect(plan.review.rows.first { $0.field == "daily dose" }?.current == "400mcg/day")
        #expect(plan.review.rows.first { $0.field == "daily dose" }?.pending == "450mcg/day")
        #expect(plan.program?.doseIncrease == true)
        let result = try await programmer.program(plan, overrides: [], confirmation: .typed("450mcg/day"))
        #expect(result.status.dailyDose == .mcgPerDay(450))
        let pumpPrescription = visit.transport.with { $0.pump.prescription }
        #expect(pumpPrescription == plan.wire)
        #expect(result.reportPaths.count == 2)
        #expect(result.reportPaths.allSatisfy { FileManager.default.fileExists(atPath: $0) })
        // The session's end seals the head and the pump witnesses it.
        #expect(await programmer.close() == .sentWithClose(rowCount: UInt64(try visit.audit().entries().count)))
        #expect(visit.transport.with { $0.pump.auditAnchors }.first?.rowCount == UInt64(try visit.audit().entries().count))
        #expect(try visit.audit().verify().intact)
    }

    @Test func requirement6AnIncreaseNeedsTheNewDoseTypedBack() async throws {
        let visit = SimulatedVisit()
        let programmer = try await visit.programmer()
        let plan = try await programmer.review(try prescription(Self.increase))
        await #expect(throws: ProgrammerError.self) {
            _ = try await programmer.program(plan, overrides: [], confirmation: .typed("yes"))
        }
        await #expect(throws: ProgrammerError.self) {
            _ = try await programmer.program(plan, overrides: [], confirmation: .flag(yes: false))
        }
        #expect(visit.transport.with { $0.pump.prescription.continuousDoseRateNanogramsPerDay } == 400_000)
    }

    @Test func requirement3AHardLimitRefusesAndCannotBeOverridden() async throws {
        let visit = SimulatedVisit()
        let programmer = try await visit.programmer()
        let json = Self.increase.replacingOccurrences(of: "450mcg/day", with: "2100mcg/day")
        let plan = try await programmer.review(try prescription(json))
        #expect(plan.findings.errors.contains { $0.code == .doseAboveHardMax })
        let overrides = plan.findings.findings.map { Override(code: $0.code, reason: "ordered") }
        await #expect(throws: ProgrammerError.self) {
            _ = try await programmer.program(plan, overrides: overrides, confirmation: .flag(yes: true))
        }
        #expect(visit.transport.with { $0.pump.prescription.continuousDoseRateNanogramsPerDay } == 400_000)
    }

    @Test func requirement3ASoftLimitNeedsAnOverrideWithAReason() async throws {
        let visit = SimulatedVisit()
        let programmer = try await visit.programmer()
        // 400 -> 500 mcg/day is +25%: within spinal titration (30%), no finding;
        // 400 -> 1100 is above the soft maximum (and the titration limit).
        let json = Self.increase.replacingOccurrences(of: "450mcg/day", with: "1100mcg/day")
        let plan = try await programmer.review(try prescription(json))
        #expect(plan.findings.errors.isEmpty)
        #expect(plan.findings.warnings.contains { $0.code == .doseAboveSoftMax })
        await #expect(throws: ProgrammerError.self) {
            _ = try await programmer.program(plan, overrides: [], confirmation: .flag(yes: true))
        }
        let overrides = plan.findings.warnings.map { Override(code: $0.code, reason: "consultant's order, documented") }
        _ = try await programmer.program(plan, overrides: overrides, confirmation: .flag(yes: true))
        let audit = try visit.audit().entries()
        #expect(audit.contains { $0.command == "program" && $0.overrides.contains { $0.code == "dose.above-soft-max" && $0.reason == "consultant's order, documented" } })
    }

    @Test func requirement8ALostReplyLeavesTheBolusUncertainAndNeverSendsASecond() async throws {
        let visit = SimulatedVisit()
        let programmer = try await visit.programmer()
        // bolus sends: 1 interrogate with the newest event page (plan), 2
        // interrogate (the review still holds), 3 and 4 the two attempts of
        // the bolus, whose replies are lost after the pump acted, 5 and 6 the
        // question about its command id, whose replies are lost too.
        visit.transport.loseFrames(replies: [3, 4, 5, 6])
        let request = BolusPlan.Request(kind: .therapeutic, dose: .mcg(50), duration: .minutes(10))
        let lost = await failure { try await programmer.bolus(request, confirmation: .flag(yes: true)) }
        guard case .uncertain(let pending)? = lost else {
            Issue.record("a lost reply must end the bolus UNCERTAIN, not \(String(describing: lost))")
            return
        }
        #expect(pending.command == "bolus")
        // The pump did run it once.
        #expect(visit.transport.with { $0.pump.mechanics.bolus != nil })
        // An hour later (a new session: the first has expired), a second
        // bolus first resolves the first, which the pump carried out...
        visit.clock.advance(3600)
        let later = try await visit.programmer()
        let second = try await later.bolus(request, confirmation: .flag(yes: true))
        #expect(second.doseToPatient == .mcg(50))
        visit.clock.advance(3600)
        visit.transport.with { $0.catchUp(hostNow: visit.clock.now()) }
        // ...so exactly two boluses ran: the first (once) and the one asked for now.
        #expect(visit.transport.with { $0.pump.bolusesDelivered } == 2)
        let outcomes = try visit.audit().entries().compactMap(\.outcome)
        #expect(outcomes.contains { $0.hasPrefix("UNCERTAIN") })
        #expect(outcomes.contains(AuditOutcome.resolvedExecuted.rawValue))
    }

    /// Program's sends: 1 interrogate with the newest event page (review),
    /// 2 interrogate (the review still holds), 3 stage (4 its retransmission
    /// when lost), then commit, then the question about the lost command (two
    /// attempts). The replies of both attempts of one step and of the
    /// question are lost.
    @Test(arguments: [("stage", Set([3, 4, 5, 6]), false), ("commit", Set([4, 5, 6, 7]), true)])
    func requirement7ALostReplyAtEveryProgramStepLeavesOldOrNew(step: String, lost: Set<Int>, committed: Bool) async throws {
        let visit = SimulatedVisit()
        let programmer = try await visit.programmer()
        visit.transport.loseFrames(replies: lost)
        let plan = try await programmer.review(try prescription(Self.increase))
        let error = await failure { try await programmer.program(plan, overrides: [], confirmation: .flag(yes: true)) }
        guard case .uncertain? = error else {
            Issue.record("a lost \(step) reply must end UNCERTAIN, not \(String(describing: error))")
            return
        }
        // Whole old or whole new, never a mix: the active prescription is
        // exactly one of the two.
        let active = visit.transport.with { $0.pump.prescription }
        #expect(active == (committed ? plan.wire : plan.before.wirePrescription))
        let resolution = try await visit.programmer().resolvePending()
        #expect(resolution?.executed == true)
        #expect(try visit.audit().verify().intact)
    }

    /// Refill's sends: 1 interrogate with the newest event page, 2
    /// interrogate (the review still holds), 3 refill begin, 4 refill
    /// complete (each followed by its retransmission when the reply is
    /// lost), then the question about the lost command.
    @Test(arguments: [("begin", Set([3, 4, 5, 6]), false), ("complete", Set([4, 5, 6, 7]), true)])
    func requirement10ALostReplyAtEveryRefillStepLeavesOldOrNew(step: String, lost: Set<Int>, completed: Bool) async throws {
        let visit = SimulatedVisit()
        let programmer = try await visit.programmer()
        visit.transport.loseFrames(replies: lost)
        let request = RefillRequest(withdrawn: .mL(12), added: .mL(20), drug: nil, concentration: .mcgPerML(2000),
                                    newPrescription: nil, discrepancyAcknowledgement: nil)
        let error = await failure { try await programmer.refill(request, confirmation: .flag(yes: true)) }
        guard case .uncertain? = error else {
            Issue.record("a lost \(step) reply must end UNCERTAIN, not \(String(describing: error))")
            return
        }
        let reservoir = visit.transport.with { $0.pump.mechanics.reservoir }
        #expect(completed ? reservoir == FineVolume(nanolitres: 20_000_000) : reservoir > FineVolume(nanolitres: 11_900_000))
        #expect(reservoir <= FineVolume(nanolitres: 20_000_000))
        let resolution = try await visit.programmer().resolvePending()
        #expect(resolution?.executed == true)
    }

    @Test func requirement8ARequestThatNeverArrivedResolvesAsNotExecuted() async throws {
        let visit = SimulatedVisit()
        let programmer = try await visit.programmer()
        // Both attempts of the bolus (sends 3 and 4, after the plan's
        // interrogate with its event page and the execute's interrogate) are
        // lost before the pump; the pump, asked in the same session, never received it.
        visit.transport.loseFrames(requests: [3, 4])
        let request = BolusPlan.Request(kind: .therapeutic, dose: .mcg(50), duration: .minutes(10))
        let error = await failure { try await programmer.bolus(request, confirmation: .flag(yes: true)) }
        guard case .communication? = error else {
            Issue.record("a bolus the pump never received is a certain failure, not \(String(describing: error))")
            return
        }
        #expect(await programmer.effect == .unchanged)
        #expect(try await programmer.resolvePending() == nil)
        #expect(try visit.audit().entries().contains { $0.outcomeCode == .resolvedNeverReceived })
        #expect(visit.transport.with { $0.pump.bolusesDelivered } == 0)
        #expect(visit.transport.with { $0.pump.mechanics.bolus == nil })
    }

    @Test func requirement11NoBolusInAnAlarmThatStopsDelivery() async throws {
        let visit = SimulatedVisit()
        let programmer = try await visit.programmer()
        visit.transport.with { $0.inject(.motorStall) }
        let request = BolusPlan.Request(kind: .therapeutic, dose: .mcg(50), duration: .minutes(10))
        let refusal = await failure { try await programmer.bolus(request, confirmation: .flag(yes: true)) }
        guard case .refusedByPolicy(let message)? = refusal else {
            Issue.record("a bolus must be refused during a motor stall, not \(String(describing: refusal))")
            return
        }
        #expect(message.contains("motor stall"))
        #expect(visit.transport.with { $0.pump.mechanics.bolus == nil })
    }

    @Test func requirement10RefillAboveCapacityIsRefused() async throws {
        let visit = SimulatedVisit()
        let programmer = try await visit.programmer()
        // The residual is withdrawn completely; 21 mL would overfill a 20 mL pump.
        let request = RefillRequest(withdrawn: .mL(12), added: .mL(21), drug: nil, concentration: .mcgPerML(2000),
                                    newPrescription: nil, discrepancyAcknowledgement: nil)
        await #expect(throws: ProgrammerError.self) { _ = try await programmer.refill(request, confirmation: .flag(yes: true)) }
        #expect(visit.transport.with { $0.pump.mechanics.reservoir } == FineVolume(nanolitres: 12_000_000))
    }

    @Test func requirement10AResidualDiscrepancyMustBeAcknowledged() async throws {
        let visit = SimulatedVisit()
        let programmer = try await visit.programmer()
        // Expected 12 mL; tolerance max(0.5 mL, 20% of 12 = 2.4 mL) = 2.4 mL; 9 mL back is 3 mL short.
        var request = RefillRequest(withdrawn: .mL(9), added: .mL(18), drug: nil, concentration: .mcgPerML(2000),
                                    newPrescription: nil, discrepancyAcknowledgement: nil)
        let stopped = await failure { try await programmer.refill(request, confirmation: .flag(yes: true)) }
        guard case .refusedByPolicy(let message)? = stopped else {
            Issue.record("a discrepancy must stop the refill, not \(String(describing: stopped))")
            return
        }
        #expect(message.contains(FindingCode.refillResidualDiscrepancy.rawValue))
        // Refused before refill-begin: delivery was never paused.
        #expect(visit.transport.with { $0.pump.refillExpectedResidual } == nil)
        request.discrepancyAcknowledgement = "pocket checked, no swelling; catheter study booked"
        let record = try await programmer.refill(request, confirmation: .flag(yes: true))
        #expect(record.check.discrepancy)
        #expect(record.status.reservoirVolume == .mL(18))
        let audit = try visit.audit().entries()
        #expect(audit.contains { $0.command == "refill" && $0.parameters["discrepancy_acknowledgement"] == request.discrepancyAcknowledgement })
    }

    @Test func requirement5AConcentrationChangeNeedsAPrescriptionAndASecondOperator() async throws {
        let visit = SimulatedVisit()
        var request = RefillRequest(withdrawn: .mL(12), added: .mL(20), drug: nil, concentration: .mcgPerML(1000),
                                    newPrescription: nil, discrepancyAcknowledgement: nil)
        let programmer = try await visit.programmer()
        let refused = await failure { try await programmer.refill(request, confirmation: .flag(yes: true)) }
        guard case .refusedByPolicy(let message)? = refused else {
            Issue.record("a concentration change without a prescription must be refused, not \(String(describing: refused))")
            return
        }
        // The offer keeps 400 mcg/day at the new concentration.
        #expect(message.contains("\"concentration\" : \"1000mcg/mL\""))
        #expect(message.contains("\"daily_dose\" : \"400mcg/day\""))
        #expect(message.contains("by dose at the catheter tip"))
        request.newPrescription = try prescription(#"{"drug":"baclofen","concentration":"1000mcg/mL","indication":"spinal","mode":"continuous","daily_dose":"400mcg/day","catheter":{"volume":"0.26mL"}}"#)
        await #expect(throws: ProgrammerError.self) { _ = try await programmer.refill(request, confirmation: .flag(yes: true)) }
        let witnessed = try await visit.programmer(secondOperator: "nurse.b")
        // The concentration change is a soft finding that needs its override.
        let record = try await witnessed.refill(request, overrides: [Override(code: .concentrationChanged, reason: "stock change, order on file")],
                                                confirmation: .flag(yes: true))
        #expect(record.concentrationChanged)
        #expect(record.status.concentration == .mcgPerML(1000))
        // 400 mcg/day at 1000 mcg/mL is 0.4 mL/day, committed with the refill.
        #expect(visit.transport.with { $0.pump.prescription.continuousVolumeRateNanolitresPerDay } == 400_000)
        #expect(try visit.audit().entries().contains { $0.command == "refill" && $0.secondOperator == "nurse.b" })
    }

    @Test func requirement13EverythingIsAuditedAndTheLogVerifies() async throws {
        let visit = SimulatedVisit()
        let programmer = try await visit.programmer()
        _ = try await programmer.interrogate()
        let plan = try await programmer.review(try prescription(Self.increase))
        _ = try await programmer.program(plan, overrides: [], confirmation: .flag(yes: true))
        let entries = try visit.audit().entries()
        let phases = entries.filter { $0.command == "program" }.map(\.phase)
        #expect(phases == [.intent, .outcome])
        #expect(entries.allSatisfy { $0.operatorName == "tech.a" && $0.pumpSerial == PumpIdentity.demoSerial })
        await programmer.close()
        #expect(try visit.audit().verify().intact)
    }

    @Test func stoppingBaclofenNeedsTheWithdrawalOverride() async throws {
        let visit = SimulatedVisit()
        let programmer = try await visit.programmer()
        await #expect(throws: ProgrammerError.self) { _ = try await programmer.stop(overrides: [], confirmation: .flag(yes: true)) }
        let stopped = try await programmer.stop(overrides: [Override(code: .withdrawalRisk, reason: "pump explant today")],
                                                confirmation: .flag(yes: true))
        #expect(stopped.infusion == .stopped)
        #expect(stopped.lowReservoirAlarmDate == nil)
        let resumed = try await programmer.resume(confirmation: .flag(yes: true))
        #expect(resumed.infusion == .infusing)
    }

    @Test func requirement12ClockDriftIsReportedAndSynced() async throws {
        let visit = SimulatedVisit()
        visit.transport.with { $0.inject(.clockDrift, minutes: 12) }
        let programmer = try await visit.programmer()
        let check = try await programmer.readClock()
        #expect(check.driftSeconds == 720)
        #expect(check.large)
        let host = Int64(visit.clock.now())
        _ = try await programmer.changed(ClockSetCommand(hostSeconds: host), overrides: [], confirmation: .flag(yes: true))
        let after = try await programmer.readClock()
        #expect(abs(after.driftSeconds) <= 1)
    }

    @Test func alarmThresholdAndEventLog() async throws {
        let visit = SimulatedVisit()
        let programmer = try await visit.programmer()
        await #expect(throws: ProgrammerError.self) {
            _ = try await programmer.setLowReservoirThreshold(.mL(6), confirmation: .flag(yes: true))
        }
        let status = try await programmer.setLowReservoirThreshold(.mL(3), confirmation: .flag(yes: true))
        #expect(status.lowReservoirThreshold == .mL(3))
        // 12 - 3 = 9 mL at 0.2 mL/day: 45 days.
        #expect(status.daysToAlarm == 45)
        let events = try await programmer.eventLog(since: nil)
        #expect(events.first?.event == "alarm threshold set")
        #expect(events.first?.detail == 3_000_000)
    }
}

/// The workflows as a script drives them: every one through the pipeline
/// (plan, authorise, execute), as pumpctl does.
extension Programmer {
    func review(_ pending: Prescription) async throws(ProgrammerError) -> ChangePlan {
        try await plan(ProgramCommand(prescription: pending))
    }

    func program(_ plan: ChangePlan, overrides: [Override], confirmation: PumpProgrammer.Confirmation) async throws(ProgrammerError) -> ProgramOutcome {
        ProgramOutcome(try await execute(plan, overrides: overrides, confirmation: confirmation))
    }

    func bolus(_ request: BolusPlan.Request, overrides: [Override] = [], confirmation: PumpProgrammer.Confirmation)
        async throws(ProgrammerError) -> BolusPlan
    {
        let planned = try await plan(BolusCommand(request: request))
        _ = try await execute(planned, overrides: overrides, confirmation: confirmation)
        guard case .bolus(let bolus) = planned.change else { throw .deviceFault("not a bolus plan") }
        return bolus
    }

    func refill(_ request: RefillRequest, overrides: [Override] = [], confirmation: PumpProgrammer.Confirmation)
        async throws(ProgrammerError) -> RefillOutcome
    {
        let planned = try await plan(RefillCommand(request: request))
        let result = try await execute(planned, overrides: overrides, confirmation: confirmation)
        guard case .refill(let refill) = planned.change, let after = result.after else { throw .deviceFault("not a refill") }
        return RefillOutcome(check: refill.check, concentrationChanged: refill.concentrationChanged, status: after, result: result)
    }

    func stop(overrides: [Override], confirmation: PumpProgrammer.Confirmation) async throws(ProgrammerError) -> PumpStatus {
        try await changed(StopCommand(), overrides: overrides, confirmation: confirmation)
    }

    func resume(confirmation: PumpProgrammer.Confirmation) async throws(ProgrammerError) -> PumpStatus {
        try await changed(ResumeCommand(), overrides: [], confirmation: confirmation)
    }

    func setLowReservoirThreshold(_ threshold: Volume, confirmation: PumpProgrammer.Confirmation) async throws(ProgrammerError) -> PumpStatus {
        try await changed(AlarmThresholdCommand(threshold: threshold), overrides: [], confirmation: confirmation)
    }

    func changed(_ command: some PumpCommand, overrides: [Override], confirmation: PumpProgrammer.Confirmation) async throws(ProgrammerError) -> PumpStatus {
        let planned = try await plan(command)
        let result = try await execute(planned, overrides: overrides, confirmation: confirmation)
        guard let after = result.after else { throw .deviceFault("the pump was not read after the change") }
        return after
    }
}

struct ProgramOutcome {
    var result: ChangeResult
    var status: PumpStatus
    var reportPaths: [String] { result.reportPaths }
    init(_ result: ChangeResult) {
        self.result = result
        status = result.after ?? result.plan.before
    }
}

struct RefillOutcome {
    var check: RefillCheck
    var concentrationChanged: Bool
    var status: PumpStatus
    var result: ChangeResult
}

extension ChangePlan {
    /// The prescription change of a program plan.
    var program: ProgramChange? {
        if case .program(let change) = change { return change }
        return nil
    }
    var review: Review { program?.review ?? Review(rows: [], report: findings, pendingPrescribed: .zero) }
    var wire: WirePrescription? { program?.wire }
}

/// The error an operation failed with, or nil when it succeeded.
func failure<T>(_ operation: () async throws -> T) async -> ProgrammerError? {
    do {
        _ = try await operation()
        return nil
    } catch let error as ProgrammerError {
        return error
    } catch {
        Issue.record("unexpected error \(error)")
        return nil
    }
}
