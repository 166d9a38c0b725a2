import ArgumentParser
import Foundation
import PumpProgrammer
import Therapy

struct Program: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "program",
        abstract: "Review, stage, commit and read back a prescription.",
        discussion: """
            FILE is a prescription in JSON (docs/therapy.md). The review shows the current prescription beside the pending one, every changed field marked with *, and every finding with its code; daily doses are those the pump delivers (rounded to its resolution) on both sides, so the same file programmed twice is no change and sends nothing. Every check runs before the prompt: hard limits refuse; each soft limit needs --override CODE=REASON; a second provider (--second-operator) when the clinic policy asks. Then confirm: at a terminal type the new daily dose (for an increase) or yes; in a script give --yes. The pump stages it, commits it by its hash, and it is read back and compared. If the pump changed since the review, nothing is sent. --dry-run stops after the review.
            """
    )

    @OptionGroup(visibility: .hidden) var global: GlobalOptions
    @OptionGroup var session: SessionOptions
    @OptionGroup var overrides: OverrideOptions
    @Argument(help: "The prescription file (JSON).") var file: String
    @Flag(name: .customLong("dry-run"), help: "Review only: send nothing that changes the pump.") var dryRun = false

    struct DryRun: Encodable {
        var simulated: Bool
        var errors: [Item]
        var warnings: [Item]
        var review: [Review.Row]
        var unchanged: Bool
    }

    struct Item: Encodable {
        var code: String; var severity: String; var message: String
        /// The reason --override gave for this warning, as the audit log records it.
        var overrideReason: String? = nil
    }

    struct Done: Encodable {
        var simulated: Bool
        var review: [Review.Row]
        var unchanged: Bool
        var overrides: [Override]
        var status: PumpStatus?
        var reports: [String]
    }

    static func items(_ findings: [Finding]) -> [Item] {
        findings.map { .init(code: $0.code.rawValue, severity: $0.severity.rawValue, message: $0.message) }
    }

    /// The warnings with the reason each override gives, as the review shows them.
    static func warningItems(_ plan: ChangePlan, overrides: [Override]) -> [Item] {
        plan.reviewedFindings(overrides: overrides).filter { $0.finding.severity == .soft }.map { item in
            var shown = Item(code: item.finding.code.rawValue, severity: item.finding.severity.rawValue, message: item.finding.message)
            if case .overridden(let reason) = item.disposition { shown.overrideReason = reason }
            return shown
        }
    }

    func run() async throws {
        let pending = try CalcInput.prescription(file)
        let accepted = try overrides.parsed()
        let (plan, result) = try await PumpSession.change(global, session, ProgramCommand(prescription: pending),
                                                          overrides: accepted, dryRun: dryRun)
        guard case .program(let change) = plan.change else { throw ExitStatus.internalError.exitCode }
        guard let result else {
            if global.json {
                try Output.json(DryRun(simulated: global.simulator, errors: Self.items(plan.findings.errors),
                                       warnings: Self.warningItems(plan, overrides: accepted), review: change.review.rows,
                                       unchanged: plan.unchanged))
            } else {
                Output.line("Dry run: no change was sent to the pump.")
            }
            if !plan.findings.errors.isEmpty { throw ExitStatus.refusedByPolicy.exitCode }
            return
        }
        if global.json {
            try Output.json(Done(simulated: global.simulator, review: change.review.rows, unchanged: plan.unchanged,
                                 overrides: accepted, status: result.after, reports: result.reportPaths))
            return
        }
        if plan.unchanged {
            Output.line("The pump already holds this prescription. No change was sent to the pump.")
        } else {
            Output.line("Programmed, committed and read back: the pump holds the reviewed prescription.")
        }
        if let after = result.after { PumpText.print(after) }
        for path in result.reportPaths { Output.line("Report: \(path)") }
    }
}
