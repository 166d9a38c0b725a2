import Foundation
import Synchronization
import Testing
import TestSupport

/// The prompts a technician answers at a terminal, run under `script(1)`
/// so pumpctl's standard input is a real terminal. Without script(1) each
/// test is reported as skipped with the reason.
@Suite(.serialized, .tags(.process, .pty), .childProcesses)
struct InteractiveVisitTests {
    /// Removed when the test ends.
    let temporary = TemporaryDirectory.make(prefix: "pumpwand-interactive")
    var stateDir: String { temporary.path }

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
            script, ["-qec", command, "/dev/null"], environment: Self.plainScreen,
            input: .bytesKeepingOpen(Data((answers.joined(separator: "\n") + "\n").utf8)), mergingStandardError: true)
    }

    /// Runs pumpctl on a terminal and types `keys` once `prompt` has been
    /// printed (a key typed earlier would reach the terminal before pumpctl
    /// waits for it). Gives up after 20 s.
    /// Waits without holding a concurrency thread (the other suites' tasks
    /// run meanwhile).
    func atTerminal(_ arguments: [String], keys: String, afterPrompt prompt: String) async throws -> PumpctlRun.Result {
        let command = ([PumpctlRun.binary("pumpctl").path, "--simulator", "--state-dir", stateDir] + arguments)
            .map { "'\($0)'" }.joined(separator: " ")
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/script")
        process.arguments = ["-qec", command, "/dev/null"]
        process.environment = ProcessInfo.processInfo.environment.merging(Self.plainScreen) { $1 }
        let input = Pipe(), output = Pipe()
        process.standardInput = input
        process.standardOutput = output
        process.standardError = output
        let collected = Mutex(Data())
        let typed = Atomic<Bool>(false)
        let writer = input.fileHandleForWriting
        output.fileHandleForReading.readabilityHandler = { handle in
            let chunk = handle.availableData
            let text = collected.withLock { data -> String in
                data.append(chunk)
                return String(decoding: data, as: UTF8.self)
            }
            if text.contains(prompt), !typed.exchange(true, ordering: .relaxed) {
                writer.write(Data(keys.utf8))
            }
        }
        try process.run()
        let deadline = Date().addingTimeInterval(20)
        while process.isRunning && Date() < deadline { try await Task.sleep(for: .milliseconds(10)) }
        if process.isRunning { process.terminate() }
        process.waitUntilExit()
        output.fileHandleForReading.readabilityHandler = nil
        try? writer.close()
        // What script(1) wrote just before it exited may not have reached
        // the handler yet: read the rest (the pipe's write end closed with
        // the child, so this ends).
        try? output.fileHandleForWriting.close()
        let rest = (try? output.fileHandleForReading.readToEnd()) ?? nil
        let text = collected.withLock { data -> String in
            if let rest { data.append(rest) }
            return String(decoding: data, as: UTF8.self)
        }
        return PumpctlRun.Result(status: process.terminationStatus, stdout: text, stderr: "")
    }

    /// No emphasis and no wrapping: the words are checked, not the width
    /// of the terminal script(1) opens.
    static let plainScreen = ["NO_COLOR": "1", "COLUMNS": "400"]

    static let increase = VisitCommandTests.prescriptions + "/baclofen-continuous-450.json"

    /// Each line the terminal shows, in order.
    static func lines(_ run: PumpctlRun.Result) -> [String] {
        run.stdout.split(whereSeparator: \.isNewline).map(String.init)
    }

    @Test func anIncreaseIsWrittenOnlyWhenTheNewDoseIsTypedBack() async throws {
        // Asked again after each wrong answer, then refused by the pipeline.
        let wrong = try await atTerminal(["program", Self.increase], answers: ["yes", "yes", "yes"])
        #expect(wrong.status == 65)
        #expect(wrong.stdout.contains("Type the new daily dose (450mcg/day)"))
        #expect(wrong.stdout.components(separatedBy: "Not taken: the new daily dose").count == 3, "\(wrong.stdout)")
        #expect(wrong.stdout.contains("REFUSED"), "\(wrong.stdout)")
        let right = try await atTerminal(["program", Self.increase], answers: ["450mcg/day"])
        #expect(right.status == 0, "\(right.stdout)")
        #expect(right.stdout.contains("Programmed, committed and read back"))
    }

    @Test func theRefillAsksForEachValueAfterShowingThePumpsFigures() async throws {
        let run = try await atTerminal(["refill"], answers: ["12mL", "18mL", "2000mcg/mL", "yes"])
        #expect(run.status == 0, "\(run.stdout)")
        // The simulated pump delivers in real time: a run that crosses a
        // second holds a few nanolitres less than 12 and 18 mL; the screen
        // shows volumes to 0.01 mL.
        #expect(run.stdout.contains("The pump holds about 12mL of baclofen 2000mcg/mL")
                || run.stdout.contains("The pump holds about 11.99mL of baclofen 2000mcg/mL"), "\(run.stdout)")
        #expect(run.stdout.contains("residual withdrawn 12mL, expected 12mL"), "\(run.stdout)")
        // Shown to 0.01 mL, never rounded up: 18 mL less a second's delivery can read 17.99mL.
        #expect(run.stdout.split(separator: "\n").contains {
            $0.contains("Reservoir ") && ($0.contains(" 18mL of 20mL") || $0.contains(" 17.99mL of 20mL"))
        }, "\(run.stdout)")
        #expect(!run.stdout.contains("11.9999") && !run.stdout.contains("17.9999"), "\(run.stdout)")
    }

    @Test func aBolusAboveTheHardLimitIsRefusedBeforeAnyPrompt() async throws {
        let run = try await atTerminal(["bolus", "--dose", "1mg"], answers: ["yes"])
        #expect(run.status == 65, "\(run.stdout)")
        // Dose, volume and duration, then the finding, and no question at all.
        #expect(run.stdout.contains("0.5mL over 10 min"))
        #expect(run.stdout.contains("1000mcg of baclofen reaches the patient"))
        #expect(run.stdout.contains("ERROR   bolus.above-hard-max"))
        #expect(!run.stdout.contains("Type yes"), "\(run.stdout)")
        #expect(run.stdout.contains("No change was sent to the pump."))
    }

    @Test func theBolusPromptShowsWhatWillBeSent() async throws {
        let run = try await atTerminal(["bolus", "--dose", "50mcg"], answers: ["no"])
        #expect(run.status == 65, "\(run.stdout)")
        #expect(run.stdout.contains("Type yes to start this therapeutic bolus: 0.025mL over 10 min, 50mcg to the patient:"))
        #expect(run.stdout.contains("No change was sent to the pump."))
    }

    /// Ctrl-D (end of input) and Ctrl-C at the prompt: cancelled, nothing
    /// sent, exit 130, and the cancellation is in the audit trail.
    @Test(arguments: ["\u{04}", "\u{03}"])
    func aCancelAtThePromptSendsNothing(key: String) async throws {
        let run = try await atTerminal(["bolus", "--dose", "50mcg"], keys: key, afterPrompt: "50mcg to the patient:")
        #expect(run.status == 130, "\(run.stdout)")
        #expect(run.stdout.contains("Cancelled. No change was sent to the pump."), "\(run.stdout)")
        #expect(!run.stdout.contains("CANCELLED: Cancelled"), "said twice: \(run.stdout)")
        let audit = try await PumpctlRun.run(["--state-dir", stateDir, "--json", "audit"])
        #expect(audit.stdout.contains("\"cancelled\""), "\(audit.stdout)")
    }

    // MARK: Answers that are asked again, and cancels

    /// A dose typed back without its unit is asked again, naming what was
    /// asked; the dose with its unit then writes the prescription.
    @Test func aDoseWithoutItsUnitAtTheProgramPromptIsAskedAgain() async throws {
        let run = try await atTerminal(["program", Self.increase], answers: ["450", "450mcg/day"])
        #expect(run.status == 0, "\(run.stdout)")
        #expect(run.stdout.contains("Not taken: the new daily dose: '450' has no unit"), "\(run.stdout)")
        #expect(run.stdout.components(separatedBy: "Type the new daily dose (450mcg/day)").count == 3, "\(run.stdout)")
        #expect(run.stdout.contains("Programmed, committed and read back"), "\(run.stdout)")
    }

    /// A different dose typed back is not the confirmation: asked again,
    /// and a plain no stops at once (the pipeline refuses, nothing sent).
    @Test func aDifferentDoseIsAskedAgainAndNoStops() async throws {
        let run = try await atTerminal(["program", Self.increase], answers: ["400mcg/day", "no"])
        #expect(run.status == 65, "\(run.stdout)")
        #expect(run.stdout.contains("Not taken: the new daily dose: 400mcg/day is not the new daily dose 450mcg/day"), "\(run.stdout)")
        #expect(run.stdout.contains("No change was sent to the pump."), "\(run.stdout)")
    }

    /// A refill value without its unit is refused with the question's name,
    /// never a flag the technician did not type, and asked again.
    @Test func aRefillValueWithoutItsUnitIsAskedAgain() async throws {
        let run = try await atTerminal(["refill"], answers: ["12", "12mL", "18", "18mL", "2000", "2000mcg/mL", "yes"])
        #expect(run.status == 0, "\(run.stdout)")
        #expect(run.stdout.contains("Not taken: residual withdrawn: '12' has no unit"), "\(run.stdout)")
        #expect(run.stdout.contains("Not taken: volume of new drug added: '18' has no unit"), "\(run.stdout)")
        #expect(run.stdout.contains("Not taken: concentration of the new drug: '2000' has no unit"), "\(run.stdout)")
        #expect(!run.stdout.contains("--withdrawn") && !run.stdout.contains("--added") && !run.stdout.contains("--concentration"),
                "\(run.stdout)")
        #expect(run.stdout.contains("Refill recorded: 18mL of baclofen 2000mcg/mL."), "\(run.stdout)")
    }

    /// A value the reservoir cannot take is asked again with the reason.
    @Test func anOverfillAtThePromptIsAskedAgain() async throws {
        let run = try await atTerminal(["refill"], answers: ["12mL", "25mL", "18mL", "2000mcg/mL", "yes"])
        #expect(run.status == 0, "\(run.stdout)")
        #expect(run.stdout.contains("Not taken: volume of new drug added: it would overfill the 20mL reservoir"), "\(run.stdout)")
        #expect(run.stdout.contains("Refill recorded: 18mL of baclofen 2000mcg/mL."), "\(run.stdout)")
    }

    /// Three answers refused: the command ends (usage, 64) naming the
    /// question; nothing was sent.
    @Test func aQuestionNeverAnsweredEndsTheCommand() async throws {
        let run = try await atTerminal(["refill"], answers: ["12", "twelve", "12 ml l"])
        #expect(run.status == 64, "\(run.stdout)")
        #expect(run.stdout.contains("No usable answer for the residual withdrawn after 3 tries"), "\(run.stdout)")
        #expect(run.stdout.contains("No change was sent to the pump."), "\(run.stdout)")
        #expect(!run.stdout.contains("Volume of new drug added"), "\(run.stdout)")
    }

    /// The residual check is on the screen as soon as the residual is
    /// typed, before anything else is asked.
    @Test func theResidualCheckIsShownBeforeTheNextQuestion() async throws {
        let run = try await atTerminal(["refill"], answers: ["12mL", "18mL", "2000mcg/mL", "yes"])
        #expect(run.status == 0, "\(run.stdout)")
        let text = run.stdout
        let check = try #require(text.range(of: "Residual check: 12mL withdrawn, 12mL expected"), "\(text)")
        let added = try #require(text.range(of: "Volume of new drug added"), "\(text)")
        #expect(check.lowerBound < added.lowerBound, "\(text)")
        #expect(text.contains("within tolerance"), "\(text)")
    }

    /// A discrepancy is shown at once and its reason asked for at the
    /// terminal (a reason without words is asked again); the reason given
    /// is the one the audit trail records.
    @Test func aDiscrepancyReasonIsAskedForAtTheTerminal() async throws {
        let reason = "catheter patency confirmed by aspiration"
        let run = try await atTerminal(["refill"], answers: ["5mL", ".", reason, "18mL", "2000mcg/mL", "yes"])
        #expect(run.status == 0, "\(run.stdout)")
        let text = run.stdout
        let check = try #require(text.range(of: "Residual check: 5mL withdrawn, 12mL expected, difference -7mL"), "\(text)")
        let why = try #require(text.range(of: "Why go on with the refill?"), "\(text)")
        let added = try #require(text.range(of: "Volume of new drug added"), "\(text)")
        #expect(check.lowerBound < why.lowerBound && why.lowerBound < added.lowerBound, "\(text)")
        #expect(text.contains("Not taken: reason for the residual discrepancy"), "\(text)")
        #expect(text.contains("DISCREPANCY acknowledged: \(reason)"), "\(text)")
        let audit = try await PumpctlRun.run(["--state-dir", stateDir, "--json", "audit"])
        #expect(audit.stdout.contains("\"discrepancy_acknowledgement\" : \"\(reason)\""), "\(audit.stdout)")
    }

    /// Ctrl-D at a refill question cancels the refill (130) with what the
    /// pipeline says of the pump, and the next question is never asked.
    @Test func endOfInputAtARefillQuestionCancels() async throws {
        let run = try await atTerminal(["refill"], keys: "\u{04}", afterPrompt: "Residual withdrawn (e.g. 3.5mL):")
        #expect(run.status == 130, "\(run.stdout)")
        #expect(run.stdout.contains("Cancelled. No change was sent to the pump."), "\(run.stdout)")
        #expect(!run.stdout.contains("Volume of new drug added"), "\(run.stdout)")
        #expect(!run.stdout.contains("Residual check"), "\(run.stdout)")
        let audit = try await PumpctlRun.run(["--state-dir", stateDir, "--json", "audit"])
        #expect(audit.stdout.contains("cancelled at the question: residual withdrawn"), "\(audit.stdout)")
    }

    /// Ctrl-D at the discrepancy reason cancels too: a missing reason is
    /// never taken as an empty one.
    @Test func endOfInputAtTheDiscrepancyReasonCancels() async throws {
        let run = try await atTerminal(["refill", "--withdrawn", "5mL", "--added", "18mL", "--concentration", "2000mcg/mL"],
                                 keys: "\u{04}", afterPrompt: "Why go on with the refill? (recorded):")
        #expect(run.status == 130, "\(run.stdout)")
        #expect(run.stdout.contains("Cancelled. No change was sent to the pump."), "\(run.stdout)")
        #expect(!run.stdout.contains("Type yes"), "\(run.stdout)")
    }
}
