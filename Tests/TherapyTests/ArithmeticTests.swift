import Foundation
import PropertyBased
import Testing
@testable import Therapy

@Suite struct DoseRateArithmeticTests {
    @Test func dailyDoseAndRate() throws {
        // 400 mcg/day at 2000 mcg/mL = 0.2 mL/day exactly (400 / 2000).
        let setting = try PumpProfile.rp20.rateSetting(for: .mcgPerDay(400), at: .mcgPerML(2000))
        #expect(setting.programmed == VolumeRate(baseValue: 200_000))
        #expect(setting.delivered == .mcgPerDay(400))
    }

    @Test func roundingIsDownToTheResolution() throws {
        // 333 mcg/day at 2000 mcg/mL = 0.1665 mL/day = 166_500 nL/day; resolution 1000 nL/day
        // -> 166_000 nL/day, delivering 166_000 * 2_000_000 / 10^6 = 332_000 ng = 332 mcg/day.
        let setting = try PumpProfile.rp20.rateSetting(for: .mcgPerDay(333), at: .mcgPerML(2000))
        #expect(setting.programmed == VolumeRate(baseValue: 166_000))
        #expect(setting.delivered == .mcgPerDay(332))
    }

    @Test func flexAverageAndPerStep() throws {
        // 00:00-07:00 300, 07:00-22:00 500, 22:00-24:00 300 mcg/day at 500 mcg/mL.
        // Average: (300*7 + 500*15 + 300*2) / 24 = (2100 + 7500 + 600) / 24 = 425 mcg/day.
        // Rates: 0.6, 1, 0.6 mL/day; average volume 425 / 500 = 0.85 mL/day.
        let schedule = try FlexSchedule(cycle: .daily, steps: [
            FlexStep(start: 0, doseRate: .mcgPerDay(300)),
            FlexStep(start: 7 * 3_600, doseRate: .mcgPerDay(500)),
            FlexStep(start: 22 * 3_600, doseRate: .mcgPerDay(300)),
        ])
        let prescription = Prescription(drug: .baclofen, concentration: .mcgPerML(500), indication: .spinal, mode: .flex(schedule))
        let plan = try prescription.dosePlan(on: .rp20)
        #expect(plan.steps.map(\.setting.programmed.baseValue) == [600_000, 1_000_000, 600_000])
        #expect(plan.averageDailyDose == .mcgPerDay(425))
        #expect(plan.averageVolumeRate == VolumeRate(baseValue: 850_000))
        #expect(plan.largestDailyPrescribedDose == .mcgPerDay(425))
    }

    @Test func roundingNeverRaisesTheDose() async {
        await propertyCheck(count: 400, input: Gen.int(in: 1...5_000_000_000), Gen.int(in: 1_000...100_000_000)) { dose, concentration in
            let setting = try? PumpProfile.rp20.rateSetting(for: .ngPerDay(Int64(dose)), at: Concentration(baseValue: Int64(concentration)))
            #expect(setting != nil)
            if let setting {
                #expect(setting.delivered.baseValue <= Int64(dose))
                #expect(setting.programmed.baseValue % PumpProfile.rp20.rateResolution.baseValue == 0)
            }
        }
    }

    @Test func scalingConcentrationUpAndRateDownKeepsTheDose() async {
        await propertyCheck(count: 400, input: Gen.int(in: 1...1_000_000), Gen.int(in: 1...100_000), Gen.int(in: 1...20)) { rate, concentration, factor in
            // rate x conc == (rate x k) x (conc / k) when conc = c*k: dose unchanged.
            let c = Int64(concentration) * Int64(factor)
            let slow = DoseArithmetic.doseRate(of: VolumeRate(baseValue: Int64(rate)), at: Concentration(baseValue: c))
            let fast = DoseArithmetic.doseRate(of: VolumeRate(baseValue: Int64(rate) * Int64(factor)), at: Concentration(baseValue: Int64(concentration)))
            #expect(slow == fast)
        }
    }
}

@Suite struct ReservoirProjectionTests {
    // 2025-03-01T08:00:00Z
    let start = PumpTime(utcSeconds: 1_740_816_000)

