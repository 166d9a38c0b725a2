import Foundation
import PumpSimulator
import Synchronization
import Testing
import Therapy
import WandProtocol
@testable import PumpProgrammer

/// The command pipeline against the simulated pump: every check before the
/// prompt, outcomes decided by the layer that sent the requests, the pump
/// never left half-way. Each test is one of the reproductions that the
/// pipeline was built to end.
@Suite struct PipelineTests {
    static let increase = WorkflowTests.increase
    /// 333 mcg/day at 2000 mcg/mL is 0.1665 mL/day: the pump runs 0.166 mL/day
    /// (332 mcg/day), so prescribed and delivered differ.
    static let rounded = #"{"drug":"baclofen","concentration":"2000mcg/mL","indication":"spinal","mode":"continuous","daily_dose":"333mcg/day","catheter":{"volume":"0.26mL"}}"#

    @Test func theSameFileProgrammedTwiceIsNoChangeAndSendsNothing() async throws {
        let visit = SimulatedVisit()
        let programmer = try await visit.programmer()
        let first = try await programmer.review(try prescription(Self.rounded))
        _ = try await programmer.execute(first, overrides: [], confirmation: .flag(yes: true))
        let again = try await visit.programmer()
        let second = try await again.review(try prescription(Self.rounded))
        #expect(second.unchanged)
        #expect(second.findings.findings.isEmpty, "no titration.within-24h for the prescription the pump already runs")
        #expect(second.review.rows.allSatisfy { !$0.changed })
        #expect(second.program?.doseIncrease == false)
        let result = try await again.execute(second, overrides: [], confirmation: .flag(yes: true))
        #expect(result.effect == .nothingSent)
        #expect(await again.ledger.isEmpty)
        #expect(try visit.audit().entries().contains { $0.outcomeCode == .unchanged })
    }

