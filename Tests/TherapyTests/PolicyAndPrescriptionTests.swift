import Foundation
import Testing
@testable import Therapy

@Suite struct PumpTimeTests {
    @Test func parsesOffsetsIntoUTC() throws {
        // 2025-03-01 is day 20148 since 1970-01-01 (55 years: 13 leap days
        // 1972..2020 -> 55*365 + 14 (incl. 2024) = 20089; Jan 31 + Feb 28 = 59 -> 20148).
        // 09:00 at +01:00 is 08:00 UTC: 20148 * 86400 + 8 * 3600 = 1_740_816_000.
        let time = try PumpTime(parsing: "2025-03-01T09:00:00+01:00")
        #expect(time.utcSeconds == 1_740_816_000)
        #expect(time.offsetMinutes == 60)
        #expect(time.iso8601 == "2025-03-01T09:00:00+01:00")
        #expect(try PumpTime(parsing: "2025-03-01", dateAlone: .midnightUTC).utcSeconds == 1_740_787_200)  // 20148 * 86400
        #expect(try PumpTime(parsing: "2025-03-01T08:00Z").utcSeconds == 1_740_816_000)
    }

    @Test func refusesAmbiguousOrImpossibleDates() {
        #expect(throws: PumpTimeParseError.missingOffset("2025-03-01T09:00")) { try PumpTime(parsing: "2025-03-01T09:00") }
        #expect(throws: PumpTimeParseError.outOfRange("2025-02-29")) { try PumpTime(parsing: "2025-02-29") }
        #expect(throws: PumpTimeParseError.outOfRange("1999-12-31")) { try PumpTime(parsing: "1999-12-31") }
        #expect(throws: PumpTimeParseError.malformed("tomorrow")) { try PumpTime(parsing: "tomorrow") }
        #expect(throws: Never.self) { try PumpTime(parsing: "2024-02-29", dateAlone: .midnightUTC) }
    }

    @Test func fractionalSecondsAndOffsetsAreRead() throws {
        // pumpctl's own audit times, Python's isoformat(), any offset: rounded down to the second.
        #expect(try PumpTime(parsing: "2026-11-28T05:59:40.851Z").utcSeconds == (try PumpTime(parsing: "2026-11-28T05:59:40Z")).utcSeconds)
        #expect(try PumpTime(parsing: "2026-11-28T05:59:40.123456+05:30").utcSeconds
                == (try PumpTime(parsing: "2026-11-28T00:29:40Z")).utcSeconds)
        #expect(try PumpTime(parsing: "2026-11-28T05:59:40.123456789-09:30").offsetMinutes == -570)
        #expect(try PumpTime(parsing: "2026-11-28t05:59:40.5z").utcSeconds == (try PumpTime(parsing: "2026-11-28T05:59:40Z")).utcSeconds)
        #expect(try PumpTime(parsing: "2026-11-28 05:59:40.5+00:00").offsetMinutes == 0)
        #expect(throws: PumpTimeParseError.malformed("2026-11-28T05:59:40.Z")) { try PumpTime(parsing: "2026-11-28T05:59:40.Z") }
        #expect(throws: PumpTimeParseError.malformed("2026-11-28T05:59:40.1234567890Z")) { try PumpTime(parsing: "2026-11-28T05:59:40.1234567890Z") }
        #expect(throws: PumpTimeParseError.missingOffset("2026-11-28T05:59:40.851")) { try PumpTime(parsing: "2026-11-28T05:59:40.851") }
    }

    @Test func aDateAloneIsRefusedWhereATimeMatters() throws {
        #expect(throws: PumpTimeParseError.dateWithoutTime("2025-03-01")) { try PumpTime(parsing: "2025-03-01") }
        do {
            _ = try PumpTime(parsing: "2025-03-01")
        } catch {
            #expect(error.description.contains("the time matters here"))
        }
        // Where a date is documented to mean midnight UTC, it does.
        #expect(try PumpTime(parsing: "2025-03-01", dateAlone: .midnightUTC).iso8601 == "2025-03-01T00:00:00Z")
    }

    @Test func civilDatesRoundTrip() {
        for days in stride(from: Int64(10_957), through: 84_000, by: 37) {  // 2000..2199
            let (year, month, day) = CivilDate.from(days: days)
            #expect(CivilDate.days(year: year, month: month, day: day) == days)
        }
    }
}

