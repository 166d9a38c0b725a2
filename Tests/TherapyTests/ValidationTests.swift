import Foundation
import Testing
@testable import Therapy

/// Shared fixtures: the shipped policy on an RP-20 at a fixed moment.
enum Fixture {
    static let policy: ClinicPolicy = (try? ClinicPolicy.shippedDefaults()) ?? ClinicPolicy(
        format: "", name: "", drugs: [], residualTolerance: ResidualTolerance(minimum: .zero, percentOfExpected: 0), sources: [])
    // 2025-03-01T08:00:00Z
    static let now = PumpTime(utcSeconds: 1_740_816_000)

    static func context(current: Prescription? = nil, lastChange: PumpTime? = nil, increases: [PumpTime] = []) -> ValidationContext {
        ValidationContext(policy: policy, profile: .rp20, current: current, lastChange: lastChange, now: now, recentIncreases: increases)
    }

    static func baclofen(_ mcgPerDay: Int64, concentration: Int64 = 2000, indication: Indication = .spinal,
                         bolus: PatientBolus? = nil) -> Prescription {
        Prescription(drug: .baclofen, concentration: .mcgPerML(concentration), indication: indication,
                     mode: .continuous(dailyDose: .mcgPerDay(mcgPerDay)), patientBolus: bolus)
    }

    static func codes(_ prescription: Prescription, _ context: ValidationContext = context()) -> [FindingCode] {
        PrescriptionValidator.validate(prescription, in: context).findings.map(\.code)
    }
}

@Suite struct DoseLimitTests {
    @Test func baclofenDailyLimitsAroundEachBoundary() {
        // soft max 1000 mcg/day, hard max 2000 mcg/day; "above" is strictly greater.
        #expect(Fixture.codes(Fixture.baclofen(999)) == [])
        #expect(Fixture.codes(Fixture.baclofen(1000)) == [])
        #expect(Fixture.codes(Fixture.baclofen(1001)) == [.doseAboveSoftMax])
        #expect(Fixture.codes(Fixture.baclofen(1999)) == [.doseAboveSoftMax])
        #expect(Fixture.codes(Fixture.baclofen(2000)) == [.doseAboveSoftMax])
        #expect(Fixture.codes(Fixture.baclofen(2001)) == [.doseAboveHardMax])
    }

    @Test func morphineLimitsInMilligrams() {
        func morphine(_ ng: Int64) -> Prescription {
            Prescription(drug: .morphine, concentration: .mgPerML(25), indication: .pain, mode: .continuous(dailyDose: .ngPerDay(ng)),
                         opioidTolerance: .tolerant)
        }
        // Opioid-tolerant: 10 mg = 10_000_000 ng soft; 20 mg hard. One microgram either side.
        #expect(Fixture.codes(morphine(9_999_000)) == [])
        #expect(Fixture.codes(morphine(10_000_000)) == [])
        #expect(Fixture.codes(morphine(10_001_000)) == [.doseAboveSoftMax])
        #expect(Fixture.codes(morphine(20_000_000)) == [.doseAboveSoftMax])
        #expect(Fixture.codes(morphine(20_001_000)) == [.doseAboveHardMax])
        let message = PrescriptionValidator.validate(morphine(20_001_000), in: Fixture.context()).findings.first?.message ?? ""
        #expect(message.contains("20.001mg/day") && message.contains("20mg/day"))
    }

    @Test func ziconotideHardMaximumOnly() {
        func ziconotide(_ ng: Int64) -> Prescription {
            Prescription(drug: .ziconotide, concentration: .mcgPerML(100), indication: .pain, mode: .continuous(dailyDose: .ngPerDay(ng)))
        }
        // 19.2 mcg/day = 19_200 ng/day. At 100 mcg/mL, 19.2 mcg/day is 0.192 mL/day (above 0.048 minimum).
        #expect(Fixture.codes(ziconotide(19_199)) == [])
        #expect(Fixture.codes(ziconotide(19_200)) == [])
        #expect(Fixture.codes(ziconotide(19_201)) == [.doseAboveHardMax])
    }

    @Test func concentrationMustBeStocked() {
        #expect(Fixture.codes(Fixture.baclofen(400, concentration: 1500)) == [.concentrationNotInLibrary])
        #expect(PrescriptionValidator.validate(Fixture.baclofen(400, concentration: 1500), in: Fixture.context()).errors.count == 1)
    }

