import Foundation
import Testing
import TestSupport

/// `pumpctl calc` run as a built binary: JSON keys, values and exit statuses
/// are the contract scripts rely on.
@Suite(.serialized, .tags(.process), .childProcesses) struct CalcCommandTests {
    /// Writes `text` to a fresh temporary file and returns its path.
    /// Holds every folder the test makes; removed when the test ends.
    let temporary = TemporaryDirectory.make(prefix: "pumpwand-calc")

    func file(_ text: String) throws -> String {
        let url = URL(fileURLWithPath: temporary.file("calc-\(UUID().uuidString).json"))
        try Data(text.utf8).write(to: url)
        return url.path
    }

    func json(_ result: PumpctlRun.Result) throws -> [String: Any] {
        try #require(JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any])
    }

    func quantity(_ object: [String: Any], _ key: String) -> String? {
        guard let value = object[key] as? [String: Any], let number = value["value"] as? NSNumber, let unit = value["unit"] as? String else { return nil }
        return "\(number)\(unit)"
    }

    @Test func dailyDoseRoundsTheRateDown() async throws {
        // 333 mcg/day at 2000 mcg/mL = 0.1665 mL/day -> 0.166 mL/day (0.001 resolution) -> 332 mcg/day.
        let result = try await PumpctlRun.run(["--json", "calc", "daily-dose", "--concentration", "2000mcg/mL", "--dose", "333mcg/day"])
        #expect(result.status == 0)
        let object = try json(result)
        #expect(quantity(object, "daily_dose") == "332mcg/day")
        #expect(quantity(object, "rate") == "0.166mL/day")
        #expect(quantity(object, "prescribed_dose") == "333mcg/day")
    }

    @Test func dailyDoseFromARateStaysInMilligrams() async throws {
        // 0.25 mL/day x 10 mg/mL = 2.5 mg/day.
        let result = try await PumpctlRun.run(["calc", "daily-dose", "--json", "--concentration", "10mg/mL", "--rate", "0.25mL/day"])
        #expect(quantity(try json(result), "daily_dose") == "2.5mg/day")
    }

    @Test func projectionFromAPrescriptionFile() async throws {
        // 20 mL at 400 / 2000 = 0.2 mL/day, alarm at 2 mL: 90 days; empty at 100 days.
        let path = try file(#"{"drug":"baclofen","concentration":"2000mcg/mL","indication":"spinal","mode":"continuous","daily_dose":"400mcg/day"}"#)
        let result = try await PumpctlRun.run(["--json", "calc", "projection", "--reservoir", "20mL", "--from", "2025-03-01T09:00:00+01:00", "--prescription", path])
        #expect(result.status == 0)
        let object = try json(result)
        #expect(object["days_to_alarm"] as? Int == 90)
        #expect(object["low_reservoir_alarm_date"] as? String == "2025-05-30T09:00:00+01:00")
        #expect(object["empty_date"] as? String == "2025-06-09T09:00:00+01:00")
    }

    @Test func projectionWithWorstCasePatientBoluses() async throws {
        // 0.2 mL/day basal + 4 x 50 mcg / 2000 mcg/mL = 0.1 mL/day of boluses, taken at the start of each day.
        // 18 mL to the alarm: after 59 days 17.7 mL; day 60's boluses -> 17.8; 0.2 mL more takes 1 day -> 60 days.
        let result = try await PumpctlRun.run(["--json", "calc", "projection", "--reservoir", "20mL", "--from", "2025-03-01T00:00:00Z",
                                         "--concentration", "2000mcg/mL", "--dose", "400mcg/day", "--ptm-dose", "50mcg", "--ptm-per-day", "4"])
        #expect(try json(result)["days_to_alarm"] as? Int == 60)
    }

    @Test func projectionRefusesAnAlarmOutsideThePumpRange() async throws {
        let result = try await PumpctlRun.run(["calc", "projection", "--reservoir", "20mL", "--from", "2025-03-01", "--concentration", "2000mcg/mL",
                                         "--dose", "400mcg/day", "--alarm-at", "6mL"])
        #expect(result.status == 64)
        #expect(result.stderr.contains("--alarm-at"))
    }

    @Test func refillCheckAtAndAboveTheTolerance() async throws {
        // Expected 4 mL: 20% = 0.8 mL (> 0.5 mL). 3.2 mL withdrawn: at the tolerance; 3.1 mL: beyond.
        let at = try await json(PumpctlRun.run(["--json", "calc", "refill-check", "--expected", "4mL", "--withdrawn", "3.2mL"]))
        #expect(at["discrepancy"] as? Bool == false)
        #expect(quantity(at, "difference") == "-0.8mL")
        #expect(quantity(at, "tolerance") == "0.8mL")
        let beyond = try await json(PumpctlRun.run(["--json", "calc", "refill-check", "--expected", "4mL", "--withdrawn", "3.1mL"]))
        #expect(beyond["discrepancy"] as? Bool == true)
    }

    @Test func bridgeFromCatheterMeasurements() async throws {
        // 0.2 mL pathway + 50 cm x 0.0026 mL/cm = 0.33 mL; 0.33 x 500 = 165 mcg; 165 / 300 per day = 13.2 h.
        let result = try await PumpctlRun.run(["--json", "calc", "bridge", "--old-concentration", "500mcg/mL", "--new-concentration", "2000mcg/mL",
                                         "--dose", "300mcg/day", "--catheter-length", "50cm", "--catheter-volume-per-cm", "0.0026mL/cm"])
        #expect(result.status == 0)
        let object = try json(result)
        #expect(quantity(object, "volume") == "0.33mL")
        #expect(quantity(object, "duration") == "13.2h")
        #expect(quantity(object, "rate") == "0.6mL/day")
        #expect(quantity(object, "dose_during_bridge") == "165mcg")
    }

    @Test func validateRefusesHardLimitsWithStatus65() async throws {
        let path = try file(#"{"drug":"baclofen","concentration":"2000mcg/mL","indication":"spinal","mode":"continuous","daily_dose":"2001mcg/day"}"#)
        let result = try await PumpctlRun.run(["--json", "calc", "validate", "--prescription", path])
        #expect(result.status == 65)
        let object = try json(result)
        let errors = try #require(object["errors"] as? [[String: Any]])
        #expect(errors.map { $0["code"] as? String } == ["dose.above-hard-max"])
        #expect((errors.first?["message"] as? String)?.contains("2000mcg/day") == true)
    }

    @Test func validateReportsWarningsAgainstTheCurrentPrescription() async throws {
        let current = try file(#"{"drug":"baclofen","concentration":"2000mcg/mL","indication":"spinal","mode":"continuous","daily_dose":"40mcg/day"}"#)
        let pending = try file(#"{"drug":"baclofen","concentration":"2000mcg/mL","indication":"spinal","mode":"continuous","daily_dose":"400mcg/day"}"#)
        let result = try await PumpctlRun.run(["--json", "calc", "validate", "--prescription", pending, "--current", current,
                                         "--last-change", "2025-03-01T08:00:00Z", "--now", "2025-03-01T20:00:00Z"])
        #expect(result.status == 0)
        let warnings = try #require(try json(result)["warnings"] as? [[String: Any]])
        #expect(warnings.map { $0["code"] as? String } == ["dose.probable-decimal-error", "titration.above-limit", "titration.within-24h"])
    }

    @Test func validateStatesTheChecksItSkipped() async throws {
        let current = try file(#"{"drug":"baclofen","concentration":"2000mcg/mL","indication":"spinal","mode":"continuous","daily_dose":"400mcg/day"}"#)
        let pending = try file(#"{"drug":"baclofen","concentration":"2000mcg/mL","indication":"spinal","mode":"continuous","daily_dose":"450mcg/day"}"#)
        // No --last-change: no findings, and the 24 h rule said to be unchecked.
        let text = try await PumpctlRun.run(["calc", "validate", "--prescription", pending, "--current", current])
        #expect(text.status == 0)
        #expect(!text.stdout.contains("No findings: the prescription is within"), "\(text.stdout)")
        #expect(text.stdout.contains("NOT CHECKED: the 24 h rule (minimum interval between increases) was not checked: give --last-change"), "\(text.stdout)")
        let object = try json(try await PumpctlRun.run(["--json", "calc", "validate", "--prescription", pending, "--current", current]))
        let skipped = (object["not_checked"] as? [[String: Any]] ?? []).compactMap { $0["check"] as? String }
        #expect(skipped == ["titration.minimum-interval"])
        // With pumpctl's own audit time format (milliseconds) the rule is checked, and finds the increase too soon.
        let checked = try json(try await PumpctlRun.run(["--json", "calc", "validate", "--prescription", pending, "--current", current,
                                                   "--last-change", "2026-11-28T05:59:40.851Z", "--now", "2026-11-28T17:00:00.5+01:00"]))
        #expect((checked["warnings"] as? [[String: Any]])?.map { $0["code"] as? String } == ["titration.within-24h"])
        #expect((checked["not_checked"] as? [Any])?.isEmpty == true)
        // A date alone, where the time matters, is refused.
        let dateOnly = try await PumpctlRun.run(["calc", "validate", "--prescription", pending, "--current", current, "--last-change", "2026-11-28"])
        #expect(dateOnly.status == 64)
        #expect(dateOnly.stderr.contains("--last-change") && dateOnly.stderr.contains("date without a time"), "\(dateOnly.stderr)")
        // Without --current the start-dose and titration checks are named as skipped.
        let alone = try json(try await PumpctlRun.run(["--json", "calc", "validate", "--prescription", pending]))
        let all = Set((alone["not_checked"] as? [[String: Any]] ?? []).compactMap { $0["check"] as? String })
        #expect(all == ["titration.minimum-interval", "titration.against-current", "start.dose"])
    }

    @Test func validateWithAnEditedPolicy() async throws {
        // A clinic may tighten: the baclofen hard maximum down to 1500 mcg/day.
        let shipped = try await PumpctlRun.run(["calc", "policy"]).stdout
        let edited = shipped.replacingOccurrences(of: #""hard_max": "2000mcg/day""#, with: #""hard_max": "1500mcg/day""#)
        #expect(edited != shipped)
        let policy = try file(edited)
        let within = try file(#"{"drug":"baclofen","concentration":"2000mcg/mL","indication":"spinal","mode":"continuous","daily_dose":"1400mcg/day"}"#)
        let result = try await PumpctlRun.run(["--json", "calc", "validate", "--prescription", within, "--policy", policy])
        #expect(result.status == 0)
        let object = try json(result)
        #expect((object["warnings"] as? [[String: Any]])?.first?["code"] as? String == "dose.above-soft-max")
        #expect((object["policy"] as? [String: Any])?["sha256"] as? String != nil)
        let above = try file(#"{"drug":"baclofen","concentration":"2000mcg/mL","indication":"spinal","mode":"continuous","daily_dose":"1600mcg/day"}"#)
        #expect(try await PumpctlRun.run(["calc", "validate", "--prescription", above, "--policy", policy]).status == 65)
    }

    @Test func policyCheckRefusesALoosenedHardLimit() async throws {
        // The issue's reproduction: a copied shipped policy whose baclofen hard maximum was raised to 200000 mcg/day.
        let shipped = try await PumpctlRun.run(["calc", "policy"]).stdout
        let raised = shipped.replacingOccurrences(of: #""soft_max": "1000mcg/day", "hard_max": "2000mcg/day""#,
                                                  with: #""soft_max": "1000mcg/day", "hard_max": "200000mcg/day""#)
        #expect(raised != shipped)
        let policy = try file(raised)
        let check = try await PumpctlRun.run(["calc", "policy", "--check", policy])
        #expect(check.status == 64)
        #expect(check.stderr.contains("loosens baclofen daily_dose.hard_max to 200000mcg/day"), "\(check.stderr)")
        #expect(check.stderr.contains("ceiling of 2000mcg/day"))
        let pending = try file(#"{"drug":"baclofen","concentration":"2000mcg/mL","indication":"spinal","mode":"continuous","daily_dose":"4500mcg/day"}"#)
        let validate = try await PumpctlRun.run(["calc", "validate", "--prescription", pending, "--policy", policy])
        #expect(validate.status == 64)
        #expect(validate.stderr.contains("never loosen a hard one"))
        let refill = try await PumpctlRun.run(["calc", "refill-check", "--expected", "4mL", "--withdrawn", "4mL", "--policy", policy])
        #expect(refill.status == 64)
        // The shipped policy itself checks.
        let same = try await PumpctlRun.run(["calc", "policy", "--check", try file(shipped)])
        #expect(same.status == 0, "\(same.stderr)")
        #expect(same.stdout.contains("within the shipped library's ceilings"))
    }

    @Test func policyCheckRefusesLooserSoftLimitsTitrationUnitsConcentrationsAndUnknownFields() async throws {
        let shipped = try await PumpctlRun.run(["calc", "policy"]).stdout
        let edits: [(String, String, String)] = [
            (#""soft_max": "1000mcg/day", "hard_max": "2000mcg/day""#, #""soft_max": "1900mcg/day", "hard_max": "2000mcg/day""#,
             "loosens baclofen daily_dose.soft_max to 1900mcg/day"),
            (#""max_increase_percent": {"spinal": 30, "cerebral": 15}"#, #""max_increase_percent": {"spinal": 100, "cerebral": 15}"#,
             "loosens baclofen titration.max_increase_percent.spinal to 100%"),
            (#""dose_unit": "mg""#, #""dose_unit": "mcg""#, "sets morphine dose_unit to mcg"),
            (#""concentrations": ["10mg/mL", "25mg/mL"]"#, #""concentrations": ["10mg/mL", "25mg/mL", "50mg/mL"]"#,
             "loosens morphine concentrations to include 50mg/mL"),
            (#""minimum_interval": "48h""#, #""minimum_interval": "48h", "minimum_interal": "96h""#,
             "'drugs[2].titration.minimum_interal'"),
        ]
        for (from, to, words) in edits {
            let edited = shipped.replacingOccurrences(of: from, with: to)
            #expect(edited != shipped, "\(from)")
            let check = try await PumpctlRun.run(["calc", "policy", "--check", try file(edited)])
            #expect(check.status == 64, "\(words)")
            #expect(check.stderr.contains(words), "\(check.stderr)")
        }
    }

    @Test func badInputIsAUsageErrorThatSaysWhatToWrite() async throws {
        let unitless = try await PumpctlRun.run(["calc", "daily-dose", "--concentration", "2000", "--dose", "400mcg/day"])
        #expect(unitless.status == 64)
        #expect(unitless.stderr.contains("'2000' has no unit"))
        let leading = try await PumpctlRun.run(["calc", "refill-check", "--expected", ".5mL", "--withdrawn", "1mL"])
        #expect(leading.status == 64)
        #expect(leading.stderr.contains("write 0.5mL"))
        let badPolicy = try await PumpctlRun.run(["calc", "policy", "--check", try file("{}")])
        #expect(badPolicy.status == 64)
        #expect(badPolicy.stderr.contains("'format' is missing"))
        let missing = try await PumpctlRun.run(["calc", "validate", "--prescription", "/nonexistent/rx.json"])
        #expect(missing.status == 64)
    }
}
