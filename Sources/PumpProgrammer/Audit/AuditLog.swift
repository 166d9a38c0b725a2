import Foundation
import GRDB
import StateFiles
import SystemPackage

/// The append-only, hash-chained audit trail of every command, response,
/// override and alarm, kept in SQLite in the state directory.
///
/// Durability: WAL journal with `synchronous = FULL`, so a row whose append
/// returned survives a crash or power loss. Append-only: triggers refuse
/// UPDATE and DELETE. Tamper evidence: each row carries the hash of the one
/// before it, and `audit.head` beside the database names the last row, so a
/// changed, deleted, reordered or truncated log fails `verify()`.
public final class AuditLog: Sendable {
    public static let databaseName = "audit.sqlite"
    public static let headName = "audit.head"

    private let database: DatabasePool
    private let headPath: FilePath
    /// Whose pump each row is about: the patient record of the row's pump
    /// is put on the row.
    private let patients: PatientRecords

    public init(directory: StateDirectory) throws(AuditError) {
        do {
            try directory.create()
        } catch {
            throw .storage(error.description)
        }
        var configuration = Configuration()
        configuration.busyMode = .timeout(10)
        configuration.prepareDatabase { db in
            try db.execute(sql: "PRAGMA synchronous = FULL")
        }
        headPath = directory.file(Self.headName)
        patients = PatientRecords(directory: directory)
        // SQLite opens the files itself, following links and with the
        // process's umask (0644 by default): the database is made 0600
        // here first, never through a link or into a FIFO, and SQLite
        // gives its -wal and -shm files the database's mode. Files an
        // earlier version left readable by others are narrowed to 0600.
        do {
            try AtomicFile.preparePrivate(directory.file(Self.databaseName), creating: true)
            for suffix in ["-wal", "-shm"] {
                try AtomicFile.preparePrivate(directory.file(Self.databaseName + suffix), creating: false)
            }
        } catch {
            throw .storage("the audit log at \(directory.file(Self.databaseName)) cannot be used: \(error.description)")
        }
        do {
            database = try DatabasePool(path: directory.file(Self.databaseName).string, configuration: configuration)
            try Self.migrator.migrate(database)
        } catch {
            throw .storage("the audit log at \(directory.file(Self.databaseName)) could not be opened: \(error)")
        }
    }

