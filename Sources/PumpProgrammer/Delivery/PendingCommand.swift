import Foundation
import StateFiles
import SystemPackage

/// A delivery or programming command that was (or was about to be) sent and
/// whose outcome the host does not know.
///
/// It is written durably before the command's bytes leave the host and
/// removed only once the pump has said what became of it, so a lost reply, a
/// crash or a SIGKILL at any point leaves it behind, and the next delivery
/// command must resolve it first: never a second bolus from a retry.
public struct PendingCommand: Codable, Sendable, Equatable {
    /// The command id carried on the wire, 16 hex digits.
    public var commandID: String
    /// What was sent: `bolus`, `program`, `refill`, `stop`, `resume`, ...
    public var command: String
    public var pumpSerial: String
    public var sentAt: Date
    /// The command's parameters as the operator gave them, for the report.
    public var parameters: [String: String]

    enum CodingKeys: String, CodingKey {
        case commandID = "command_id", command, pumpSerial = "pump_serial", sentAt = "sent_at", parameters
    }

    public init(commandID: String, command: String, pumpSerial: String, sentAt: Date, parameters: [String: String]) {
        self.commandID = commandID
        self.command = command
        self.pumpSerial = pumpSerial
        self.sentAt = sentAt
        self.parameters = parameters
    }
}

/// The one pending command of a state directory, kept in `pending-command.json`.
public struct PendingCommandStore: Sendable {
    public static let fileName = "pending-command.json"
    static let sizeLimit = 64 * 1024

    public let path: FilePath

    public init(directory: StateDirectory) {
        path = directory.file(Self.fileName)
    }

    /// The unresolved command, if any.
    public func load() throws(PendingCommandError) -> PendingCommand? {
        guard AtomicFile.exists(path) else { return nil }
        let bytes: [UInt8]
        do {
            bytes = try AtomicFile.read(path, limit: Self.sizeLimit)
        } catch {
            throw .unreadable(path: path.string, detail: error.description)
        }
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .iso8601
        do {
            return try decoder.decode(PendingCommand.self, from: Data(bytes))
        } catch {
            throw .unreadable(path: path.string, detail: "it is not a pending-command record (\(error))")
        }
    }

    /// Records `command` durably; refuses when another one is unresolved.
    public func record(_ command: PendingCommand) throws(PendingCommandError) {
        if let existing = try load(), existing != command { throw .alreadyPending(existing) }
        let encoder = JSONEncoder()
        encoder.dateEncodingStrategy = .iso8601
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        do {
            let data = try encoder.encode(command)
            try AtomicFile.write(Array(data), to: path)
        } catch let error as StateFileError {
            throw .unwritable(path: path.string, detail: error.description)
        } catch {
            throw .unwritable(path: path.string, detail: "\(error)")
        }
    }

    /// Removes the record once the pump has told what became of the command.
    public func resolve(commandID: String) throws(PendingCommandError) {
        guard let existing = try load() else { return }
        guard existing.commandID == commandID else { throw .alreadyPending(existing) }
        do {
            try AtomicFile.remove(path)
        } catch {
            throw .unwritable(path: path.string, detail: error.description)
        }
    }
}

public enum PendingCommandError: Error, Equatable, Sendable, CustomStringConvertible {
    /// Another command's outcome is still unknown.
    case alreadyPending(PendingCommand)
    case unreadable(path: String, detail: String)
    case unwritable(path: String, detail: String)

    public var description: String {
        switch self {
        case let .alreadyPending(command):
            return "Command \(command.commandID) (\(command.command) to pump \(command.pumpSerial)) is still UNCERTAIN: its outcome must be asked of the pump before anything else is sent."
        case let .unreadable(path, detail):
            return "The pending-command record \(path) cannot be read: \(detail). Delivery commands stay blocked until it is resolved; do not delete it without interrogating the pump."
        case let .unwritable(path, detail):
            return "The pending-command record \(path) cannot be written: \(detail). Nothing was sent."
        }
    }
}
