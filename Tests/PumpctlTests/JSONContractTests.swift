import Foundation
import Testing
import TestSupport

/// Every command's `--json` output, errors included, against its JSON
/// Schema in docs/schemas, checked by Python's `jsonschema` in a child
/// process (installed by scripts/install-deps.sh; a missing tool cancels
/// the test, it never passes silently).
@Suite(.serialized) struct JSONContractTests {
    /// Removed when the test ends.
    let temporary = TemporaryDirectory.make(prefix: "pumpwand-json")
    var stateDir: String { temporary.path }

    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    static let schemas = root.appendingPathComponent("docs/schemas")
    static let prescriptions = root.appendingPathComponent("examples/prescriptions").path

    func pumpctl(_ arguments: [String]) async throws -> PumpctlRun.Result {
        try await PumpctlRun.run(["--simulator", "--state-dir", stateDir, "--operator", "test.tech", "--json"] + arguments)
    }

    static let validator = """
        import json, sys
        try:
            import jsonschema
        except ImportError:
            sys.exit(3)
        schema = json.load(open(sys.argv[1]))
        instance = json.loads(open(sys.argv[2]).read())
        jsonschema.Draft202012Validator.check_schema(schema)
        errors = ["/".join(map(str, e.absolute_path)) + ": " + e.message
                  for e in jsonschema.Draft202012Validator(schema).iter_errors(instance)]
        print("\\n".join(errors))
        sys.exit(1 if errors else 0)
        """

    /// The schema's complaints about `json` (empty when it conforms).
    static func violations(of json: String, schema: String) async throws -> [String] {
        let fileFolder = try TemporaryDirectory(prefix: "pumpwand-instance")
        defer { fileFolder.remove() }
        let file = fileFolder.file("instance.json")
        try json.write(toFile: file, atomically: true, encoding: .utf8)
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/local/bin:/usr/bin:/bin"
        let python = path.split(separator: ":").map { "\($0)/python3" }.first { FileManager.default.isExecutableFile(atPath: $0) }
        guard let python else { try Test.cancel("python3 is not installed (scripts/install-deps.sh)") }
        let run = try await ChildProcess.run(python, ["-c", validator, schemas.appendingPathComponent(schema).path, file],
                                             mergingStandardError: true, timeLimit: .seconds(60))
        let text = run.stdout
        switch run.status {
        case 0: return []
        case 1: return text.split(separator: "\n").map(String.init)
        case 3: try Test.cancel("Python's jsonschema is not installed (scripts/install-deps.sh installs python3-jsonschema)")
        default: Issue.record("the validator failed: \(text)"); return ["validator failed"]
        }
    }

    func expectConforms(_ result: PumpctlRun.Result, _ schema: String, status: Int32 = 0,
                        sourceLocation: SourceLocation = #_sourceLocation) async throws {
        #expect(result.status == status, "\(result.stderr)", sourceLocation: sourceLocation)
        let problems = try await Self.violations(of: result.stdout, schema: schema)
        #expect(problems.isEmpty, "\(schema): \(problems) in \(result.stdout)", sourceLocation: sourceLocation)
    }

    @Test func everyCommandsOutputMatchesItsSchema() async throws {
        try await expectConforms(try await pumpctl(["interrogate"]), "interrogate.json")
        try await expectConforms(try await pumpctl(["program", Self.prescriptions + "/baclofen-continuous-450.json", "--dry-run"]), "program-dry-run.json")
        try await expectConforms(try await pumpctl(["program", Self.prescriptions + "/baclofen-tenfold-error.json", "--dry-run"]), "program-dry-run.json", status: 65)
        try await expectConforms(try await pumpctl(["--yes", "program", Self.prescriptions + "/baclofen-continuous-450.json"]), "program.json")
        try await expectConforms(try await pumpctl(["--yes", "refill", "--withdrawn", "12mL", "--added", "18mL", "--concentration", "2000mcg/mL"]), "refill.json")
        try await expectConforms(try await pumpctl(["--yes", "bolus", "--dose", "50mcg"]), "bolus.json")
        try await expectConforms(try await pumpctl(["alarms"]), "alarms.json")
        try await expectConforms(try await pumpctl(["log"]), "log.json")
        try await expectConforms(try await pumpctl(["clock"]), "clock.json")
        try await expectConforms(try await pumpctl(["--yes", "stop", "--override", "withdrawal.risk=catheter revision"]), "interrogate.json")
        // A stopped pump is NOT DELIVERING: interrogate says why and exits 79.
        let stopped = try await pumpctl(["interrogate"])
        try await expectConforms(stopped, "interrogate.json", status: 79)
        #expect(stopped.stdout.contains("\"reason\" : \"stopped\""), "\(stopped.stdout)")
        #expect(stopped.stdout.contains("\"infusion\" : \"stopped\""), "\(stopped.stdout)")
        try await expectConforms(try await pumpctl(["--yes", "resume"]), "interrogate.json")
        try await expectConforms(try await pumpctl(["audit", "list"]), "audit-list.json")
        try await expectConforms(try await pumpctl(["audit", "verify"]), "audit-verify.json")
    }

