import Foundation
import Testing

/// The bring-up kit against `wandsim` on a pty: the same bytes as a serial
/// wand, through the real termios code, in a separate process.
@Suite struct BringupOverWandsimTests {
    /// A running wandsim and the pty it serves.
    final class Wandsim {
        let process = Process()
        let pty: String
        let keyFile: String
        let directory: String

        init() throws {
            directory = NSTemporaryDirectory() + "pumpwand-wandsim-" + UUID().uuidString
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            keyFile = directory + "/demo.key"
            // The published demo key, as 64 hex digits, private as key files must be.
            let hex = (0..<32).map { String(format: "%02x", $0) }.joined()
            try hex.write(toFile: keyFile, atomically: true, encoding: .utf8)
            chmod(keyFile, 0o600)
            process.executableURL = PumpctlRun.binary("wandsim")
            process.arguments = ["--state", directory + "/wandsim.json"]
            let output = Pipe()
            process.standardOutput = output
            process.standardError = FileHandle.nullDevice
            try process.run()
            var text = ""
            var found: String?
            while found == nil {
                let data = output.fileHandleForReading.availableData
                if data.isEmpty { break }
                text += String(decoding: data, as: UTF8.self)
                found = text.split(separator: "\n").first { $0.hasPrefix("SIMULATED pty: ") }
                    .map { String($0.dropFirst("SIMULATED pty: ".count)) }
            }
            pty = try #require(found, "wandsim printed no pty: \(text)")
        }

        deinit {
            if process.isRunning {
                process.terminate()
                process.waitUntilExit()
            }
        }
    }

    func script(_ name: String, _ arguments: [String]) throws -> PumpctlRun.Result {
        try BringupScriptTests().script(name, arguments)
    }

    @Test func theWandSmokeTestPassesOnWandsimsPty() throws {
        let wandsim = try Wandsim()
        let run = try script("wand-smoke.sh", ["--wand", wandsim.pty, "--state-dir", wandsim.directory + "/host"])
        #expect(run.status == 0, "\(run.stdout)\n\(run.stderr)")
        #expect(run.stdout.hasSuffix("wand smoke test passed\n"))
    }

    @Test func thePumpSmokeTestPassesOnWandsimsPty() throws {
        let wandsim = try Wandsim()
        let run = try script("pump-smoke.sh", ["--wand", wandsim.pty, "--key-file", wandsim.keyFile,
                                               "--state-dir", wandsim.directory + "/host"])
        #expect(run.status == 0, "\(run.stdout)\n\(run.stderr)")
        #expect(run.stdout.contains("PASS  the new daily dose is active (450 mcg/day)"))
        #expect(run.stdout.hasSuffix("pump smoke test passed\n"))
    }

    @Test func loopbackJSONOverThePty() throws {
        let wandsim = try Wandsim()
        let run = try PumpctlRun.run(["--wand", wandsim.pty, "--state-dir", wandsim.directory + "/host", "--json",
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
