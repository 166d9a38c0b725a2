import ArgumentParser
import Foundation
import PumpProgrammer
import Therapy

struct Program: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Review, stage, commit and read back a prescription.",
        discussion: """
            FILE is a prescription in JSON (docs/therapy.md). The review shows the current prescription beside the pending one, every changed field marked with *, and every finding with its code. Hard limits refuse; each soft limit needs --override CODE=REASON. Then confirm: at a terminal type the new daily dose (for an increase) or yes; in a script give --yes. The pump stages it, commits it by its hash, and it is read back and compared. --dry-run stops after the review.
            """
    )

    @OptionGroup var global: GlobalOptions
    @OptionGroup var session: SessionOptions
    @OptionGroup var overrides: OverrideOptions
    @Argument(help: "The prescription file (JSON).") var file: String
    @Flag(name: .customLong("dry-run"), help: "Review only: send nothing that changes the pump.") var dryRun = false

    struct DryRun: Encodable {
        var simulated: Bool
        var errors: [Item]
        var warnings: [Item]
        var review: [Review.Row]
        struct Item: Encodable { var code: String; var severity: String; var message: String }
    }

    struct Done: Encodable {
        var simulated: Bool
        var review: [Review.Row]
        var overrides: [Override]
        var status: PumpStatus
        var reports: [String]
    }

    func run() async throws {
        let pending = try CalcInput.prescription(file)
        let accepted = try overrides.parsed()
        let global = self.global
        let dryRun = self.dryRun
        let outcome: (ProgramPlan, ProgramResult?) = try await PumpSession.run(global, session) { programmer throws(ProgrammerError) in
            let plan = try await programmer.review(pending)
            if dryRun { return (plan, nil) }
            if !global.json {
                if global.simulator { Output.note("SIMULATED PUMP") }
                Output.note(plan.review.table)
            }
            let prompt = plan.review.doseIncrease
                ? "The daily dose goes UP. Type the new daily dose (\(plan.review.pendingDailyDose)) to write it to the pump:"
                : "Type yes to write this prescription to the pump:"
            let confirmation = plan.review.errors.isEmpty ? PumpSession.confirmation(global, prompt: prompt) : .flag(yes: false)
            return (plan, try await programmer.program(plan, overrides: accepted, confirmation: confirmation))
        }
        let (plan, result) = outcome
        guard let result else {
            func items(_ findings: [Finding]) -> [DryRun.Item] {
                findings.map { .init(code: $0.code.rawValue, severity: $0.severity.rawValue, message: $0.message) }
            }
            if global.json {
                try Output.json(DryRun(simulated: global.simulator, errors: items(plan.review.errors),
                                       warnings: items(plan.review.warnings), review: plan.review.rows))
            } else {
                if global.simulator { Output.line("SIMULATED PUMP (not a patient)") }
                Output.line(plan.review.table)
                Output.line("Dry run: nothing was sent to the pump.")
            }
            if !plan.review.errors.isEmpty { throw ExitStatus.refusedByPolicy.exitCode }
            return
        }
        if global.json {
            try Output.json(Done(simulated: global.simulator, review: plan.review.rows, overrides: result.overrides,
                                 status: result.status, reports: result.reportPaths))
            return
        }
        Output.line("Programmed, committed and read back: the pump holds the reviewed prescription.")
        PumpText.print(result.status)
        for path in result.reportPaths { Output.line("Report: \(path)") }
    }
}