    private static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1") { db in
            try db.execute(sql: """
                CREATE TABLE audit_entry (
                    sequence INTEGER PRIMARY KEY AUTOINCREMENT,
                    time TEXT NOT NULL,
                    operator TEXT NOT NULL,
                    second_operator TEXT,
                    pump_serial TEXT,
                    command TEXT NOT NULL,
                    phase TEXT NOT NULL,
                    command_id TEXT,
                    parameters TEXT NOT NULL,
                    outcome TEXT,
                    overrides TEXT NOT NULL,
                    previous_hash TEXT NOT NULL,
                    hash TEXT NOT NULL
                );
                CREATE TRIGGER audit_entry_no_update BEFORE UPDATE ON audit_entry
                BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
                CREATE TRIGGER audit_entry_no_delete BEFORE DELETE ON audit_entry
                BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
                """)
        }
        return migrator
    }

    /// Appends one row and returns it as stored.
    ///
    /// A row about a pump with a patient record carries that record (name,
    /// record number, date of birth, prescriber) in its parameters, hashed
    /// with the row, so every row of a visit names the patient without
    /// each caller passing it. A record that cannot be trusted (readable by
    /// others, malformed) stops the append: a row must not silently lose
    /// its patient.
    @discardableResult
    public func append(_ record: AuditRecord, at time: Date = Date()) throws(AuditError) -> AuditEntry {
        var record = record
        if let serial = record.pumpSerial {
            let patient: PatientRecord?
            do { patient = try patients.record(forPump: serial) } catch { throw .storage(error.description) }
            // A training record (set with --simulator) on a real pump's row
            // would file test data as a patient's: the row, and with it the
            // session, is refused.
            if patient?.simulated == true, record.parameters["simulated"] != "true" {
                throw .simulatedRecordOnRealPump(serial: serial)
            }
            for (key, value) in patient?.auditParameters ?? [:] where record.parameters[key] == nil {
                record.parameters[key] = value
            }
        }
        let entry: AuditEntry
        do {
            entry = try database.write { db -> AuditEntry in
                let last = try Row.fetchOne(db, sql: "SELECT sequence, hash FROM audit_entry ORDER BY sequence DESC LIMIT 1")
                let previousHash: String = last?["hash"] ?? AuditChain.genesis
                let sequence: Int64 = (last?["sequence"] ?? 0) + 1
                var entry = AuditEntry(
                    sequence: sequence, time: Self.format(time), operatorName: record.operatorName,
                    secondOperator: record.secondOperator, pumpSerial: record.pumpSerial, command: record.command,
                    phase: record.phase, commandID: record.commandID, parameters: record.parameters,
                    outcome: record.outcome, overrides: record.overrides, previousHash: previousHash, hash: "")
                entry.hash = AuditChain.hash(of: entry)
                try db.execute(
                    sql: """
                        INSERT INTO audit_entry (sequence, time, operator, second_operator, pump_serial, command,
                            phase, command_id, parameters, outcome, overrides, previous_hash, hash)
                        VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                        """,
                    arguments: [
                        entry.sequence, entry.time, entry.operatorName, entry.secondOperator, entry.pumpSerial,
                        entry.command, entry.phase.rawValue, entry.commandID, Self.json(entry.parameters),
                        entry.outcome, Self.json(entry.overrides), entry.previousHash, entry.hash,
                    ])
                return entry
            }
        } catch {
            throw .storage("an audit row could not be written: \(error)")
        }
        // The head is written after the row: a crash in between leaves the
        // head one row behind, which verify() accepts; never ahead.
        do {
            try AtomicFile.write(Array("\(entry.sequence) \(entry.hash)\n".utf8), to: headPath)
        } catch {
            throw .storage("the audit head could not be written: \(error.description)")
        }
        return entry
    }

    /// Every row in order.
    public func entries() throws(AuditError) -> [AuditEntry] {
        do {
            return try database.read { db in
                try Row.fetchAll(db, sql: "SELECT * FROM audit_entry ORDER BY sequence").map(Self.entry(from:))
            }
        } catch let error as AuditError {
            throw error
        } catch {
            throw .storage("the audit log could not be read: \(error)")
        }
    }

    /// Rows with a command id, newest first: used to find what became of one.
    public func entries(commandID: String) throws(AuditError) -> [AuditEntry] {
        try entries().filter { $0.commandID == commandID }
    }

    /// Checks the whole chain and the head file.
    public func verify() throws(AuditError) -> AuditVerification {
        let rows = try entries()
        var problems: [AuditVerification.Problem] = []
        var previousHash = AuditChain.genesis
        var expectedSequence: Int64 = 1
        for row in rows {
            if row.sequence != expectedSequence {
                problems.append(.init(sequence: row.sequence, problem: "row \(expectedSequence) is missing before row \(row.sequence)"))
            }
            if row.previousHash != previousHash {
                problems.append(.init(sequence: row.sequence, problem: "does not follow the row before it (deleted or reordered rows)"))
            }
            if AuditChain.hash(of: row) != row.hash {
                problems.append(.init(sequence: row.sequence, problem: "its contents were changed after it was written"))
            }
            previousHash = row.hash
            expectedSequence = row.sequence + 1
        }
        problems += headProblems(rows: rows)
        return AuditVerification(entries: rows.count, problems: problems)
    }

    private func headProblems(rows: [AuditEntry]) -> [AuditVerification.Problem] {
        guard AtomicFile.exists(headPath) else {
            return rows.isEmpty ? [] : [.init(sequence: nil, problem: "\(Self.headName) is missing")]
        }
        guard let bytes = try? AtomicFile.read(headPath, limit: 256) else {
            return [.init(sequence: nil, problem: "\(Self.headName) cannot be read")]
        }
        let fields = String(decoding: bytes, as: UTF8.self).split(whereSeparator: \.isWhitespace)
        guard fields.count == 2, let sequence = Int64(fields[0]) else {
            return [.init(sequence: nil, problem: "\(Self.headName) is malformed")]
        }
        guard let row = rows.first(where: { $0.sequence == sequence }) else {
            return [.init(sequence: sequence, problem: "the log ends before row \(sequence) named by \(Self.headName) (rows were removed from the end)")]
        }
        if row.hash != String(fields[1]) {
            return [.init(sequence: sequence, problem: "differs from the hash \(Self.headName) recorded for it")]
        }
        if let last = rows.last, last.sequence > sequence + 1 {
            return [.init(sequence: sequence, problem: "\(Self.headName) is \(last.sequence - sequence) rows behind the log")]
        }
        return []
    }

    private static func entry(from row: Row) throws -> AuditEntry {
        let decoder = JSONDecoder()
        let parametersText: String = row["parameters"]
        let overridesText: String = row["overrides"]
        let phaseText: String = row["phase"]
        guard let phase = AuditPhase(rawValue: phaseText) else {
            throw AuditError.storage("row \(row["sequence"] as Int64) has an unknown phase \(phaseText)")
        }
        return AuditEntry(
            sequence: row["sequence"], time: row["time"], operatorName: row["operator"],
            secondOperator: row["second_operator"], pumpSerial: row["pump_serial"], command: row["command"],
            phase: phase, commandID: row["command_id"],
            parameters: (try? decoder.decode([String: String].self, from: Data(parametersText.utf8))) ?? [:],
            outcome: row["outcome"],
            overrides: (try? decoder.decode([AuditOverride].self, from: Data(overridesText.utf8))) ?? [],
            previousHash: row["previous_hash"], hash: row["hash"])
    }

    private static func json<T: Encodable>(_ value: T) -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return (try? encoder.encode(value)).map { String(decoding: $0, as: UTF8.self) } ?? "null"
    }

    static func format(_ date: Date) -> String {
        date.formatted(Date.ISO8601FormatStyle(includingFractionalSeconds: true, timeZone: .gmt))
    }
}