    /// A line without drug (after a catheter replacement): its segment has
    /// drug and concentration `null`, the line transition every key, and
    /// catheter's own output is the pump as read after it.
    @Test func aLineWithoutDrugMatchesTheInterrogateSchema() async throws {
        try await expectConforms(try await pumpctl(["--yes", "stop", "--override", "withdrawal.risk=catheter revision"]), "interrogate.json")
        let catheter = try await pumpctl(["--yes", "catheter", "--replaced", "--volume", "0.3mL"])
        try await expectConforms(catheter, "interrogate.json")
        let read = try await pumpctl(["interrogate"])
        try await expectConforms(read, "interrogate.json", status: 79)
        #expect(read.stdout.contains("\"drug\" : null"), "a segment without drug says so: \(read.stdout)")
        #expect(read.stdout.contains("\"reservoir_drug_arrives\""), "\(read.stdout)")
    }

    @Test func aRefusalWithJSONPrintsTheErrorObject() async throws {
        // No --yes and no terminal: refused before anything is sent.
        let refused = try await pumpctl(["program", Self.prescriptions + "/baclofen-continuous-450.json"])
        try await expectConforms(refused, "error.json", status: 65)
        let object = try #require(try JSONSerialization.jsonObject(with: Data(refused.stdout.utf8)) as? [String: Any])
        let error = try #require(object["error"] as? [String: Any])
        #expect(error["code"] as? String == "refused_by_policy")
        #expect(error["exit_status"] as? Int == 65)
        #expect(error["pump"] as? String == "nothing_sent")
        #expect((error["message"] as? String)?.contains("--yes") == true)
        #expect(refused.stderr.contains("REFUSED"), "the person still reads it on stderr")

        let hardLimit = try await pumpctl(["--yes", "bolus", "--dose", "1mg"])
        try await expectConforms(hardLimit, "error.json", status: 65)
        #expect(hardLimit.stdout.contains("\"pump\" : \"nothing_sent\""))

        let usage = try await pumpctl(["refill", "--withdrawn", "12"])
        try await expectConforms(usage, "error.json", status: 64)
        #expect(usage.stdout.contains("\"code\" : \"usage\""), "\(usage.stdout)")

        let unknown = try await pumpctl(["interrogat"])
        try await expectConforms(unknown, "error.json", status: 64)
    }

    @Test func theSchemasRejectWhatTheContractForbids() async throws {
        // The validator can fail: the old upper-case state, a quantity as a string, a missing pump state.
        let interrogate = try await pumpctl(["interrogate"]).stdout
        let shouted = interrogate.replacingOccurrences(of: "\"infusion\" : \"infusing\"", with: "\"infusion\" : \"STOPPED\"")
        #expect(try await Self.violations(of: shouted, schema: "interrogate.json").contains { $0.hasPrefix("infusion:") })
        let stringly = #"{"simulated": true, "alarms": [], "low_reservoir_threshold": "2mL", "low_reservoir_alarm_date": null}"#
        #expect(try await Self.violations(of: stringly, schema: "alarms.json").contains { $0.hasPrefix("low_reservoir_threshold:") })
        let noPump = #"{"error": {"code": "usage", "exit_status": 64, "message": "x"}}"#
        #expect(try await !Self.violations(of: noPump, schema: "error.json").isEmpty)
    }

    // MARK: Quantities as numbers, one name per meaning, every command