    @Test func continuousAlarmAndEmptyDates() throws {
        // 20 mL at 0.2 mL/day, alarm at 2 mL: 18 mL / 0.2 = 90 days to the alarm, 100 days to empty.
        let projection = try ReservoirProjection.project(
            reservoir: .mL(20), from: start, schedule: .continuous(VolumeRate(baseValue: 200_000)), alarmThreshold: .mL(2))
        #expect(projection.daysToAlarm == 90)
        #expect(projection.lowReservoirAlarm?.utcSeconds == start.utcSeconds + 90 * 86_400)
        #expect(projection.empty?.utcSeconds == start.utcSeconds + 100 * 86_400)
        // 2025-03-01 + 90 days = 2025-05-30 (March 31 - 1 = 30, April 30, May 30).
        #expect(projection.lowReservoirAlarm?.iso8601 == "2025-05-30T08:00:00Z")
    }

    @Test func worstCasePatientBolusesComeFirstEachDay() throws {
        // 20 mL, 0.2 mL/day basal, 4 boluses of 0.05 mL a day: 0.4 mL a day in all, the
        // day's 0.2 mL of boluses at its start. Alarm needs 18 mL:
        // after 44 days 17.6 mL used; day 45 starts with 0.2 mL of boluses -> 17.8 mL,
        // then 0.2 mL more at 0.2 mL/day takes 1 day... exactly at day 45 + 1 day = 45 days after the
        // bolus at day 44? Work it: at t = 44 d used 17.6; bolus -> 17.8; need 0.2 mL more at 0.2 mL/day
        // = 86_400 s, reached at t = 45 d exactly (before that day's boluses are counted).
        let projection = try ReservoirProjection.project(
            reservoir: .mL(20), from: start, schedule: .continuous(VolumeRate(baseValue: 200_000)), alarmThreshold: .mL(2),
            bolus: BolusAllowance(volumePerBolus: .uL(50), maximumPer24h: 4))
        #expect(projection.lowReservoirAlarm?.utcSeconds == start.utcSeconds + 45 * 86_400)
        #expect(projection.daysToAlarm == 45)
        // Empty: 20 mL; at 49 d used 19.6, bolus -> 19.8, +0.2 mL takes 1 day -> 50 d.
        #expect(projection.empty?.utcSeconds == start.utcSeconds + 50 * 86_400)
    }