@Suite struct PumpProfileTests {
    @Test func referencePumpsCarryTheSpecifiedFigures() {
        #expect(PumpProfile.rp20.capacity == .mL(20))
        #expect(PumpProfile.rp40.capacity == .mL(40))
        for pump in PumpProfile.referencePumps {
            #expect(pump.minimumRate.description == "0.048mL/day")
            #expect(pump.defaultLowReservoirAlarm == .mL(2))
            #expect(pump.lowReservoirAlarmRange == Volume.mL(1)...Volume.mL(5))
            #expect(pump.maximumFlexStepsPerDay == 13)
        }
        #expect(PumpProfile.named("rp-40") == .rp40)
        #expect(PumpProfile.named("SynchroMed") == nil)
    }
}

@Suite struct ClinicPolicyTests {
    @Test func shippedDefaultsDecodeWithTheLibraryFigures() throws {
        let policy = try ClinicPolicy.shippedDefaults()
        let baclofen = try #require(policy.policy(for: .baclofen))
        #expect(baclofen.concentrations == [.mcgPerML(50), .mcgPerML(500), .mcgPerML(1000), .mcgPerML(2000)])
        #expect(baclofen.dailyDose == Limits(softMax: .mcgPerDay(1000), hardMax: .mcgPerDay(2000)))
        #expect(baclofen.bolus == Limits(softMax: .mcg(100), hardMax: .mcg(200)))
        #expect(baclofen.titration.increasePercent(for: .spinal) == 30)
        #expect(baclofen.titration.increasePercent(for: .cerebral) == 15)
        #expect(baclofen.titration.withdrawalReductionPercent == 50)
        let morphine = try #require(policy.policy(for: .morphine))
        #expect(morphine.concentrations == [.mgPerML(10), .mgPerML(25)])
        #expect(morphine.dailyDose == Limits(softMax: .mgPerDay(10), hardMax: .mgPerDay(20)))
        let ziconotide = try #require(policy.policy(for: .ziconotide))
        #expect(ziconotide.dailyDose.hardMax == .ngPerDay(19_200))  // 19.2 mcg = 19200 ng
        #expect(ziconotide.dailyDose.softMax == nil)
        #expect(ziconotide.titration.maxIncrease == .ngPerDay(2_400))
        #expect(ziconotide.titration.maxIncreasesPerWindow == 3)
        #expect(ziconotide.titration.increaseWindow == .days(7))
        #expect(policy.residualTolerance == ResidualTolerance(minimum: .uL(500), percentOfExpected: 20))
        #expect(policy.drugs.allSatisfy { !$0.sources.isEmpty })
    }

    @Test func badPolicyFilesAreRefusedWithTypedErrors() throws {
        #expect(throws: PolicyFileError.tooLarge(bytes: (1 << 20) + 1, limit: 1 << 20)) {
            try ClinicPolicy.load(Data(count: (1 << 20) + 1))
        }
        #expect(throws: PolicyFileError.self) { try ClinicPolicy.load(Data("{".utf8)) }
        let edited = ClinicPolicy.shippedDefaultsJSON.replacingOccurrences(of: "pumpwand-policy/1", with: "pumpwand-policy/9")
        #expect(throws: PolicyFileError.unsupportedFormat("pumpwand-policy/9")) { try ClinicPolicy.load(Data(edited.utf8)) }
        let inverted = ClinicPolicy.shippedDefaultsJSON.replacingOccurrences(
            of: #""soft_max": "1000mcg/day", "hard_max": "2000mcg/day""#, with: #""soft_max": "3000mcg/day", "hard_max": "2000mcg/day""#)
        #expect(throws: PolicyFileError.invalid(detail: "baclofen: daily_dose.soft_max is above hard_max")) {
            try ClinicPolicy.load(Data(inverted.utf8))
        }
        let unitless = ClinicPolicy.shippedDefaultsJSON.replacingOccurrences(of: #""hard_max": "200mcg""#, with: #""hard_max": "200""#)
        do {
            _ = try ClinicPolicy.load(Data(unitless.utf8))
            Issue.record("a unitless limit was accepted")
        } catch {
            #expect(error.description.contains("has no unit"))
            #expect(error.description.contains("drugs[0].bolus.hard_max"))
        }
    }

