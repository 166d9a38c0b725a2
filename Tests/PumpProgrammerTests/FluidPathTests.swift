import Foundation
import PumpSimulator
import Testing
import Therapy
import WandProtocol
@testable import PumpProgrammer

/// The fluid path end to end: what the programmer shows against what the
/// simulated pump delivers. Each test is a finding made on the simulator
/// before the pump kept its fluid path.
@Suite struct FluidPathTests {
    static let day: Int64 = 86_400

    /// Refills the visit's pump (baclofen 2000 mcg/mL, 400 mcg/day, a
    /// 0.46 mL line) with `concentration` and the prescription that keeps
    /// 400 mcg/day, through the pipeline; returns the plan.
    static func refill(_ visit: SimulatedVisit, drug: Drug = .baclofen, concentration: Concentration,
                       prescription json: String, overrides extra: [Override] = []) async throws -> ChangePlan {
        let programmer = try await visit.programmer(secondOperator: "nurse.b")
        let request = RefillRequest(withdrawn: .mL(12), added: .mL(18), drug: drug, concentration: concentration,
                                    newPrescription: try prescription(json), discrepancyAcknowledgement: nil)
        let plan = try await programmer.plan(RefillCommand(request: request))
        let overrides = plan.findings.warnings.map { Override(code: $0.code, reason: "ordered by the physician, plan on file") } + extra
        _ = try await programmer.execute(plan, overrides: overrides, confirmation: .flag(yes: true))
        await programmer.close()
        return plan
    }

    static let at500 = #"{"drug":"baclofen","concentration":"500mcg/mL","indication":"spinal","mode":"continuous","daily_dose":"400mcg/day"}"#

    /// What the simulator has delivered so far, ng, after catching up to the visit's clock.
    static func delivered(_ visit: SimulatedVisit, drug: WireDrug = .baclofen) -> Int64 {
        let now = visit.clock.now()
        return visit.transport.with { simulation in
            simulation.catchUp(hostNow: now)
            return simulation.pump.mechanics.deliveredNanograms(ofDrug: drug.rawValue)
        }
    }