    @Test func timedPatientBolusesRunAsThePumpRunsThem() throws {
        // 0.2 mL/day basal; 4 boluses a day of 50 uL over 1 h with a 6 h lockout: the worst
        // case a pump allows starts them at 0, 6, 12 and 18 h of each 24 h, each at
        // 50 uL/h = 1.2 mL/day on top of the basal. A day still uses 0.4 mL.
        // Reservoir 19.65 mL, alarm at 2 mL: 17.65 mL must leave. 44 days use 17.6 mL; the
        // last 0.05 mL leaves during day 45's first bolus at 1.4 mL/day:
        // 50,000 nL x 86,400 / 1,400,000 nL/day = 3085.7 s, so 44 d + 3086 s.
        let timed = BolusAllowance(volumePerBolus: .uL(50), maximumPer24h: 4, duration: .hours(1), lockout: .hours(6))
        let schedule = DeliverySchedule.continuous(VolumeRate(baseValue: 200_000))
        let projection = try ReservoirProjection.project(reservoir: .uL(19_650), from: start, schedule: schedule,
                                                         alarmThreshold: .mL(2), bolus: timed)
        #expect(projection.lowReservoirAlarm?.utcSeconds == start.utcSeconds + 44 * 86_400 + 3086)
        // The instantaneous model counts day 45's 0.2 mL of boluses at its first second: 44 d.
        let instant = try ReservoirProjection.project(reservoir: .uL(19_650), from: start, schedule: schedule, alarmThreshold: .mL(2),
                                                      bolus: BolusAllowance(volumePerBolus: .uL(50), maximumPer24h: 4))
        #expect(instant.lowReservoirAlarm?.utcSeconds == start.utcSeconds + 44 * 86_400)
        // Empty (19.65 mL): 49 days use 19.6 mL, then 0.05 mL at 1.4 mL/day again: 49 d + 3086 s.
        #expect(projection.empty?.utcSeconds == start.utcSeconds + 49 * 86_400 + 3086)
        // Boluses that cannot fit in 24 h (4 x 7 h) are no pattern a pump allows.
        #expect(throws: ArithmeticError.self) {
            try ReservoirProjection.project(reservoir: .mL(20), from: start, schedule: schedule, alarmThreshold: .mL(2),
                                            bolus: BolusAllowance(volumePerBolus: .uL(50), maximumPer24h: 4, duration: .hours(1), lockout: .hours(7)))
        }
    }

    @Test func flexStepsFollowLocalTime() throws {
        // Daily flex at +01:00: 00:00-12:00 local at 0.1 mL/day, 12:00-24:00 at 0.3 mL/day (0.2 mL/day average).
        // Start 2025-03-01T09:00+01:00 (3 h before the fast step). Reservoir 2.1 mL, alarm 2 mL:
        // need 0.1 mL = 8640 mL*s/day units*10^6... in nL: 100_000 nL.
        // 3 h at 0.1 mL/day uses 100_000 * 3/24 = 12_500 nL; remaining 87_500 nL at 300_000 nL/day
        // takes 87_500 * 86_400 / 300_000 = 25_200 s = 7 h. Alarm at 12:00 + 7 h = 19:00 local.
        let schedule = DeliverySchedule(cycle: .daily, steps: [
            .init(start: 0, rate: .uLPerDay(100)), .init(start: 12 * 3_600, rate: .uLPerDay(300)),
        ])
        let local = try PumpTime(parsing: "2025-03-01T09:00:00+01:00")
        let projection = try ReservoirProjection.project(reservoir: .uL(2_100), from: local, schedule: schedule, alarmThreshold: .mL(2))
        #expect(projection.lowReservoirAlarm?.iso8601 == "2025-03-01T19:00:00+01:00")
    }

    @Test func weeklyCycleAnchorsOnMonday() throws {
        // 2025-03-01 is a Saturday. Weekly: Mon-Fri 0, Sat-Sun 1 mL/day (the pump never
        // runs at 0, but the arithmetic must place days right). From Sat 00:00Z, 1.5 mL
        // is used by Sun 12:00Z: 1 mL Saturday + 0.5 mL (12 h) Sunday.
        let schedule = DeliverySchedule(cycle: .weekly, steps: [
            .init(start: 0, rate: .zero), .init(start: 5 * 86_400, rate: .uLPerDay(1_000)),
        ])
        let saturday = try PumpTime(parsing: "2025-03-01T00:00:00Z")
        let projection = try ReservoirProjection.project(reservoir: .uL(1_500), from: saturday, schedule: schedule, alarmThreshold: .zero)
        #expect(projection.lowReservoirAlarm?.iso8601 == "2025-03-02T12:00:00Z")
        // 2 mL: Saturday, Sunday, then nothing until the following Saturday 2025-03-08.
        let longer = try ReservoirProjection.project(reservoir: .uL(2_500), from: saturday, schedule: schedule, alarmThreshold: .zero)
        #expect(longer.lowReservoirAlarm?.iso8601 == "2025-03-08T12:00:00Z")
    }

    @Test func alarmThresholdBoundaries() throws {
        let schedule = DeliverySchedule.continuous(.uLPerDay(1_000))
        // At or below the threshold the alarm is now; 1 nL above it, the first second after
        // 1 nL leaves (1 nL at 10^6 nL/day = 0.0864 s -> 1 s).
        let at = try ReservoirProjection.project(reservoir: .mL(2), from: start, schedule: schedule, alarmThreshold: .mL(2))
        #expect(at.lowReservoirAlarm == start)
        let below = try ReservoirProjection.project(reservoir: .nL(1_999_999), from: start, schedule: schedule, alarmThreshold: .mL(2))
        #expect(below.lowReservoirAlarm == start)
        let above = try ReservoirProjection.project(reservoir: .nL(2_000_001), from: start, schedule: schedule, alarmThreshold: .mL(2))
        #expect(above.lowReservoirAlarm?.utcSeconds == start.utcSeconds + 1)
    }

    @Test func stoppedPumpNeverAlarms() throws {
        let projection = try ReservoirProjection.project(reservoir: .mL(20), from: start, schedule: .continuous(.zero), alarmThreshold: .mL(2))
        #expect(projection.lowReservoirAlarm == nil && projection.empty == nil && projection.daysToAlarm == nil)
    }

    @Test func moreVolumeNeverGivesAnEarlierAlarm() async {
        await propertyCheck(count: 300, input: Gen.int(in: 0...40_000_000), Gen.int(in: 0...5_000_000),
                            Gen.int(in: 48_000...2_000_000), Gen.int(in: 0...6)) { volume, extra, rate, boluses in
            let schedule = DeliverySchedule(cycle: .daily, steps: [
                .init(start: 0, rate: VolumeRate(baseValue: Int64(rate))),
                .init(start: 8 * 3_600, rate: VolumeRate(baseValue: Int64(rate) * 2)),
            ])
            let bolus = BolusAllowance(volumePerBolus: .uL(20), maximumPer24h: boluses)
            let less = try? ReservoirProjection.project(reservoir: .nL(Int64(volume)), from: start, schedule: schedule, alarmThreshold: .mL(2), bolus: bolus)
            let more = try? ReservoirProjection.project(reservoir: .nL(Int64(volume + extra)), from: start, schedule: schedule, alarmThreshold: .mL(2), bolus: bolus)
            if let a = less?.lowReservoirAlarm, let b = more?.lowReservoirAlarm {
                #expect(a <= b)
            } else {
                #expect(less != nil && more != nil)
            }
        }
    }

    @Test func matchesAStepwiseReferenceModel() async {
        // A minute-by-minute reference (test only) agrees with the closed form within a minute.
        // The start is on a whole minute so the reference's samples never straddle a step change.
        await propertyCheck(count: 40, input: Gen.int(in: 100_000...3_000_000), Gen.int(in: 48_000...900_000), Gen.int(in: 0...1_439)) { volume, rate, minute in
            let phase = minute * 60
            let schedule = DeliverySchedule(cycle: .daily, steps: [
                .init(start: 0, rate: VolumeRate(baseValue: Int64(rate))),
                .init(start: 6 * 3_600, rate: VolumeRate(baseValue: Int64(rate) * 3)),
                .init(start: 20 * 3_600, rate: VolumeRate(baseValue: Int64(rate) / 2)),
            ])
            let from = PumpTime(utcSeconds: start.utcSeconds + Int64(phase))
            guard let projection = try? ReservoirProjection.project(reservoir: .nL(Int64(volume)), from: from, schedule: schedule, alarmThreshold: .zero),
                  let alarm = projection.lowReservoirAlarm else {
                Issue.record("no projection for \(volume) nL at \(rate) nL/day from minute \(minute)")
                return
            }
            var used = 0.0, t: Int64 = 0
            while used < Double(volume) {
                let position = schedule.cyclePosition(of: PumpTime(utcSeconds: from.utcSeconds + t))
                let step = schedule.steps.last { $0.start <= position } ?? schedule.steps[0]
                used += Double(step.rate.baseValue) / 1_440
                t += 60
            }
            #expect(abs((alarm.utcSeconds - from.utcSeconds) - t) <= 60)
        }
    }
}

