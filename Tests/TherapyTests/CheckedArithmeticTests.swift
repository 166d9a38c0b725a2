import Foundation
import PropertyBased
import Testing
@testable import Therapy

/// Int64 inputs weighted toward the edges, where overflow lives: the
/// extremes and their neighbours, small values, and uniform 64-bit values.
let anyInt64 = Gen.oneOf(
    Gen.int64(),
    Gen.int64(in: -2_000_000...2_000_000),
    Gen<Int64?>.element(of: [Int64.min, Int64.min + 1, -86_400, -1, 0, 1, 86_400, 1_000_000_000_000_000, Int64.max - 1, Int64.max])
        .map { $0 ?? 0 }
)

/// Exact `a * b / c` rounded as asked, in 128 bits; nil when it leaves 64 bits.
func exactMulDiv(_ a: Int64, _ b: Int64, _ c: Int64, up: Bool) -> Int64? {
    let product = Int128(a) * Int128(b)
    let (quotient, remainder) = product.quotientAndRemainder(dividingBy: Int128(c))
    return Int64(exactly: quotient + (up && remainder != 0 ? 1 : 0))
}

// MARK: The two bolus figures that used to crash pumpctl (exit 132)

@Suite struct BolusFiguresThatOverflowedTests {
    let concentration = Concentration.mcgPerML(2000)

    @Test func fiveHundredMillionMilligramsOverADayGivesExactFigures() throws {
        // bolus --dose 500000000mg --duration 1d at 2000 mcg/mL.
        let dose = try Mass(parsing: "500000000mg")
        #expect(dose.baseValue == 500_000_000_000_000)          // 5 x 10^8 mg x 10^6 ng/mg
        let volume = try #require(DoseArithmetic.volume(holding: dose, at: concentration))
        // 5 x 10^14 ng x 10^6 / (2 x 10^6 ng/mL) = 2.5 x 10^14 nL (250 000 L)
        #expect(volume.baseValue == 250_000_000_000_000)
        // The workflow's raw volume x 86400 is 2.16 x 10^19: past Int64.max, the old trap.
        #expect(volume.baseValue.multipliedReportingOverflow(by: 86_400).overflow)
        let duration = try Duration(parsing: "1d")
        let rate = try VolumeRate.of(volume, over: duration)
        // 2.5 x 10^14 nL x 86400 s / 86400 s = 2.5 x 10^14 nL/day, exactly.
        #expect(rate.baseValue == 250_000_000_000_000)
        #expect(rate > PumpProfile.rp20.maximumBolusRate)
        #expect(try DoseRate.of(dose, over: duration) == DoseRate(baseValue: 500_000_000_000_000))
    }

