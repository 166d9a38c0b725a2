import Foundation
import Testing
import TestSupport
import Therapy
import PumpProgrammer
@testable import pumpctl

/// The technician's screen: the clinic's zone, human durations, emphasis
/// only at a terminal, wrapping, and one display precision per quantity.
@Suite struct ScreenTests {
    /// Removed when the test ends.
    let temporary = TemporaryDirectory.make(prefix: "pumpwand-screen")
    var stateDir: String { temporary.path }

    func pumpctl(_ arguments: [String], environment: [String: String] = [:]) async throws -> PumpctlRun.Result {
        try await PumpctlRun.run(["--simulator", "--state-dir", stateDir, "--operator", "test.tech"] + arguments,
                           environment: ["NO_COLOR": "", "COLUMNS": "200"].merging(environment) { $1 })
    }

    // MARK: Time zone (H170)

    @Test func anAlarmJustAfterMidnightUTCIsTheEveningBeforeInLosAngeles() async throws {
        let zone = try ClinicZone.resolve("America/Los_Angeles")
        let alarm = try PumpTime(parsing: "2027-01-20T06:10:00Z")
        #expect(zone.date(alarm) == "2027-01-19")
        #expect(zone.dateTime(alarm).hasPrefix("2027-01-19 22:10 -08:00"))
        let sentence = zone.schedulerSentence(alarm: alarm, refill: alarm, daysToAlarm: 80)
        #expect(sentence == "Tell the scheduler: LOW-RESERVOIR ALARM ON 2027-01-19 (in 80 days)")
        // The same moment in UTC is the 20th: the zone, not the pump's offset, decides.
        #expect(ClinicZone.utc.date(alarm) == "2027-01-20")
    }

    @Test func theZoneComesFromTZWhenNoOptionIsGiven() async throws {
        let zone = try ClinicZone.resolve(nil, environment: ["TZ": "America/Los_Angeles"])
        #expect(zone.date(try PumpTime(parsing: "2027-07-01T03:00:00Z")) == "2027-06-30")
        #expect(zone.dateTime(try PumpTime(parsing: "2027-07-01T03:00:00Z")).contains("-07:00"))
        #expect(throws: CommandFailure.self) { try ClinicZone.resolve("Mars/Olympus_Mons") }
    }

    @Test func interrogateShowsTheClockInTheGivenZoneWithItsOffset() async throws {
        let json = try await pumpctl(["--json", "interrogate"], environment: ["TZ": "America/Los_Angeles"])
        #expect(json.status == 0, "\(json.stderr)")
        let object = try #require(try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any])
        let alarmText = try #require(object["low_reservoir_alarm_date"] as? String)
        // JSON stays RFC 3339 with its offset, whatever the zone.
        #expect(alarmText.hasSuffix("Z") || alarmText.contains("+") || alarmText.dropFirst(10).contains("-"))
        let alarm = try PumpTime(parsing: alarmText)
        let losAngeles = try ClinicZone.resolve("America/Los_Angeles")

        let text = try await pumpctl(["interrogate"], environment: ["TZ": "America/Los_Angeles"])
        #expect(text.status == 0, "\(text.stderr)")
        #expect(text.stdout.contains("LOW-RESERVOIR ALARM ON \(losAngeles.date(alarm))"), "\(text.stdout)")
        #expect(text.stdout.range(of: #"Clock +\d{4}-\d\d-\d\d \d\d:\d\d -0[78]:00"#, options: .regularExpression) != nil, "\(text.stdout)")

        let tokyo = try await pumpctl(["--tz", "Asia/Tokyo", "interrogate"], environment: ["TZ": "America/Los_Angeles"])
        #expect(tokyo.stdout.contains("+09:00"), "\(tokyo.stdout)")
        #expect(tokyo.stdout.contains("LOW-RESERVOIR ALARM ON \(try ClinicZone.resolve("Asia/Tokyo").date(alarm))"))
        let bad = try await pumpctl(["--tz", "Nowhere/Atall", "interrogate"])
        #expect(bad.status == 64)
        #expect(bad.stderr.contains("--tz Nowhere/Atall: not a time zone"))
    }

