import Foundation
import PumpProgrammer
import Therapy

/// The refill asked for at a terminal: the pump's figures first, then the
/// residual withdrawn and at once its check against what the pump expects
/// (with the reason asked for when it is a discrepancy), then the new drug.
/// Each answer is judged as it is typed (`Prompt`); the plan built from the
/// answers runs every check again before the confirmation.
extension Refill {
    /// What the refill is made of, from the options or the terminal.
    struct Answers {
        var withdrawn: Volume?
        var added: Volume?
        var concentration: Concentration?
        var acknowledgement: String?
    }

    /// Asks what `given` lacks, in one session that changes nothing on the
    /// pump (a cancel ends it with the pipeline's own effect: nothing sent).
    func askAtTerminal(_ given: Answers) async throws -> Answers {
        // The policy the plan will be checked under (read again there).
        let tolerance = try PumpSession.loadPolicy(session.policyFile).0.residualTolerance
        return try await PumpSession.run(global, session) { programmer throws(ProgrammerError) in
            let status = try await programmer.interrogate().status
            let capacity = status.reservoirCapacity
            if status.reservoirContentsUnknown {
                Output.note("A refill was abandoned on this pump: what the reservoir holds is not known (it may be empty). Withdraw the residual completely and measure it; a difference from the pump's estimate is expected.")
            }
            Output.note("The pump holds about \(Shown.volume(status.reservoirVolume)) of \(status.drug.rawValue) \(Shown.concentration(status.concentration, drug: status.drug)); withdraw the residual completely.")
            var answers = given
            do throws(Prompt.End) {
                let withdrawn: Volume
                if let given = answers.withdrawn {
                    withdrawn = given
                } else {
                    withdrawn = try Prompt.ask(
                        "Residual withdrawn (e.g. 3.5mL):", label: "residual withdrawn",
                        judge: Prompt.quantity { (volume: Volume) in
                            volume > capacity ? "more than the \(Shown.volume(capacity)) reservoir holds" : nil
                        })
                    answers.withdrawn = withdrawn
                }
                let check = RefillCheck(expected: status.reservoirVolume, withdrawn: withdrawn, tolerance: tolerance)
                Output.note("Residual check: " + RefillChange.residualWords(check, unknown: status.reservoirContentsUnknown))
                if check.discrepancy, !status.reservoirContentsUnknown, answers.acknowledgement == nil {
                    answers.acknowledgement = try Prompt.ask(
                        "The residual differs from what the pump expects. Why go on with the refill? (recorded):",
                        label: "reason for the residual discrepancy", judge: Self.reason)
                }
                if answers.added == nil {
                    answers.added = try Prompt.ask(
                        "Volume of new drug added (at most \(Shown.volume(capacity))):", label: "volume of new drug added",
                        judge: Prompt.quantity { (volume: Volume) in
                            if volume.baseValue == 0 { return "nothing would be added" }
                            return volume > capacity ? "it would overfill the \(Shown.volume(capacity)) reservoir" : nil
                        })
                }
                if answers.concentration == nil {
                    answers.concentration = try Prompt.ask(
                        "Concentration of the new drug (the pump's is \(Shown.concentration(status.concentration, drug: status.drug))):",
                        label: "concentration of the new drug",
                        judge: Prompt.quantity { (concentration: Concentration) in
                            concentration.baseValue == 0 ? "a concentration of zero delivers no drug" : nil
                        })
                }
            } catch {
                switch error {
                case .cancelled(let question):
                    try? await programmer.recordCancelledAtPrompt(.refillComplete, question: question)
                    throw .cancelled
                case .unanswered(let question, let reason):
                    throw .input("No usable answer for the \(question) after \(Prompt.attempts) tries (\(reason)).")
                }
            }
            return answers
        }
    }

    /// A reason is taken when it says something a later reader can act on:
    /// the one rule every override reason meets (`Override.reasonCarriesWords`).
    static func reason(_ text: String) -> Result<String, Prompt.Refusal> {
        if Override.reasonCarriesWords(text) { return .success(text) }
        return .failure(Prompt.Refusal(
            reason: "say in words why (at least \(Override.minimumReasonLength) characters and \(Override.minimumReasonWords) words)"))
    }
}
