import WandProtocol

/// Why a programming session stopped, in the categories the command line
/// turns into exit statuses. Each says what happened, what was kept safe,
/// and what to do next.
public enum ProgrammerError: Error, Equatable, Sendable, CustomStringConvertible {
    /// Input that cannot be used (a file, an option). Nothing was sent.
    case input(String)
    /// A hard limit, a soft limit without override, or a missing
    /// confirmation refused the change. Nothing was sent.
    case refusedByPolicy(String)
    /// The pump itself refused; it changed nothing.
    case pumpRefused(PumpOpcode, PumpRefusal)
    /// No wand, or no pump in range. Nothing was sent to a pump.
    case notFound(String)
    /// A request certainly did not reach the pump. Nothing changed.
    case communication(String)
    /// A command was sent and its reply lost: its outcome is unknown.
    case uncertain(PendingCommand)
    /// An earlier command's outcome is still unknown; nothing new is sent
    /// until the pump has been asked about it.
    case unresolved(PendingCommand, detail: String)
    /// The pump or wand answered in a way that shows a fault (read-back
    /// mismatch, a staged hash that is not ours, a serial that does not
    /// match the patient record).
    case deviceFault(String)
    /// The audit log or the state directory failed. Nothing was sent.
    case storage(String)
    /// No access to the wand.
    case permissionDenied(String)

    public var description: String {
        switch self {
        case let .input(message):
            return message
        case let .refusedByPolicy(message):
            return "REFUSED: \(message). Nothing was sent to the pump."
        case let .pumpRefused(opcode, refusal):
            return "The pump refused \(opcode): \(refusal.meaning). The pump changed nothing."
        case let .notFound(message):
            return message
        case let .communication(message):
            return "Communication failed: \(message). Nothing on the pump was changed by it. Check the wand's position and try again."
        case let .uncertain(command):
            return "UNCERTAIN: \(command.command) (command \(command.commandID)) was sent to pump \(command.pumpSerial) and no reply came back. It may or may not have been carried out. Do NOT repeat it: keep the wand over the pump and run 'pumpctl interrogate' to resolve it."
        case let .unresolved(command, detail):
            return "UNRESOLVED: \(command.command) (command \(command.commandID)) sent to pump \(command.pumpSerial) at \(command.sentAt) has an unknown outcome, so nothing else is sent. \(detail)"
        case let .deviceFault(message):
            return "DEVICE FAULT: \(message)"
        case let .storage(message):
            return "\(message) Nothing was sent."
        case let .permissionDenied(message):
            return message
        }
    }
}
