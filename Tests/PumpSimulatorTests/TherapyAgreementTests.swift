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
        let staged = pump.execute(.stagePrescription(.init(commandId: commandID(1), prescription: prescription)))
        #expect(staged.refusal == nil)
        let committed = pump.execute(.commitStagedPrescription(.init(commandId: commandID(2), stagedHash: prescription.hash)))
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
        #expect(try host.request(.refillBegin(.init(commandId: commandID(ids)))).refusal == nil)
        let residual = UInt32(host.simulation.pump.mechanics.reservoir.nanolitres)
        let complete = RefillComplete(commandId: commandID(ids + 1), withdrawnNanolitres: residual, addedNanolitres: 18_000_000,
                                      drug: .baclofen, concentrationNanogramsPerMillilitre: concentration, newPrescription: prescription)
        #expect(try host.request(.refillComplete(complete)).refusal == nil)
    }

    static let lineVolume: Int64 = 460_000 // RP-20 internal pathway 0.2 mL + 100 cm catheter 0.26 mL

    @Test func withoutABridgeTheOldDrugInTheLineOverDoses() throws {
        // 2000 -> 1000 mcg/mL, 400 mcg/day kept by doubling the rate to 0.4 mL/day. The line
        // (0.46 mL of 2000 mcg/mL) turns over in 0.46 / 0.4 = 1.15 days = 99,360 s and
        // delivers 0.46 x 2000 = 920 mcg where 1.15 x 400 = 460 mcg was meant: 460 mcg
        // too much, line x (old - new) = 0.46 x 1000.
        var host = SimulatedHost(simulation: .fresh(hostNow: Self.start), now: Self.start)
        try host.open()
        let plan = try BridgePlan.plan(lineVolume: .nL(Self.lineVolume), oldConcentration: Concentration(baseValue: 2_000_000),
                                       newConcentration: Concentration(baseValue: 1_000_000), dailyDose: DoseRate(baseValue: 400_000),
                                       profile: .rp20)
        let newRate = plan.rateAfterBridge.programmed.baseValue
        #expect(newRate == 400_000)
        try Self.refill(&host, to: 1_000_000, prescription: Prescriptions.continuous(rate: UInt32(newRate), concentration: 1_000_000), ids: 10)
        let before = host.simulation.pump.mechanics.deliveredNanograms
        let turnover = Self.lineVolume * Self.day / newRate
        try host.wait(seconds: turnover)
        let delivered = host.simulation.pump.mechanics.deliveredNanograms - before
        #expect(delivered == plan.doseDuringBridge.baseValue) // 920 mcg
        let intended = 400_000 * turnover / Self.day // 460 mcg
        #expect(delivered - intended == Self.lineVolume * (2_000_000 - 1_000_000) / 1_000_000)
        // Afterwards the new drug: 0.4 mL/day x 1000 mcg/mL = 400 mcg/day.
        #expect(try Self.dailyDeliveries(&host, days: 2) == [400_000, 400_000])
    }

    @Test func withoutABridgeAStrongerDrugUnderDosesUntilTheLineTurnsOver() throws {
        // First at 1000 mcg/mL and 0.4 mL/day long enough for the line to hold 1000 mcg/mL,
        // then 1000 -> 2000 mcg/mL at 0.2 mL/day. The line turns over in 0.46 / 0.2 = 2.3
        // days = 198,720 s delivering 0.46 x 1000 = 460 mcg where 2.3 x 400 = 920 mcg was
        // meant: 460 mcg short, line x (new - old).
        var host = SimulatedHost(simulation: .fresh(hostNow: Self.start), now: Self.start)
        try host.open()
        try Self.refill(&host, to: 1_000_000, prescription: Prescriptions.continuous(rate: 400_000, concentration: 1_000_000), ids: 10)
        try host.wait(seconds: 10 * Self.day)
        let plan = try BridgePlan.plan(lineVolume: .nL(Self.lineVolume), oldConcentration: Concentration(baseValue: 1_000_000),
                                       newConcentration: Concentration(baseValue: 2_000_000), dailyDose: DoseRate(baseValue: 400_000),
                                       profile: .rp20)
        let newRate = plan.rateAfterBridge.programmed.baseValue
        #expect(newRate == 200_000)
        try Self.refill(&host, to: 2_000_000, prescription: Prescriptions.continuous(rate: UInt32(newRate)), ids: 20)
        let before = host.simulation.pump.mechanics.deliveredNanograms
        let turnover = Self.lineVolume * Self.day / newRate
        try host.wait(seconds: turnover)
        let delivered = host.simulation.pump.mechanics.deliveredNanograms - before
        #expect(delivered == plan.doseDuringBridge.baseValue) // 460 mcg
        let intended = 400_000 * turnover / Self.day // 920 mcg
        #expect(intended - delivered == Self.lineVolume * (2_000_000 - 1_000_000) / 1_000_000)
    }

    @Test func withABridgeBolusTheDailyDoseHolds() throws {
        // 1000 mcg/day at 2000 mcg/mL (0.5 mL/day), then 2000 -> 500 mcg/mL. BridgePlan: the
        // line's 0.46 mL x 2000 = 920 mcg at 1000 mcg/day lasts 0.92 days = 79,488 s at the old
        // 0.5 mL/day, then 2 mL/day of 500 mcg/mL. The bridge bolus replaces the programmed
        // rate while it runs, so every 24 h delivers 1000 mcg:
        // day 1 = 0.92 d x 1000 + 0.08 d x 2 mL/day x 500 mcg/mL = 920 + 80.
        var host = SimulatedHost(simulation: .fresh(hostNow: Self.start), now: Self.start)
        try host.open()
        let before = Prescriptions.continuous(rate: 500_000)
        _ = try host.request(.stagePrescription(.init(commandId: commandID(1), prescription: before)))
        #expect(try host.request(.commitStagedPrescription(.init(commandId: commandID(2), stagedHash: before.hash))).refusal == nil)
        try host.wait(seconds: 2 * Self.day)
        let plan = try BridgePlan.plan(lineVolume: .nL(Self.lineVolume), oldConcentration: Concentration(baseValue: 2_000_000),
                                       newConcentration: Concentration(baseValue: 500_000), dailyDose: DoseRate(baseValue: 1_000_000),
                                       profile: .rp20)
        #expect(plan.duration.baseValue == 79_488)
        #expect(plan.rate.baseValue == 500_000)
        try Self.refill(&host, to: 500_000,
                        prescription: Prescriptions.continuous(rate: UInt32(plan.rateAfterBridge.programmed.baseValue), concentration: 500_000),
                        ids: 10)
        let bridge = StartBolus(commandId: commandID(30), kind: .bridge, doseNanograms: UInt32(plan.doseDuringBridge.baseValue),
                                volumeNanolitres: UInt32(plan.volume.baseValue), durationSeconds: UInt32(plan.duration.baseValue))
        #expect(try host.request(.startBolus(bridge)).refusal == nil)
        #expect(try Self.dailyDeliveries(&host, days: 4) == [1_000_000, 1_000_000, 1_000_000, 1_000_000])
        #expect(host.simulation.pump.bolusesDelivered == 1)
    }

    @Test func withABridgePrescriptionTheDailyDoseHolds() throws {
        // 2000 -> 1000 mcg/mL at 400 mcg/day: the bridge lasts 920 / 400 = 2.3 days
        // (198,720 s), longer than one bolus may run (24 h), so the bridge is a prescription
        // at the old 0.2 mL/day until the line has turned over, then 0.4 mL/day of 1000
        // mcg/mL. Each 24 h delivers 400 mcg; day 3 = 0.3 d x 400 + 0.7 d x 0.4 x 1000.
        var host = SimulatedHost(simulation: .fresh(hostNow: Self.start), now: Self.start)
        try host.open()
        let plan = try BridgePlan.plan(lineVolume: .nL(Self.lineVolume), oldConcentration: Concentration(baseValue: 2_000_000),
                                       newConcentration: Concentration(baseValue: 1_000_000), dailyDose: DoseRate(baseValue: 400_000),
                                       profile: .rp20)
        #expect(plan.duration.baseValue == 198_720)
        #expect(plan.rate.baseValue == 200_000)
        try Self.refill(&host, to: 1_000_000,
                        prescription: Prescriptions.continuous(rate: UInt32(plan.rate.baseValue), concentration: 1_000_000), ids: 10)
        let start = host.simulation.pump.mechanics.deliveredNanograms
        #expect(try Self.dailyDeliveries(&host, days: 2) == [400_000, 400_000])
        try host.wait(seconds: plan.duration.baseValue - 2 * Self.day)
        let after = Prescriptions.continuous(rate: UInt32(plan.rateAfterBridge.programmed.baseValue), concentration: 1_000_000)
        _ = try host.request(.stagePrescription(.init(commandId: commandID(40), prescription: after)))
        #expect(try host.request(.commitStagedPrescription(.init(commandId: commandID(41), stagedHash: after.hash))).refusal == nil)
        try host.wait(seconds: 3 * Self.day - plan.duration.baseValue)
        #expect(host.simulation.pump.mechanics.deliveredNanograms - start == 3 * 400_000)
        #expect(try Self.dailyDeliveries(&host, days: 2) == [400_000, 400_000])
    }
}
