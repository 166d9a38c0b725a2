import Foundation
import Testing

/// The bring-up scripts and the serve example, run against the simulator
/// with the pumpctl of this build. On real hardware the same scripts take
/// `--wand PATH`.
@Suite struct BringupScriptTests {
    func script(_ name: String, _ arguments: [String], interpreter: String = "/bin/bash") throws -> PumpctlRun.Result {
        let path = BringupPaths.repository.appendingPathComponent("hardware/bringup/" + name).path
        let process = Process()
        process.executableURL = URL(fileURLWithPath: interpreter)
        process.arguments = [path] + arguments + ["--pumpctl", PumpctlRun.binary("pumpctl").path]
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        try process.run()
        let stdout = out.fileHandleForReading.readDataToEndOfFile()
        let stderr = err.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return PumpctlRun.Result(status: process.terminationStatus, stdout: String(decoding: stdout, as: UTF8.self),
                                 stderr: String(decoding: stderr, as: UTF8.self))
    }

    @Test func theWandSmokeTestPassesOnTheSimulatedWand() throws {
        let run = try script("wand-smoke.sh", ["--simulator", "--state-dir", BringupLinkTests.stateDir()])
        #expect(run.status == 0, "\(run.stdout)\n\(run.stderr)")
        #expect(run.stdout.contains("PASS  the wand NAKs an unknown opcode with reason 0x07"))
        #expect(run.stdout.hasSuffix("wand smoke test passed\n"))
        #expect(!run.stdout.contains("FAIL"))
    }

    @Test func thePumpSmokeTestPassesOnTheSimulatedPump() throws {
        let traces = BringupLinkTests.stateDir()
        let run = try script("pump-smoke.sh", ["--simulator", "--state-dir", BringupLinkTests.stateDir(), "--trace-dir", traces])
        #expect(run.status == 0, "\(run.stdout)\n\(run.stderr)")
        #expect(run.stdout.contains("PASS  the new daily dose is active (450 mcg/day)"))
        #expect(run.stdout.contains("PASS  the log records the commit, the bolus and the refill"))
        #expect(run.stdout.hasSuffix("pump smoke test passed\n"))
        let files = try FileManager.default.contentsOfDirectory(atPath: traces).filter { $0.hasSuffix(".pcapng") }
        // One trace per pumpctl step: interrogate, program, interrogate, bolus,
        // interrogate, refill, interrogate, log = 8.
        #expect(files.count == 8)
    }

    @Test func aSmokeTestFailsWhenNoWandAnswers() throws {
        let run = try script("wand-smoke.sh", ["--wand", "/nonexistent-wand", "--state-dir", BringupLinkTests.stateDir()])
        #expect(run.status == 1)
        #expect(run.stderr.contains("FAIL  wand answers info and link status (exit 69)"))
    }

    @Test func aSmokeTestWithoutATargetIsAUsageError() throws {
        let run = try script("pump-smoke.sh", [])
        #expect(run.status == 64)
    }

    @Test func theServeExampleRunsAgainstTheSimulator() throws {
        let run = try script("serve_example.py", ["--simulator", "--state-dir", BringupLinkTests.stateDir()],
                             interpreter: "/usr/bin/python3")
        #expect(run.status == 0, "\(run.stdout)\n\(run.stderr)")
        #expect(run.stdout.contains("loopback 256 bytes: 10/10 intact"))
    }
}
