import Foundation
import Glibc
import StateFiles
import SystemPackage

/// A delivery or programming command that was (or was about to be) sent and
/// whose outcome the host does not know.
///
/// It is written durably before the command's bytes leave the host and
/// removed only once the pump has said what became of it, so a lost reply, a
/// crash or a SIGKILL at any point leaves it behind, and the next delivery
/// command to that pump must resolve it first: never a second bolus from a
/// retry.
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

/// The unresolved commands of a state directory, one per pump: the record
/// for pump S is `pending/S.json`.
///
/// One record per pump, not one per laptop: an uncertain command on one
/// pump must block that pump until it is resolved, and only that pump.
///
/// Earlier versions kept a single `pending-command.json` in the state
/// directory. Such a file is read as the record of the pump it names, and
/// the first write to the store moves it into `pending/` (a complete copy is
/// made durable before the old file is removed, so a crash leaves the record
/// in one place or both, never in none).
///
/// Record files are created 0600 in a 0700 folder, read only when they are
/// regular files (never through a symbolic link, never a FIFO), and at most
/// `sizeLimit` bytes. A record that cannot be read blocks its pump: it is
/// never taken as "nothing pending".
public struct PendingCommandStore: Sendable {
    public static let folderName = "pending"
    /// The single record file of earlier versions.
    public static let legacyFileName = "pending-command.json"
    /// Longest serial kept as a file name; the wire carries 1 to 32 characters.
    public static let maximumSerialLength = 32
    static let sizeLimit = 64 * 1024
    /// `all()` refuses a folder with more records than this rather than
    /// reading without bound; a laptop sees a handful of pumps.
    public static let maximumRecords = 1024

    public let directory: StateDirectory

    public init(directory: StateDirectory) {
        self.directory = directory
    }

    /// `pending-command.json` of earlier versions.
    public var legacyPath: FilePath { directory.file(Self.legacyFileName) }

    /// `pending/`.
    public var folder: FilePath { directory.file(Self.folderName) }

    /// Whether `serial` can name a record file: 1 to 32 of A-Z, a-z, 0-9 and
    /// `-`. Anything else (`/`, `.`, spaces, non-ASCII) could leave the
    /// folder or collide after normalisation, so it is refused, never mapped.
    public static func isSafeFileName(serial: String) -> Bool {
        let bytes = Array(serial.utf8)
        guard (1...maximumSerialLength).contains(bytes.count) else { return false }
        return bytes.allSatisfy { byte in
            (byte >= 0x30 && byte <= 0x39) || (byte >= 0x41 && byte <= 0x5A) || (byte >= 0x61 && byte <= 0x7A) || byte == 0x2D
        }
    }

    /// `pending/<serial>.json`, or `.invalidPumpSerial`.
    public func path(forPumpSerial serial: String) throws(PendingCommandError) -> FilePath {
        guard Self.isSafeFileName(serial: serial) else { throw .invalidPumpSerial(serial) }
        return folder.appending(serial + ".json")
    }

    // MARK: Reading

    /// The unresolved command for `pumpSerial`, if any.
    ///
    /// A legacy `pending-command.json` naming this pump comes first: it is
    /// the older of the two, and the pump must be asked about it before a
    /// newer one (both can exist only when a crash interrupted its move).
    public func load(pumpSerial: String) throws(PendingCommandError) -> PendingCommand? {
        let path = try path(forPumpSerial: pumpSerial)
        if let legacy = try loadLegacy(), legacy.pumpSerial == pumpSerial { return legacy }
        return try loadRecord(at: path, pumpSerial: pumpSerial)
    }

    /// Every unresolved command, for every pump, sorted by serial then time
    /// sent: what `interrogate` lists as pending on other pumps.
    ///
    /// Files in `pending/` that are not named `<serial>.json` (temporary
    /// files of an interrupted write among them) are not records and are
    /// skipped. A damaged or unreadable record throws: it cannot be shown,
    /// and must not be taken for an absent one.
    public func all() throws(PendingCommandError) -> [PendingCommand] {
        var records: [PendingCommand] = []
        if let legacy = try loadLegacy() { records.append(legacy) }
        for serial in try recordSerials() {
            guard let record = try loadRecord(at: folder.appending(serial + ".json"), pumpSerial: serial) else { continue }
            // A legacy file left beside its own copy by an interrupted move is one command, not two.
            if !records.contains(record) { records.append(record) }
        }
        return records.sorted { ($0.pumpSerial, $0.sentAt) < ($1.pumpSerial, $1.sentAt) }
    }

