import Foundation
import Testing
import TestSupport

/// The bring-up kit against `wandsim` on a pty: the same bytes as a serial
/// wand, through the real termios code, in a separate process.
@Suite(.serialized, .tags(.process, .pty), .childProcesses) struct BringupOverWandsimTests {
    /// A running wandsim and the pty it serves.
    final class Wandsim {
        let child: RunningChild
        let pty: String
        let keyFile: String
        let directory: String
        /// `directory`, removed when the last copy of this ends (wandsim is
        /// killed with its RunningChild then, never saving into it again).
        let temporary: TemporaryDirectory

        init() async throws {
            temporary = try TemporaryDirectory(prefix: "pumpwand-wandsim")
            directory = temporary.path
            keyFile = directory + "/demo.key"
            // The published demo key, as 64 hex digits, private as key files must be.
            let hex = (0..<32).map { String(format: "%02x", $0) }.joined()
            try hex.write(toFile: keyFile, atomically: true, encoding: .utf8)
            chmod(keyFile, 0o600)
            child = try await ChildProcess.start(PumpctlRun.binary("wandsim").path, ["--state", directory + "/wandsim.json"])
            let found = await child.line(startingWith: "SIMULATED pty: ").map { String($0.dropFirst("SIMULATED pty: ".count)) }
            pty = try #require(found, "wandsim printed no pty: \(child.stdout)")
        }

        // A wandsim still running when the test ends is killed with its RunningChild.
    }

    func script(_ name: String, _ arguments: [String]) async throws -> PumpctlRun.Result {
        try await BringupScriptTests().script(name, arguments)
    }

    @Test func theWandSmokeTestPassesOnWandsimsPty() async throws {
        let wandsim = try await Wandsim()
        let run = try await script("wand-smoke.sh", ["--wand", wandsim.pty, "--state-dir", wandsim.directory + "/host"])
        #expect(run.status == 0, "\(run.stdout)\n\(run.stderr)")
        #expect(run.stdout.hasSuffix("wand smoke test passed\n"))
    }

    @Test func thePumpSmokeTestPassesOnWandsimsPty() async throws {
        let wandsim = try await Wandsim()
        let run = try await script("pump-smoke.sh", ["--wand", wandsim.pty, "--key-file", wandsim.keyFile,
                                               "--state-dir", wandsim.directory + "/host"])
        #expect(run.status == 0, "\(run.stdout)\n\(run.stderr)")
        #expect(run.stdout.contains("PASS  the new daily dose is active (450 mcg/day)"))
        #expect(run.stdout.hasSuffix("pump smoke test passed\n"))
    }

    /// A real transport, but the published DEMO key: test data, marked and
    /// exported as such.
    @Test func aVisitWithTheDemoKeyIsSimulatedInTheAuditAndTheExport() async throws {
        let wandsim = try await Wandsim()
        let host = ["--wand", wandsim.pty, "--key-file", wandsim.keyFile, "--state-dir", wandsim.directory + "/host", "--operator", "nurse.a"]
        #expect(try await PumpctlRun.run(host + ["patient", "set", "--serial", "RP20-DEMO-0001", "--name", "Ada Lovelace", "--mrn", "MRN-0042",
                                                 "--mrn-system", "urn:oid:2.16.840.1.113883.19.5", "--dob", "1980-02-29",
                                                 "--prescriber", "Dr. Grace Hopper"]).status == 0)
        let read = try await PumpctlRun.run(host + ["interrogate"])
        #expect(read.status == 0, "\(read.stderr)")
        let audit = try await PumpctlRun.run(host + ["--json", "audit", "list"])
        let rows = (try JSONSerialization.jsonObject(with: Data(audit.stdout.utf8)) as? [String: Any])?["entries"] as? [[String: Any]] ?? []
        let session = rows.filter { $0["command"] as? String == "session" || $0["command"] as? String == "interrogate" }
        #expect(!session.isEmpty)
        #expect(session.allSatisfy { ($0["parameters"] as? [String: String])?["simulated"] == "true" }, "\(session)")
        let export = try await PumpctlRun.run(host + ["--json", "export", "fhir"])
        #expect(export.status == 65, "left out like a --simulator visit: \(export.stderr)")
        #expect(export.stderr.contains("SIMULATED"), "\(export.stderr)")
    }

    @Test func loopbackJSONOverThePty() async throws {
        let wandsim = try await Wandsim()
        let run = try await PumpctlRun.run(["--wand", wandsim.pty, "--state-dir", wandsim.directory + "/host", "--json",
                                      "link", "loopback", "--count", "20", "--size", "64"])
        #expect(run.status == 0, "\(run.stderr)")
        let result = try JSONSerialization.jsonObject(with: Data(run.stdout.utf8)) as? [String: Any]
        #expect(result?["sent"] as? Int == 20)
        #expect(result?["received"] as? Int == 20)
        #expect(result?["lost"] as? Int == 0)
        #expect(result?["corrupted"] as? Int == 0)
        #expect((result?["latency_ms"] as? [String: Any])?["p99"] != nil)
    }
}
