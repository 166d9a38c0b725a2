import Foundation
import PumpProgrammer
import Therapy

/// A question asked at the terminal. An answer the command cannot use is
/// refused with the reason, naming the question (never a flag the
/// technician did not type), and the question is asked again, a bounded
/// number of times. Ctrl-D or Ctrl-C cancels; an empty or refused answer
/// never stands in for one.
enum Prompt {
    /// Answers read for one question before it is given up: enough for a
    /// typo or a forgotten unit, few enough that a script feeding wrong
    /// lines ends.
    static let attempts = 3

    /// Why an answer was not taken, in words for the technician.
    struct Refusal: Error {
        var reason: String
    }

    enum End: Error, Equatable {
        /// Ctrl-D (end of input) or Ctrl-C at the question.
        case cancelled(question: String)
        /// Every attempt was refused; the last reason.
        case unanswered(question: String, reason: String)
    }

    /// Asks `question` (shown as "question "), until `judge` takes an
    /// answer. `label` names what was asked in a refusal.
    static func ask<T>(_ question: String, label: String, attempts: Int = attempts,
                       judge: (String) -> Result<T, Refusal>) throws(End) -> T {
        var lastReason = ""
        for attempt in 1...max(1, attempts) {
            FileHandle.standardError.write(Data((question + " ").utf8))
            guard let typed = PromptInput.readAnswer() else {
                FileHandle.standardError.write(Data("\n".utf8))
                throw .cancelled(question: label)
            }
            switch judge(typed.trimmingCharacters(in: .whitespaces)) {
            case .success(let value):
                return value
            case .failure(let refusal):
                lastReason = refusal.reason
                let again = attempt < attempts ? " Type it again (Ctrl-D cancels)." : ""
                Output.note("Not taken: \(label): \(refusal.reason).\(again)")
            }
        }
        throw .unanswered(question: label, reason: lastReason)
    }

    /// A judge for a quantity with its unit, with `check` for its value
    /// (nil when the value is usable).
    static func quantity<D: PhysicalDimension>(_ check: @escaping (Quantity<D>) -> String? = { _ in nil })
        -> (String) -> Result<Quantity<D>, Refusal>
    {
        { text in
            do throws(QuantityParseError) {
                let value = try Quantity<D>.parseWithUnit(text).quantity
                if let problem = check(value) { return .failure(Refusal(reason: problem)) }
                return .success(value)
            } catch {
                return .failure(Refusal(reason: error.description))
            }
        }
    }

    /// The confirmation typed at a terminal: asked again while the answer
    /// does not fit the plan's rule, except a plain "no", which is an
    /// answer. Whatever is finally returned is judged again by the
    /// pipeline (`Programmer.execute`), which refuses what does not fit.
    static func confirmation(_ prompt: String, rule: ConfirmationRule) -> Confirmation {
        var answer = ""
        for attempt in 1...attempts {
            FileHandle.standardError.write(Data((prompt + " ").utf8))
            guard let typed = PromptInput.readAnswer() else {
                FileHandle.standardError.write(Data("\n".utf8))
                return .interrupted
            }
            answer = typed
            let trimmed = typed.trimmingCharacters(in: .whitespaces)
            if Programmer.refusal(of: .typed(trimmed), rule: rule) == nil { return .typed(trimmed) }
            if ["no", "n"].contains(trimmed.lowercased()) || attempt == attempts { break }
            let again = " Type it again, no to stop, or Ctrl-D to cancel."
            switch rule {
            case .yes:
                Output.note("Not taken: '\(trimmed)' is not yes.\(again)")
            case .typeDailyDose(let dose, let unit):
                let reason: String
                do {
                    let typedDose = try DoseRate.parseWithUnit(trimmed).quantity
                    reason = "\(typedDose.formatted(in: unit)) is not the new daily dose \(dose.formatted(in: unit))"
                } catch {
                    reason = error.description
                }
                Output.note("Not taken: the new daily dose: \(reason).\(again)")
            }
        }
        return .typed(answer.trimmingCharacters(in: .whitespaces))
    }
}
