import Foundation
import Testing
import TestSupport

/// The bring-up scripts and the serve example, run against the simulator
/// with the pumpctl of this build. On real hardware the same scripts take
/// `--wand PATH`.
@Suite(.serialized, .tags(.process), .childProcesses) struct BringupScriptTests {
    /// Removed when the test ends.
    let temporary = TemporaryDirectory.make(prefix: "pumpwand-link")

    func script(_ name: String, _ arguments: [String], interpreter: String = "/bin/bash") async throws -> PumpctlRun.Result {
        let path = BringupPaths.repository.appendingPathComponent("hardware/bringup/" + name).path
        // Standard input is at end of file: the scripts take their answers as flags.
        return try await ChildProcess.run(interpreter, [path] + arguments + ["--pumpctl", PumpctlRun.binary("pumpctl").path],
                                          timeLimit: .seconds(120))
    }

    @Test func theWandSmokeTestPassesOnTheSimulatedWand() async throws {
        let run = try await script("wand-smoke.sh", ["--simulator", "--state-dir", BringupLinkTests.stateDir(in: temporary)])
        #expect(run.status == 0, "\(run.stdout)\n\(run.stderr)")
        #expect(run.stdout.contains("PASS  the wand NAKs an unknown opcode with reason 0x07"))
        #expect(run.stdout.hasSuffix("wand smoke test passed\n"))
        #expect(!run.stdout.contains("FAIL"))
    }

    @Test func thePumpSmokeTestPassesOnTheSimulatedPump() async throws {
        let traces = BringupLinkTests.stateDir(in: temporary)
        let run = try await script("pump-smoke.sh", ["--simulator", "--state-dir", BringupLinkTests.stateDir(in: temporary), "--trace-dir", traces])
        #expect(run.status == 0, "\(run.stdout)\n\(run.stderr)")
        #expect(run.stdout.contains("PASS  the new daily dose is active (450 mcg/day)"))
        #expect(run.stdout.contains("PASS  the log records the commit, the bolus and the refill"))
        #expect(run.stdout.hasSuffix("pump smoke test passed\n"))
        let files = try FileManager.default.contentsOfDirectory(atPath: traces).filter { $0.hasSuffix(".pcapng") }
        // One trace per pumpctl step: interrogate, program, interrogate, bolus,
        // interrogate, refill, interrogate, log = 8.
        #expect(files.count == 8)
    }

    @Test func aSmokeTestFailsWhenNoWandAnswers() async throws {
        let run = try await script("wand-smoke.sh", ["--wand", "/nonexistent-wand", "--state-dir", BringupLinkTests.stateDir(in: temporary)])
        #expect(run.status == 1)
        #expect(run.stderr.contains("FAIL  wand answers info and link status (exit 69)"))
    }

    @Test func aSmokeTestWithoutATargetIsAUsageError() async throws {
        let run = try await script("pump-smoke.sh", [])
        #expect(run.status == 64)
    }

    @Test func theServeExampleRunsAgainstTheSimulator() async throws {
        let run = try await script("serve_example.py", ["--simulator", "--state-dir", BringupLinkTests.stateDir(in: temporary)],
                             interpreter: "/usr/bin/python3")
        #expect(run.status == 0, "\(run.stdout)\n\(run.stderr)")
        #expect(run.stdout.contains("loopback 256 bytes: 10/10 intact"))
    }
}
