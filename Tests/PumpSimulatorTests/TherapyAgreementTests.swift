import PropertyBased
import Testing
import Therapy
import WandProtocol
@testable import PumpSimulator

/// The simulated pump against Therapy's arithmetic: the projection's alarm
/// date, and what a concentration change delivers with and without a bridge.
@Suite struct TherapyAgreementTests {
    static let start: Int64 = 1_800_000_000 // 2027-01-15T08:00:00Z
    static let day: Int64 = 86_400

    /// A pump running `prescription` from `start`, reservoir and alarm threshold as given.
    static func pump(prescription: WirePrescription, reservoir: Int64, threshold: Int64, start: Int64) -> SimulatedPump {
        var pump = PumpSimulation.fresh(hostNow: start).pump
        pump.mechanics.reservoir = FineVolume(nanolitres: reservoir)
        pump.mechanics.lowReservoirThreshold = FineVolume(nanolitres: threshold)
        let staged = pump.execute(.stagePrescription(.init(commandId: commandID(1), expiry: .after(pumpClock: pump.clock), prescription: prescription)))
        #expect(staged.refusal == nil)
        let committed = pump.execute(.commitStagedPrescription(.init(commandId: commandID(2), expiry: .after(pumpClock: pump.clock), stagedHash: prescription.hash)))
        #expect(committed.refusal == nil)
        return pump
    }

    /// Runs `pump` for `days` with the patient pressing the bolus button at
    /// each 24 h window's start + i x lockout (the earliest the pump
    /// allows), and returns when the low-reservoir alarm was raised.
    static func lowReservoirAlarm(_ pump: inout SimulatedPump, start: Int64, days: Int64) -> Int64? {
        var seen = pump.eventLog.nextIndex
        func alarmSince() -> Int64? {
            let entry = pump.eventLog.entries.first {
                $0.index >= seen && $0.code == PumpEventCode.alarmRaised.rawValue
                    && $0.detail == UInt32(SimulatedAlarm.lowReservoir.wireCode.rawValue)
            }
            seen = pump.eventLog.nextIndex
            return entry?.time
        }
        let end = start + days * day
        if let bolus = pump.prescription.patientBolus {
            var windowStart = start
            while windowStart < end {
                for press in 0..<Int64(bolus.maximumPer24Hours) {
                    let time = windowStart + press * Int64(bolus.lockoutSeconds)
                    pump.advance(to: time)
                    if let alarm = alarmSince() { return alarm }
                    let granted = pump.requestPatientBolus()
                    #expect(granted, "press at \(time - start) s refused")
                }
                windowStart += day
            }
        }
        pump.advance(to: end)
        return alarmSince()
    }

    static func projectedAlarm(_ prescription: WirePrescription, reservoir: Int64, threshold: Int64, start: Int64) throws -> Int64? {
        let steps: [Therapy.DeliverySchedule.Step] = prescription.mode == .flex
            ? prescription.steps.map { .init(start: Int64($0.startMinute) * 60, rate: VolumeRate(baseValue: Int64($0.volumeRateNanolitresPerDay))) }
            : [.init(start: 0, rate: VolumeRate(baseValue: Int64(prescription.continuousVolumeRateNanolitresPerDay)))]
        let allowance = prescription.patientBolus.map {
            BolusAllowance(volumePerBolus: .nL(Int64($0.volumeNanolitres)), maximumPer24h: Int($0.maximumPer24Hours),
                           duration: .seconds(Int64($0.durationSeconds)), lockout: .seconds(Int64($0.lockoutSeconds)))
        }
        let projection = try ReservoirProjection.project(
            reservoir: .nL(reservoir), from: PumpTime(utcSeconds: start), schedule: Therapy.DeliverySchedule(cycle: .daily, steps: steps),
            alarmThreshold: .nL(threshold), bolus: allowance)
        return projection.lowReservoirAlarm?.utcSeconds
    }

