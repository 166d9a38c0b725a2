import Foundation
import Testing
import TestSupport

/// The prompts a technician answers at a terminal, run under `script(1)`
/// so pumpctl's standard input is a real terminal. Without script(1) each
/// test is reported as skipped with the reason.
@Suite(.serialized, .tags(.process, .pty), .childProcesses)
struct InteractiveVisitTests {
    let stateDir = NSTemporaryDirectory() + "pumpwand-interactive-" + UUID().uuidString

    /// Runs pumpctl on a terminal with `answers` typed in.
    func atTerminal(_ arguments: [String], answers: [String]) async throws -> PumpctlRun.Result {
        let command = ([PumpctlRun.binary("pumpctl").path, "--simulator", "--state-dir", stateDir] + arguments)
            .map { "'\($0)'" }.joined(separator: " ")
        let script = "/usr/bin/script"
        guard FileManager.default.isExecutableFile(atPath: script) else {
            try Requirements.skip("script(1) from bsdutils is missing; the interactive tests need a terminal")
        }
        // The answers are typed in at once; the input stays open until the
        // session ends (end of file would end script(1) early). The terminal
        // merges pumpctl's two streams into one.
        return try await ChildProcess.run(
            script, ["-qec", command, "/dev/null"],
            input: .bytesKeepingOpen(Data((answers.joined(separator: "\n") + "\n").utf8)), mergingStandardError: true)
    }

    static let increase = VisitCommandTests.prescriptions + "/baclofen-continuous-450.json"

    @Test func anIncreaseIsWrittenOnlyWhenTheNewDoseIsTypedBack() async throws {
        let wrong = try await atTerminal(["program", Self.increase], answers: ["yes"])
        #expect(wrong.status == 65)
        #expect(wrong.stdout.contains("Type the new daily dose (450mcg/day)"))
        let right = try await atTerminal(["program", Self.increase], answers: ["450mcg/day"])
        #expect(right.status == 0, "\(right.stdout)")
        #expect(right.stdout.contains("Programmed, committed and read back"))
    }

    @Test func theRefillAsksForEachValueAfterShowingThePumpsFigures() async throws {
        let started = ContinuousClock.now
        let run = try await atTerminal(["refill"], answers: ["12mL", "18mL", "2000mcg/mL", "yes"])
        let elapsed = ContinuousClock.now - started
        #expect(run.status == 0, "\(run.stdout)")
        // The simulated pump infuses in real time (0.2 mL/day from 12 mL,
        // and from the 18 mL refilled): each figure is what it held, less
        // what it delivered while pumpctl ran, read on this clock. On an idle
        // machine that rounds to 12mL and 18mL exactly.
        let holds = Self.millilitres(in: run.stdout, between: "The pump holds about ", and: "mL of baclofen 2000mcg/mL")
        #expect(holds.map { Self.delivered(from: 12, within: elapsed).contains($0) } == true, "\(run.stdout)")
        #expect(run.stdout.contains("Residual withdrawn"))
        let reservoir = Self.millilitres(in: run.stdout, between: "Reservoir     ", and: "mL of 20mL")
        #expect(reservoir.map { Self.delivered(from: 18, within: elapsed).contains($0) } == true, "\(run.stdout)")
    }

    /// What a pump holding `volume` mL at 0.2 mL/day may hold after `elapsed`
    /// (to the nanolitre pumpctl prints).
    static func delivered(from volume: Double, within elapsed: Duration) -> ClosedRange<Double> {
        let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) * 1e-18
        return (volume - 0.2 * (seconds + 1) / 86_400 - 1e-6)...volume
    }

    /// The number printed between `prefix` and `suffix`.
    static func millilitres(in text: String, between prefix: String, and suffix: String) -> Double? {
        guard let start = text.range(of: prefix)?.upperBound,
              let end = text.range(of: suffix, range: start..<text.endIndex)?.lowerBound
        else { return nil }
        return Double(text[start..<end])
    }
}