/// The result of `AuditLog.verify()`.
public struct AuditVerification: Codable, Sendable, Equatable {
    public struct Problem: Codable, Sendable, Equatable {
        /// The row concerned, when one is.
        public var sequence: Int64?
        public var problem: String
    }

    public var entries: Int
    public var problems: [Problem]
    public var intact: Bool { problems.isEmpty }

    enum CodingKeys: String, CodingKey { case entries, problems, intact }

    public func encode(to encoder: Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(entries, forKey: .entries)
        try container.encode(problems, forKey: .problems)
        try container.encode(intact, forKey: .intact)
    }

    public init(entries: Int, problems: [Problem]) {
        self.entries = entries
        self.problems = problems
    }

    public init(from decoder: Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        entries = try container.decode(Int.self, forKey: .entries)
        problems = try container.decode([Problem].self, forKey: .problems)
    }
}

/// The audit log could not do its job. Commands that must be audited stop
/// before sending anything when this is thrown.
public enum AuditError: Error, Equatable, Sendable, CustomStringConvertible {
    case storage(String)
    case simulatedRecordOnRealPump(serial: String)

    public var description: String {
        switch self {
        case let .simulatedRecordOnRealPump(serial):
            return "REFUSED: the patient record of pump \(serial) is a SIMULATED training record (set with --simulator), and this is not a simulated session. Set the patient's record with pumpctl patient set (without --simulator) first. Nothing was sent to the pump."
        case let .storage(detail):
            return "Audit log failure: \(detail). No command was sent; fix the state directory and try again."
        }
    }
}