    // MARK: Writing

    /// Records `command` durably for its pump. Refuses `.alreadyPending` when
    /// that pump has a different unresolved command; recording the same one
    /// again is allowed and changes nothing.
    public func record(_ command: PendingCommand) throws(PendingCommandError) {
        let path = try path(forPumpSerial: command.pumpSerial)
        try migrateLegacy()
        if let existing = try load(pumpSerial: command.pumpSerial) {
            guard existing == command else { throw .alreadyPending(existing) }
            return
        }
        let bytes = try Self.encode(command, path: path)
        try makeFolder()
        do {
            // Create, never replace: if another process recorded a command for
            // this pump since the load above, this one is refused below.
            try AtomicFile.create(bytes, at: path)
        } catch .alreadyExists {
            if let existing = try loadRecord(at: path, pumpSerial: command.pumpSerial), existing != command {
                throw .alreadyPending(existing)
            }
        } catch {
            throw .unwritable(path: path.string, cause: error)
        }
    }

    /// Removes the record of `commandID` once the pump has told what became
    /// of it. Nothing pending for that pump is not an error; a different
    /// command pending for it is `.alreadyPending`.
    public func resolve(commandID: String, pumpSerial: String) throws(PendingCommandError) {
        let path = try path(forPumpSerial: pumpSerial)
        try migrateLegacy()
        // The legacy file may still be there when it could not be moved (its
        // own record file holds another command); it is removed like a record.
        if let legacy = try loadLegacy(), legacy.pumpSerial == pumpSerial {
            guard legacy.commandID == commandID else { throw .alreadyPending(legacy) }
            try remove(legacyPath)
            return
        }
        guard let existing = try loadRecord(at: path, pumpSerial: pumpSerial) else { return }
        guard existing.commandID == commandID else { throw .alreadyPending(existing) }
        // Not synced: a record a power cut brings back is asked about again
        // (the pump answers from its command record), which costs a question,
        // never a second execution; a crash of this process cannot bring it
        // back. It saves a step of a change one fsync of the folder.
        do {
            try AtomicFile.remove(path, durably: false)
        } catch {
            throw .unwritable(path: path.string, cause: error)
        }
    }

    // MARK: Legacy record

    private func loadLegacy() throws(PendingCommandError) -> PendingCommand? {
        guard let bytes = try readIfPresent(legacyPath) else { return nil }
        return try Self.decode(bytes, path: legacyPath)
    }

    /// Moves `pending-command.json` to `pending/<serial>.json`: the copy is
    /// created (never over another record) and made durable, then the old
    /// file is removed. A crash between the two leaves both, identical, and
    /// the next write finishes the move. When the pump's record file already
    /// holds a different command, or the serial cannot be a file name, the
    /// legacy file stays where it is and is still read and resolved there.
    private func migrateLegacy() throws(PendingCommandError) {
        guard let bytes = try readIfPresent(legacyPath) else { return }
        let legacy = try Self.decode(bytes, path: legacyPath)
        guard Self.isSafeFileName(serial: legacy.pumpSerial) else { return }
        let target = folder.appending(legacy.pumpSerial + ".json")
        try makeFolder()
        do {
            try AtomicFile.create(bytes, at: target)
        } catch .alreadyExists {
            guard try loadRecord(at: target, pumpSerial: legacy.pumpSerial) == legacy else { return }
        } catch {
            throw .unwritable(path: target.string, cause: error)
        }
        try remove(legacyPath)
    }

    // MARK: Files

    private func makeFolder() throws(PendingCommandError) {
        do {
            _ = try directory.subdirectory(Self.folderName, creating: true)
        } catch {
            throw .unwritable(path: folder.string, cause: error)
        }
    }

    private func loadRecord(at path: FilePath, pumpSerial: String) throws(PendingCommandError) -> PendingCommand? {
        do {
            guard try directory.subdirectory(Self.folderName, creating: false) != nil else { return nil }
        } catch {
            throw .unreadable(path: folder.string, cause: error)
        }
        guard let bytes = try readIfPresent(path) else { return nil }
        let record = try Self.decode(bytes, path: path)
        // The file name says which pump the record blocks; a record naming
        // another pump was put there by hand or damaged, and is not trusted.
        guard record.pumpSerial == pumpSerial else {
            throw .damaged(path: path.string, detail: "it names pump \(record.pumpSerial) but is the record of \(pumpSerial)")
        }
        return record
    }