    // MARK: Durations and drift (H171)

    @Test func durationsReadInHumanUnits() {
        #expect(Shown.drift(seconds: 720) == "12 min ahead")
        #expect(Shown.drift(seconds: -45) == "45 s behind")
        #expect(Shown.drift(seconds: 6_912_000) == "80 days ahead")
        #expect(Shown.drift(seconds: 0) == "in step")
        #expect(Shown.duration(seconds: 5_400) == "1 h 30 min")
        #expect(Shown.duration(seconds: 86_400 + 3_600 * 4) == "28 h")
        #expect(Shown.duration(seconds: 3 * 86_400 + 4 * 3_600) == "3 days 4 h")
        #expect(Shown.duration(.minutes(10)) == "10 min")
    }

    @Test func aLargeDriftIsAWarningInHumanUnits() async throws {
        let small = try await pumpctl(["interrogate"])
        #expect(!small.stdout.contains("WARNING"), "\(small.stdout)")
        let fault = try await pumpctl(["sim", "fault", "clock-drift", "--minutes", "12"])
        #expect(fault.status == 0, "\(fault.stderr)")
        let large = try await pumpctl(["interrogate"])
        #expect(large.status == 0, "\(large.stderr)")
        #expect(large.stdout.contains("WARNING: the pump's clock is 12 min ahead of this computer's (more than the 5 min tolerated)"), "\(large.stdout)")
        #expect(large.stdout.contains("(12 min ahead of this computer)"))
        #expect(!large.stdout.contains(" s against"))
    }

    // MARK: Emphasis and wrapping (H172)

    @Test func emphasisOnlyWhenAsked() async throws {
        // Not a terminal: plain, even for an alarm line.
        #expect(!Screen(color: .auto).emphasis(fd: -1, environment: [:]))
        #expect(Screen(color: .always).emphasis(fd: -1, environment: ["NO_COLOR": "1"]))
        #expect(!Screen(color: .never).emphasis(fd: -1, environment: [:]))
        #expect(Screen.emphasise("ALARM: motor stall") == "\u{1B}[1;31mALARM\u{1B}[0m: motor stall")
        #expect(Screen.emphasise("SIMULATED PUMP (not a patient)") == "\u{1B}[1;7;36mSIMULATED PUMP (not a patient)\u{1B}[0m")
        #expect(Screen.emphasise("WARNING dose.x: y") == "\u{1B}[1;33mWARNING\u{1B}[0m dose.x: y")
        #expect(Screen.emphasise("Tell the scheduler: LOW-RESERVOIR ALARM ON 2027-01-19")
                == "Tell the scheduler: \u{1B}[1;31mLOW-RESERVOIR ALARM\u{1B}[0m ON 2027-01-19")
        // Words that merely contain a marker are left alone.
        #expect(Screen.emphasise("ERRORS are counted") == "ERRORS are counted")