    @Test func primingNineHundredNinetyNineMillionMillilitresGivesExactFigures() throws {
        // bolus --kind prime --volume 999999999mL (default 10 min) at 2000 mcg/mL, line full of it.
        let volume = try Volume(parsing: "999999999mL")
        #expect(volume.baseValue == 999_999_999_000_000)
        let plan = try PrimingPlan.plan(primeVolume: volume, lineVolume: .uL(330), lineContents: .drug(concentration),
                                        newConcentration: concentration, profile: .rp20)
        // All of it reaches the patient: 999_999_999_000_000 nL x 2 x 10^6 / 10^6 = 1_999_999_998_000_000 ng.
        #expect(plan.doseToPatient.baseValue == 1_999_999_998_000_000)
        // At 720 mL/day: 999_999_999_000_000 x 86400 / 720_000_000 = 119_999_999_880 s.
        #expect(plan.duration.baseValue == 119_999_999_880)
        #expect(plan.finding?.code == .primingDeliversDrug)
        // Over 10 min: x 86400 / 600 = x 144 = 143_999_999_856_000_000 nL/day, which fits.
        #expect(try VolumeRate.of(volume, over: Duration(parsing: "10min")).baseValue == 143_999_999_856_000_000)
        // Over 1 s it does not fit in 64 bits: a typed error, not a trap.
        #expect(throws: ArithmeticError.outOfRange("the rate of 999999999mL in 1s")) {
            try VolumeRate.of(volume, over: .seconds(1))
        }
    }

    @Test func rateHelpersRefuseWhatHasNoRate() {
        #expect(throws: ArithmeticError.nonPositiveDuration(.seconds(0))) { try VolumeRate.of(.mL(1), over: .seconds(0)) }
        #expect(throws: ArithmeticError.nonPositiveDuration(.seconds(-60))) { try VolumeRate.of(.mL(1), over: .seconds(-60)) }
        #expect(throws: ArithmeticError.negative("the volume -0.000001mL")) { try VolumeRate.of(.nL(-1), over: .seconds(60)) }
        #expect(throws: ArithmeticError.negative("the dose -0.001mcg")) { try DoseRate.of(.ng(-1), over: .seconds(60)) }
        #expect(throws: ArithmeticError.nonPositiveDuration(.seconds(Int64.min))) { try DoseRate.of(.mcg(50), over: .seconds(Int64.min)) }
    }

    @Test func ratesRoundUpSoALimitCheckErrsTowardRefusing() throws {
        // 1 nL over 7 s: 86400 / 7 = 12342.857... -> 12343 nL/day.
        #expect(try VolumeRate.of(.nL(1), over: .seconds(7)).baseValue == 12_343)
        // 0.5 mL in 60 s is exactly the RP-20 bolus maximum of 720 mL/day.
        #expect(try VolumeRate.of(.uL(500), over: .seconds(60)) == PumpProfile.rp20.maximumBolusRate)
    }
}

// MARK: Pump times from the wire

@Suite struct PumpTimeRangeTests {
    @Test func lastChangeAtInt64MinIsShownAsInvalidAndNeverTraps() {
        let time = PumpTime(utcSeconds: .min, offsetMinutes: -840)
        #expect(!time.isValid)
        #expect(time.validISO8601 == nil)
        #expect(time.iso8601 == "invalid time (-9223372036854775808 s from 1970-01-01T00:00:00Z)")
        #expect(time.description == time.iso8601)
        #expect(time.localSeconds == .min)
        #expect(time.adding(seconds: -1) == nil)
        #expect(DeliverySchedule.continuous(.zero).cyclePosition(of: time) == (Int64.min % 86_400 + 86_400 - 50_400 + 86_400) % 86_400)
        #expect(throws: PumpTimeError.outOfRange(utcSeconds: .min)) { try PumpTime(checkedUTCSeconds: .min) }
    }

    @Test func int64MaxAtTheLargestOffsetNeverTraps() {
        let time = PumpTime(utcSeconds: .max, offsetMinutes: 840)
        #expect(time.localSeconds == .max)
        #expect(time.adding(seconds: 1) == nil)
        #expect(time.iso8601.hasPrefix("invalid time"))
        let weekly = DeliverySchedule(cycle: .weekly, steps: [.init(start: 0, rate: .zero)])
        #expect((0..<604_800).contains(weekly.cyclePosition(of: time)))
    }

    @Test func theValidRangeIsTheYears1970To9999() throws {
        #expect(PumpTime(utcSeconds: 0).iso8601 == "1970-01-01T00:00:00Z")
        #expect(PumpTime(utcSeconds: 253_402_300_799).iso8601 == "9999-12-31T23:59:59Z")
        // A valid UTC time may show a local date just outside the years.
        #expect(PumpTime(utcSeconds: 0, offsetMinutes: -60).iso8601 == "1969-12-31T23:00:00-01:00")
        #expect(try PumpTime(checkedUTCSeconds: 253_402_300_799, offsetMinutes: 840).utcSeconds == 253_402_300_799)
        #expect(throws: PumpTimeError.outOfRange(utcSeconds: 253_402_300_800)) { try PumpTime(checkedUTCSeconds: 253_402_300_800) }
        #expect(throws: PumpTimeError.outOfRange(utcSeconds: -1)) { try PumpTime(checkedUTCSeconds: -1) }
        #expect(PumpTime(utcSeconds: -1).iso8601 == "invalid time (-1 s from 1970-01-01T00:00:00Z)")
    }

