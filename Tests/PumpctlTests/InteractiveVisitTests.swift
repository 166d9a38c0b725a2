import Foundation
import Testing

/// The prompts a technician answers at a terminal, run under `script(1)`
/// so pumpctl's standard input is a real terminal.
@Suite(.enabled(if: FileManager.default.isExecutableFile(atPath: "/usr/bin/script"),
                "script(1) from bsdutils is missing; the interactive tests need a terminal"))
struct InteractiveVisitTests {
    let stateDir = NSTemporaryDirectory() + "pumpwand-interactive-" + UUID().uuidString

    /// Runs pumpctl on a terminal with `answers` typed in.
    func atTerminal(_ arguments: [String], answers: [String]) throws -> PumpctlRun.Result {
        let command = ([PumpctlRun.binary("pumpctl").path, "--simulator", "--state-dir", stateDir] + arguments)
            .map { "'\($0)'" }.joined(separator: " ")
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/script")
        process.arguments = ["-qec", command, "/dev/null"]
        let input = Pipe(), output = Pipe()
        process.standardInput = input
        process.standardOutput = output
        process.standardError = output
        try process.run()
        input.fileHandleForWriting.write(Data((answers.joined(separator: "\n") + "\n").utf8))
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        try? input.fileHandleForWriting.close()
        return PumpctlRun.Result(status: process.terminationStatus, stdout: String(decoding: data, as: UTF8.self), stderr: "")
    }

    static let increase = VisitCommandTests.prescriptions + "/baclofen-continuous-450.json"

    @Test func anIncreaseIsWrittenOnlyWhenTheNewDoseIsTypedBack() throws {
        let wrong = try atTerminal(["program", Self.increase], answers: ["yes"])
        #expect(wrong.status == 65)
        #expect(wrong.stdout.contains("Type the new daily dose (450mcg/day)"))
        let right = try atTerminal(["program", Self.increase], answers: ["450mcg/day"])
        #expect(right.status == 0, "\(right.stdout)")
        #expect(right.stdout.contains("Programmed, committed and read back"))
    }

    @Test func theRefillAsksForEachValueAfterShowingThePumpsFigures() throws {
        let run = try atTerminal(["refill"], answers: ["12mL", "18mL", "2000mcg/mL", "yes"])
        #expect(run.status == 0, "\(run.stdout)")
        #expect(run.stdout.contains("The pump holds about 12mL of baclofen 2000mcg/mL"))
        #expect(run.stdout.contains("Residual withdrawn"))
        #expect(run.stdout.contains("Reservoir     18mL of 20mL"))
    }
}