    /// Review rows give quantities as `{value, unit}`, never display text,
    /// and the schema refuses a row whose dose is a string.
    @Test func reviewRowsGiveQuantitiesAsNumbers() async throws {
        let dryRun = try await pumpctl(["program", Self.prescriptions + "/baclofen-continuous-450.json", "--dry-run"])
        try await expectConforms(dryRun, "program-dry-run.json")
        let object = try #require(try JSONSerialization.jsonObject(with: Data(dryRun.stdout.utf8)) as? [String: Any])
        let rows = try #require(object["review"] as? [[String: Any]])
        let dose = try #require(rows.first { $0["field"] as? String == "daily dose" })
        let pending = try #require(dose["pending"] as? [String: Any])
        #expect(pending["unit"] as? String == "mcg/day")
        #expect((pending["value"] as? NSNumber)?.intValue == 450)
        #expect(rows.first { $0["field"] as? String == "drug" }?["current"] as? String == "baclofen")
        let stringly = dryRun.stdout.replacingOccurrences(
            of: #"""
                "pending" : {
                        "unit" : "mcg/day",
                        "value" : 450
                      }
                """#, with: #""pending" : "450mcg/day""#)
        #expect(stringly != dryRun.stdout, "the replacement must hit the real output")
        #expect(try await Self.violations(of: stringly, schema: "program-dry-run.json").contains { $0.contains("review/") })

        // A flex schedule's rows give each step's dose and pump rate.
        let flex = try await pumpctl(["program", Self.prescriptions + "/baclofen-flex.json", "--dry-run"])
        try await expectConforms(flex, "program-dry-run.json", status: flex.status == 65 ? 65 : 0)
        #expect(flex.stdout.contains("\"dose\" : {"), "\(flex.stdout)")
    }

    /// A warning overridden on the command line carries, in the review's
    /// JSON, the reason the audit log will record; one not overridden does not.
    @Test func anOverriddenWarningCarriesItsReasonInTheReview() async throws {
        let file = stateDir + "/baclofen-600.json"
        let text = try String(contentsOfFile: Self.prescriptions + "/baclofen-continuous-450.json", encoding: .utf8)
        try text.replacingOccurrences(of: "450mcg/day", with: "600mcg/day").write(toFile: file, atomically: true, encoding: .utf8)
        func warnings(_ result: PumpctlRun.Result) throws -> [[String: Any]] {
            let object = try #require(try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any])
            return try #require(object["warnings"] as? [[String: Any]])
        }
        let plain = try await pumpctl(["program", file, "--dry-run"])
        try await expectConforms(plain, "program-dry-run.json")
        let unreasoned = try warnings(plain)
        #expect(unreasoned.map { $0["code"] as? String } == ["titration.above-limit"], "\(plain.stdout)")
        #expect(unreasoned.allSatisfy { $0["override_reason"] == nil })
        let overridden = try await pumpctl(["program", file, "--dry-run", "--override", "titration.above-limit= consultant order today "])
        try await expectConforms(overridden, "program-dry-run.json")
        #expect(try warnings(overridden).first?["override_reason"] as? String == "consultant order today", "\(overridden.stdout)")
    }

    /// The refill gives its report files once, as `reports`, like program.
    @Test func theRefillNamesItsReportsOnce() async throws {
        let refill = try await pumpctl(["--yes", "refill", "--withdrawn", "12mL", "--added", "18mL", "--concentration", "2000mcg/mL"])
        try await expectConforms(refill, "refill.json")
        #expect(refill.stdout.contains("\"reports\" : ["), "\(refill.stdout)")
        #expect(!refill.stdout.contains("report_paths"), "\(refill.stdout)")
        let both = refill.stdout.replacingOccurrences(of: "\"reports\" : [", with: "\"report_paths\" : [], \"reports\" : [")
        #expect(try await !Self.violations(of: both, schema: "refill.json").isEmpty)
    }

    /// wands, calc, sim, link and raw against their schemas.
    @Test func theCalculatorSimulatorAndBringupOutputsMatchTheirSchemas() async throws {
        let file = Self.prescriptions + "/baclofen-continuous-450.json"
        try await expectConforms(try await PumpctlRun.run(["--json", "wands"]), "wands.json")
        try await expectConforms(try await pumpctl(["calc", "daily-dose", "--prescription", file]), "calc-daily-dose.json")
        try await expectConforms(try await pumpctl(["calc", "projection", "--reservoir", "12mL", "--prescription", file,
                                                    "--from", "2026-12-01T09:00:00Z"]), "calc-projection.json")
        try await expectConforms(try await pumpctl(["calc", "refill-check", "--expected", "12mL", "--withdrawn", "11mL"]), "calc-refill-check.json")
        try await expectConforms(try await pumpctl(["calc", "bridge", "--old-concentration", "2000mcg/mL", "--new-concentration", "1000mcg/mL",
                                                    "--dose", "400mcg/day", "--line-volume", "0.33mL"]), "calc-bridge.json")
        try await expectConforms(try await pumpctl(["calc", "validate", "--prescription", file]), "calc-validate.json")
        try await expectConforms(try await pumpctl(["calc", "validate", "--prescription", Self.prescriptions + "/baclofen-tenfold-error.json"]),
                                 "calc-validate.json", status: 65)
        try await expectConforms(try await pumpctl(["sim", "status"]), "sim-status.json")
        try await expectConforms(try await pumpctl(["sim", "advance", "1d"]), "sim-status.json")
        try await expectConforms(try await pumpctl(["sim", "reset"]), "sim-status.json")
        try await expectConforms(try await pumpctl(["link", "status"]), "link-status.json")
        try await expectConforms(try await pumpctl(["link", "loopback", "--count", "3"]), "link-loopback.json")
        try await expectConforms(try await pumpctl(["raw", "01", "01", "01", "00", "00", "01"]), "raw.json")
        try await expectConforms(try await pumpctl(["raw", "--no-frame", "00", "01"]), "raw.json")
        // The schemas can fail: a quantity as text, a wrong type.
        let bridge = try await pumpctl(["calc", "bridge", "--old-concentration", "2000mcg/mL", "--new-concentration", "1000mcg/mL",
                                        "--dose", "400mcg/day", "--line-volume", "0.33mL"]).stdout
        let text = #"{"volume": "0.33mL", "duration": {"value": 1, "unit": "h"}, "rate": {"value": 1, "unit": "mL/day"}, "#
            + #""dose_during_bridge": {"value": 1, "unit": "mcg"}, "rate_after_bridge": {"value": 1, "unit": "mL/day"}}"#
        #expect(try await Self.violations(of: text, schema: "calc-bridge.json").contains { $0.hasPrefix("volume:") }, "\(bridge)")
    }

    /// Every serve response line against serve.json, and each result
    /// against the schema of the command it answers.
    @Test func serveResponsesMatchTheirSchemas() async throws {
        let requests = [
            #"{"id":1,"command":"interrogate"}"#, #"{"id":2,"command":"link-status"}"#,
            #"{"id":3,"command":"loopback","count":2}"#, #"{"id":4,"command":"event-log"}"#,
            #"{"id":5,"command":"read-prescription"}"#, #"{"id":6,"command":"stop"}"#, #"{"id":7,"command":"close"}"#,
        ]
        let run = try await PumpctlRun.run(["--simulator", "--state-dir", stateDir, "serve"],
                                           stdin: requests.joined(separator: "\n") + "\n")
        #expect(run.status == 0, "\(run.stderr)")
        let lines = run.stdout.split(separator: "\n").map(String.init)
        #expect(lines.count == requests.count, "\(run.stdout)")
        let resultSchemas = [1: "interrogate.json", 2: "link-status.json", 3: "link-loopback.json", 4: "log.json",
                             5: "serve-read-prescription.json"]
        for line in lines {
            let problems = try await Self.violations(of: line, schema: "serve.json")
            #expect(problems.isEmpty, "serve.json: \(problems) in \(line)")
            let object = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
            guard let id = object["id"] as? Int, let schema = resultSchemas[id] else { continue }
            let result = try #require(object["result"] as? [String: Any], "\(line)")
            let text = String(decoding: try JSONSerialization.data(withJSONObject: result), as: UTF8.self)
            let resultProblems = try await Self.violations(of: text, schema: schema)
            #expect(resultProblems.isEmpty, "\(schema): \(resultProblems) in \(text)")
        }
        // read-prescription: typed quantities, and the file form beside them.
        let read = try #require(lines.first { $0.contains("\"id\":5") })
        #expect(read.contains(#""daily_dose":{"unit":"mcg/day","value":400}"#), "\(read)")
        #expect(read.contains(#""prescription_file":{"#) && read.contains(#""daily_dose":"400mcg/day""#), "\(read)")
        // A change is refused with an error line, and the envelope says so.
        #expect(lines.first { $0.contains("\"id\":6") }?.contains(#""ok":false"#) == true)
    }
}