        let always = try await pumpctl(["--color", "always", "interrogate"])
        #expect(always.stdout.contains("\u{1B}[1;7;36mSIMULATED PUMP"), "\(always.stdout)")
        let piped = try await PumpctlRun.run(["--simulator", "--state-dir", stateDir, "interrogate"], environment: ["TERM": "xterm"])
        #expect(!piped.stdout.contains("\u{1B}["), "a pipe gets no escape codes")
        let refused = try await pumpctl(["--color", "always", "program", VisitCommandTests.prescriptions + "/baclofen-continuous-450.json"])
        #expect(refused.status == 65)
        #expect(refused.stderr.contains("\u{1B}[1;31mREFUSED\u{1B}[0m"), "\(refused.stderr)")
    }

    @Test func noColorTurnsEmphasisOff() async throws {
        #expect(!Screen(color: .auto).emphasis(fd: 1, environment: ["NO_COLOR": "0"]))
        let never = try await pumpctl(["--color", "never", "interrogate"])
        #expect(!never.stdout.contains("\u{1B}["))
        let bad = try await pumpctl(["--color", "sometimes", "interrogate"])
        #expect(bad.status == 64)
        #expect(bad.stderr.contains("--color sometimes: use auto, always or never."))
    }

    @Test func wrappingNeverSplitsAWord() async throws {
        let banner = "SIMULATED: talking to the simulated wand and pump RP20-DEMO-0001, not a patient's pump."
        let lines = Screen.wrap(banner, width: 30)
        #expect(lines.allSatisfy { $0.count <= 30 })
        #expect(lines.joined(separator: " ").split(separator: " ").joined(separator: " ") == banner)
        #expect(lines.contains { $0.contains("RP20-DEMO-0001") }, "the serial is never split")
        #expect(Screen.wrap("Clock         2026-12-01 00:59 -08:00 (12 min ahead)", width: 40)
                == ["Clock         2026-12-01 00:59 -08:00", "              (12 min ahead)"])
        #expect(Screen.wrap("a-very-long-unbreakable-word here", width: 20) == ["a-very-long-unbreakable-word", "  here"])

        let narrow = try await pumpctl(["interrogate"], environment: ["COLUMNS": "40"])
        #expect(narrow.stdout.split(separator: "\n").allSatisfy { $0.count <= 40 }, "\(narrow.stdout)")
    }

    // MARK: Display precision (H173)

    @Test func volumesAreShownTo0_01mL() {
        #expect(Shown.volume(.nL(11_999_983)) == "12mL")
        #expect(Shown.volume(.nL(11_994_000)) == "11.99mL")
        #expect(Shown.volume(.nL(2_399_950)) == "2.4mL")
        #expect(Shown.volume(.nL(1_974_942)) == "1.97mL")
        #expect(Shown.volume(.nL(-5_000)) == "-0.01mL")
        #expect(Shown.volume(.zero) == "0mL")
        #expect(Shown.volumeRate(.nLPerDay(200_000)) == "0.2mL/day")
        // A bolus volume is its own kind: never rounded to a volume that is not pushed.
        #expect(Shown.bolusVolume(.nL(25_000)) == "0.025mL")
    }

    @Test func dosesAreShownToTheDrugsPrecision() {
        #expect(Shown.doseRate(.ngPerDay(400_040), drug: .baclofen) == "400mcg/day")
        #expect(Shown.doseRate(.ngPerDay(450_060), drug: .baclofen) == "450.1mcg/day")
        #expect(Shown.doseRate(.ngPerDay(2_000_400), drug: .morphine) == "2mg/day")
        #expect(Shown.doseRate(.ngPerDay(2_001_600), drug: .morphine) == "2.002mg/day")
        #expect(Shown.dose(.ng(2_405), drug: .ziconotide) == "2.41mcg")
        #expect(Shown.concentration(.mcgPerML(2000), drug: .baclofen) == "2000mcg/mL")
        #expect(Shown.concentration(.mgPerML(25), drug: .morphine) == "25mg/mL")
    }

    @Test func interrogateShowsRoundedVolumesAndJSONKeepsThemExact() async throws {
        // A day of delivery leaves 11.8mL; half a day and a minute leave a volume with nL digits.
        let advance = try await pumpctl(["sim", "advance", "61min"])
        #expect(advance.status == 0, "\(advance.stderr)")
        let json = try await pumpctl(["--json", "interrogate"])
        let object = try #require(try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any])
        let reservoir = try #require(object["reservoir_volume"] as? [String: Any])
        let exact = try #require((reservoir["value"] as? NSNumber)?.decimalValue)
        #expect(reservoir["unit"] as? String == "mL")
        let text = try await pumpctl(["interrogate"])
        let nanolitres = NSDecimalNumber(decimal: exact * 1_000_000).int64Value
        let shown = Shown.volume(.nL(nanolitres))
        // The text is read a moment after the JSON: the pump may have
        // delivered a few nanolitres since, one display step at most.
        let earlier = Shown.volume(.nL(nanolitres - 10_000))
        let line = text.stdout.split(separator: "\n").first { $0.hasPrefix("Reservoir ") } ?? ""
        #expect(line.hasSuffix(" \(shown) of 20mL; alarm at 2mL") || line.hasSuffix(" \(earlier) of 20mL; alarm at 2mL"), "\(text.stdout)")
        // The JSON value is the exact one: more digits than the screen when they exist.
        #expect("\(exact)".count >= shown.count - 2)
        #expect(!text.stdout.contains("\(exact)mL") || "\(exact)mL" == shown)
    }
}