@Suite struct ProjectionAgreementTests {
    @Test func weeklyFlexOver180DaysAgreesWithAMinuteByMinuteReference() throws {
        // 20 mL on a weekly schedule averaging about 0.1 mL/day lasts about 180 days to the
        // 2 mL alarm. The reference walks every minute from a start on a whole minute (so no
        // sample straddles a step change) and may overshoot by at most one minute.
        let schedule = DeliverySchedule(cycle: .weekly, steps: [
            .init(start: 0, rate: .uLPerDay(80)),
            .init(start: 7 * 3_600, rate: .uLPerDay(130)),
            .init(start: 22 * 3_600, rate: .uLPerDay(80)),
            .init(start: 5 * 86_400, rate: .uLPerDay(110)),
            .init(start: 6 * 86_400 + 12 * 3_600, rate: .uLPerDay(60)),
        ])
        let from = try PumpTime(parsing: "2025-03-05T13:27:00+02:00")
        let projection = try ReservoirProjection.project(reservoir: .mL(20), from: from, schedule: schedule, alarmThreshold: .mL(2))
        let alarm = try #require(projection.lowReservoirAlarm)
        var used: Int64 = 0, t: Int64 = 0  // used in nL x minutes/day units: rate x 1 minute
        let target: Int64 = 18_000_000 * 1_440
        while used < target {
            let position = schedule.cyclePosition(of: PumpTime(utcSeconds: from.utcSeconds + t, offsetMinutes: from.offsetMinutes))
            let step = schedule.steps.last { $0.start <= position } ?? schedule.steps[0]
            used += step.rate.baseValue
            t += 60
        }
        #expect(t > 170 * 86_400)
        #expect(abs((alarm.utcSeconds - from.utcSeconds) - t) <= 60)
    }
}