    @Test func handComputedBolusesMidBolusCrossing() throws {
        // 0.2 mL/day basal; 4 boluses a day of 50 uL over 1 h, lockout 6 h, pressed at
        // 0, 6, 12, 18 h of each day. A day uses 0.2 + 4 x 0.05 = 0.4 mL.
        // Reservoir 19.65 mL, alarm at 2 mL: 17.65 mL must leave. 44 days use 17.6 mL; the
        // last 0.05 mL goes during the first bolus of day 45, at 0.2 + 1.2 = 1.4 mL/day:
        // 50,000 nL x 86,400 / 1,400,000 nL/day = 3085.7 s -> the alarm at 44 d + 3086 s.
        let bolus = Prescriptions.patientBolus(volume: 50_000, duration: 3600, lockout: 6 * 3600, perDay: 4)
        let prescription = Prescriptions.continuous(rate: 200_000, patientBolus: bolus)
        var pump = Self.pump(prescription: prescription, reservoir: 19_650_000, threshold: 2_000_000, start: Self.start)
        let simulated = Self.lowReservoirAlarm(&pump, start: Self.start, days: 60)
        #expect(simulated == Self.start + 44 * Self.day + 3086)
        #expect(try Self.projectedAlarm(prescription, reservoir: 19_650_000, threshold: 2_000_000, start: Self.start)
                == Self.start + 44 * Self.day + 3086)
    }

    @Test func projectionAndSimulatedAlarmAgreeOver180Days() async {
        let rates = Gen.int(in: 48...900).array(of: 13...13)
        let jitter = Gen.int(in: 0...10_000).array(of: 13...13)
        await propertyCheck(
            count: 120,
            input: Gen.int(in: 1...13), rates, jitter, Gen.int(in: 3_000_000...20_000_000), Gen.int(in: 1...5),
            Gen.int(in: 0...6), Gen.int(in: 1...100), Gen.int(in: 1...120), Gen.int(in: 0...1000), Gen.int(in: 0...86_399)
        ) { stepCount, rates, jitter, reservoir, thresholdML, perDay, bolusMicrolitres, durationMinutes, lockoutShare, phase in
            // Steps on whole minutes: step i starts in its own 1440/k-minute slot.
            let slot = 1440 / stepCount
            let steps = (0..<stepCount).map { index in
                (minute: UInt16(index * slot + (index == 0 ? 0 : jitter[index] % slot)), rate: UInt32(rates[index] * 1000))
            }
            var patientBolus: WirePrescription.PatientBolus?
            if perDay > 0 {
                // Lockout between the bolus duration and 24 h / count.
                let duration = durationMinutes * 60
                let longest = 86_400 / perDay
                guard duration <= longest else { return }
                let lockout = duration + (longest - duration) * lockoutShare / 1000
                patientBolus = Prescriptions.patientBolus(volume: UInt32(bolusMicrolitres * 1000), duration: UInt32(duration),
                                                          lockout: UInt32(lockout), perDay: UInt8(perDay))
            }
            let prescription = stepCount == 1
                ? Prescriptions.continuous(rate: steps[0].rate, patientBolus: patientBolus)
                : Prescriptions.flex(steps: steps, patientBolus: patientBolus)
            let threshold = Int64(thresholdML) * 1_000_000
            let volume = Int64(reservoir)
            guard volume > threshold else { return }
            let start = Self.start + Int64(phase)
            var pump = Self.pump(prescription: prescription, reservoir: volume, threshold: threshold, start: start)
            let simulated = Self.lowReservoirAlarm(&pump, start: start, days: 180)
            let projected = try Self.projectedAlarm(prescription, reservoir: volume, threshold: threshold, start: start)
            if let projected, projected <= start + 180 * Self.day {
                let difference = simulated.map { abs($0 - projected) }
                #expect(difference.map { $0 <= 60 } == true, "projected \(projected - start) s, simulated \(simulated.map { $0 - start } ?? -1) s")
            } else {
                #expect(simulated == nil, "no alarm projected within 180 days, simulated at \(simulated.map { $0 - start } ?? -1) s")
            }
        }
    }

    // MARK: Concentration change and bridge

    /// Drug delivered in each of `days` 24 h windows from now, ng.
    static func dailyDeliveries(_ host: inout SimulatedHost, days: Int) throws -> [Int64] {
        var result: [Int64] = []
        for _ in 0..<days {
            let before = host.simulation.pump.mechanics.deliveredNanograms
            try host.wait(seconds: day)
            result.append(host.simulation.pump.mechanics.deliveredNanograms - before)
        }
        return result
    }

    static func refill(_ host: inout SimulatedHost, to concentration: UInt32, prescription: WirePrescription, ids: UInt8) throws {
        #expect(try host.request(.refillBegin(.init(commandId: commandID(ids), expiry: host.expiry))).refusal == nil)
        let residual = UInt32(host.simulation.pump.mechanics.reservoir.nanolitres)
        let complete = RefillComplete(commandId: commandID(ids + 1), expiry: host.expiry, withdrawnNanolitres: residual, addedNanolitres: 18_000_000,
                                      drug: .baclofen, concentrationNanogramsPerMillilitre: concentration, newPrescription: prescription)
        let refusal = try host.request(.refillComplete(complete)).refusal
        #expect(refusal == nil)
    }

    static let lineVolume: Int64 = 460_000 // RP-20 internal pathway 0.2 mL + 100 cm catheter 0.26 mL

    /// A concentration change at refill, `from` -> `to` mcg/mL at `dose`
    /// mcg/day kept: the pump first runs at `from` until its line holds
    /// only that, then is refilled at `to` with the prescription for the
    /// same dose. Returns the drug delivered in each of the three 24 h
    /// windows after the refill, ng.
    static func concentrationChange(from: UInt32, to: UInt32, dose: UInt32, inOneStep: Bool = false) throws -> [Int64] {
        var host = SimulatedHost(simulation: .fresh(hostNow: Self.start), now: Self.start)
        try host.open()
        func prescription(_ concentration: UInt32) -> WirePrescription {
            Prescriptions.continuous(rate: UInt32(UInt64(dose) * 1000 * 1_000_000 / UInt64(concentration)), concentration: concentration)
        }
        if from != 2_000_000 {
            try Self.refill(&host, to: from * 1000, prescription: prescription(from * 1000), ids: 10)
            // Until the line holds only the first concentration.
            while host.simulation.pump.mechanics.line.segments.count > 1 { try host.wait(seconds: Self.day / 4) }
        } else {
            let kept = prescription(2_000_000)
            _ = try host.request(.stagePrescription(.init(commandId: commandID(1), expiry: host.expiry, prescription: kept)))
            #expect(try host.request(.commitStagedPrescription(.init(commandId: commandID(2), expiry: host.expiry, stagedHash: kept.hash))).refusal == nil)
        }
        try Self.refill(&host, to: to * 1000, prescription: prescription(to * 1000), ids: 20)
        #expect(host.simulation.pump.mechanics.line.segments.count == 1, "the line holds the old concentration at the refill")
        guard inOneStep else { return try Self.dailyDeliveries(&host, days: 3) }
        // Left alone for three days: one advance, so the simulator must find
        // the moment the new drug reaches the tip by itself.
        let before = host.simulation.pump.mechanics.deliveredNanograms
        try host.wait(seconds: 3 * Self.day)
        return [host.simulation.pump.mechanics.deliveredNanograms - before]
    }

    /// The table in docs/therapy.md: every 24 h of the first three days
    /// after a concentration change delivers the prescribed daily dose
    /// within 5%, in both directions, because the pump delivers by dose at
    /// the catheter tip while the old concentration leaves the line.
    @Test(arguments: [
        (50, 500, 100), (500, 50, 100), (500, 2000, 400), (2000, 500, 400), (1000, 2000, 400), (2000, 1000, 400),
    ] as [(UInt32, UInt32, UInt32)])
    func concentrationChangeKeepsTheDailyDose(from: UInt32, to: UInt32, dose: UInt32) throws {
        let days = try Self.concentrationChange(from: from, to: to, dose: dose)
        let prescribed = Int64(dose) * 1000
        print("concentration change \(from) -> \(to) mcg/mL at \(dose) mcg/day: days 1-3 delivered \(days.map { Double($0) / 1000 }) mcg")
        #expect(days.count == 3)
        for (index, delivered) in days.enumerated() {
            #expect(abs(delivered - prescribed) * 100 <= prescribed * 5,
                    "day \(index + 1) delivered \(delivered) ng of \(prescribed) ng prescribed")
        }
    }

    /// Found by review: advanced in one step, the simulator ran the old
    /// tip's rate past the moment the new drug arrived (10x, 4x, a quarter).
    @Test(arguments: [
        (50, 500, 100), (500, 50, 100), (500, 2000, 400), (2000, 500, 400), (1000, 2000, 400), (2000, 1000, 400),
    ] as [(UInt32, UInt32, UInt32)])
    func threeDaysLeftAloneDeliverThreeDailyDoses(from: UInt32, to: UInt32, dose: UInt32) throws {
        let total = try Self.concentrationChange(from: from, to: to, dose: dose, inOneStep: true)
        let prescribed = 3 * Int64(dose) * 1000
        #expect(abs((total.first ?? 0) - prescribed) * 100 <= prescribed * 5, "delivered \(total) ng of \(prescribed) ng")
    }

    @Test func theTipsConcentrationChangeIsLoggedWhenTheNewDrugArrives() throws {
        // 2000 -> 500 mcg/mL at 400 mcg/day: the 0.46 mL of 2000 mcg/mL leave
        // at 0.2 mL/day (2.3 days), then 0.8 mL/day of 500 mcg/mL.
        var host = SimulatedHost(simulation: .fresh(hostNow: Self.start), now: Self.start)
        try host.open()
        try Self.refill(&host, to: 500_000, prescription: Prescriptions.continuous(rate: 800_000, concentration: 500_000), ids: 10)
        let path = host.simulation.pump.fluidPathReport
        #expect(path.segments == [.init(volumeNanolitres: 460_000, contents: .drug(.baclofen, concentrationNanogramsPerMillilitre: 2_000_000))])
        try host.wait(seconds: 2 * Self.day)
        #expect(!host.simulation.pump.eventLog.entries.contains { $0.code == PumpEventCode.lineTurnedOver.rawValue })
        try host.wait(seconds: Self.day)
        let turned = host.simulation.pump.eventLog.entries.filter { $0.code == PumpEventCode.lineTurnedOver.rawValue }
        #expect(turned.map(\.detail) == [500_000])
        // 0.46 mL at 0.2 mL/day = 198,720 s after the refill.
        #expect(turned.first.map { $0.time - Self.start } == 198_720)
    }

    @Test func aDrugChangeRunsTheOldDrugAtItsOwnPrescriptionUntilItHasLeftTheLine() throws {
        // Baclofen 2000 mcg/mL at 400 mcg/day, refilled with morphine 10 mg/mL
        // at 1 mg/day (0.1 mL/day). The line's 0.46 mL of baclofen go on at
        // baclofen's 0.2 mL/day for 2.3 days (400 mcg/day of baclofen), and
        // no morphine reaches the patient until then.
        var host = SimulatedHost(simulation: .fresh(hostNow: Self.start), now: Self.start)
        try host.open()
        #expect(try host.request(.refillBegin(.init(commandId: commandID(10), expiry: host.expiry))).refusal == nil)
        let morphine = Prescriptions.continuous(rate: 100_000, concentration: 10_000_000, drug: .morphine)
        let complete = RefillComplete(commandId: commandID(11), expiry: host.expiry, withdrawnNanolitres: 12_000_000, addedNanolitres: 18_000_000,
                                      drug: .morphine, concentrationNanogramsPerMillilitre: 10_000_000, newPrescription: morphine)
        #expect(try host.request(.refillComplete(complete)).refusal == nil)
        #expect(host.simulation.pump.fluidPathReport.outgoingPrescription?.drug == .baclofen)
        let baclofen = WireDrug.baclofen.rawValue, opioid = WireDrug.morphine.rawValue
        let before = host.simulation.pump.mechanics.deliveredNanograms(ofDrug: baclofen)
        try host.wait(seconds: 2 * Self.day)
        #expect(host.simulation.pump.mechanics.deliveredNanograms(ofDrug: baclofen) - before == 800_000)
        #expect(host.simulation.pump.mechanics.deliveredNanograms(ofDrug: opioid) == 0)
        // A second drug change while baclofen is still in the line is refused.
        #expect(try host.request(.refillBegin(.init(commandId: commandID(12), expiry: host.expiry))).refusal == nil)
        let back = RefillComplete(commandId: commandID(13), expiry: host.expiry, withdrawnNanolitres: 0, addedNanolitres: 18_000_000,
                                  drug: .ziconotide, concentrationNanogramsPerMillilitre: 100_000,
                                  newPrescription: Prescriptions.continuous(rate: 24_000, concentration: 100_000, drug: .ziconotide))
        #expect(try host.request(.refillComplete(back)).refusal == .lineHoldsEarlierChange)
        #expect(try host.request(.refillCancel(.init(commandId: commandID(14), expiry: host.expiry))).refusal == nil)
        try host.wait(seconds: Self.day)
        // 2.3 days in all: 920 mcg of baclofen, then morphine at 1 mg/day.
        #expect(host.simulation.pump.mechanics.deliveredNanograms(ofDrug: baclofen) - before == 920_000)
        #expect(host.simulation.pump.fluidPathReport.outgoingPrescription == nil)
        let morphineDay = host.simulation.pump.mechanics.deliveredNanograms(ofDrug: opioid)
        try host.wait(seconds: Self.day)
        #expect(host.simulation.pump.mechanics.deliveredNanograms(ofDrug: opioid) - morphineDay == 1_000_000)
    }

    @Test func aDrugChangeLeftAloneForSixDaysSwitchesToTheNewDrugsRate() throws {
        var host = SimulatedHost(simulation: .fresh(hostNow: Self.start), now: Self.start)
        try host.open()
        #expect(try host.request(.refillBegin(.init(commandId: commandID(10), expiry: host.expiry))).refusal == nil)
        let morphine = Prescriptions.continuous(rate: 50_000, concentration: 10_000_000, drug: .morphine)
        let complete = RefillComplete(commandId: commandID(11), expiry: host.expiry, withdrawnNanolitres: 12_000_000, addedNanolitres: 18_000_000,
                                      drug: .morphine, concentrationNanogramsPerMillilitre: 10_000_000, newPrescription: morphine)
        #expect(try host.request(.refillComplete(complete)).refusal == nil)
        try host.wait(seconds: 6 * Self.day)
        // 920 mcg of baclofen over 2.3 days, then 3.7 days of 0.5 mg/day of morphine.
        #expect(host.simulation.pump.mechanics.deliveredNanograms(ofDrug: WireDrug.baclofen.rawValue) == 920_000)
        let opioid = host.simulation.pump.mechanics.deliveredNanograms(ofDrug: WireDrug.morphine.rawValue)
        #expect(abs(opioid - 1_850_000) <= 1_000, "\(opioid) ng of morphine")
        let turned = host.simulation.pump.eventLog.entries.first { $0.code == PumpEventCode.lineTurnedOver.rawValue }
        #expect(turned.map { $0.time - Self.start } == 198_720)
    }

    @Test func afterAnImplantThePrimeFillsTheLineAndDeliversNoDrug() throws {
        var host = SimulatedHost(simulation: .fresh(hostNow: Self.start), now: Self.start)
        try host.open()
        // Fluid path changes only with infusion stopped.
        #expect(try host.request(.setFluidPath(.init(commandId: commandID(1), expiry: host.expiry, event: .implant, catheterNanolitres: 300_000))).refusal
                == .infusionRunning)
        #expect(try host.request(.stopInfusion(.init(commandId: commandID(2), expiry: host.expiry))).refusal == nil)
        #expect(try host.request(.setFluidPath(.init(commandId: commandID(3), expiry: host.expiry, event: .implant, catheterNanolitres: 300_000))).refusal == nil)
        let path = host.simulation.pump.fluidPathReport
        #expect(path.segments == [.init(volumeNanolitres: 500_000, contents: .noDrug)])
        #expect(path.catheterNanolitres == 300_000)
        // A prescription naming the old catheter is refused.
        let old = Prescriptions.continuous(rate: 200_000)
        #expect(try host.request(.stagePrescription(.init(commandId: commandID(4), expiry: host.expiry, prescription: old))).refusal == .catheterMismatch)
        let before = host.simulation.pump.mechanics.deliveredNanograms
        // The prime runs with infusion stopped and pushes exactly the empty line.
        let prime = StartBolus(commandId: commandID(5), expiry: host.expiry, kind: .prime, doseNanograms: 0, volumeNanolitres: 500_000, durationSeconds: 600)
        #expect(try host.request(.startBolus(prime)).refusal == nil)
        try host.wait(seconds: 601)
        #expect(host.simulation.pump.mechanics.deliveredNanograms == before)
        #expect(host.simulation.pump.fluidPathReport.segments
                == [.init(volumeNanolitres: 500_000, contents: .drug(.baclofen, concentrationNanogramsPerMillilitre: 2_000_000))])
        // A therapeutic bolus still needs infusion running.
        let bolus = StartBolus(commandId: commandID(6), expiry: host.expiry, kind: .therapeutic, doseNanograms: 50_000, volumeNanolitres: 25_000, durationSeconds: 600)
        #expect(try host.request(.startBolus(bolus)).refusal == .infusionStopped)
    }

    @Test func aCatheterReplacementKeepsWhatThePathwayHolds() throws {
        var line = FluidLine(pathway: FineVolume(nanolitres: 200_000), catheter: FineVolume(nanolitres: 260_000), drug: 1, concentration: 2_000_000)
        _ = line.push(FineVolume(nanolitres: 100_000), drug: 1, concentration: 500_000)
        line.replaceCatheter(with: FineVolume(nanolitres: 300_000))
        #expect(line.segments.map(\.volume.nanolitres) == [300_000, 100_000, 100_000])
        #expect(line.segments.map(\.concentration) == [0, 2_000_000, 500_000])
        #expect(line.capacity.nanolitres == 500_000)
    }

    @Test func aPatientBolusDuringAConcentrationChangeDeliversItsDose() throws {
        // 2000 -> 500 mcg/mL with a 25 mcg patient bolus (50 uL at 500
        // mcg/mL). While the line still holds 2000 mcg/mL, 50 uL would put
        // 100 mcg in; the pump gives 12.5 uL instead: 25 mcg.
        var host = SimulatedHost(simulation: .fresh(hostNow: Self.start), now: Self.start)
        try host.open()
        let bolus = Prescriptions.patientBolus(volume: 50_000, concentration: 500_000, duration: 600, lockout: 3_600, perDay: 4)
        try Self.refill(&host, to: 500_000,
                        prescription: Prescriptions.continuous(rate: 800_000, concentration: 500_000, patientBolus: bolus), ids: 10)
        let before = host.simulation.pump.mechanics.deliveredNanograms
        let granted = host.simulation.pump.requestPatientBolus()
        #expect(granted)
        try host.wait(seconds: 600)
        // The bolus's 25 mcg and 10 minutes of 400 mcg/day (2.78 mcg).
        let delivered = host.simulation.pump.mechanics.deliveredNanograms - before
        #expect(abs(delivered - 27_778) <= 100, "delivered \(delivered) ng")
        #expect(host.simulation.pump.eventLog.entries.last { $0.code == PumpEventCode.patientBolus.rawValue }?.detail == 12_500)
    }
}
