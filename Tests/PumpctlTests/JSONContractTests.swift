import Foundation
import Testing
import TestSupport

/// Every command's `--json` output, errors included, against its JSON
/// Schema in docs/schemas, checked by Python's `jsonschema` in a child
/// process (installed by scripts/install-deps.sh; a missing tool cancels
/// the test, it never passes silently).
@Suite(.serialized) struct JSONContractTests {
    let stateDir: String = {
        let path = NSTemporaryDirectory() + "pumpwand-json-" + UUID().uuidString
        try? FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }()

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
        let file = NSTemporaryDirectory() + "pumpwand-instance-" + UUID().uuidString + ".json"
        try json.write(toFile: file, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: file) }
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
}