@Suite struct RefillBridgePrimingTests {
    let tolerance = ResidualTolerance(minimum: .uL(500), percentOfExpected: 20)

    @Test func refillToleranceIsTheLargerOfHalfAMillilitreAndTwentyPercent() {
        // Expected 1 mL: 20% = 0.2 mL < 0.5 mL -> tolerance 0.5 mL.
        #expect(RefillCheck(expected: .mL(1), withdrawn: .uL(1_500), tolerance: tolerance).discrepancy == false)  // diff 0.5: at
        #expect(RefillCheck(expected: .mL(1), withdrawn: .nL(1_500_001), tolerance: tolerance).discrepancy == true)
        #expect(RefillCheck(expected: .mL(1), withdrawn: .nL(499_999), tolerance: tolerance).discrepancy == true)  // diff -0.500001
        // Expected 10 mL: 20% = 2 mL > 0.5 mL. Withdrawn 8 mL: diff -2 (at); 7.999 mL: above.
        let at = RefillCheck(expected: .mL(10), withdrawn: .mL(8), tolerance: tolerance)
        #expect(at.tolerance == .mL(2) && at.difference == Volume(baseValue: -2_000_000) && !at.discrepancy)
        #expect(RefillCheck(expected: .mL(10), withdrawn: .uL(7_999), tolerance: tolerance).discrepancy)
        #expect(!RefillCheck(expected: .mL(10), withdrawn: .uL(8_001), tolerance: tolerance).discrepancy)
    }

    @Test func bridgeFromLineVolume() throws {
        // Line 0.2 mL pathway + 50 cm x 0.0026 mL/cm = 0.13 mL -> 0.33 mL of 500 mcg/mL.
        // Drug in the line 0.33 x 500 = 165 mcg. At 300 mcg/day it lasts 165/300 = 0.55 day = 47_520 s.
        // Bridge rate: 300 / 500 = 0.6 mL/day. After: 300 / 2000 = 0.15 mL/day.
        let line = try #require(Catheter.measured(length: .init(baseValue: 500_000), volumePerLength: .init(baseValue: 2_600)).volume)
        let total = try #require(line.adding(PumpProfile.rp20.internalPathwayVolume))
        #expect(total == .uL(330))
        let plan = try BridgePlan.plan(lineVolume: total, oldConcentration: .mcgPerML(500), newConcentration: .mcgPerML(2000),
                                       dailyDose: .mcgPerDay(300), profile: .rp20)
        #expect(plan.doseDuringBridge == .mcg(165))
        #expect(plan.duration == .seconds(47_520))
        #expect(plan.rate == .uLPerDay(600))
        #expect(plan.rateAfterBridge.programmed == .uLPerDay(150))
    }

    @Test func primingDependsOnWhatTheLineHolds() throws {
        // Prime 0.5 mL into a 0.33 mL line at 2000 mcg/mL.
        // Empty line: only the 0.17 mL beyond the line arrives: 0.17 x 2000 = 340 mcg.
        // Full of 500 mcg/mL: 0.33 x 500 = 165 + 340 = 505 mcg, at priming speed.
        // Time: 0.5 mL at 720 mL/day = 0.5 / 720 day = 60 s.
        let empty = try PrimingPlan.plan(primeVolume: .uL(500), lineVolume: .uL(330), lineContents: .empty, newConcentration: .mcgPerML(2000), profile: .rp20)
        #expect(empty.doseToPatient == .mcg(340))
        #expect(empty.duration == .seconds(60))
        let full = try PrimingPlan.plan(primeVolume: .uL(500), lineVolume: .uL(330), lineContents: .drug(.mcgPerML(500)), newConcentration: .mcgPerML(2000), profile: .rp20)
        #expect(full.doseToPatient == .mcg(505))
        #expect(full.finding?.code == .primingDeliversDrug)
        // Priming exactly the line volume into an empty line delivers nothing.
        let exact = try PrimingPlan.plan(primeVolume: .uL(330), lineVolume: .uL(330), lineContents: .empty, newConcentration: .mcgPerML(2000), profile: .rp20)
        #expect(exact.doseToPatient == .zero && exact.finding == nil)
    }
}