    @Test func aChangeOfTheRoundedPrescriptionComparesDeliveredDoses() async throws {
        let visit = SimulatedVisit()
        let programmer = try await visit.programmer()
        _ = try await programmer.execute(try await programmer.review(try prescription(Self.rounded)), overrides: [],
                                         confirmation: .flag(yes: true))
        // The same dose with a patient bolus added: no dose change, so no
        // titration finding, although the prescription changes.
        let withBolus = Self.rounded.replacingOccurrences(
            of: #""catheter""#, with: #""patient_bolus":{"dose":"20mcg","duration":"10min","lockout":"3h","max_per_24h":4},"catheter""#)
        let plan = try await visit.programmer().review(try prescription(withBolus))
        #expect(!plan.unchanged)
        #expect(!plan.findings.findings.contains { $0.code == .titrationWithin24h })
        #expect(plan.program?.doseIncrease == false)
        #expect(plan.review.rows.first { $0.field == "daily dose" }?.changed == false)
    }

    @Test func aLostBolusReplyIsResolvedInTheSameSession() async throws {
        let visit = SimulatedVisit()
        let programmer = try await visit.programmer()
        let plan = try await programmer.plan(BolusCommand(request: .init(kind: .therapeutic, dose: .mcg(50), duration: .minutes(10))))
        // Sends from here: 1 interrogate (the review still holds), 2 and 3
        // the bolus, whose replies are lost after the pump acted; 4 the
        // question about its command id, which is answered.
        visit.transport.loseFrames(replies: [2, 3])
        let result = try await programmer.execute(plan, overrides: [], confirmation: .flag(yes: true))
        #expect(result.effect == .changed([.bolus]))
        // Running once: no second bolus was sent.
        #expect(visit.transport.with { $0.pump.mechanics.bolus != nil })
        visit.clock.advance(3600)
        visit.transport.with { $0.catchUp(hostNow: visit.clock.now()) }
        #expect(visit.transport.with { $0.pump.bolusesDelivered } == 1)
        #expect(try await programmer.resolvePending() == nil)
        let outcomes = try visit.audit().entries().filter { $0.command == "bolus" }.compactMap(\.outcomeCode)
        #expect(outcomes == [.uncertain, .resolvedExecuted])
    }

    /// A wand that answers a delivered bolus with "pump not in range": the
    /// pump is asked about the command id, and the bolus is never sent
    /// twice.
    @Test func aWandNakAfterADeliveredBolusIsResolvedByThePumpNotBelieved() async throws {
        let visit = SimulatedVisit()
        let programmer = try await visit.programmer()
        let request = BolusPlan.Request(kind: .therapeutic, dose: .mcg(50), duration: .minutes(10))
        let plan = try await programmer.plan(BolusCommand(request: request))
        // Sends from here: 1 interrogate, 2 and 3 the bolus (both answered
        // with the NAK after the pump acted on the first), 4 the question.
        visit.transport.answerWithNak(.pumpNotInRange, sends: [2, 3])
        let result = try await programmer.execute(plan, overrides: [], confirmation: .flag(yes: true))
        #expect(result.effect == .changed([.bolus]))
        let entries = try visit.audit().entries().filter { $0.command == "bolus" && $0.phase == .outcome }
        #expect(entries.compactMap(\.outcomeCode) == [.uncertain, .resolvedExecuted])
        #expect(entries.first?.parameters["detail"]?.contains("the wand said") == true)
        // A retry by the technician is a new bolus, planned against a pump
        // that now reports the first one running: refused.
        let again = try await programmer.plan(BolusCommand(request: request))
        #expect(again.findings.errors.map(\.code).contains(.pumpBolusRunning))
        visit.clock.advance(3600)
        visit.transport.with { $0.catchUp(hostNow: visit.clock.now()) }
        #expect(visit.transport.with { $0.pump.bolusesDelivered } == 1)
    }

    @Test func aHardLimitIsFoundBeforeAnyConfirmationIsAsked() async throws {
        let visit = SimulatedVisit()
        let programmer = try await visit.programmer()
        let plan = try await programmer.plan(BolusCommand(request: .init(kind: .therapeutic, dose: .mg(1), duration: .minutes(10))))
        #expect(plan.findings.errors.map(\.code).contains(.bolusAboveHardMax))
        // The check a programmer runs before prompting refuses it.
        let refused = await failure { try await programmer.preflight(plan, overrides: []) }
        guard case .refusedByPolicy(let message)? = refused else {
            Issue.record("a 1 mg baclofen bolus must be refused by the check, not \(String(describing: refused))")
            return
        }
        #expect(message.contains("bolus.above-hard-max"))
        #expect(await programmer.effect == .nothingSent)
        #expect(visit.transport.with { $0.pump.mechanics.bolus == nil })
    }

    @Test func aBolusDuringAMotorStallIsRefusedByTheCheck() async throws {
        let visit = SimulatedVisit()
        visit.transport.with { $0.inject(.motorStall) }
        let programmer = try await visit.programmer()
        let plan = try await programmer.plan(BolusCommand(request: .init(kind: .therapeutic, dose: .mcg(50), duration: .minutes(10))))
        #expect(plan.findings.errors.map(\.code).contains(.pumpAlarmStopsDelivery))
        let refused = await failure { try await programmer.preflight(plan, overrides: []) }
        guard case .refusedByPolicy(let message)? = refused else {
            Issue.record("a bolus during a motor stall must be refused by the check, not \(String(describing: refused))")
            return
        }
        #expect(message.contains("motor stall"))
    }

    @Test func theBolusFiguresThatOverflowedAreHardFindings() async throws {
        let visit = SimulatedVisit()
        let programmer = try await visit.programmer()
        let huge = try await programmer.plan(BolusCommand(request: .init(kind: .therapeutic, dose: .mg(500_000_000), duration: .days(1))))
        #expect(huge.findings.errors.contains { $0.code == .arithmeticOutOfRange })
        let prime = try await programmer.plan(BolusCommand(request: .init(kind: .prime, volume: .mL(999_999_999), duration: .minutes(10))))
        #expect(prime.findings.errors.contains { $0.code == .arithmeticOutOfRange })
        #expect(prime.findings.errors.contains { $0.code == .reservoirInsufficient })
    }

    @Test func aRefillWithAPrescriptionObeysTheSecondProviderRuleForIncreases() async throws {
        var policy = try ClinicPolicy.shippedDefaults()
        policy.secondOperatorRequiredFor = [.doseIncrease, .concentrationChange]
        let visit = SimulatedVisit()
        let alone = try await visit.programmer(policy: policy)
        let request = RefillRequest(withdrawn: .mL(12), added: .mL(20), drug: nil, concentration: .mcgPerML(2000),
                                    newPrescription: try prescription(Self.increase), discrepancyAcknowledgement: nil)
        let plan = try await alone.plan(RefillCommand(request: request))
        #expect(plan.secondProvider == .doseIncrease)
        let refused = await failure { try await alone.preflight(plan, overrides: []) }
        guard case .refusedByPolicy(let message)? = refused else {
            Issue.record("a dose increase in a refill needs the second provider, not \(String(describing: refused))")
            return
        }
        #expect(message.contains("--second-operator"))
        // Refused before refill-begin: delivery never paused.
        #expect(visit.transport.with { $0.pump.refillExpectedResidual } == nil)
        #expect(await alone.effect == .nothingSent)
    }

    @Test func aPumpChangedSinceTheReviewIsNotWrittenOver() async throws {
        let visit = SimulatedVisit()
        let first = try await visit.programmer()
        let plan = try await first.review(try prescription(Self.increase))
        // The pump changes while the technician reads the review (here its
        // motor stalls and it stops; another programmer's change is caught
        // the same way, by the prescription hash).
        visit.transport.with { $0.inject(.motorStall) }
        let stale = await failure { try await first.execute(plan, overrides: [], confirmation: .flag(yes: true)) }
        guard case .staleReview(let changed)? = stale else {
            Issue.record("a stale review must be refused, not \(String(describing: stale))")
            return
        }
        #expect(changed == ["infusion state"])
        #expect(await first.effect == .nothingSent)
        #expect(visit.transport.with { $0.pump.prescription.continuousDoseRateNanogramsPerDay } == 400_000)
    }

    @Test func theBasisOfAReviewNamesEveryChangedField() async throws {
        let visit = SimulatedVisit()
        let programmer = try await visit.programmer()
        let before = try await programmer.interrogate().status
        _ = try await programmer.execute(try await programmer.review(try prescription(Self.increase)), overrides: [],
                                         confirmation: .flag(yes: true))
        let after = try await programmer.interrogate().status
        #expect(PlanBasis(before).differences(from: PlanBasis(after)) == ["prescription", "last therapy change"])
        #expect(PlanBasis(after).differences(from: PlanBasis(after)).isEmpty)
    }

    @Test func aFailedReadBackAfterAnExecutedCommitIsNotVerifiedAndTheNextSessionVerifiesIt() async throws {
        let visit = SimulatedVisit()
        let programmer = try await visit.programmer()
        let plan = try await programmer.review(try prescription(Self.increase))
        // Sends from here: 1 interrogate (the review still holds), 2 stage,
        // 3 commit, 4 and 5 the read-back: its replies are lost.
        visit.transport.loseFrames(replies: [4, 5])
        let error = await failure { try await programmer.execute(plan, overrides: [], confirmation: .flag(yes: true)) }
        guard case .notVerified(.commit, _)? = error else {
            Issue.record("a commit carried out whose read-back failed is not a certain failure, not \(String(describing: error))")
            return
        }
        #expect(await programmer.effect == .changed([.stage, .commit]))
        #expect(visit.transport.with { $0.pump.prescription } == plan.wire)
        let reports = try FileManager.default.contentsOfDirectory(atPath: visit.directory.file("reports").string)
        #expect(reports.count == 2)
        let next = try await visit.programmer()
        let resolution = try await next.resolvePending()
        #expect(resolution?.fate == .executed)
        #expect(resolution?.verified == true)
        #expect(try await next.resolvePending() == nil)
    }

    @Test func aCancelAtThePromptSendsNothingAndIsRecorded() async throws {
        let visit = SimulatedVisit()
        let programmer = try await visit.programmer()
        let plan = try await programmer.review(try prescription(Self.increase))
        await #expect(throws: ProgrammerError.cancelled) {
            _ = try await programmer.execute(plan, overrides: [], confirmation: .interrupted)
        }
        #expect(await programmer.effect == .nothingSent)
        #expect(try visit.audit().entries().contains { $0.command == "program" && $0.outcomeCode == .cancelled })
        #expect(visit.transport.with { $0.pump.prescription.continuousDoseRateNanogramsPerDay } == 400_000)
    }