    @Test func flexLimitsUseTheBusiestDay() throws {
        // Weekly: Mon..Fri at 900 mcg/day, Saturday 00:00 to Sunday 00:00 at 2100 mcg/day.
        // Saturday's total is 2100 > 2000 hard max even though the week averages (5*900+2100+900)/7 = 1071.
        let schedule = try FlexSchedule(cycle: .weekly, steps: [
            FlexStep(start: 0, doseRate: .mcgPerDay(900)),
            FlexStep(start: 5 * 86_400, doseRate: .mcgPerDay(2100)),
            FlexStep(start: 6 * 86_400, doseRate: .mcgPerDay(900)),
        ])
        let flex = Prescription(drug: .baclofen, concentration: .mcgPerML(2000), indication: .spinal, mode: .flex(schedule))
        // Saturday's step rate is above the step-rate hard maximum too.
        #expect(Fixture.codes(flex) == [.doseAboveHardMax, .stepRateAboveHardMax])
    }
}

@Suite struct RateLimitTests {
    @Test func minimumRateBoundary() {
        // RP-20 minimum 0.048 mL/day = 48_000 nL/day. At 2000 mcg/mL:
        // 96 mcg/day -> 96_000 * 10^6 / 2_000_000 = 48_000 nL/day (at the minimum: fine)
        // 95.999 mcg/day -> 47_999.5 -> rounds down to 47_000 (resolution 1000 nL/day): below.
        #expect(Fixture.codes(Fixture.baclofen(96)) == [])
        let justBelow = Prescription(drug: .baclofen, concentration: .mcgPerML(2000), indication: .spinal,
                                     mode: .continuous(dailyDose: .ngPerDay(95_999)))
        #expect(Fixture.codes(justBelow) == [.rateBelowMinimum])
        // 98 mcg/day -> 49_000 nL/day: above the minimum.
        #expect(Fixture.codes(Fixture.baclofen(98)) == [])
    }

    @Test func maximumRateBoundary() {
        // RP-20 maximum 24 mL/day = 24_000_000 nL/day. At 50 mcg/mL:
        // 1200 mcg/day -> 1_200_000 * 10^6 / 50_000 = 24_000_000 nL/day (at the maximum)
        // 1201 mcg/day -> 24_020_000 nL/day (above). Both are also above the 1000 soft max.
        #expect(Fixture.codes(Fixture.baclofen(1200, concentration: 50)) == [.doseAboveSoftMax])
        #expect(Fixture.codes(Fixture.baclofen(1201, concentration: 50)) == [.rateAboveMaximum, .doseAboveSoftMax])
    }

    @Test func stoppedAndMinimumRateModes() {
        let stopped = Prescription(drug: .baclofen, concentration: .mcgPerML(2000), indication: .spinal, mode: .stopped)
        #expect(Fixture.codes(stopped) == [])
        let minimum = Prescription(drug: .baclofen, concentration: .mcgPerML(2000), indication: .spinal, mode: .minimumRate)
        #expect(Fixture.codes(minimum) == [])
    }

    @Test func tooManyStepsInADay() throws {
        // 14 steps in one day: one more than the RP-20 holds.
        let steps = (0..<14).map { FlexStep(start: Int64($0) * 3_600, doseRate: .mcgPerDay(400)) }
        let flex = Prescription(drug: .baclofen, concentration: .mcgPerML(2000), indication: .spinal,
                                mode: .flex(try FlexSchedule(cycle: .daily, steps: steps)))
        #expect(Fixture.codes(flex) == [.scheduleTooManySteps])
        let thirteen = Prescription(drug: .baclofen, concentration: .mcgPerML(2000), indication: .spinal,
                                    mode: .flex(try FlexSchedule(cycle: .daily, steps: Array(steps.prefix(13)))))
        #expect(Fixture.codes(thirteen) == [])
    }
}

@Suite struct TitrationTests {
    let yesterday = PumpTime(utcSeconds: Fixture.now.utcSeconds - 2 * 86_400)

