import Therapy

/// What a programmer at a terminal needs from the pipeline while it asks:
/// the confirmation rule judged on an answer before it is handed over, and
/// a cancellation at a question that comes before any plan recorded.
extension Programmer {
    /// Why `confirmation` would not authorise a plan under `rule`, or nil
    /// when it would. The same rule `authorise` applies: a prompt uses it to
    /// ask again, and the answer finally given still goes through
    /// `execute`.
    public static func refusal(of confirmation: Confirmation, rule: ConfirmationRule) -> ProgrammerError? {
        do {
            try check(confirmation, rule: rule)
            return nil
        } catch {
            return error
        }
    }

    /// Records that the technician cancelled `command` at a question asked
    /// before it was planned (a refill value, the discrepancy reason).
    /// Nothing was sent for it; the audit trail still shows the attempt.
    public func recordCancelledAtPrompt(_ command: CommandKind, question: String) throws(ProgrammerError) {
        try record(command: command.rawValue, phase: .event, outcome: .cancelled, detail: "cancelled at the question: \(question)")
    }
}