    /// Found: 2000 -> 500 mcg/mL at 400 mcg/day switched to 0.8 mL/day at
    /// once, so the line's 0.46 mL of 2000 mcg/mL went in at 4x the dose,
    /// while the screen spoke of a bridge nothing programmed. Now the
    /// screen says what the pump does, and the simulator delivers it.
    @Test func aConcentrationChangeDeliversThePrescribedDoseAndArrivesWhenTheScreenSays() async throws {
        let visit = SimulatedVisit()
        let plan = try await Self.refill(visit, concentration: .mcgPerML(500), prescription: Self.at500)
        guard case .refill(let refill) = plan.change, let transition = refill.transition else {
            Issue.record("the refill plan carries no line transition")
            return
        }
        #expect(transition.stretches.map(\.volume) == [.uL(460)])
        #expect(transition.stretches.map(\.contents) == [.drug(.baclofen, .mcgPerML(2000))])
        // 0.46 mL x 2000 mcg/mL = 920 mcg at 400 mcg/day: 2.3 days.
        #expect(transition.stretches.first?.duration == .seconds(198_720))
        let shownArrival = try #require(transition.reservoirDrugArrives)
        var days: [Int64] = []
        for _ in 0..<3 {
            let before = Self.delivered(visit)
            visit.clock.advance(Self.day)
            days.append(Self.delivered(visit) - before)
        }
        for delivered in days { #expect(abs(delivered - 400_000) <= 20_000, "\(days)") }
        let turned = visit.transport.with { $0.pump.eventLog.entries.first { $0.code == PumpEventCode.lineTurnedOver.rawValue } }
        let arrived = try #require(turned?.time)
        #expect(abs(arrived - shownArrival.utcSeconds) <= 60, "shown \(shownArrival.iso8601), the pump logged \(arrived)")
    }

    /// Found: after that refill a therapeutic 50 mcg bolus delivered 211 mcg
    /// (its volume figured at 500 mcg/mL, pushing 2000 mcg/mL), and a bridge
    /// shown as 230 mcg delivered 920.
    @Test func aBolusAfterAConcentrationChangeIsFiguredFromWhatTheLineHolds() async throws {
        let visit = SimulatedVisit()
        _ = try await Self.refill(visit, concentration: .mcgPerML(500), prescription: Self.at500)
        visit.clock.advance(60)
        let programmer = try await visit.programmer()
        let bolus = try await programmer.plan(BolusCommand(request: .init(kind: .therapeutic, dose: .mcg(50), duration: .minutes(10))))
        guard case .bolus(let planned) = bolus.change else { Issue.record("not a bolus"); return }
        #expect(planned.volume == .uL(25))
        #expect(planned.doseToPatient == .mcg(50))
        let before = Self.delivered(visit)
        _ = try await programmer.execute(bolus, overrides: [], confirmation: .flag(yes: true))
        visit.clock.advance(600)
        // The bolus's 50 mcg and 10 minutes of the 400 mcg/day basal (2.8 mcg).
        let delivered = Self.delivered(visit) - before
        #expect(abs(delivered - 52_778) <= 1_000, "delivered \(delivered) ng")
        await programmer.close()
        // Ten minutes on, the pump has closed the idle session: a new one.
        let later = try await visit.programmer()
        let bridge = try await later.plan(BolusCommand(request: .init(kind: .bridge, duration: .hours(1))))
        guard case .bolus(let pushed) = bridge.change else { Issue.record("not a bolus"); return }
        #expect(pushed.doseToPatient >= .mcg(850), "\(pushed.doseToPatient)")
        #expect(bridge.findings.errors.map(\.code).contains(.bolusAboveHardMax))
        await later.close()
    }

    /// Found: a drug change from baclofen to morphine raised only
    /// drug.changed, and the first bolus pushed the line's baclofen out.
    @Test func leavingBaclofenNeedsAWithdrawalPlanAndHoldsBolusesUntilTheBaclofenHasLeft() async throws {
        let visit = SimulatedVisit()
        let morphine = #"{"drug":"morphine","concentration":"10mg/mL","indication":"pain","mode":"continuous","daily_dose":"1mg/day","opioid_tolerance":"tolerant"}"#
        let programmer = try await visit.programmer(secondOperator: "nurse.b")
        let request = RefillRequest(withdrawn: .mL(12), added: .mL(18), drug: .morphine, concentration: .mgPerML(10),
                                    newPrescription: try prescription(morphine), discrepancyAcknowledgement: nil)
        let plan = try await programmer.plan(RefillCommand(request: request))
        let withdrawal = try #require(plan.findings.warnings.first { $0.code == .drugChangeWithdrawal })
        #expect(withdrawal.message.contains("oral baclofen"))
        await programmer.close()
        _ = try await Self.refill(visit, drug: .morphine, concentration: .mgPerML(10), prescription: morphine)
        let next = try await visit.programmer()
        let early = try await next.plan(BolusCommand(request: .init(kind: .therapeutic, dose: .mcg(200), duration: .minutes(30),
                                                                   opioidTolerance: .tolerant)))
        #expect(early.findings.errors.map(\.code).contains(.lineHoldsOtherDrug))
        let status = try await next.interrogate().status
        #expect(status.outgoingPrescription?.drug == .baclofen)
        #expect(status.lineTransition?.stretches.first?.contents == .drug(.baclofen, .mcgPerML(2000)))
        await next.close()
    }

    /// Found: a prescription without `catheter` dropped the catheter volume.
    @Test func aPrescriptionWithoutACatheterTakesThePumpsAndAnotherOneIsRefused() async throws {
        let visit = SimulatedVisit()
        let programmer = try await visit.programmer()
        let without = #"{"drug":"baclofen","concentration":"2000mcg/mL","indication":"spinal","mode":"continuous","daily_dose":"420mcg/day"}"#
        let plan = try await programmer.plan(ProgramCommand(prescription: try prescription(without)))
        guard case .program(let change) = plan.change else { Issue.record("not a program plan"); return }
        #expect(change.wire.catheterVolumeNanolitres == 260_000)
        let other = without.replacingOccurrences(of: "}", with: #","catheter":{"volume":"0.3mL"}}"#)
        let refused = try await programmer.plan(ProgramCommand(prescription: try prescription(other)))
        #expect(refused.findings.errors.map(\.code) == [.catheterMismatch])
        await programmer.close()
    }

    /// An implant or catheter replacement is the pump's record; the prime
    /// fills what holds no drug, and the pump is NOT DELIVERING until then.
    @Test func aCatheterReplacementThenAPrimeThroughThePipeline() async throws {
        let visit = SimulatedVisit()
        let programmer = try await visit.programmer()
        let running = try await programmer.plan(FluidPathCommand(event: .catheterReplaced, catheter: .uL(300)))
        #expect(running.findings.errors.map(\.code) == [.pumpAlreadyInState])
        let stop = try await programmer.plan(StopCommand())
        _ = try await programmer.execute(stop, overrides: [Override(code: .withdrawalRisk, reason: "catheter revision in theatre")],
                                         confirmation: .flag(yes: true))
        let replace = try await programmer.plan(FluidPathCommand(event: .catheterReplaced, catheter: .uL(300)))
        let replaced = try await programmer.execute(replace, overrides: [], confirmation: .flag(yes: true))
        let after = try #require(replaced.after)
        #expect(after.fluidPath.segments.first == FluidPath.Segment(volume: .uL(300), contents: .noDrug))
        #expect(after.fluidPath.catheter == .uL(300))
        #expect(after.notDelivering == .stopped)
        let prime = try await programmer.plan(BolusCommand(request: .init(kind: .prime, duration: .minutes(10))))
        guard case .bolus(let planned) = prime.change else { Issue.record("not a bolus"); return }
        #expect(planned.volume == .uL(300))
        #expect(planned.doseToPatient == .zero)
        #expect(prime.findings.errors.isEmpty, "\(prime.findings.errors)")
        let before = Self.delivered(visit)
        _ = try await programmer.execute(prime, overrides: [], confirmation: .flag(yes: true))
        await programmer.close()
        visit.clock.advance(601)
        #expect(Self.delivered(visit) == before)
        let later = try await visit.programmer()
        let primed = try await later.interrogate().status
        #expect(!primed.fluidPath.tipHoldsNoDrug)
        // The prime put no drug in, and the pump logged so: it does not count
        // against the boluses of the next 24 h (it was counted as 600 mcg).
        let resume = try await later.plan(ResumeCommand())
        _ = try await later.execute(resume, overrides: [], confirmation: .flag(yes: true))
        let bolus = try await later.plan(BolusCommand(request: .init(kind: .therapeutic, dose: .mcg(50), duration: .minutes(10))))
        #expect(bolus.parameters["boluses_last_24h"] == "1, \(Mass.zero)", "\(bolus.parameters)")
        await later.close()
    }

    /// Found: interrogate of a stalled, empty or stopped pump exited 0,
    /// showed "0mcg/day" and said no alarm was due within ten years.
    @Test func aPumpThatDoesNotDeliverSaysWhyWhatItIsNotGettingAndWhatToDo() async throws {
        let visit = SimulatedVisit()
        visit.transport.with { $0.pump.raise(.motorStall) }
        let programmer = try await visit.programmer()
        let status = try await programmer.interrogate().status
        #expect(status.notDelivering == .alarm(.motorStall))
        #expect(status.prescribedDailyDose == .mcgPerDay(400))
        let advice = status.notDeliveringAdvice.joined(separator: " ")
        #expect(advice.contains("not receiving the prescribed 400mcg/day"), "\(advice)")
        #expect(advice.contains("WITHDRAWAL WARNING"))
        #expect(!status.schedulerSentence.contains("ten years"))
        await programmer.close()
    }

    /// Found: the low-reservoir date ignored a running bolus (1 mL moved the
    /// true date five days earlier than shown), and a pump clock a week
    /// ahead moved the scheduler's date a week later.
    @Test func theAlarmDateCountsARunningBolusAndIsInTrueTime() async throws {
        let visit = SimulatedVisit()
        let programmer = try await visit.programmer()
        let plain = try #require(try await programmer.interrogate().status.lowReservoirAlarmDate)
        await programmer.close()
        visit.transport.with { simulation in
            simulation.pump.mechanics.startBolus(kind: .therapeutic, volume: FineVolume(nanolitres: 1_000_000), duration: 3_600, commandID: nil)
            simulation.pump.mechanics.clockError = 7 * Self.day
        }
        let later = try await visit.programmer()
        let status = try await later.interrogate().status
        #expect(status.clockDriftSeconds == 7 * Self.day)
        let shown = try #require(status.lowReservoirAlarmDate)
        // 1 mL at 0.2 mL/day is five days.
        #expect(abs(plain.utcSeconds - shown.utcSeconds - 5 * Self.day) <= 3_600, "\(plain.iso8601) then \(shown.iso8601)")
        await later.close()
        // The simulator raises the alarm when the screen said (true time).
        let raised: Int64? = visit.transport.with { simulation in
            simulation.pump.advance(to: shown.utcSeconds + 2 * 3_600)
            return simulation.pump.eventLog.entries.first {
                $0.code == PumpEventCode.alarmRaised.rawValue && $0.detail == UInt32(PumpAlarm.lowReservoir.rawValue)
            }.map { $0.time - simulation.pump.mechanics.clockError }
        }
        let alarm = try #require(raised, "the simulator raised no low-reservoir alarm by the date shown")
        #expect(abs(alarm - shown.utcSeconds) <= 3_600, "shown \(shown.iso8601), raised at \(alarm)")
    }
}

/// Found: a pump clock 25 h off let a second increase through seconds after
/// the first once `clock --sync` had moved the clock (H34): the windows
/// were judged on the pump's clock. They are judged in true time now.
@Suite struct TrueTimeWindowTests {
    static let increase = #"{"drug":"baclofen","concentration":"2000mcg/mL","indication":"spinal","mode":"continuous","daily_dose":"450mcg/day"}"#
    static let again = #"{"drug":"baclofen","concentration":"2000mcg/mL","indication":"spinal","mode":"continuous","daily_dose":"500mcg/day"}"#

    @Test(arguments: [25 * 3_600, -25 * 3_600] as [Int64])
    func aClockSyncDoesNotResetTheTitrationInterval(clockError: Int64) async throws {
        let visit = SimulatedVisit()
        visit.transport.with { $0.pump.mechanics.clockError = clockError }
        // Days on, so the simulator's last change is long past in either clock.
        visit.clock.advance(3 * 86_400)
        let programmer = try await visit.programmer()
        let first = try await programmer.plan(ProgramCommand(prescription: try prescription(Self.increase)))
        #expect(!first.findings.findings.contains { $0.code == .titrationWithin24h }, "\(first.findings.findings)")
        let reasons = first.findings.warnings.map { Override(code: $0.code, reason: "titration ordered by the consultant") }
        _ = try await programmer.execute(first, overrides: reasons, confirmation: .typed("450mcg/day"))
        let sync = try await programmer.plan(ClockSetCommand(hostSeconds: visit.clock.now()))
        _ = try await programmer.execute(sync, overrides: [], confirmation: .flag(yes: true))
        await programmer.close()
        visit.clock.advance(30)
        let next = try await visit.programmer()
        let second = try await next.plan(ProgramCommand(prescription: try prescription(Self.again)))
        #expect(second.findings.warnings.map(\.code).contains(.titrationWithin24h), "\(second.findings.findings)")
        await next.close()
    }

    /// The 24 h bolus window in true time too: a bolus given before the
    /// clock was set back a day still counts.
    @Test func aClockSetBackDoesNotHideABolusFromThe24hWindow() async throws {
        let visit = SimulatedVisit()
        visit.transport.with { $0.pump.mechanics.clockError = 25 * 3_600 }
        let programmer = try await visit.programmer()
        let request = BolusPlan.Request(kind: .therapeutic, dose: .mcg(100), duration: .minutes(10))
        let first = try await programmer.plan(BolusCommand(request: request))
        _ = try await programmer.execute(first, overrides: first.findings.warnings.map { Override(code: $0.code, reason: "ordered by the consultant") },
                                         confirmation: .flag(yes: true))
        visit.clock.advance(11 * 60)
        let later = try await visit.programmer()
        let sync = try await later.plan(ClockSetCommand(hostSeconds: visit.clock.now()))
        _ = try await later.execute(sync, overrides: [], confirmation: .flag(yes: true))
        await later.close()
        let synced = try await visit.programmer()
        let second = try await synced.plan(BolusCommand(request: .init(kind: .therapeutic, dose: .mcg(150), duration: .minutes(10))))
        // 100 given 11 minutes ago (true time) + 150 is above 200 mcg in 24 h.
        #expect(second.findings.errors.map(\.code).contains(.bolusPer24hAboveHardMax), "\(second.findings.findings)")
        await synced.close()
    }
}

/// The review's findings against the fluid path, each a case it let through.
@Suite struct FluidPathReviewTests {
    static let morphine = #"{"drug":"morphine","concentration":"10mg/mL","indication":"pain","mode":"continuous","daily_dose":"0.5mg/day","opioid_tolerance":"tolerant"}"#

    @Test func duringADrugChangeTheBaclofenInTheLineIsWhatAStopTakesAway() async throws {
        let visit = SimulatedVisit()
        _ = try await FluidPathTests.refill(visit, drug: .morphine, concentration: .mgPerML(10), prescription: Self.morphine)
        let programmer = try await visit.programmer()
        let stop = try await programmer.plan(StopCommand())
        let withdrawal = stop.findings.warnings.filter { $0.code == .withdrawalRisk }.map(\.message)
        #expect(withdrawal.contains { $0.contains("baclofen") }, "\(withdrawal)")
        let status = stop.before
        #expect(status.deliveringFromTheLine?.drug == .baclofen)
        #expect(status.deliveringFromTheLine?.dailyDose == .mcgPerDay(400))
        // A second drug change is refused before anything is begun.
        let zico = RefillRequest(withdrawn: .mL(18), added: .mL(18), drug: .ziconotide, concentration: .mcgPerML(100),
                                 newPrescription: try prescription(#"{"drug":"ziconotide","concentration":"100mcg/mL","indication":"pain","mode":"continuous","daily_dose":"2.4mcg/day"}"#),
                                 discrepancyAcknowledgement: nil)
        let again = try await programmer.plan(RefillCommand(request: zico))
        #expect(again.findings.errors.map(\.code).contains(.lineHoldsOtherDrug), "\(again.findings.errors)")
        await programmer.close()
    }

    @Test func theAlarmDateAfterADrugChangeIsWhenTheSimulatorRaisesIt() async throws {
        let visit = SimulatedVisit()
        _ = try await FluidPathTests.refill(visit, drug: .morphine, concentration: .mgPerML(10), prescription: Self.morphine)
        let programmer = try await visit.programmer()
        let shown = try #require(try await programmer.interrogate().status.lowReservoirAlarmDate)
        await programmer.close()
        let raised: Int64? = visit.transport.with { simulation in
            simulation.pump.advance(to: shown.utcSeconds + 86_400)
            return simulation.pump.eventLog.entries.first {
                $0.code == PumpEventCode.alarmRaised.rawValue && $0.detail == UInt32(PumpAlarm.lowReservoir.rawValue)
            }?.time
        }
        let alarm = try #require(raised, "no low-reservoir alarm by a day after the date shown (\(shown.iso8601))")
        // 0.46 mL of baclofen at 0.2 mL/day drains 0.345 mL more than the
        // morphine's 0.05 mL/day would: a week, if the projection forgot it.
        #expect(abs(alarm - shown.utcSeconds) <= 3_600, "shown \(shown.iso8601), raised at \(alarm)")
    }

    @Test func aClockFaultAfterAnIncreaseDoesNotLetASecondOneThrough() async throws {
        let visit = SimulatedVisit()
        visit.clock.advance(3 * 86_400)
        let programmer = try await visit.programmer()
        let first = try await programmer.plan(ProgramCommand(prescription: try prescription(TrueTimeWindowTests.increase)))
        _ = try await programmer.execute(first, overrides: first.findings.warnings.map { Override(code: $0.code, reason: "ordered by the consultant") },
                                         confirmation: .typed("450mcg/day"))
        await programmer.close()
        // The pump's clock jumps 25 h ahead after the commit (a clock fault, not a setting).
        visit.transport.with { $0.pump.mechanics.clockError = 25 * 3_600 }
        let next = try await visit.programmer()
        let second = try await next.plan(ProgramCommand(prescription: try prescription(TrueTimeWindowTests.again)))
        #expect(second.findings.warnings.map(\.code).contains(.titrationWithin24h), "\(second.findings.findings)")
        await next.close()
    }

    @Test func resumingWithAnEmptyLineIsRefusedUntilItIsPrimed() async throws {
        let visit = SimulatedVisit()
        let programmer = try await visit.programmer()
        let stop = try await programmer.plan(StopCommand())
        _ = try await programmer.execute(stop, overrides: [Override(code: .withdrawalRisk, reason: "catheter revision in theatre")],
                                         confirmation: .flag(yes: true))
        let replace = try await programmer.plan(FluidPathCommand(event: .catheterReplaced, catheter: .uL(300)))
        _ = try await programmer.execute(replace, overrides: [], confirmation: .flag(yes: true))
        let resume = try await programmer.plan(ResumeCommand())
        #expect(resume.findings.errors.map(\.code) == [.lineHoldsNoDrug])
        await programmer.close()
    }
}

/// The second review: the clock sync the screen asks for must not wipe the
/// windows, and `program` gets the checks `resume` and `refill` have.
@Suite struct FluidPathSecondReviewTests {
    /// A clock that jumps 25 h ahead after the events, then `clock --sync`:
    /// the setting back undoes the jump, it does not move the earlier stamps.
    @Test func aClockJumpThenASyncDoesNotWipeTheBolusWindowOrTheTitrationInterval() async throws {
        let visit = SimulatedVisit()
        visit.clock.advance(3 * 86_400)
        let programmer = try await visit.programmer()
        let increase = try await programmer.plan(ProgramCommand(prescription: try prescription(TrueTimeWindowTests.increase)))
        _ = try await programmer.execute(increase, overrides: increase.findings.warnings.map { Override(code: $0.code, reason: "ordered by the consultant") },
                                         confirmation: .typed("450mcg/day"))
        let bolus = try await programmer.plan(BolusCommand(request: .init(kind: .therapeutic, dose: .mcg(100), duration: .minutes(1))))
        _ = try await programmer.execute(bolus, overrides: bolus.findings.warnings.map { Override(code: $0.code, reason: "ordered by the consultant") },
                                         confirmation: .flag(yes: true))
        await programmer.close()
        visit.clock.advance(120)
        visit.transport.with { $0.pump.mechanics.clockError = 25 * 3_600 }
        let syncing = try await visit.programmer()
        let sync = try await syncing.plan(ClockSetCommand(hostSeconds: visit.clock.now()))
        _ = try await syncing.execute(sync, overrides: [], confirmation: .flag(yes: true))
        await syncing.close()
        let next = try await visit.programmer()
        let second = try await next.plan(ProgramCommand(prescription: try prescription(TrueTimeWindowTests.again)))
        #expect(second.findings.warnings.map(\.code).contains(.titrationWithin24h), "\(second.findings.findings)")
        let another = try await next.plan(BolusCommand(request: .init(kind: .therapeutic, dose: .mcg(150), duration: .minutes(1))))
        // 100 two minutes ago + 150 is above the 200 mcg of boluses in 24 h.
        #expect(another.findings.errors.map(\.code).contains(.bolusPer24hAboveHardMax), "\(another.findings.findings)")
        await next.close()
    }

    @Test func programOnAnUnprimedLineIsRefusedAndDuringATransitionTheTipRateIsChecked() async throws {
        let visit = SimulatedVisit()
        let programmer = try await visit.programmer()
        let stop = try await programmer.plan(StopCommand())
        _ = try await programmer.execute(stop, overrides: [Override(code: .withdrawalRisk, reason: "catheter revision in theatre")],
                                         confirmation: .flag(yes: true))
        let replace = try await programmer.plan(FluidPathCommand(event: .catheterReplaced, catheter: .uL(300)))
        _ = try await programmer.execute(replace, overrides: [], confirmation: .flag(yes: true))
        let unprimed = try await programmer.plan(ProgramCommand(prescription: try prescription(TrueTimeWindowTests.increase)))
        #expect(unprimed.findings.errors.map(\.code).contains(.lineHoldsNoDrug), "\(unprimed.findings.errors)")
        // The review's current catheter is the pump's record.
        guard case .program(let change) = unprimed.change else { Issue.record("not a program plan"); return }
        #expect(change.review.table.contains("0.3mL"), "\(change.review.table)")
        await programmer.close()

        let transition = SimulatedVisit()
        _ = try await FluidPathTests.refill(transition, concentration: .mcgPerML(500), prescription: FluidPathTests.at500)
        let during = try await transition.programmer()
        // 90 mcg/day at 500 mcg/mL is 0.18 mL/day; by dose at the line's
        // 2000 mcg/mL the pump would run 0.045 mL/day, below its minimum.
        let low = #"{"drug":"baclofen","concentration":"500mcg/mL","indication":"spinal","mode":"continuous","daily_dose":"90mcg/day"}"#
        let plan = try await during.plan(ProgramCommand(prescription: try prescription(low)))
        #expect(plan.findings.errors.map(\.code).contains(.rateBelowMinimum), "\(plan.findings.errors)")
        await during.close()
    }

    /// A bolus still running after 2000 -> 500 mcg/mL is counted at the
    /// line's 2000, not the reservoir's 500 (a quarter of its dose).
    @Test func aRunningBolusIsCountedAtTheStrongestConcentrationInTheLine() async throws {
        let visit = SimulatedVisit()
        _ = try await FluidPathTests.refill(visit, concentration: .mcgPerML(500), prescription: FluidPathTests.at500)
        let programmer = try await visit.programmer()
        let bolus = try await programmer.plan(BolusCommand(request: .init(kind: .therapeutic, dose: .mcg(80), duration: .hours(2))))
        _ = try await programmer.execute(bolus, overrides: [], confirmation: .flag(yes: true))
        await programmer.close()
        visit.clock.advance(60)
        let next = try await visit.programmer()
        let again = try await next.plan(BolusCommand(request: .init(kind: .therapeutic, dose: .mcg(20), duration: .minutes(10))))
        // 0.04 mL of the line's 2000 mcg/mL: 80 mcg, counted as such.
        #expect(again.parameters["boluses_last_24h"] == "1, \(Mass.mcg(80))", "\(again.parameters)")
        await next.close()
    }
}

/// The limits review: a pump clock a minute or two ahead (within the drift
/// tolerated without a warning) made a stop seconds old look like a long one.
@Suite struct StopTimeTests {
    @Test func aStopSecondsOldIsNotALongStopWithTheClockTwoMinutesAhead() async throws {
        let visit = SimulatedVisit()
        visit.transport.with { $0.pump.mechanics.clockError = 120 }
        let programmer = try await visit.programmer()
        let stop = try await programmer.plan(StopCommand())
        _ = try await programmer.execute(stop, overrides: [Override(code: .withdrawalRisk, reason: "dye study in radiology")],
                                         confirmation: .flag(yes: true))
        let resume = try await programmer.plan(ResumeCommand())
        let starts = resume.findings.findings.filter { $0.message.contains("the restart is a start") }
        #expect(starts.isEmpty, "\(resume.findings.findings)")
        await programmer.close()
    }

    /// The limits review: from the stopped mode, titration from the last
    /// delivering dose was lost on another laptop (the dose lived only in
    /// the local audit log). The pump logs each commit's daily dose now.
    @Test func aRestartOnAnotherLaptopIsTitratedFromThePumpsLastDeliveringDose() async throws {
        let visit = SimulatedVisit()
        visit.clock.advance(3 * 86_400)
        let programmer = try await visit.programmer()
        let to500 = #"{"drug":"baclofen","concentration":"2000mcg/mL","indication":"spinal","mode":"continuous","daily_dose":"500mcg/day"}"#
        let up = try await programmer.plan(ProgramCommand(prescription: try prescription(to500)))
        _ = try await programmer.execute(up, overrides: up.findings.warnings.map { Override(code: $0.code, reason: "ordered by the consultant") },
                                         confirmation: .typed("500mcg/day"))
        let stopped = #"{"drug":"baclofen","concentration":"2000mcg/mL","indication":"spinal","mode":"stopped"}"#
        let stop = try await programmer.plan(ProgramCommand(prescription: try prescription(stopped)))
        _ = try await programmer.execute(stop, overrides: stop.findings.warnings.map { Override(code: $0.code, reason: "ordered by the consultant") },
                                         confirmation: .flag(yes: true))
        await programmer.close()
        // A short stop (a longer one than the library's restart rule makes
        // the restart a start, with the start limits).
        visit.clock.advance(2 * 3_600)
        let other = try await visit.programmerWithAFreshStateDirectory()
        let to700 = #"{"drug":"baclofen","concentration":"2000mcg/mL","indication":"spinal","mode":"continuous","daily_dose":"700mcg/day"}"#
        let restart = try await other.plan(ProgramCommand(prescription: try prescription(to700)))
        // 500 -> 700 is 40%, above spinal baclofen's 30% per change.
        #expect(restart.findings.findings.map(\.code).contains(.titrationAboveLimit), "\(restart.findings.findings)")
        await other.close()
    }
}

/// The FHIR review: a bolus was exported as completed with the asked dose
/// because nothing recorded how it ended. The pump logs each bolus's
/// command id and what it put into the patient; the next plan records it.
@Suite struct BolusEndTests {
    @Test func aFinishedAndACutBolusAreRecordedAsThePumpLoggedThem() async throws {
        let visit = SimulatedVisit()
        let programmer = try await visit.programmer()
        let bolus = try await programmer.plan(BolusCommand(request: .init(kind: .therapeutic, dose: .mcg(50), duration: .minutes(10))))
        let done = try await programmer.execute(bolus, overrides: [], confirmation: .flag(yes: true))
        _ = done
        await programmer.close()
        visit.clock.advance(11 * 60)
        let next = try await visit.programmer()
        let second = try await next.plan(BolusCommand(request: .init(kind: .therapeutic, dose: .mcg(40), duration: .minutes(10))))
        _ = try await next.execute(second, overrides: [], confirmation: .flag(yes: true))
        // Cut short by a stop a minute in.
        visit.clock.advance(60)
        let stop = try await next.plan(StopCommand())
        _ = try await next.execute(stop, overrides: [Override(code: .withdrawalRisk, reason: "bolus given in error, stopped")],
                                   confirmation: .flag(yes: true))
        _ = try await next.plan(ResumeCommand())
        await next.close()
        let ends = try visit.audit().entries().filter { $0.parameters["bolus_end"] != nil }
        #expect(ends.map { $0.parameters["bolus_end"] } == ["finished", "cancelled"], "\(ends.map(\.parameters))")
        #expect(ends.first?.parameters["drug_delivered_ng"] == "50000")
        // A minute of 40 mcg over 10 minutes: about 4 mcg.
        let cut = ends.last.flatMap { $0.parameters["drug_delivered_ng"] }.flatMap { Int64($0) } ?? -1
        #expect((3_000...5_000).contains(cut), "\(cut) ng")
        #expect(Set(ends.compactMap(\.commandID)).count == 2)
    }
}