    @Test func spinalIncreaseLimitIsThirtyPercent() {
        let context = Fixture.context(current: Fixture.baclofen(400), lastChange: yesterday)
        // 400 * 1.3 = 520: at the limit is allowed; 521 is above.
        #expect(Fixture.codes(Fixture.baclofen(519), context) == [])
        #expect(Fixture.codes(Fixture.baclofen(520), context) == [])
        #expect(Fixture.codes(Fixture.baclofen(521), context) == [.titrationAboveLimit])
    }

    @Test func cerebralIncreaseLimitIsFifteenPercent() {
        let current = Fixture.baclofen(400, indication: .cerebral)
        let context = Fixture.context(current: current, lastChange: yesterday)
        // 400 * 1.15 = 460
        #expect(Fixture.codes(Fixture.baclofen(460, indication: .cerebral), context) == [])
        #expect(Fixture.codes(Fixture.baclofen(461, indication: .cerebral), context) == [.titrationAboveLimit])
    }

    @Test func increaseWithin24hOfTheLastChange() {
        // The boundary is 24 h = 86_400 s since the last change.
        func at(_ secondsAgo: Int64) -> [FindingCode] {
            Fixture.codes(Fixture.baclofen(440), Fixture.context(
                current: Fixture.baclofen(400), lastChange: PumpTime(utcSeconds: Fixture.now.utcSeconds - secondsAgo)))
        }
        #expect(at(86_399) == [.titrationWithin24h])
        #expect(at(86_400) == [])
        #expect(at(86_401) == [])
        // A decrease soon after a change is not an increase.
        #expect(Fixture.codes(Fixture.baclofen(380), Fixture.context(current: Fixture.baclofen(400), lastChange: Fixture.now)) == [])
    }

    @Test func probableDecimalErrors() {
        let context = Fixture.context(current: Fixture.baclofen(100), lastChange: yesterday)
        // 10x: 100 -> 1000 (same digits, point moved); 9.99x is a titration finding only.
        #expect(Fixture.codes(Fixture.baclofen(1000), context) == [.doseProbableDecimalError, .titrationAboveLimit])
        #expect(Fixture.codes(Fixture.baclofen(999), context) == [.titrationAboveLimit])
        let message = PrescriptionValidator.validate(Fixture.baclofen(1000), in: context).findings[0].message
        #expect(message.contains("the same digits with the decimal point moved"))
        // 0.1x: 1000 -> 100 is flagged, 1000 -> 101 is not (but is a withdrawal risk: > 50% down).
        let high = Fixture.context(current: Fixture.baclofen(1000), lastChange: yesterday)
        #expect(Fixture.codes(Fixture.baclofen(100), high) == [.doseProbableDecimalError, .withdrawalRisk])
        #expect(Fixture.codes(Fixture.baclofen(101), high) == [.withdrawalRisk])
    }

    @Test func withdrawalOnLargeReductionOrStop() {
        let context = Fixture.context(current: Fixture.baclofen(400), lastChange: yesterday)
        // More than 50% down: 400 -> 200 is exactly 50% (fine), 199 is more.
        #expect(Fixture.codes(Fixture.baclofen(201), context) == [])
        #expect(Fixture.codes(Fixture.baclofen(200), context) == [])
        #expect(Fixture.codes(Fixture.baclofen(199), context) == [.withdrawalRisk])
        let stop = Prescription(drug: .baclofen, concentration: .mcgPerML(2000), indication: .spinal, mode: .stopped)
        #expect(Fixture.codes(stop, context) == [.withdrawalRisk])
    }

