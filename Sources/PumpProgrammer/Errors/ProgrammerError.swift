import Therapy
import WandProtocol

/// Why a programming session stopped, in the categories the command line
/// turns into exit statuses. Each says what happened and what to do next.
///
/// What the pump was left in (nothing sent, unchanged, changed, unknown)
/// is not part of these messages: the layer that sent the requests knows
/// it (`Programmer.effect`), and the command line says it beside the error,
/// so no message can claim "nothing was sent" after something was.
public enum ProgrammerError: Error, Equatable, Sendable, CustomStringConvertible {
    /// Input that cannot be used (a file, an option).
    case input(String)
    /// The checks refused the change: a hard limit, a soft limit without
    /// override, a missing second provider, or a confirmation that did not
    /// match. Raised before anything of the change is sent.
    case refusedByPolicy(String)
    /// The pump itself refused; it changed nothing.
    case pumpRefused(PumpOpcode, PumpRefusal)
    /// No wand answers.
    case notFound(String)
    /// The wand says the pump is out of range.
    case pumpNotInRange
    /// A request certainly did not take effect (not sent, or the pump says
    /// it never received it).
    case communication(String)
    /// A command was sent and its outcome is unknown.
    case uncertain(PendingCommand)
    /// An earlier command's outcome is still unknown; nothing new is sent
    /// until the pump has been asked about it.
    case unresolved(PendingCommand, detail: String)
    /// The change was carried out (its receipt proves it) but reading it
    /// back failed: the next command verifies it.
    case notVerified(CommandKind, detail: String)
    /// The pump changed between the review and the send (another
    /// programmer, or the pump itself): the review no longer describes it.
    case staleReview(changed: [String])
    /// The technician cancelled: at the prompt, Ctrl-C between steps, or
    /// Ctrl-C while an exchange was retried and no answer came.
    case cancelled
    /// The pump answered a fresh session request but not this session's
    /// `opcode`: another programmer opened a session with it (or it
    /// restarted) and it no longer takes this session's requests.
    case sessionTakenOver(PumpOpcode)
    /// The pump in range is not the patient's.
    case wrongPump(found: String, expected: String)
    /// The pump or wand answered in a way that shows a fault (read-back
    /// mismatch, a staged hash that is not ours).
    case deviceFault(String)
    /// The audit log or the state directory failed.
    case storage(String)
    /// No access to the wand.
    case permissionDenied(String)
    /// The clinic policy cannot be used (it loosens a shipped ceiling);
    /// nothing is planned under it.
    case policy(PolicyFileError)

    public var description: String {
        switch self {
        case let .input(message):
            return message
        case let .refusedByPolicy(message):
            // One full stop, whether or not the message brings its own.
            return "REFUSED: \(message)" + (message.hasSuffix(".") ? "" : ".")
        case let .pumpRefused(opcode, .requestExpired):
            // Held on its way or too slow: the command is dead, and nothing
            // re-sends it by itself; the technician decides whether to ask again.
            return "The pump refused \(opcode): \(PumpRefusal.requestExpired.meaning). Hold the wand over the pump and give the command again."
        case let .pumpRefused(opcode, refusal):
            return "The pump refused \(opcode): \(refusal.meaning)."
        case let .notFound(message):
            return message
        case .pumpNotInRange:
            return "The pump is out of range: hold the wand over the pump and try again."
        case let .communication(message):
            return "Communication failed: \(message). Check the wand's position and try again."
        case let .uncertain(command):
            // A refill begin pauses delivery: if it was carried out, the
            // patient gets no drug until the refill ends, so the consequence
            // is said, not only the uncertainty.
            let paused = CommandKind(rawValue: command.command) == .refillBegin
                ? " If it was carried out, delivery is PAUSED (withdrawal risk) until the refill is completed or cancelled; the pump ends an open refill by itself after 30 minutes."
                : ""
            return "UNCERTAIN: \(command.command) (command \(command.commandID)) was sent to pump \(command.pumpSerial) and no reply came back. It may or may not have been carried out.\(paused) Do NOT repeat it: keep the wand over the pump and run 'pumpctl interrogate' now to resolve it."
        case let .unresolved(command, detail):
            return "UNRESOLVED: \(command.command) (command \(command.commandID)) sent to pump \(command.pumpSerial) at \(command.sentAt) has an unknown outcome, so nothing else is sent. \(detail)"
        case let .notVerified(kind, detail):
            return "CHANGED, NOT VERIFIED: the pump carried out \(kind.rawValue), but reading it back failed (\(detail)). Keep the wand over the pump and run 'pumpctl interrogate': it reads the change back before anything else."
        case let .staleReview(changed):
            return "The pump changed since it was reviewed (\(changed.joined(separator: ", "))), perhaps by another programmer. Review it again."
        case .cancelled:
            return "Cancelled."
        case let .sessionTakenOver(opcode):
            return "The pump is in range but no longer answers this session (\(opcode) went unanswered, while a new session request was answered): another programmer, such as a pumpctl on another laptop, opened a session with the pump meanwhile, or the pump restarted. Close the other programmer's pumpctl, or wait until it is done, then give the command again; this run sends nothing more to the pump. If no other programmer is near the pump, its replies were lost: hold the wand over the pump and give the command again."
        case let .wrongPump(found, expected):
            return "The pump in range is \(found), not \(expected) from the patient record. Check the patient and the pump."
        case let .deviceFault(message):
            return "DEVICE FAULT: \(message)"
        case let .storage(message):
            return message
        case let .permissionDenied(message):
            return message
        case let .policy(error):
            return "The clinic policy cannot be used: \(error.description)"
        }
    }
}