    @Test func offsetsAreClampedOrRefused() {
        #expect(PumpTime(utcSeconds: 0, offsetMinutes: .max).offsetMinutes == 840)
        #expect(PumpTime(utcSeconds: 0, offsetMinutes: .min).offsetMinutes == -840)
        #expect(throws: PumpTimeError.offsetOutOfRange(minutes: 841)) { try PumpTime(checkedUTCSeconds: 0, offsetMinutes: 841) }
        #expect(throws: PumpTimeError.offsetOutOfRange(minutes: .min)) { try PumpTime(checkedUTCSeconds: 0, offsetMinutes: .min) }
    }

    @Test func decodingRefusesAnOffsetNoZoneHas() throws {
        let decoder = JSONDecoder()
        let kept = try decoder.decode(PumpTime.self, from: Data(#"{"utcSeconds":-9223372036854775808,"offsetMinutes":60}"#.utf8))
        #expect(kept == PumpTime(utcSeconds: .min, offsetMinutes: 60))
        #expect(throws: DecodingError.self) {
            try decoder.decode(PumpTime.self, from: Data(#"{"utcSeconds":0,"offsetMinutes":9223372036854775807}"#.utf8))
        }
        let time = PumpTime(utcSeconds: 1_740_816_000, offsetMinutes: -330)
        #expect(try decoder.decode(PumpTime.self, from: JSONEncoder().encode(time)) == time)
    }

    @Test func validationWithALastChangeAtEitherExtremeNeverTraps() throws {
        let policy = try ClinicPolicy.shippedDefaults()
        let current = Prescription(drug: .baclofen, concentration: .mcgPerML(2000), indication: .spinal, mode: .continuous(dailyDose: .mcgPerDay(400)))
        let pending = Prescription(drug: .baclofen, concentration: .mcgPerML(2000), indication: .spinal, mode: .continuous(dailyDose: .mcgPerDay(420)))
        let now = PumpTime(utcSeconds: 1_740_816_000)
        // Long ago: no "changed within 24 h" finding.
        let past = PrescriptionValidator.validate(pending, in: ValidationContext(
            policy: policy, profile: .rp20, current: current, lastChange: PumpTime(utcSeconds: .min), now: now,
            recentIncreases: [PumpTime(utcSeconds: .min), PumpTime(utcSeconds: .max)]))
        #expect(!past.findings.contains { $0.code == .titrationWithin24h })
        // In the far future: treated as just now, so the increase is flagged.
        let future = PrescriptionValidator.validate(pending, in: ValidationContext(
            policy: policy, profile: .rp20, current: current, lastChange: PumpTime(utcSeconds: .max), now: PumpTime(utcSeconds: .min)))
        #expect(future.findings.contains { $0.code == .titrationWithin24h })
    }

    @Test func everyInt64AndEveryOffsetIsSafe() async {
        await propertyCheck(count: 400, input: anyInt64, Gen.int(), anyInt64) { seconds, offset, delta in
            let time = PumpTime(utcSeconds: seconds, offsetMinutes: offset)
            #expect(PumpTime.offsetRange.contains(time.offsetMinutes))
            #expect(time.isValid == PumpTime.validUTCSeconds.contains(seconds))
            #expect((time.validISO8601 != nil) == time.isValid)
            _ = time.iso8601
            _ = time.localSeconds
            #expect(time.adding(seconds: delta)?.utcSeconds == Int64(exactly: Int128(seconds) + Int128(delta)))
            for cycle in ScheduleCycle.allCases {
                let position = DeliverySchedule(cycle: cycle, steps: [.init(start: 0, rate: .zero)]).cyclePosition(of: time)
                #expect((0..<cycle.seconds).contains(position))
            }
            let checked = try? PumpTime(checkedUTCSeconds: seconds, offsetMinutes: offset)
            #expect((checked != nil) == (time.isValid && PumpTime.offsetRange.contains(offset)))
        }
    }

    @Test func validTimesFormatAsFoundationsCalendarDoes() async {
        await propertyCheck(count: 300, input: Gen.int64(in: PumpTime.validUTCSeconds), Gen.int(in: -56...56)) { seconds, quarters in
            let offset = quarters * 15
            let time = PumpTime(utcSeconds: seconds, offsetMinutes: offset)
            let formatter = ISO8601DateFormatter()
            formatter.formatOptions = [.withInternetDateTime]
            formatter.timeZone = TimeZone(secondsFromGMT: offset * 60)
            #expect(time.iso8601 == formatter.string(from: Date(timeIntervalSince1970: TimeInterval(seconds))))
            // Local position in the day, from the same clock.
            let local = Int128(seconds) + Int128(offset) * 60
            let day = Int64((local % 86_400 + 86_400) % 86_400)
            #expect(DeliverySchedule.continuous(.zero).cyclePosition(of: time) == day)
        }
    }
}

// MARK: Quantities

@Suite struct CheckedQuantityTests {
    @Test func subtractingInt64MinIsNilNotATrap() {
        #expect(Volume.zero.subtracting(Volume(baseValue: .min)) == nil)
        #expect(Volume(baseValue: -1).subtracting(Volume(baseValue: .min)) == Volume(baseValue: .max))
        #expect(Volume(baseValue: .min).adding(Volume(baseValue: -1)) == nil)
    }

    @Test func parsingRefusesValuesBeyondSixtyFourBits() {
        // 19 digits: refused before any arithmetic.
        #expect(throws: QuantityParseError.outOfRange(text: "9223372036854775808ng")) { try Mass(parsing: "9223372036854775808ng") }
        // 15 digits of mg are 10^21 ng: the product does not fit.
        #expect(throws: QuantityParseError.outOfRange(text: "999999999999999mg")) { try Mass(parsing: "999999999999999mg") }
        // Fits in 64 bits but is beyond the therapy limit of 10^15 base units.
        #expect(throws: QuantityParseError.outOfRange(text: "1000000000001mcg")) { try Mass(parsing: "1000000000001mcg") }
        #expect(throws: QuantityParseError.outOfRange(text: "999999999999999d")) { try Duration(parsing: "999999999999999d") }
    }

    @Test func arbitraryDigitsAndUnitsParseExactlyOrAreRefused() async {
        let units = allUnitSymbols.map(\.symbol) + ["", "x", "mL/min", " mL"]
        await propertyCheck(count: 500, input: Gen.number.string(of: 0...22), Gen.number.string(of: 0...12).optional,
                            Gen<String?>.element(of: units).map { $0 ?? "" }) { integer, fraction, unit in
            let text = integer + (fraction.map { "." + $0 } ?? "") + unit
            for parsed in [try? Volume.parseWithUnit(text).quantity.baseValue, try? Mass.parseWithUnit(text).quantity.baseValue,
                           try? DoseRate.parseWithUnit(text).quantity.baseValue, try? Duration.parseWithUnit(text).quantity.baseValue,
                           try? Concentration.parseWithUnit(text).quantity.baseValue] {
                guard let parsed else { continue }
                #expect(parsed >= 0 && parsed <= TherapyModule.quantityLimit)
                // What was accepted is exactly the decimal times the unit.
                let factor = allUnits.first { $0.symbol == unit.trimmingWhitespace() }?.factor ?? 0
                let digits = fraction ?? ""
                var scale: Int128 = 1
                for _ in digits { scale *= 10 }
                let mantissa = Int128(integer + digits) ?? -1
                #expect(Int128(parsed) * scale == mantissa * Int128(factor))
            }
        }
    }

    @Test func smallValuesAlwaysParseToTheExactValue() async {
        await propertyCheck(count: 300, input: Gen.int64(in: 1...999_999), Gen.int64(in: 0...999),
                            Gen<(String, Int64)?>.element(of: [("mL", 1_000_000), ("uL", 1_000), ("nL", 1)]).map { $0 ?? ("nL", 1) }) { whole, thousandths, unit in
            var fraction = thousandths == 0 ? "" : String(String(thousandths + 1000).dropFirst())
            while fraction.hasSuffix("0") { fraction.removeLast() }
            let text = "\(whole)" + (fraction.isEmpty ? "" : "." + fraction) + unit.0
            let exact = whole * unit.1 * 1000 + thousandths * unit.1
            if exact % 1000 == 0 {
                #expect((try? Volume(parsing: text))?.baseValue == exact / 1000)
            } else {
                #expect(throws: QuantityParseError.tooPrecise(text: text, smallest: "nL")) { try Volume(parsing: text) }
            }
        }
    }

    @Test func addingAndSubtractingAgreeWithWideArithmetic() async {
        await propertyCheck(count: 400, input: anyInt64, anyInt64) { a, b in
            #expect(Volume(baseValue: a).adding(Volume(baseValue: b))?.baseValue == Int64(exactly: Int128(a) + Int128(b)))
            #expect(Volume(baseValue: a).subtracting(Volume(baseValue: b))?.baseValue == Int64(exactly: Int128(a) - Int128(b)))
            _ = Volume(baseValue: a).description
            _ = Duration(baseValue: a).description
        }
    }

    @Test func rateHelpersAgreeWithWideArithmeticForEveryInput() async {
        await propertyCheck(count: 500, input: anyInt64, anyInt64) { amount, seconds in
            let volume = Result { () throws(ArithmeticError) in try VolumeRate.of(Volume(baseValue: amount), over: .seconds(seconds)) }
            let dose = Result { () throws(ArithmeticError) in try DoseRate.of(Mass(baseValue: amount), over: .seconds(seconds)) }
            if seconds <= 0 {
                #expect(volume == .failure(.nonPositiveDuration(.seconds(seconds))))
                #expect(dose == .failure(.nonPositiveDuration(.seconds(seconds))))
            } else if amount < 0 {
                #expect(volume == .failure(.negative("the volume \(Volume(baseValue: amount))")))
            } else if let exact = exactMulDiv(amount, 86_400, seconds, up: true) {
                #expect(volume == .success(VolumeRate(baseValue: exact)))
                #expect(dose == .success(DoseRate(baseValue: exact)))
            } else {
                #expect(volume == .failure(.outOfRange("the rate of \(Volume(baseValue: amount)) in \(Duration(baseValue: seconds))")))
            }
        }
    }

    @Test func doseArithmeticAgreesWithWideArithmeticForEveryInput() async {
        await propertyCheck(count: 500, input: anyInt64, anyInt64) { amount, concentration in
            let valid = amount >= 0 && concentration >= 0
            let dose = DoseArithmetic.dose(in: Volume(baseValue: amount), at: Concentration(baseValue: concentration))
            #expect(dose?.baseValue == (valid ? exactMulDiv(amount, concentration, 1_000_000, up: false) : nil))
            let volume = DoseArithmetic.volume(holding: Mass(baseValue: amount), at: Concentration(baseValue: concentration), roundingUp: true)
            #expect(volume?.baseValue == (valid && concentration > 0 ? exactMulDiv(amount, 1_000_000, concentration, up: true) : nil))
            _ = DoseArithmetic.doseRate(of: VolumeRate(baseValue: amount), at: Concentration(baseValue: concentration))
            _ = DoseArithmetic.volumeRate(for: DoseRate(baseValue: amount), at: Concentration(baseValue: concentration))
        }
    }

    @Test func divideRoundingUpNeverOverflows() async {
        await propertyCheck(count: 300, input: anyInt64, anyInt64) { a, b in
            let expected: Int64? = a >= 0 && b > 0 ? exactMulDiv(a, 1, b, up: true) : nil
            #expect(Exact.divideRoundingUp(a, b) == expected)
        }
    }
}

/// Every unit symbol with its factor, for the parsing oracle.
let allUnits: [(symbol: String, factor: Int64)] = {
    func list<D: PhysicalDimension>(_: D.Type) -> [(String, Int64)] { D.units.map { ($0.symbol, $0.basePerUnit) } }
    return list(VolumeDimension.self) + list(MassDimension.self) + list(ConcentrationDimension.self)
        + list(VolumeRateDimension.self) + list(DoseRateDimension.self) + list(DurationDimension.self)
}()

// MARK: Plans, projections and checks on any input

@Suite struct CheckedPlanTests {
    let start = PumpTime(utcSeconds: 1_740_816_000)

    @Test func aPrimingDoseThatOverflowsIsRefusedNotTakenAsZero() {
        // Int64.max nL x 2 x 10^6 ng/mL / 10^6 does not fit: before, the dose was
        // silently 0 and the priming warning was lost.
        #expect(throws: ArithmeticError.self) {
            try PrimingPlan.plan(primeVolume: Volume(baseValue: .max), lineVolume: .uL(330), lineContents: .empty,
                                 newConcentration: .mcgPerML(2000), profile: .rp20)
        }
        #expect(throws: ArithmeticError.outOfRange("the drug the line delivers at \(Concentration(baseValue: .min))")) {
            try PrimingPlan.plan(primeVolume: .mL(1), lineVolume: .uL(330), lineContents: .drug(Concentration(baseValue: .min)),
                                 newConcentration: .mcgPerML(2000), profile: .rp20)
        }
    }

    @Test func dailyFiguresOfALargeRateAreExactNotSaturated() {
        // 10^15 ng/day x 86400 s is 8.64 x 10^19: more than 64 bits in the middle.
        let rate = DoseRate(baseValue: 1_000_000_000_000_000)
        let plan = DosePlan.continuous(RateSetting(prescribed: rate, programmed: VolumeRate(baseValue: 500_000_000_000_000), delivered: rate))
        #expect(plan.averagePrescribedDose == rate)
        #expect(plan.averageDailyDose == rate)
        #expect(plan.averageVolumeRate == VolumeRate(baseValue: 500_000_000_000_000))
        #expect(plan.largestDailyPrescribedDose == rate)
    }

    @Test func aScheduleOutOfOrderOrOutsideItsCycleIsRefused() {
        for steps: [DeliverySchedule.Step] in [
            [.init(start: 0, rate: .uLPerDay(100)), .init(start: .min, rate: .uLPerDay(100))],
            [.init(start: 0, rate: .uLPerDay(100)), .init(start: 86_400, rate: .uLPerDay(100))],
            [.init(start: 0, rate: .uLPerDay(100)), .init(start: 3_600, rate: .uLPerDay(100)), .init(start: 3_600, rate: .zero)],
            [],
        ] {
            #expect(throws: ArithmeticError.outOfRange("the schedule")) {
                try ReservoirProjection.project(reservoir: .mL(20), from: start, schedule: DeliverySchedule(cycle: .daily, steps: steps),
                                                alarmThreshold: .mL(2))
            }
        }
    }