    @Test func ziconotideIncreaseSizeAndCount() {
        func zic(_ ng: Int64) -> Prescription {
            Prescription(drug: .ziconotide, concentration: .mcgPerML(25), indication: .pain, mode: .continuous(dailyDose: .ngPerDay(ng)))
        }
        let context = Fixture.context(current: zic(4_800), lastChange: yesterday)
        // 4.8 -> 7.2 mcg/day is +2.4 (at the limit); 7.201 is above.
        #expect(Fixture.codes(zic(7_199), context) == [])
        #expect(Fixture.codes(zic(7_200), context) == [])
        #expect(Fixture.codes(zic(7_201), context) == [.titrationAboveLimit])
        // Two earlier increases in 7 days: a third is allowed, a fourth is not.
        let day: Int64 = 86_400
        let two = [Fixture.now.utcSeconds - 6 * day, Fixture.now.utcSeconds - 3 * day].map { PumpTime(utcSeconds: $0) }
        #expect(Fixture.codes(zic(6_000), Fixture.context(current: zic(4_800), lastChange: yesterday, increases: two)) == [])
        let three = two + [PumpTime(utcSeconds: Fixture.now.utcSeconds - 2 * day)]
        #expect(Fixture.codes(zic(6_000), Fixture.context(current: zic(4_800), lastChange: yesterday, increases: three)) == [.titrationTooManyIncreases])
        // An increase exactly 7 days ago has left the window.
        let old = [Fixture.now.utcSeconds - 7 * day, Fixture.now.utcSeconds - 3 * day, Fixture.now.utcSeconds - 2 * day].map { PumpTime(utcSeconds: $0) }
        #expect(Fixture.codes(zic(6_000), Fixture.context(current: zic(4_800), lastChange: yesterday, increases: old)) == [])
    }

    @Test func drugAndConcentrationChanges() {
        let context = Fixture.context(current: Fixture.baclofen(400), lastChange: yesterday)
        #expect(Fixture.codes(Fixture.baclofen(400, concentration: 1000), context) == [.concentrationChanged])
        let morphine = Prescription(drug: .morphine, concentration: .mgPerML(10), indication: .pain, mode: .continuous(dailyDose: .mgPerDay(1)))
        // Another drug is a start: 1 mg/day is above the opioid-naive starting dose of 0.2 mg/day.
        #expect(Fixture.codes(morphine, context) == [.startAboveSoftMax, .drugChanged])
    }
}

@Suite struct PatientBolusTests {
    func bolus(mcg: Int64 = 50, duration: Duration = .minutes(10), lockout: Duration = .hours(3), count: Int = 4) -> PatientBolus {
        PatientBolus(dose: .mcg(mcg), duration: duration, lockout: lockout, maximumPer24h: count)
    }

    @Test func singleBolusLimits() {
        // soft 100 mcg, hard 200 mcg; count 1 keeps the worst-case total (400 + n) below the soft max.
        #expect(Fixture.codes(Fixture.baclofen(400, bolus: bolus(mcg: 100, count: 1))) == [])
        // One allotted bolus is also the whole allowance, held to the same
        // figures as boluses in 24 h (soft 100, hard 200 mcg).
        #expect(Fixture.codes(Fixture.baclofen(400, bolus: bolus(mcg: 101, count: 1))) == [.bolusAboveSoftMax, .ptmAllowanceAboveSoftMax])
        #expect(Fixture.codes(Fixture.baclofen(400, bolus: bolus(mcg: 200, count: 1))) == [.bolusAboveSoftMax, .ptmAllowanceAboveSoftMax])
        #expect(Fixture.codes(Fixture.baclofen(400, bolus: bolus(mcg: 201, count: 1))) == [.bolusAboveHardMax, .ptmAllowanceAboveHardMax])
    }

    @Test func lockoutTimesCountMustFitIn24h() {
        // 8 x 3 h = 24 h fits; 8 x 3 h 1 min does not. 10 mcg keeps the dose totals low.
        #expect(Fixture.codes(Fixture.baclofen(400, bolus: bolus(mcg: 10, count: 8))) == [])
        #expect(Fixture.codes(Fixture.baclofen(400, bolus: bolus(mcg: 10, lockout: .minutes(181), count: 8))) == [.ptmExceeds24h])
        #expect(Fixture.codes(Fixture.baclofen(400, bolus: bolus(mcg: 10, duration: .minutes(10), lockout: .minutes(9), count: 1))) == [.ptmLockoutShorterThanBolus])
    }

    @Test func worstCaseDailyTotal() {
        // 1900 + 2 x 50 = 2000: at the hard max (soft finding only); 1901 + 100 = 2001: above.
        // (2 x 50 mcg is at the 100 mcg soft maximum of boluses in 24 h.)
        #expect(Fixture.codes(Fixture.baclofen(1900, bolus: bolus(mcg: 50, count: 2))) == [.doseAboveSoftMax, .ptmWorstCaseAboveSoftMax])
        #expect(Fixture.codes(Fixture.baclofen(1901, bolus: bolus(mcg: 50, count: 2))) == [.doseAboveSoftMax, .ptmWorstCaseAboveHardMax])
        // 900 + 2 x 50 = 1000: at the soft max; 901 + 100: above it.
        #expect(Fixture.codes(Fixture.baclofen(900, bolus: bolus(mcg: 50, count: 2))) == [])
        #expect(Fixture.codes(Fixture.baclofen(901, bolus: bolus(mcg: 50, count: 2))) == [.ptmWorstCaseAboveSoftMax])
    }

