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

        init() async throws {
            directory = NSTemporaryDirectory() + "pumpwand-wandsim-" + UUID().uuidString
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
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