    @Test func anEditedPolicyLoads() throws {
        let edited = ClinicPolicy.shippedDefaultsJSON.replacingOccurrences(
            of: #"["25mcg/mL", "100mcg/mL"]"#, with: #"["100mcg/mL"]"#)
        // A clinic may stock fewer concentrations (adding one is refused: PolicyLooseningTests).
        let policy = try ClinicPolicy.load(Data(edited.utf8))
        #expect(policy.policy(for: .ziconotide)?.concentrations == [.mcgPerML(100)])
    }
}

@Suite struct PrescriptionFileTests {
    @Test func continuousExampleFromTheFormatDocs() throws {
        let json = #"{"drug":"baclofen","concentration":"2000mcg/mL","indication":"spinal","mode":"continuous","daily_dose":"400mcg/day"}"#
        let prescription = try Prescription.decode(Data(json.utf8))
        #expect(prescription == Prescription(drug: .baclofen, concentration: .mcgPerML(2000), indication: .spinal,
                                             mode: .continuous(dailyDose: .mcgPerDay(400))))
    }

    @Test func flexWithBolusAndCatheterRoundTrips() throws {
        let json = #"""
        {"drug":"baclofen","concentration":"500mcg/mL","indication":"cerebral","mode":"flex","cycle":"daily",
         "steps":[{"start":"00:00","dose_rate":"300mcg/day"},{"start":"07:00","dose_rate":"500mcg/day"},{"start":"22:00","dose_rate":"300mcg/day"}],
         "patient_bolus":{"dose":"25mcg","duration":"10min","lockout":"3h","max_per_24h":4},
         "catheter":{"length":"50cm","volume_per_cm":"0.0026mL/cm"}}
        """#
        let prescription = try Prescription.decode(Data(json.utf8))
        guard case .flex(let schedule) = prescription.mode else {
            Issue.record("not flex")
            return
        }
        #expect(schedule.steps.map(\.start) == [0, 25_200, 79_200])  // 7 * 3600, 22 * 3600
        #expect(prescription.patientBolus == PatientBolus(dose: .mcg(25), duration: .minutes(10), lockout: .hours(3), maximumPer24h: 4))
        // 50 cm * 0.0026 mL/cm = 0.13 mL = 130_000 nL
        #expect(prescription.catheter?.volume == .nL(130_000))
        #expect(try Prescription.decode(prescription.encodedFile()) == prescription)
    }

    @Test func weeklyStepsNameTheDay() throws {
        let json = #"{"drug":"morphine","concentration":"10mg/mL","indication":"pain","mode":"flex","cycle":"weekly","steps":[{"start":"Mon 00:00","dose_rate":"2mg/day"},{"start":"Sat 08:00","dose_rate":"3mg/day"}]}"#
        let prescription = try Prescription.decode(Data(json.utf8))
        guard case .flex(let schedule) = prescription.mode else {
            Issue.record("not flex")
            return
        }
        #expect(schedule.steps[1].start == 5 * 86_400 + 8 * 3_600)  // Saturday is day 5 from Monday
        #expect(schedule.steps[1].startText(cycle: .weekly) == "Sat 08:00")
        #expect(try Prescription.decode(prescription.encodedFile(massUnit: .mg)) == prescription)
    }

    @Test(arguments: [
        (#"{"drug":"baclofen","concentration":"2000mcg/mL","indication":"spinal","mode":"continuous","daily_dose":"400"}"#, "daily_dose"),
        (#"{"drug":"baclofen","concentration":"2000mcg/mL","indication":"spinal","mode":"continuous"}"#, "daily_dose"),
        (#"{"drug":"baclofen","concentration":"2000mcg/mL","indication":"spinal","mode":"continuous","daily_dose":"400mcg/day","patient_bolos":{}}"#, "patient_bolos"),
        (#"{"drug":"aspirin","concentration":"2000mcg/mL","indication":"spinal","mode":"stopped"}"#, "drug"),
        (#"{"drug":"baclofen","concentration":"2000mcg/mL","indication":"spinal","mode":"flex","cycle":"daily","steps":[{"start":"07:00","dose_rate":"1mcg/day"}]}"#, "steps"),
        (#"{"drug":"baclofen","concentration":"2000mcg/mL","indication":"spinal","mode":"flex","cycle":"daily","steps":[{"start":"00:00","dose_rate":"1mcg/day"},{"start":"7:00","dose_rate":"1mcg/day"}]}"#, "steps[1].start"),
        (#"{"drug":"baclofen","concentration":"2000mcg/mL","indication":"spinal","mode":"stopped","daily_dose":"400mcg/day"}"#, "daily_dose"),
        (#"[1,2]"#, "top level"),
    ])
    func malformedPrescriptionsNameTheField(json: String, field: String) {
        do {
            _ = try Prescription.decode(Data(json.utf8))
            Issue.record("accepted: \(json)")
        } catch {
            #expect(error.description.contains(field))
            #expect(error.description.contains("nothing was sent to the pump"))
        }
    }
}