    @Test func bolusRateLimit() {
        // 200 mcg at 50 mcg/mL is 4 mL. RP-20 bolus maximum 720 mL/day = 0.5 mL/min:
        // over 8 min that is exactly 0.5 mL/min; over 7 min it is above.
        // (200 mcg is at the bolus hard max: soft finding; count 1, dose 400 at 50 mcg/mL = 8 mL/day.)
        let eight = Fixture.codes(Fixture.baclofen(400, concentration: 50, bolus: bolus(mcg: 200, duration: .minutes(8), lockout: .hours(1), count: 1)))
        #expect(eight == [.bolusAboveSoftMax, .ptmAllowanceAboveSoftMax])
        let seven = Fixture.codes(Fixture.baclofen(400, concentration: 50, bolus: bolus(mcg: 200, duration: .minutes(7), lockout: .hours(1), count: 1)))
        #expect(seven == [.bolusAboveSoftMax, .bolusRateAboveMaximum, .ptmAllowanceAboveSoftMax])
    }
}

@Suite struct OverrideTests {
    let soft = ValidationReport(findings: [Finding(code: .doseAboveSoftMax, severity: .soft, message: "m")])

    @Test func softFindingsNeedAnOverrideWithAReason() throws {
        #expect(throws: ValidationRefusal.softFindingsNotOverridden(soft.findings)) { try soft.accepting(overrides: []) }
        #expect(throws: ValidationRefusal.overrideWithoutReason(.doseAboveSoftMax)) {
            try soft.accepting(overrides: [Override(code: .doseAboveSoftMax, reason: "  ")])
        }
        let accepted = try soft.accepting(overrides: [Override(code: .doseAboveSoftMax, reason: "prescriber confirmed by phone")])
        #expect(accepted.overridden.map(\.reason) == ["prescriber confirmed by phone"])
    }

    @Test func hardFindingsCannotBeOverridden() {
        let hard = ValidationReport(findings: [Finding(code: .doseAboveHardMax, severity: .hard, message: "m")])
        #expect(throws: ValidationRefusal.hardFindings(hard.findings)) {
            try hard.accepting(overrides: [Override(code: .doseAboveHardMax, reason: "sure")])
        }
    }

    @Test func anOverrideForAnAbsentFindingIsRefused() {
        #expect(throws: ValidationRefusal.overrideWithoutFinding(.withdrawalRisk)) {
            try soft.accepting(overrides: [Override(code: .doseAboveSoftMax, reason: "consultant order"),
                                           Override(code: .withdrawalRisk, reason: "consultant order")])
        }
    }

    @Test func reasonsMustCarryWords() throws {
        for thin in [".", "r", "ok", "sure", "ordered", "documented", "...........", "1234567890", "a b c d e f"] {
            #expect(throws: ValidationRefusal.reasonWithoutWords(.doseAboveSoftMax), "\(thin.debugDescription)") {
                try soft.accepting(overrides: [Override(code: .doseAboveSoftMax, reason: thin)])
            }
        }
        for blank in ["", " ", "\n", "\t \n"] {
            #expect(throws: ValidationRefusal.overrideWithoutReason(.doseAboveSoftMax)) {
                try soft.accepting(overrides: [Override(code: .doseAboveSoftMax, reason: blank)])
            }
        }
        for words in ["consultant order", "per Dr Osei, 3 Feb", "pump explant today"] {
            #expect(try soft.accepting(overrides: [Override(code: .doseAboveSoftMax, reason: words)]).overridden.count == 1)
        }
    }

    @Test func catalogCodesAreUniqueAndDotted() {
        let codes = FindingCode.catalog.map(\.code.rawValue)
        #expect(Set(codes).count == codes.count)
        #expect(codes.allSatisfy { $0.split(separator: ".").count == 2 && $0 == $0.lowercased() })
    }
}
