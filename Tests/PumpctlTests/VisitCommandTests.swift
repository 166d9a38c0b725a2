import Foundation
import Glibc
import Testing
import TestSupport

/// The pump commands on the built binary against the in-process simulator:
/// JSON contracts, exit statuses, and crashes at every step of the
/// state-changing commands.
@Suite(.serialized, .tags(.process), .childProcesses) struct VisitCommandTests {
    /// Removed when the test ends.
    let temporary = TemporaryDirectory.make(prefix: "pumpwand-visit")
    var stateDir: String { temporary.path }

    static let prescriptions: String = {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("examples/prescriptions").path
    }()

    func pumpctl(_ arguments: [String], environment: [String: String] = [:]) async throws -> PumpctlRun.Result {
        try await PumpctlRun.run(["--simulator", "--state-dir", stateDir, "--operator", "test.tech"] + arguments, environment: environment)
    }

    func json(_ result: PumpctlRun.Result) throws -> [String: Any] {
        let object = try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any]
        return try #require(object, "not a JSON object: \(result.stdout) \(result.stderr)")
    }

    @Test func interrogateJSONHasTheDocumentedKeys() async throws {
        let result = try await pumpctl(["--json", "interrogate"])
        #expect(result.status == 0, "\(result.stderr)")
        let status = try json(result)
        for key in ["serial", "model", "clock", "drug", "concentration", "mode", "daily_dose", "rate", "reservoir_volume",
                    "alarms", "low_reservoir_alarm_date", "refill_date", "unresolved_command"] {
            #expect(status.keys.contains(key), "interrogate --json lacks \(key)")
        }
        #expect(status["simulated"] as? Bool == true)
        #expect(status["model"] as? String == "RP-20")
        let dose = status["daily_dose"] as? [String: Any]
        #expect(dose?["unit"] as? String == "mcg/day")
        #expect((dose?["value"] as? NSNumber)?.intValue == 400)
        #expect(result.stderr.contains("SIMULATED"))
    }

    @Test func dryRunReportsFindingsAndRefusesAHardLimit() async throws {
        let result = try await pumpctl(["--json", "program", Self.prescriptions + "/baclofen-tenfold-error.json", "--dry-run"])
        #expect(result.status == 65)
        let review = try json(result)
        let errors = review["errors"] as? [[String: Any]] ?? []
        let warnings = review["warnings"] as? [[String: Any]] ?? []
        #expect(errors.contains { $0["code"] as? String == "dose.above-hard-max" })
        #expect(warnings.contains { $0["code"] as? String == "dose.probable-decimal-error" })
        let after = try json(try await pumpctl(["--json", "interrogate"]))
        #expect((after["daily_dose"] as? [String: Any])?["value"] as? Int == 400)
    }

    @Test func aChangeWithoutConfirmationIsRefused() async throws {
        // No terminal and no --yes: refused, exit 65, pump unchanged.
        let result = try await pumpctl(["program", Self.prescriptions + "/baclofen-continuous-450.json"])
        #expect(result.status == 65)
        #expect(result.stderr.contains("--yes"))
        let after = try json(try await pumpctl(["--json", "interrogate"]))
        #expect((after["daily_dose"] as? [String: Any])?["value"] as? Int == 400)
    }

    @Test func programWithYesWritesAndReportsTheNewAlarmDate() async throws {
        let result = try await pumpctl(["--json", "program", Self.prescriptions + "/baclofen-continuous-450.json", "--yes"])
        #expect(result.status == 0, "\(result.stderr)")
        let done = try json(result)
        let status = done["status"] as? [String: Any]
        #expect((status?["daily_dose"] as? [String: Any])?["value"] as? Int == 450)
        #expect(status?["low_reservoir_alarm_date"] is String)
        #expect((done["reports"] as? [String])?.count == 2)
    }

    @Test func programmingTheSameFileTwiceSendsNothingTheSecondTime() async throws {
        let file = Self.prescriptions + "/baclofen-continuous-450.json"
        let first = try await pumpctl(["--yes", "program", file])
        #expect(first.status == 0, "\(first.stderr)")
        let second = try await pumpctl(["--yes", "program", file])
        #expect(second.status == 0, "\(second.stderr)")
        #expect(second.stdout.contains("The pump already holds this prescription. No change was sent to the pump."))
        #expect(!second.stderr.contains("titration.within-24h"), "\(second.stderr)")
        #expect(!second.stderr.contains("* daily dose"), "\(second.stderr)")
    }

    @Test func programRefusesALoosenedPolicyAndSendsNothing() async throws {
        let shipped = try await PumpctlRun.run(["calc", "policy"]).stdout
        let raised = shipped.replacingOccurrences(of: #""soft_max": "1000mcg/day", "hard_max": "2000mcg/day""#,
                                                  with: #""soft_max": "1000mcg/day", "hard_max": "200000mcg/day""#)
        let policyFolder = try TemporaryDirectory(prefix: "pumpwand-policy")
        defer { policyFolder.remove() }
        let policy = policyFolder.file("policy.json")
        try Data(raised.utf8).write(to: URL(fileURLWithPath: policy))
        let result = try await pumpctl(["--yes", "program", Self.prescriptions + "/baclofen-tenfold-error.json", "--policy", policy])
        #expect(result.status == 64, "\(result.stderr)")
        #expect(result.stderr.contains("loosens baclofen daily_dose.hard_max"), "\(result.stderr)")
        let bolus = try await pumpctl(["--yes", "bolus", "--dose", "50mcg", "--policy", policy])
        #expect(bolus.status == 64)
        let after = try json(try await pumpctl(["--json", "interrogate"]))
        #expect((after["daily_dose"] as? [String: Any])?["value"] as? Int == 400)
    }

    @Test func interrogateShowsEveryStepAndThePatientBolus() async throws {
        let flexFolder = try TemporaryDirectory(prefix: "pumpwand-flex")
        defer { flexFolder.remove() }
        let file = flexFolder.file("flex.json")
        try Data(#"""
            {"drug":"baclofen","concentration":"2000mcg/mL","indication":"spinal","mode":"flex","cycle":"daily",
             "steps":[{"start":"00:00","dose_rate":"400mcg/day"},{"start":"07:00","dose_rate":"440mcg/day"},{"start":"22:00","dose_rate":"400mcg/day"}],
             "patient_bolus":{"dose":"20mcg","duration":"10min","lockout":"3h","max_per_24h":4},"catheter":{"volume":"0.26mL"}}
            """#.utf8).write(to: URL(fileURLWithPath: file))
        let programmed = try await pumpctl(["--yes", "program", file])
        #expect(programmed.status == 0, "\(programmed.stderr)")
        // The review showed each step beside what runs at that time now.
        #expect(programmed.stderr.contains("* at 07:00"), "\(programmed.stderr)")
        #expect(programmed.stderr.contains("* patient bolus dose"), "\(programmed.stderr)")
        let text = try await pumpctl(["interrogate"])
        #expect(text.status == 0, "\(text.stderr)")
        #expect(text.stdout.contains("Step 07:00     440mcg/day (0.22mL/day)"), "\(text.stdout)")
        #expect(text.stdout.contains("Patient bolus  20mcg over 10min, lockout 3h, at most 4 per 24h"), "\(text.stdout)")
        let status = try json(try await pumpctl(["--json", "interrogate"]))
        let steps = status["steps"] as? [[String: Any]] ?? []
        #expect(steps.map { $0["start"] as? String } == ["00:00", "07:00", "22:00"])
        #expect(((steps.dropFirst().first?["dose_rate"]) as? [String: Any])?["unit"] as? String == "mcg/day")
        #expect((status["patient_bolus"] as? [String: Any])?["max_per_24h"] as? Int == 4)
    }

    @Test func logSinceTakesPumpctlsOwnAuditTimes() async throws {
        #expect(try await pumpctl(["--yes", "program", Self.prescriptions + "/baclofen-continuous-450.json"]).status == 0)
        let audit = try json(try await pumpctl(["--json", "audit"]))
        let times = (audit["entries"] as? [[String: Any]] ?? []).compactMap { $0["time"] as? String }
        let first = try #require(times.first)
        #expect(first.contains("."), "audit times carry milliseconds: \(first)")
        let log = try await pumpctl(["--json", "log", "--since", first])
        #expect(log.status == 0, "\(log.stderr)")
        let events = (try json(log)["events"] as? [[String: Any]] ?? []).compactMap { $0["event"] as? String }
        #expect(events.contains("prescription committed"))
        // Any offset, and a date alone (midnight UTC, as documented for --since).
        #expect(try await pumpctl(["log", "--since", "2026-11-28T05:59:40.851+05:30"]).status == 0)
        #expect(try await pumpctl(["log", "--since", "2026-11-28"]).status == 0)
    }

    @Test func morphineIsShownInMilligramsOnEveryScreen() async throws {
        let morphineFolder = try TemporaryDirectory(prefix: "pumpwand-morphine")
        defer { morphineFolder.remove() }
        let file = morphineFolder.file("morphine.json")
        try Data(#"{"drug":"morphine","concentration":"10mg/mL","indication":"pain","mode":"continuous","daily_dose":"1mg/day","opioid_tolerance":"tolerant","catheter":{"volume":"0.26mL"}}"#.utf8)
            .write(to: URL(fileURLWithPath: file))
        let refill = try await pumpctl(["--yes", "refill", "--withdrawn", "12mL", "--added", "18mL", "--drug", "morphine",
                                  "--concentration", "10mg/mL", "--prescription", file, "--second-operator", "dr.second",
                                  "--override", "drug.changed=new drug ordered by the pain team, line flushed",
                                  "--override", "drug-change.withdrawal=oral baclofen cover from tonight, tapered over two weeks"])
        #expect(refill.status == 0, "\(refill.stderr)")
        #expect(refill.stdout.contains("Refill recorded: 18mL of morphine 10mg/mL."), "\(refill.stdout)")
        #expect(!refill.stdout.contains("10000mcg"), "\(refill.stdout)")
        let text = try await pumpctl(["interrogate"])
        #expect(text.stdout.contains("morphine 10mg/mL"), "\(text.stdout)")
        // The line's baclofen first, at its own prescription, then the morphine.
        #expect(text.stdout.contains("NOW 400mcg/day of baclofen from the line; then 1mg/day of morphine"), "\(text.stdout)")
        // Morphine's figures are in mg; only the baclofen still in the line
        // (shown as such, with when the morphine arrives) is in mcg.
        #expect(!text.stdout.contains("10000mcg") && !text.stdout.contains("1000mcg/day"), "\(text.stdout)")
        #expect(text.stdout.contains("baclofen 2000mcg/mL is still in the line"), "\(text.stdout)")
        let status = try json(try await pumpctl(["--json", "interrogate"]))
        #expect((status["concentration"] as? [String: Any])?["unit"] as? String == "mg/mL")
        #expect((status["concentration"] as? [String: Any])?["value"] as? Int == 10)
        #expect((status["daily_dose"] as? [String: Any])?["unit"] as? String == "mg/day")
        // The line's baclofen leaves first (0.46 mL at 400 mcg/day, 2.3 days):
        // until then a morphine bolus would push baclofen, and is refused.
        let early = try await pumpctl(["--yes", "bolus", "--dose", "0.2mg", "--duration", "30min", "--opioid-tolerance", "tolerant"])
        #expect(early.status == 65, "\(early.stderr)")
        #expect(early.stderr.contains("line.holds-other-drug"), "\(early.stderr)")
        #expect(try await pumpctl(["sim", "advance", "3d"]).status == 0)
        let bolus = try await pumpctl(["--yes", "bolus", "--dose", "0.2mg", "--duration", "30min", "--opioid-tolerance", "tolerant"])
        #expect(bolus.status == 0, "\(bolus.stderr)")
        #expect(bolus.stdout.contains("0.2mg of morphine reaches the patient"), "\(bolus.stdout)")
        #expect(bolus.stderr.contains("0.2mg of morphine reaches the patient (10mg/mL)"), "\(bolus.stderr)")
        let report = try #require(refill.stdout.split(separator: "\n").first { $0.hasPrefix("Report: ") && $0.hasSuffix(".md") })
        let markdown = try String(contentsOfFile: String(report.dropFirst("Report: ".count)), encoding: .utf8)
        #expect(markdown.contains("| Concentration | 10mg/mL |"), "\(markdown)")
        #expect(markdown.contains("| Daily dose | 1mg/day |"), "\(markdown)")
    }

    @Test func interrogateExitsUncertainWhileACommandIsUnresolved() async throws {
        // A bolus record of this pump whose command id is damaged: the pump
        // cannot be asked about it, so it stays unresolved.
        let record = #"{"command":"bolus","command_id":"not-hex","parameters":{},"pump_serial":"RP20-DEMO-0001","sent_at":"2027-01-15T08:00:00Z"}"#
        try Data(record.utf8).write(to: URL(fileURLWithPath: stateDir + "/pending-command.json"))
        let result = try await pumpctl(["interrogate"])
        #expect(result.status == 75, "\(result.stderr)")
        #expect(result.stdout.contains("UNRESOLVED COMMAND: bolus"), "\(result.stdout)")
    }

    @Test func aCommandPendingForAnotherPumpIsShownAndBlocksNothingHere() async throws {
        let record = #"{"command":"bolus","command_id":"0102030405060708090a0b0c0d0e0f100102030405060708090a0b0c0d0e0f10","parameters":{},"pump_serial":"RP20-OTHER-0002","sent_at":"2027-01-15T08:00:00Z"}"#
        try FileManager.default.createDirectory(atPath: stateDir + "/pending", withIntermediateDirectories: true)
        try Data(record.utf8).write(to: URL(fileURLWithPath: stateDir + "/pending/RP20-OTHER-0002.json"))
        let result = try await pumpctl(["interrogate"])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout.contains("Also pending, for pump RP20-OTHER-0002: bolus"), "\(result.stdout)")
        let bolus = try await pumpctl(["--yes", "bolus", "--dose", "50mcg"])
        #expect(bolus.status == 0, "\(bolus.stderr)")
    }

    @Test func aPumpThatDoesNotDeliverIsNeverToldToHaveNoAlarmDue() async throws {
        _ = try await pumpctl(["sim", "fault", "motor-stall"])
        let stalled = try await pumpctl(["interrogate"])
        #expect(stalled.stdout.contains("NOT DELIVERING (motor stall)"), "\(stalled.stdout)")
        #expect(!stalled.stdout.contains("within ten years"), "\(stalled.stdout)")
    }

    /// Found: a stalled, stopped or unprimed pump exited 0 with "0mcg/day".
    @Test func interrogateOfAPumpThatDoesNotDeliverExits79() async throws {
        _ = try await pumpctl(["sim", "fault", "motor-stall"])
        let stalled = try await pumpctl(["interrogate"])
        #expect(stalled.status == 79, "\(stalled.stderr)")
        let lines = stalled.stdout.split(separator: "\n").map(String.init)
        // The reason first (after the SIMULATED banner), then what it means.
        #expect(lines.dropFirst().first?.contains("NOT DELIVERING (motor stall)") == true, "\(stalled.stdout)")
        #expect(stalled.stdout.contains("not receiving the prescribed 400mcg/day"), "\(stalled.stdout)")
        #expect(stalled.stdout.contains("NONE DELIVERED; prescribed 400mcg/day"), "\(stalled.stdout)")
        #expect(stalled.stdout.contains("WITHDRAWAL WARNING"), "\(stalled.stdout)")
        #expect(stalled.stdout.contains("What to do:"), "\(stalled.stdout)")
    }

    /// An implant recorded, then the pump is NOT DELIVERING DRUG until primed.
    @Test func aCatheterRecordedNeedsAPrimeBeforeThePumpDelivers() async throws {
        let refused = try await pumpctl(["--yes", "catheter", "--replaced", "--volume", "0.3mL"])
        #expect(refused.status == 65, "\(refused.stderr)")
        #expect(refused.stderr.contains("stop it first"), "\(refused.stderr)")
        #expect(try await pumpctl(["--yes", "stop", "--override", "withdrawal.risk=catheter revision in theatre"]).status == 0)
        let replaced = try await pumpctl(["--yes", "catheter", "--replaced", "--volume", "0.3mL"])
        #expect(replaced.status == 0, "\(replaced.stderr)")
        #expect(replaced.stderr.contains("delivers NO DRUG until the line is primed: 0.3mL"), "\(replaced.stderr)")
        // Resuming before the prime would deliver nothing for a day and a half.
        let early = try await pumpctl(["--yes", "resume"])
        #expect(early.status == 65, "\(early.stderr)")
        #expect(early.stderr.contains("line.holds-no-drug"), "\(early.stderr)")
        let unprimed = try await pumpctl(["interrogate"])
        #expect(unprimed.status == 79, "\(unprimed.stderr)")
        #expect(unprimed.stdout.contains("0.3mL NO DRUG"), "\(unprimed.stdout)")
        let prime = try await pumpctl(["--yes", "bolus", "--kind", "prime"])
        #expect(prime.status == 0, "\(prime.stderr)")
        #expect(prime.stdout.contains("0mcg of baclofen reaches the patient") || prime.stderr.contains("0mcg of baclofen reaches the patient"),
                "\(prime.stdout) \(prime.stderr)")
        _ = try await pumpctl(["sim", "advance", "11min"])
        #expect(try await pumpctl(["--yes", "resume"]).status == 0)
        let primed = try await pumpctl(["interrogate"])
        #expect(primed.status == 0, "\(primed.stdout)")
    }

    /// Pump replacement: the old pump's therapy is saved as a prescription
    /// file and programmed into the new pump through the review.
    @Test func aPumpReplacementCarriesTheOldPumpsTherapyThroughTheReview() async throws {
        let fileFolder = try TemporaryDirectory(prefix: "pumpwand-old-pump")
        defer { fileFolder.remove() }
        let file = fileFolder.file("old-pump.json")
        let programmed = try await pumpctl(["--yes", "program", Self.prescriptions + "/baclofen-continuous-450.json"])
        #expect(programmed.status == 0, "\(programmed.stderr)")
        let old = try json(try await pumpctl(["--json", "interrogate", "--save-prescription", file]))
        let oldHash = try #require(old["prescription_hash"] as? String)
        // Never replaces a file.
        let again = try await pumpctl(["interrogate", "--save-prescription", file])
        #expect(again.status == 64, "\(again.stderr)")
        // The new pump: a fresh simulated one, implanted and primed.
        let newPumpFolder = try TemporaryDirectory(prefix: "pumpwand-new-pump")
        defer { newPumpFolder.remove() }
        let newPump = newPumpFolder.path
        func onNew(_ arguments: [String]) async throws -> PumpctlRun.Result {
            try await PumpctlRun.run(["--simulator", "--state-dir", newPump, "--operator", "test.tech"] + arguments)
        }
        #expect(try await onNew(["--yes", "stop", "--override", "withdrawal.risk=pump replacement in theatre"]).status == 0)
        #expect(try await onNew(["--yes", "catheter", "--implant", "--volume", "0.26mL"]).status == 0)
        #expect(try await onNew(["--yes", "bolus", "--kind", "prime"]).status == 0)
        _ = try await onNew(["sim", "advance", "11min"])
        let review = try await onNew(["program", file, "--dry-run"])
        #expect((review.stdout + review.stderr).contains("450mcg/day"), "\(review.stdout) \(review.stderr)")
        let carried = try await onNew(["--yes", "program", file, "--override", "titration.within-24h=pump replacement, same therapy"])
        #expect(carried.status == 0, "\(carried.stderr)")
        let new = try json(try await onNew(["--json", "interrogate"]))
        #expect(new["prescription_hash"] as? String == oldHash)
    }

    @Test func simulatorAndWandExcludeEachOther() async throws {
        let result = try await pumpctl(["--wand", "/dev/ttyACM0", "interrogate"])
        #expect(result.status == 64)
    }

    /// Kills pumpctl (SIGKILL, from inside at a chosen step) during a
    /// state-changing command; the next run must resolve the pending command
    /// and the audit log must still verify.
    @Test(arguments: ["before-send", "after-send", "after-outcome"])
    func aKilledBolusIsResolvedByTheNextRun(step: String) async throws {
        // One state change: the bolus itself.
        try await killThenResolve(step: step, command: ["bolus", "--dose", "50mcg", "--yes"], commandName: "bolus")
        let log = try json(try await pumpctl(["--json", "log"]))
        let started = (log["events"] as? [[String: Any]] ?? []).filter { $0["event"] as? String == "bolus started" }
        // Killed before sending: the pump never saw it. After: exactly once.
        #expect(started.count == (step == "before-send" ? 0 : 1))
    }

    static let everyStep = ["before-send", "after-send", "after-outcome"]

    /// Program is two state changes: stage (1) and commit (2).
    @Test(arguments: everyStep, [1, 2])
    func aKilledProgramLeavesTheOldOrTheNewPrescription(step: String, command: Int) async throws {
        try await killThenResolve(step: "\(step):\(command)", command: ["program", Self.prescriptions + "/baclofen-continuous-450.json", "--yes"],
                            commandName: command == 1 ? "stage" : "program")
        let status = try json(try await pumpctl(["--json", "interrogate"]))
        let dose = (status["daily_dose"] as? [String: Any])?["value"] as? Int
        // Killed while staging, or before the commit left: the old
        // prescription. Once the commit reached the pump: the new one.
        let committed = command == 2 && step != "before-send"
        #expect(dose == (committed ? 450 : 400))
    }

    /// Refill is two state changes: refill begin (1) and refill complete (2).
    @Test(arguments: everyStep, [1, 2])
    func aKilledRefillIsResolvedAndNothingIsHalfDone(step: String, command: Int) async throws {
        let refill = ["refill", "--withdrawn", "12mL", "--added", "20mL", "--concentration", "2000mcg/mL", "--yes"]
        try await killThenResolve(step: "\(step):\(command)", command: refill, commandName: command == 1 ? "refill-begin" : "refill")
        let status = try json(try await pumpctl(["--json", "interrogate"]))
        let volume = ((status["reservoir_volume"] as? [String: Any])?["value"] as? NSNumber)?.doubleValue ?? -1
        let completed = command == 2 && step != "before-send"
        if completed {
            #expect(volume > 19.99 && volume <= 20)
        } else {
            // Still the old residual (about 12 mL); a later refill goes
            // through, picking up a refill already begun instead of beginning twice.
            #expect(volume > 11.9 && volume <= 12)
            let again = try await pumpctl(refill)
            #expect(again.status == 0, "\(again.stderr)")
        }
    }

    func killThenResolve(step: String, command: [String], commandName: String) async throws {
        let killed = try await pumpctl(command, environment: ["PUMPWAND_SIMULATOR_CRASH_AT": step])
        #expect(killed.signalled && killed.status == SIGKILL, "expected SIGKILL, got \(killed.status): \(killed.stderr)")
        let pending = stateDir + "/pending/RP20-DEMO-0001.json"
        #expect(FileManager.default.fileExists(atPath: pending), "the pending command must survive the kill")
        let next = try await pumpctl(["--json", "interrogate"])
        // A refill left begun keeps delivery paused: interrogate says so (79).
        let paused = (try? json(next)["not_delivering"] as? [String: Any])?["reason"] as? String == "refill-in-progress"
        #expect(next.status == 0 || (next.status == 79 && paused), "\(next.status) \(next.stderr)")
        #expect(try json(next)["unresolved_command"] is NSNull)
        #expect(!FileManager.default.fileExists(atPath: pending))
        let audit = try json(try await PumpctlRun.run(["--json", "--state-dir", stateDir, "audit"]))
        let outcomes = (audit["entries"] as? [[String: Any]] ?? []).filter { $0["command"] as? String == commandName }
            .compactMap { $0["outcome"] as? String }
        #expect(outcomes.contains { $0.hasPrefix("resolved:") }, "no resolution recorded: \(outcomes)")
        let verify = try await PumpctlRun.run(["audit", "verify", "--state-dir", stateDir])
        #expect(verify.status == 0, "\(verify.stdout)")
    }
}