    /// The bytes at `path`, nil when nothing is there; a link, FIFO or
    /// other non-regular file is `.unreadable` with the kind found.
    private func readIfPresent(_ path: FilePath) throws(PendingCommandError) -> [UInt8]? {
        do {
            return try AtomicFile.read(path, limit: Self.sizeLimit)
        } catch .notFound {
            return nil
        } catch {
            throw .unreadable(path: path.string, cause: error)
        }
    }

    private func remove(_ path: FilePath) throws(PendingCommandError) {
        do {
            try AtomicFile.remove(path)
        } catch {
            throw .unwritable(path: path.string, cause: error)
        }
    }

    /// Serials with a `<serial>.json` entry in `pending/`, bounded.
    private func recordSerials() throws(PendingCommandError) -> [String] {
        do {
            guard try directory.subdirectory(Self.folderName, creating: false) != nil else { return [] }
        } catch {
            throw .unreadable(path: folder.string, cause: error)
        }
        let fd = open(folder.string, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
        guard fd >= 0 else {
            throw .unreadable(path: folder.string, cause: .io(path: folder.string, operation: "open folder", errno: errno))
        }
        guard let stream = fdopendir(fd) else {
            let error = errno
            close(fd)
            throw .unreadable(path: folder.string, cause: .io(path: folder.string, operation: "read folder", errno: error))
        }
        defer { closedir(stream) }
        var serials: [String] = []
        var entries = 0
        while let entry = readdir(stream) {
            entries += 1
            // Temporary files and strays count too: the walk itself is bounded.
            guard entries <= Self.maximumRecords * 4 else { throw .tooManyRecords(path: folder.string, limit: Self.maximumRecords) }
            let name = withUnsafeBytes(of: entry.pointee.d_name) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
            guard name.hasSuffix(".json") else { continue }
            let serial = String(name.dropLast(5))
            guard Self.isSafeFileName(serial: serial) else { continue }
            serials.append(serial)
            guard serials.count <= Self.maximumRecords else { throw .tooManyRecords(path: folder.string, limit: Self.maximumRecords) }
        }
        return serials.sorted()
    }

    private static func decode(_ bytes: [UInt8], path: FilePath) throws(PendingCommandError) -> PendingCommand {
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .iso8601
        do {
            return try decoder.decode(PendingCommand.self, from: Data(bytes))
        } catch {
            throw .damaged(path: path.string, detail: "it is not a pending-command record (\(error))")
        }
    }

    private static func encode(_ command: PendingCommand, path: FilePath) throws(PendingCommandError) -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.dateEncodingStrategy = .iso8601
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        do {
            return Array(try encoder.encode(command))
        } catch {
            throw .unwritable(path: path.string, cause: .io(path: path.string, operation: "encode", errno: EINVAL))
        }
    }
}

public enum PendingCommandError: Error, Equatable, Sendable, CustomStringConvertible {
    /// Another command's outcome is still unknown on that pump.
    case alreadyPending(PendingCommand)
    /// The serial cannot name a record file (1 to 32 of A-Z, a-z, 0-9, `-`).
    case invalidPumpSerial(String)
    /// The record is there but could not be read: missing permission, a
    /// symbolic link, FIFO or other non-regular file, too large.
    case unreadable(path: String, cause: StateFileError)
    /// The record was read but is not a pending-command record of that pump.
    case damaged(path: String, detail: String)
    case unwritable(path: String, cause: StateFileError)
    case tooManyRecords(path: String, limit: Int)

    public var description: String {
        let blocked = "Delivery commands to that pump stay blocked until it is resolved; do not delete it without interrogating the pump."
        switch self {
        case let .alreadyPending(command):
            return "Command \(command.commandID) (\(command.command) to pump \(command.pumpSerial)) is still UNCERTAIN: its outcome must be asked of the pump before anything else is sent."
        case let .invalidPumpSerial(serial):
            return "The pump serial '\(serial)' cannot name a pending-command record (1 to \(PendingCommandStore.maximumSerialLength) letters, digits or '-'). Nothing was sent."
        case let .unreadable(path, cause):
            return "The pending-command record \(path) cannot be read: \(cause.description) \(blocked)"
        case let .damaged(path, detail):
            return "The pending-command record \(path) is damaged: \(detail). \(blocked)"
        case let .unwritable(path, cause):
            return "The pending-command record \(path) cannot be written: \(cause.description) Nothing was sent."
        case let .tooManyRecords(path, limit):
            return "\(path) holds more than \(limit) entries; it was not read. Check what put them there."
        }
    }
}