    @Test func aCancelBetweenStageAndCommitDiscardsTheStagedPrescription() async throws {
        let visit = SimulatedVisit()
        let transport = visit.transport
        // Ctrl-C arrives once the stage request has gone (send 3, after the
        // review's interrogate with its event page and the execute's interrogate).
        let programmer = try await visit.programmer(interrupted: { transport.sendCount >= 3 })
        transport.loseFrames()
        let plan = try await programmer.review(try prescription(Self.increase))
        await #expect(throws: ProgrammerError.cancelled) {
            _ = try await programmer.execute(plan, overrides: [], confirmation: .flag(yes: true))
        }
        #expect(await programmer.effect == .changed([.stage, .discard]))
        #expect(visit.transport.with { $0.pump.staged } == nil)
        #expect(visit.transport.with { $0.pump.prescription.continuousDoseRateNanogramsPerDay } == 400_000)
    }

    @Test func aRefillRefusedAfterBeginIsCancelledAndDeliveryResumes() async throws {
        let visit = SimulatedVisit()
        let programmer = try await visit.programmer()
        // 12 mL withdrawn against 12 mL expected: no discrepancy at the plan.
        let request = RefillRequest(withdrawn: .mL(12), added: .mL(20), drug: nil, concentration: .mcgPerML(2000),
                                    newPrescription: nil, discrepancyAcknowledgement: nil)
        let plan = try await programmer.plan(RefillCommand(request: request))
        #expect(plan.findings.findings.isEmpty)
        // Before it is sent the pump's reservoir reads 8 mL (a leak, or a
        // wrong figure at the plan): far more than delivery in the time at
        // the prompt explains, so the residual check no longer holds.
        visit.transport.with { $0.pump.mechanics.reservoir = FineVolume(nanolitres: 8_000_000) }
        let refused = await failure { try await programmer.execute(plan, overrides: [], confirmation: .flag(yes: true)) }
        guard case .refusedByPolicy(let message)? = refused else {
            Issue.record("the residual checked against the begin report must refuse, not \(String(describing: refused))")
            return
        }
        #expect(message.contains("the pump now expects a residual of 8mL, but the review checked 12mL"))
        #expect(await programmer.effect == .changed([.refillBegin, .refillCancel]))
        #expect(await programmer.effect.leftAsBefore)
        #expect(visit.transport.with { $0.pump.refillExpectedResidual } == nil)
        let after = try await programmer.interrogate().status
        #expect(after.infusion == .infusing)
        #expect(after.reservoirVolume == .mL(8))
    }

    @Test func receiptsMustAnswerTheCommandIdWithARealTime() throws {
        let id = try #require(CommandID(bytes: Array(repeating: 7, count: 16)))
        let other = try #require(CommandID(bytes: Array(repeating: 8, count: 16)))
        let bolus = PumpRequest.startBolus(StartBolus(commandId: id, expiry: RequestExpiry.after(pumpClock: SimulatedVisit.start), kind: .therapeutic, doseNanograms: 50_000,
                                                      volumeNanolitres: 25_000, durationSeconds: 600))
        let good = PumpReply.executed(.startBolus, CommandReceipt(commandId: id, executedAtUTCSeconds: 1_800_000_000))
        #expect(Programmer.answers(good, bolus))
        #expect(!Programmer.answers(.executed(.startBolus, CommandReceipt(commandId: other, executedAtUTCSeconds: 1_800_000_000)), bolus))
        #expect(!Programmer.answers(.executed(.stopInfusion, CommandReceipt(commandId: id, executedAtUTCSeconds: 1_800_000_000)), bolus))
        #expect(!Programmer.answers(.executed(.startBolus, CommandReceipt(commandId: id, executedAtUTCSeconds: -1)), bolus))
        #expect(!Programmer.answers(.executed(.startBolus, CommandReceipt(commandId: id, executedAtUTCSeconds: .min)), bolus))
    }

    @Test func aPumpTimeOutsideAnyRealDateIsADeviceFaultNotACrash() throws {
        let simulation = PumpSimulation.fresh(profile: .rp20, seed: 1, hostNow: SimulatedVisit.start)
        var report = simulation.pump.interrogateReport()
        report.lastChangeUTCSeconds = .min
        #expect(throws: ProgrammerError.self) {
            _ = try PumpStatus(report: report, hostNow: Date(), simulated: true, unresolved: nil)
        }
        report.lastChangeUTCSeconds = 1_800_000_000
        report.clock = WireTime(utcSeconds: .max, zoneOffsetMinutes: 0)
        #expect(throws: ProgrammerError.self) {
            _ = try PumpStatus(report: report, hostNow: Date(), simulated: true, unresolved: nil)
        }
        _ = simulation
    }

    // MARK: Found by the attack pass

    @Test func anOverriddenDiscrepancyAndDeliveryAtThePromptAreNotRefusedAfterTheYes() async throws {
        let visit = SimulatedVisit()
        let programmer = try await visit.programmer()
        let request = RefillRequest(withdrawn: .mL(5), added: .mL(20), drug: nil, concentration: .mcgPerML(2000),
                                    newPrescription: nil, discrepancyAcknowledgement: nil)
        let plan = try await programmer.plan(RefillCommand(request: request))
        #expect(plan.findings.warnings.map(\.code) == [.refillResidualDiscrepancy])
        // The pump delivers 10 uL while the technician reads the review.
        visit.transport.with { $0.pump.mechanics.reservoir = FineVolume(nanolitres: 11_990_000) }
        let result = try await programmer.execute(plan, overrides: [Override(code: .refillResidualDiscrepancy, reason: "pocket checked, no swelling")],
                                                  confirmation: .flag(yes: true))
        #expect(result.effect == .changed([.refillBegin, .refillComplete]))
        #expect(result.after?.reservoirVolume == .mL(20))
    }

    @Test func changesThePumpWouldRefuseAreFoundBeforeThePrompt() async throws {
        let visit = SimulatedVisit()
        visit.transport.with { $0.inject(.motorStall) }
        let programmer = try await visit.programmer()
        let program = try await programmer.review(try prescription(Self.increase))
        #expect(program.findings.errors.map(\.code).contains(.pumpAlarmStopsDelivery))
        // A refill left begun (here by the simulator directly): every other
        // change waits for it to be finished or cancelled.
        let fresh = SimulatedVisit()
        let other = try await fresh.programmer()
        let begin = try #require(CommandID(bytes: Array(repeating: 9, count: 16)))
        fresh.transport.with { sim in _ = sim.pump.execute(.refillBegin(RefillBegin(commandId: begin, expiry: RequestExpiry.after(pumpClock: SimulatedVisit.start)))) }
        var codes: [[FindingCode]] = []
        codes.append(try await other.plan(ProgramCommand(prescription: try prescription(Self.increase))).findings.errors.map(\.code))
        codes.append(try await other.plan(AlarmThresholdCommand(threshold: .mL(3))).findings.errors.map(\.code))
        codes.append(try await other.plan(ClockSetCommand(hostSeconds: fresh.clock.now())).findings.errors.map(\.code))
        codes.append(try await other.plan(StopCommand()).findings.errors.map(\.code))
        #expect(codes.allSatisfy { $0.contains(.pumpRefillInProgress) }, "\(codes)")
    }

    @Test func stoppingAStoppedPumpSendsNothing() async throws {
        let visit = SimulatedVisit()
        let programmer = try await visit.programmer()
        _ = try await programmer.stop(overrides: [Override(code: .withdrawalRisk, reason: "pump explant today")], confirmation: .flag(yes: true))
        let again = try await programmer.plan(StopCommand())
        #expect(again.unchanged)
        #expect(again.findings.findings.isEmpty)
        let result = try await programmer.execute(again, overrides: [], confirmation: .flag(yes: true))
        #expect(result.effect == .changed([.stop]), "only the first stop was sent")
        #expect(result.after?.schedulerSentence.contains("NOT DELIVERING") == true)
    }

    @Test func aBolusLongerThanTheWireHoldsIsAFinding() async throws {
        let visit = SimulatedVisit()
        let programmer = try await visit.programmer()
        let plan = try await programmer.plan(BolusCommand(request: .init(kind: .therapeutic, dose: .mcg(20), duration: .hours(25))))
        #expect(plan.findings.errors.map(\.code) == [.bolusDurationOutOfRange])
    }

    /// Found on the simulator: a prime "into an empty line" on a full line
    /// delivered 920 mcg in 10 minutes. The line's contents are the pump's
    /// report now: a full line has nothing to prime, and a prime given a
    /// volume anyway is held to every bolus limit for what it pushes out.
    @Test func aPrimeOnAFullLineFindsNothingToPrimeOrIsHeldToTheBolusLimits() async throws {
        let visit = SimulatedVisit()
        let programmer = try await visit.programmer()
        let nothing = try await programmer.plan(BolusCommand(request: .init(kind: .prime, duration: .minutes(10))))
        #expect(nothing.findings.errors.map(\.code) == [.lineNothingToBridge])
        let forced = try await programmer.plan(BolusCommand(request: .init(kind: .prime, volume: .uL(460), duration: .minutes(10))))
        guard case .bolus(let bolus) = forced.change else { Issue.record("not a bolus plan"); return }
        #expect(bolus.doseToPatient == .mcg(920))
        #expect(forced.findings.errors.map(\.code).contains(.bolusAboveHardMax))
        #expect(forced.findings.warnings.map(\.code).contains(.primingDeliversDrug))
    }

    @Test func aPendingRecordWhoseKindThePumpContradictsIsNotBelieved() async throws {
        let visit = SimulatedVisit()
        let transport = visit.transport
        let programmer = try await visit.programmer()
        // A bolus whose reply and outcome question are lost stays pending.
        let plan = try await programmer.plan(BolusCommand(request: .init(kind: .therapeutic, dose: .mcg(50), duration: .minutes(10))))
        transport.loseFrames(replies: [2, 3, 4, 5])
        _ = await failure { try await programmer.execute(plan, overrides: [], confirmation: .flag(yes: true)) }
        // Someone rewrites the record to claim it was a programming command.
        let store = PendingCommandStore(directory: visit.directory)
        var record = try #require(try store.load(pumpSerial: PumpIdentity.demoSerial))
        try store.resolve(commandID: record.commandID, pumpSerial: record.pumpSerial)
        record.command = CommandKind.commit.rawValue
        try store.record(record)
        let next = try await visit.programmer()
        let refused = await failure { try await next.resolvePending() }
        guard case .unresolved(_, let detail)? = refused else {
            Issue.record("a record contradicted by the pump must stay unresolved, not \(String(describing: refused))")
            return
        }
        #expect(detail.contains("startBolus"))
    }

    @Test func aCommandResolvedByThePlanIsShownWithIt() async throws {
        let visit = SimulatedVisit()
        let programmer = try await visit.programmer()
        let plan = try await programmer.plan(BolusCommand(request: .init(kind: .therapeutic, dose: .mcg(50), duration: .minutes(10))))
        visit.transport.loseFrames(replies: [2, 3, 4, 5])
        _ = await failure { try await programmer.execute(plan, overrides: [], confirmation: .flag(yes: true)) }
        let next = try await visit.programmer()
        let stop = try await next.plan(StopCommand())
        #expect(stop.resolution?.fate == .executed)
        #expect(stop.resolution?.command.command == "bolus")
    }
}