    @Test func aBolusAllowanceOfHugeDurationOrLockoutIsRefusedOrProjected() throws {
        let schedule = DeliverySchedule.continuous(.uLPerDay(200))
        #expect(throws: ArithmeticError.outOfRange("the patient bolus allowance (4 boluses every 9223372036854775807 s take more than 24 h)")) {
            try ReservoirProjection.project(reservoir: .mL(20), from: start, schedule: schedule, alarmThreshold: .mL(2),
                                            bolus: BolusAllowance(volumePerBolus: .uL(50), maximumPer24h: 4, lockout: .seconds(.max)))
        }
        // A bolus that runs "for ever" runs at 1 unit (nL x s/day) a second, so 50 uL
        // take 50_000 x 86_400 s: longer than a day, which no pump allows. Refused, not a trap.
        #expect(throws: ArithmeticError.outOfRange("the patient bolus allowance (1 boluses every 4320000000 s take more than 24 h)")) {
            try ReservoirProjection.project(reservoir: .mL(20), from: start, schedule: schedule, alarmThreshold: .mL(2),
                                            bolus: BolusAllowance(volumePerBolus: .uL(50), maximumPer24h: 1, duration: .seconds(.max)))
        }
        // The instantaneous model with a day of boluses near Int64.max units.
        #expect(throws: ArithmeticError.self) {
            try ReservoirProjection.project(reservoir: .mL(20), from: start, schedule: schedule, alarmThreshold: .mL(2),
                                            bolus: BolusAllowance(volumePerBolus: Volume(baseValue: .max), maximumPer24h: 1))
        }
    }

    @Test func aProjectionFromTheEndOfTimeNeverTraps() throws {
        let schedule = DeliverySchedule.continuous(.uLPerDay(200))
        let late = try ReservoirProjection.project(reservoir: .mL(20), from: PumpTime(utcSeconds: .max - 10), schedule: schedule, alarmThreshold: .mL(2))
        // The alarm time would be past Int64.max seconds: no date, rather than a wrong one.
        #expect(late.lowReservoirAlarm == nil && late.daysToAlarm == nil)
        let early = try ReservoirProjection.project(reservoir: .mL(20), from: PumpTime(utcSeconds: .min, offsetMinutes: -840), schedule: schedule, alarmThreshold: .mL(2))
        #expect(early.daysToAlarm == 90)
    }

    @Test func stepTextForAnyStartNeverTraps() {
        #expect(FlexStep(start: -60, doseRate: .zero).startText(cycle: .weekly) == "Sun 23:59")
        #expect(FlexStep(start: 7 * 3_600, doseRate: .zero).startText(cycle: .daily) == "07:00")
        #expect(FlexStep(start: 6 * 86_400 + 22 * 3_600 + 30 * 60, doseRate: .zero).startText(cycle: .weekly) == "Sun 22:30")
        _ = FlexStep(start: .min, doseRate: .zero).startText(cycle: .weekly)
        _ = FlexStep(start: .max, doseRate: .zero).startText(cycle: .weekly)
    }

    @Test func refillChecksOfAnyVolumesNeverTrap() async throws {
        let tolerance = ResidualTolerance(minimum: .uL(500), percentOfExpected: 20)
        #expect(throws: ArithmeticError.negative("the expected residual \(Volume(baseValue: .min))")) {
            try RefillCheck.checked(expected: Volume(baseValue: .min), withdrawn: Volume(baseValue: .max), tolerance: tolerance)
        }
        #expect(try RefillCheck.checked(expected: .zero, withdrawn: Volume(baseValue: .max), tolerance: tolerance).discrepancy)
        #expect(throws: ArithmeticError.negative("the withdrawn volume -0.000001mL")) {
            try RefillCheck.checked(expected: .mL(1), withdrawn: .nL(-1), tolerance: tolerance)
        }
        let extreme = RefillCheck(expected: Volume(baseValue: .min), withdrawn: Volume(baseValue: .max), tolerance: tolerance)
        #expect(extreme.discrepancy && extreme.difference == Volume(baseValue: .max))
        await propertyCheck(count: 300, input: anyInt64, anyInt64) { expected, withdrawn in
            let check = RefillCheck(expected: Volume(baseValue: expected), withdrawn: Volume(baseValue: withdrawn), tolerance: tolerance)
            if let exact = Int64(exactly: Int128(withdrawn) - Int128(expected)) {
                #expect(check.difference.baseValue == exact)
            } else {
                #expect(check.discrepancy)
            }
        }
    }

    @Test func plansAndProjectionsOfAnyInputNeverTrap() async {
        await propertyCheck(count: 300, input: anyInt64, anyInt64, anyInt64, anyInt64) { a, b, c, d in
            _ = try? PrimingPlan.plan(primeVolume: Volume(baseValue: a), lineVolume: Volume(baseValue: b), lineContents: .drug(Concentration(baseValue: c)),
                                      newConcentration: Concentration(baseValue: d), profile: .rp20)
            _ = try? PrimingPlan.plan(primeVolume: Volume(baseValue: a), lineVolume: Volume(baseValue: b), lineContents: .empty,
                                      newConcentration: Concentration(baseValue: d), profile: .rp20)
            _ = try? BridgePlan.plan(lineVolume: Volume(baseValue: a), oldConcentration: Concentration(baseValue: b),
                                     newConcentration: Concentration(baseValue: c), dailyDose: DoseRate(baseValue: d), profile: .rp20)
            let plan = DosePlan(cycle: .weekly, steps: [
                .init(start: 0, seconds: a, setting: RateSetting(prescribed: DoseRate(baseValue: b), programmed: VolumeRate(baseValue: c), delivered: DoseRate(baseValue: d))),
                .init(start: b, seconds: c, setting: RateSetting(prescribed: DoseRate(baseValue: d), programmed: VolumeRate(baseValue: a), delivered: DoseRate(baseValue: b))),
            ])
            _ = (plan.averageDailyDose, plan.averagePrescribedDose, plan.averageVolumeRate, plan.largestDailyPrescribedDose, plan.stepsPerDay)
            _ = try? ReservoirProjection.project(
                reservoir: Volume(baseValue: a), from: PumpTime(utcSeconds: b, offsetMinutes: Int(truncatingIfNeeded: c)),
                schedule: DeliverySchedule(cycle: .daily, steps: [.init(start: 0, rate: VolumeRate(baseValue: c)), .init(start: d, rate: VolumeRate(baseValue: a))]),
                alarmThreshold: Volume(baseValue: d),
                bolus: BolusAllowance(volumePerBolus: Volume(baseValue: d), maximumPer24h: Int(truncatingIfNeeded: a),
                                      duration: Duration(baseValue: b), lockout: Duration(baseValue: c)))
            _ = try? PumpProfile.rp20.rateSetting(for: DoseRate(baseValue: a), at: Concentration(baseValue: b))
            _ = try? PumpProfile.rp20.rateSetting(running: VolumeRate(baseValue: a), at: Concentration(baseValue: b))
        }
    }

    @Test func smallPrimingPlansAgreeWithExactArithmetic() async {
        await propertyCheck(count: 300, input: Gen.int64(in: 0...50_000_000), Gen.int64(in: 0...5_000_000),
                            Gen.int64(in: 0...50_000_000), Gen.int64(in: 0...50_000_000)) { prime, line, old, new in
            guard let plan = try? PrimingPlan.plan(primeVolume: .nL(prime), lineVolume: .nL(line), lineContents: .drug(Concentration(baseValue: old)),
                                                   newConcentration: Concentration(baseValue: new), profile: .rp20) else {
                Issue.record("no plan for small values \(prime), \(line), \(old), \(new)")
                return
            }
            let fromLine = Int128(min(prime, line)) * Int128(old) / 1_000_000
            let beyond = Int128(max(0, prime - line)) * Int128(new) / 1_000_000
            #expect(Int128(plan.doseToPatient.baseValue) == fromLine + beyond)
            let seconds = (Int128(prime) * 86_400 + 720_000_000 - 1) / 720_000_000
            #expect(Int128(plan.duration.baseValue) == seconds)
        }
    }
}
