import Crypto

/// The pump's memory of recent state-changing commands: which command ids it
/// has answered, the request each id was first used for, and the reply it
/// sent. It survives sessions and power cycles (the pump persists it; the
/// simulator persists it as JSON through `Codable`).
///
/// A repeated id with the same request is answered with the stored reply and
/// never executed again; a repeated id with a different request is refused
/// (`commandIdReused`). Bounded: the oldest entries are forgotten first.
public struct CommandOutcomeStore: Sendable, Equatable, Codable {
    /// One remembered command.
    public struct Entry: Sendable, Equatable, Codable {
        /// The command id, 16 bytes.
        public var commandId: [UInt8]
        /// SHA-256 of the request plaintext the id was first used for.
        public var requestDigest: [UInt8]
        /// The reply plaintext sent for it (opcode|0x80, status, body).
        public var reply: [UInt8]
        /// Pump UTC seconds when it was answered.
        public var utcSeconds: Int64
    }

    /// What the store says about an incoming command.
    public enum Lookup: Sendable, Equatable {
        /// Never seen (or aged out): execute it.
        case new
        /// Seen with the same request: answer with this stored reply.
        case repeated(reply: [UInt8])
        /// Seen with a different request: refuse.
        case conflicting
    }

    /// How many commands are remembered (at least 64, as the protocol requires).
    public let capacity: Int
    /// Oldest first.
    public private(set) var entries: [Entry] = []

    /// An empty store remembering up to `capacity` commands (minimum 64).
    public init(capacity: Int = 64) {
        self.capacity = max(64, capacity)
    }

    /// The digest a request is remembered by.
    public static func digest(ofRequest plaintext: [UInt8]) -> [UInt8] {
        Array(SHA256.hash(data: plaintext))
    }

    /// What to do with a command.
    public func lookup(_ id: CommandID, requestPlaintext: [UInt8]) -> Lookup {
        guard let entry = entries.last(where: { $0.commandId == id.bytes }) else { return .new }
        return entry.requestDigest == Self.digest(ofRequest: requestPlaintext) ? .repeated(reply: entry.reply) : .conflicting
    }

    /// The stored reply for an id, if remembered.
    public func storedReply(for id: CommandID) -> [UInt8]? {
        entries.last(where: { $0.commandId == id.bytes })?.reply
    }

    /// Remembers the reply to a newly executed (or refused) command.
    public mutating func record(_ id: CommandID, requestPlaintext: [UInt8], reply: [UInt8], utcSeconds: Int64) {
        entries.removeAll { $0.commandId == id.bytes }
        entries.append(Entry(commandId: id.bytes, requestDigest: Self.digest(ofRequest: requestPlaintext), reply: reply, utcSeconds: utcSeconds))
        if entries.count > capacity { entries.removeFirst(entries.count - capacity) }
    }

    /// The newest `limit` entries as the interrogate report's command record, newest first.
    public func recentRecords(limit: Int = InterrogateReport.maximumRecords) -> [CommandRecordEntry] {
        entries.reversed().prefix(max(0, limit)).compactMap { entry in
            guard entry.reply.count >= 2, let id = CommandID(bytes: entry.commandId),
                  let opcode = PumpOpcode(rawValue: entry.reply[0] & 0x7F) else { return nil }
            return CommandRecordEntry(commandId: id, opcode: opcode, status: entry.reply[1], utcSeconds: entry.utcSeconds)
        }
    }
}