/// Time options: RFC 3339 with fractions and any offset, dates, relative forms.
@Suite struct TimeOptionTests {
    @Test func rfc3339WithFractionalSecondsAndAnyOffsetIsAccepted() async throws {
        #expect(try CalcInput.time("2027-01-20T06:10:00.250Z", option: "--since").utcSeconds
                == (try PumpTime(parsing: "2027-01-20T06:10:00Z")).utcSeconds)
        #expect(try CalcInput.time("2027-01-19T22:10:00.5-08:00", option: "--since").utcSeconds
                == (try PumpTime(parsing: "2027-01-20T06:10:00Z")).utcSeconds)
        #expect(try CalcInput.time("2027-01-20T11:40:00+0530", option: "--since").utcSeconds
                == (try PumpTime(parsing: "2027-01-20T06:10:00Z")).utcSeconds)
        #expect(try CalcInput.time("2027-01-20", option: "--since", dateAlone: .midnightUTC).utcSeconds == (try PumpTime(parsing: "2027-01-20T00:00:00Z")).utcSeconds)
    }

    @Test func relativeFormsCountBackFromNow() async throws {
        let now: Int64 = 1_800_000_000
        #expect(try CalcInput.time("7d", option: "--since", now: now).utcSeconds == now - 7 * 86_400)
        #expect(try CalcInput.time("12h", option: "--since", now: now).utcSeconds == now - 12 * 3_600)
        #expect(try CalcInput.time("90min", option: "--since", now: now).utcSeconds == now - 5_400)
        #expect(throws: CommandFailure.self) { try CalcInput.time("7 parsecs", option: "--since") }
        #expect(throws: CommandFailure.self) { try CalcInput.time("2027-01-20T06:10:00", option: "--since") }
    }

    @Test func logSinceAcceptsTheTimesPumpctlPrints() async throws {
        let sinceFolder = try TemporaryDirectory(prefix: "pumpwand-since")
        defer { sinceFolder.remove() }
        let stateDir = sinceFolder.path
        let base = ["--simulator", "--state-dir", stateDir, "--operator", "test.tech", "--json"]
        _ = try await PumpctlRun.run(base + ["--yes", "bolus", "--dose", "50mcg"])
        let audit = try await PumpctlRun.run(base + ["audit", "list"])
        let stamp = try #require(audit.stdout.range(of: #"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d+Z"#, options: .regularExpression).map { String(audit.stdout[$0]) })
        let since = try await PumpctlRun.run(base + ["log", "--since", stamp])
        #expect(since.status == 0, "\(since.stderr)")
        let week = try await PumpctlRun.run(base + ["log", "--since", "7d"])
        #expect(week.status == 0, "\(week.stderr)")
        #expect(week.stdout.contains("bolus started"), "\(week.stdout)")
        let bad = try await PumpctlRun.run(base + ["log", "--since", "yesterday"])
        #expect(bad.status == 64)
        #expect(bad.stderr.contains("--since: 'yesterday'"), "\(bad.stderr)")
    }
}
