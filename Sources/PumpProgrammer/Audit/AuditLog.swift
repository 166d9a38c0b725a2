import Crypto
import Foundation
import GRDB
import StateFiles
import Synchronization
import SystemPackage
import WandProtocol

/// The append-only, MAC-chained audit trail of every command, response,
/// override and alarm, kept in SQLite in the state directory.
///
/// Durability: WAL journal with `synchronous = FULL`, so a row whose append
/// returned survives a crash or power loss (an intent row is durable before
/// its command's bytes leave). Append-only: triggers refuse UPDATE and
/// DELETE. Tamper evidence: each row carries an HMAC-SHA256, under the
/// audit key kept outside the state directory (`AuditKey`), over its
/// sequence number, the previous row's MAC and its own fields; `audit.head`
/// names the last sealed row and is itself MAC'd, and the pump keeps
/// anchors of the head (`AuditAnchor`), so rows changed, deleted,
/// renumbered or cut, or a log replaced with its head, fail `verify()`.
///
/// Cost: an append is one indexed read of the last row and one insert; the
/// head (three fsync-class calls) is written once per command by
/// `sealHead()`, not per row.
public final class AuditLog: Sendable {
    public static let databaseName = "audit.sqlite"
    public static let headName = "audit.head"

    let database: DatabasePool
    let headPath: FilePath
    let key: AuditKey
    /// Which log this is (`AuditLogIdentity`): read once, when the log is
    /// opened, since the nonce is fixed when the database is made.
    let identity: AuditLogIdentity
    /// Whose pump each row is about: the patient record of the row's pump
    /// is put on the row.
    private let patients: PatientRecords
    /// The newest row appended through this object and not yet named by
    /// the head.
    private let unsealed = Mutex<(sequence: Int64, mac: String)?>(nil)
    /// Whether `checkBeforeWriting()` passed: once per object, before its
    /// first append, so a cut or re-headed log is never written to (and so
    /// never re-sealed into a log that verifies).
    let checkedForWriting = Mutex(false)
    /// Set when the check found a new log (no rows, no head): its first
    /// row is sealed at once, so a crash before the command's end leaves a
    /// head to chain from, never rows without one (which is refused).
    let sealFirstAppend = Mutex(false)
    /// Whether the newest append was deferred (not yet synced).
    private let deferredRows = Mutex(false)

    /// Opens the log of `directory` under `key` (by default the audit key
    /// of the user's configuration directory, created on first use: only
    /// while the log has no rows and no head, see `AuditKey.resolve`).
    public init(directory: StateDirectory, key: AuditKey? = nil,
                keyEnvironment: [String: String] = ProcessInfo.processInfo.environment) throws(AuditError) {
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
        let pool: DatabasePool
        let identity: AuditLogIdentity
        do {
            pool = try DatabasePool(path: directory.file(Self.databaseName).string, configuration: configuration)
            // GRDB turns WAL on after `prepareDatabase` and sets synchronous
            // to NORMAL as it does, so a commit was not fsynced: an intent
            // row could be lost with its command already sent. FULL again,
            // on the pool's one writer connection.
            try pool.writeWithoutTransaction { db in try db.execute(sql: "PRAGMA synchronous = FULL") }
            try Self.migrator.migrate(pool)
            identity = try pool.read { db in try AuditLogIdentity.read(db) }
        } catch {
            throw .storage("the audit log at \(directory.file(Self.databaseName)) could not be opened: \(error)")
        }
        database = pool
        self.identity = identity
        if let key {
            self.key = key
        } else {
            // A log with rows or a head was written under a key; a new one
            // made now would MAC new rows that can never verify with the
            // old ones, and hide why. Only an empty log gets a fresh key.
            let hasHistory: Bool
            do {
                let rows = try pool.read { db in try Int64.fetchOne(db, sql: "SELECT MAX(sequence) FROM audit_entry") ?? 0 }
                hasHistory = rows > 0 || AtomicFile.exists(headPath)
            } catch {
                throw .storage("the audit log at \(directory.file(Self.databaseName)) could not be read: \(error)")
            }
            do { self.key = try AuditKey.resolve(environment: keyEnvironment, creatingIfMissing: !hasHistory) } catch { throw .key(error) }
        }
    }

    /// A command that forgot to seal still leaves a head; errors here are
    /// only a head left behind, which `verify()` reports as unsealed rows.
    deinit {
        try? sealHead()
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
        // What review and outcome lookups read: one pump's rows of a few
        // commands, and the rows of one command id, without a full scan.
        migrator.registerMigration("v2-review-indexes") { db in
            try db.execute(sql: """
                CREATE INDEX audit_entry_pump_command ON audit_entry (pump_serial, command, sequence);
                CREATE INDEX audit_entry_command_id ON audit_entry (command_id);
                """)
        }
        // A new log's nonce, so that two logs under one audit key have two
        // log ids (`AuditLogIdentity`); a log with rows keeps log id v1.
        migrator.registerMigration("v3-log-nonce") { db in try AuditLogIdentity.migrate(db) }
        return migrator
    }

    /// Appends one row and returns it as stored. The row is durable when
    /// this returns; the head follows at `sealHead()`.
    ///
    /// A row about a pump with a patient record carries that record (name,
    /// record number, date of birth, prescriber) in its parameters, MAC'd
    /// with the row, so every row of a visit names the patient without
    /// each caller passing it. A record that cannot be trusted (readable by
    /// others, malformed) stops the append: a row must not silently lose
    /// its patient.
    @discardableResult
    public func append(_ record: AuditRecord, at time: Date = Date()) throws(AuditError) -> AuditEntry {
        let entries = try append([record], at: time)
        guard let entry = entries.first else { throw .storage("an audit row could not be written") }
        return entry
    }

    /// How soon an append must survive a power loss.
    public enum Durability: Sendable {
        /// Committed with an fsync before the append returns: an intent row,
        /// durable before its command's bytes leave.
        case immediate
        /// Committed without an fsync (SQLite's synchronous NORMAL in WAL):
        /// it survives a crash of this process at once, and a power loss
        /// from the next immediate append or `sealHead()` on, which sync the
        /// log it is part of. For the rows of reads and outcomes, so a step
        /// costs one fsync of the log, not one per row.
        case deferred
    }

    /// Appends rows in one transaction (one commit, one fsync), in order:
    /// for a step that writes several rows at once.
    @discardableResult
    public func append(_ records: [AuditRecord], at time: Date = Date(),
                       durability: Durability = .immediate) throws(AuditError) -> [AuditEntry] {
        try checkBeforeWriting()
        var prepared: [AuditRecord] = []
        prepared.reserveCapacity(records.count)
        for record in records { prepared.append(try withPatient(record)) }
        let key = self.key.symmetric
        let genesis = identity.genesis(key: self.key)
        let stamp = Self.format(time)
        let written: [AuditEntry]
        do {
            written = try database.writeWithoutTransaction { db -> [AuditEntry] in
                if durability == .deferred { try db.execute(sql: "PRAGMA synchronous = NORMAL") }
                defer { if durability == .deferred { try? db.execute(sql: "PRAGMA synchronous = FULL") } }
                var inserted: [AuditEntry] = []
                try db.inTransaction {
                    inserted = try Self.insert(prepared, key: key, genesis: genesis, stamp: stamp, into: db)
                    return .commit
                }
                return inserted
            }
        } catch {
            throw .storage("an audit row could not be written: \(error)")
        }
        deferredRows.withLock { $0 = durability == .deferred }
        if let last = written.last { unsealed.withLock { $0 = (last.sequence, last.hash) } }
        if sealFirstAppend.withLock({ let due = $0; $0 = false; return due }) { try sealHead() }
        return written
    }

    /// The rows of one append, chained and MAC'd, inside its transaction.
    private static func insert(_ prepared: [AuditRecord], key: SymmetricKey, genesis: String, stamp: String,
                               into db: Database) throws -> [AuditEntry] {
        do {
            do {
                let last = try Row.fetchOne(db, sql: "SELECT sequence, hash FROM audit_entry ORDER BY sequence DESC LIMIT 1")
                var previousHash: String = last?["hash"] ?? genesis
                var sequence: Int64 = last?["sequence"] ?? 0
                var canonical: [UInt8] = []
                var entries: [AuditEntry] = []
                let encoder = JSONEncoder()
                encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
                for record in prepared {
                    sequence += 1
                    var entry = AuditEntry(
                        sequence: sequence, time: stamp, operatorName: record.operatorName,
                        secondOperator: record.secondOperator, pumpSerial: record.pumpSerial, command: record.command,
                        phase: record.phase, commandID: record.commandID, parameters: record.parameters,
                        outcome: record.outcome, overrides: record.overrides, previousHash: previousHash, hash: "")
                    let stored = AuditChain.StoredRow(
                        sequence: sequence, time: entry.time, operatorName: entry.operatorName,
                        secondOperator: entry.secondOperator, pumpSerial: entry.pumpSerial, command: entry.command,
                        phase: entry.phase.rawValue, commandID: entry.commandID,
                        parameters: Self.json(entry.parameters, encoder), outcome: entry.outcome,
                        overrides: Self.json(entry.overrides, encoder), previousMAC: previousHash)
                    AuditChain.canonical(stored, into: &canonical)
                    entry.hash = AuditChain.mac(of: canonical, key: key)
                    try db.execute(
                        sql: """
                            INSERT INTO audit_entry (sequence, time, operator, second_operator, pump_serial, command,
                                phase, command_id, parameters, outcome, overrides, previous_hash, hash)
                            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                            """,
                        arguments: [
                            stored.sequence, stored.time, stored.operatorName, stored.secondOperator, stored.pumpSerial,
                            stored.command, stored.phase, stored.commandID, stored.parameters,
                            stored.outcome, stored.overrides, stored.previousMAC, entry.hash,
                        ])
                    previousHash = entry.hash
                    entries.append(entry)
                }
                return entries
            }
        }
    }

    /// The record with its pump's patient on it (see `append`).
    private func withPatient(_ record: AuditRecord) throws(AuditError) -> AuditRecord {
        var record = record
        if let serial = record.pumpSerial {
            let patient: PatientRecord?
            do { patient = try patients.record(forPump: serial) } catch {
                // A record that cannot be trusted (another user can write it,
                // a link, damaged) stops a change, which must name its
                // patient. It never stops a read or a stop: an emergency stop
                // must not wait on a file's mode. Those rows say the record
                // was unusable, and why, instead of naming a patient.
                if let kind = CommandKind(rawValue: record.command), kind != .stop { throw .storage(error.description) }
                record.parameters["patient_record"] = "unusable"
                record.parameters["patient_record_problem"] = String(error.description.prefix(300))
                return record
            }
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
        return record
    }

    /// Writes the head for the newest row this object appended, once per
    /// command rather than per row. A crash before it leaves the head
    /// behind the log, never ahead: `verify()` reports the rows after it
    /// as unsealed (still MAC-chained), not as tampering.
    public func sealHead() throws(AuditError) {
        guard let pending = unsealed.withLock({ $0 }) else { return }
        // The head must never name a row a power loss could take back.
        try syncRows()
        let headMAC = AuditChain.headMAC(sequence: pending.sequence, rowMAC: pending.mac, key: key)
        do {
            try AtomicFile.write(Array("2 \(pending.sequence) \(pending.mac) \(headMAC)\n".utf8), to: headPath)
        } catch {
            throw .storage("the audit head could not be written: \(error.description)")
        }
        unsealed.withLock { if $0?.sequence == pending.sequence { $0 = nil } }
    }

    /// Makes every row appended so far survive a power loss: rows appended
    /// deferred are synced (a checkpoint syncs the log); nothing to do when
    /// the newest append was immediate. Before a head is written, and
    /// before the pump is given an anchor (a pump must never witness rows a
    /// power cut could take back: the log would then read as cut).
    public func syncRows() throws(AuditError) {
        guard deferredRows.withLock({ $0 }) else { return }
        do {
            try database.writeWithoutTransaction { db in try db.execute(sql: "PRAGMA wal_checkpoint(PASSIVE)") }
        } catch {
            throw .storage("the audit log could not be synced: \(error)")
        }
        deferredRows.withLock { $0 = false }
    }

    /// The anchor the pump is to keep for this log: its row count and the
    /// MAC of its last row. Nil for an empty log.
    public func anchor() throws(AuditError) -> AuditAnchor? {
        do {
            return try database.read { db -> AuditAnchor? in
                guard let last = try Row.fetchOne(db, sql: "SELECT sequence, hash FROM audit_entry ORDER BY sequence DESC LIMIT 1"),
                      let mac = AuditChain.bytes(ofHex: last["hash"]) else { return nil }
                let sequence: Int64 = last["sequence"]
                return sequence > 0 ? AuditAnchor(logID: self.logID, rowCount: UInt64(sequence), rowMAC: mac) : nil
            }
        } catch {
            throw .storage("the audit log could not be read: \(error)")
        }
    }

    /// Every row in order.
    public func entries() throws(AuditError) -> [AuditEntry] {
        try fetch("SELECT * FROM audit_entry ORDER BY sequence", arguments: [])
    }

    /// Rows with a command id, in order: used to find what became of one.
    public func entries(commandID: String) throws(AuditError) -> [AuditEntry] {
        try fetch("SELECT * FROM audit_entry WHERE command_id = ? ORDER BY sequence", arguments: [commandID])
    }

    /// One pump's rows of the given commands, in order: what review reads
    /// (commits, refills, boluses), through an index, so its cost follows
    /// that pump's history rather than the whole log's.
    public func entries(pumpSerial: String, commands: [String]) throws(AuditError) -> [AuditEntry] {
        guard !commands.isEmpty else { return [] }
        let marks = Array(repeating: "?", count: commands.count).joined(separator: ", ")
        var arguments: [any DatabaseValueConvertible] = [pumpSerial]
        arguments += commands
        return try fetch(
            "SELECT * FROM audit_entry WHERE pump_serial = ? AND command IN (\(marks)) ORDER BY sequence",
            arguments: StatementArguments(arguments))
    }

    private func fetch(_ sql: String, arguments: StatementArguments) throws(AuditError) -> [AuditEntry] {
        do {
            return try database.read { db in
                let decoder = JSONDecoder()
                return try Row.fetchAll(db, sql: sql, arguments: arguments).map { try Self.entry(from: $0, decoder: decoder) }
            }
        } catch let error as AuditError {
            throw error
        } catch {
            throw .storage("the audit log could not be read: \(error)")
        }
    }

    /// Checks, in one pass, every row's MAC and its place in the chain, the
    /// head, and the anchors the pump holds when given (`--pump`).
    ///
    /// `witnessedAsOf` is the row count before the anchors were read: the
    /// rows of the session that read them (`audit verify --pump`, which
    /// anchors nothing) are not counted as unwitnessed.
    ///
    /// `pumpCommands`: the command ids of the pump's own record (the
    /// interrogate report's); each one this log made (`isOwnCommand`) must
    /// have its rows in the log.
    public func verify(anchors: [AuditAnchor]? = nil, witnessedAsOf: UInt64? = nil,
                       pumpCommands: [CommandID] = []) throws(AuditError) -> AuditVerification {
        var problems: [AuditVerification.Problem] = []
        var count = 0
        var lastSequence: Int64 = 0
        var macs: [Int64: String] = [:]
        var anchored: [Int64: [UInt8]] = [:]
        // Only this log's anchors are judged: another laptop's log anchors
        // the same pump under its own id and is counted, never compared.
        // Another log made with this audit key (the key copied, or this log
        // started afresh over an earlier one) is not compared either, and
        // is reported by name (`sameKeyOtherLogs`): never passed over.
        let own = logID
        var otherLogs = 0
        var ownNewest: Int?
        var sameKeyAnchors: [(index: Int, anchor: AuditAnchor)] = []
        for (index, anchor) in (anchors ?? []).enumerated()
        where anchor.rowCount > 0 && anchor.rowCount <= UInt64(Int64.max) {
            if anchor.logID == own {
                if ownNewest == nil { ownNewest = index }
                anchored[Int64(anchor.rowCount)] = anchor.rowMAC
            } else if isSameKeyOtherLog(anchor.logID) {
                sameKeyAnchors.append((index, anchor))
            } else {
                otherLogs += 1
            }
        }
        var sameKey: [AuditVerification.SameKeyLog] = []
        for (index, anchor) in sameKeyAnchors where !sameKey.contains(where: { $0.logID == AuditChain.hex(anchor.logID) }) {
            // The pump reports its anchors newest first: one before this
            // log's newest was recorded after it (or this log has none).
            sameKey.append(.init(logID: AuditChain.hex(anchor.logID), rowCount: anchor.rowCount,
                                 anchorNewer: ownNewest.map { index < $0 } ?? true, commands: []))
        }
        let head = readHead()
        let key = self.key.symmetric
        let genesis = identity.genesis(key: self.key)
        do {
            try database.read { db in
                var canonical: [UInt8] = []
                canonical.reserveCapacity(1024)
                var previousMAC = genesis
                var expectedSequence: Int64 = 1
                let rows = try Row.fetchCursor(db, sql: """
                    SELECT \(AuditChain.StoredRow.selectedColumns) FROM audit_entry ORDER BY sequence
                    """)
                while let row = try rows.next() {
                    let stored = AuditChain.StoredRow(row: row)
                    let mac: String = row[12]
                    count += 1
                    if stored.sequence != expectedSequence {
                        problems.append(.init(sequence: stored.sequence, kind: .rowMissing,
                                              problem: "row \(expectedSequence) is missing before row \(stored.sequence) (deleted or renumbered rows)"))
                    }
                    if !AuditChain.same(stored.previousMAC, previousMAC) {
                        problems.append(.init(sequence: stored.sequence, kind: .chainBroken,
                                              problem: stored.sequence == 1
                                                ? "does not follow from this log's nonce (the log nonce or the first row was changed, or rows of another log were put in)"
                                                : "does not follow the row before it (deleted, renumbered or reordered rows)"))
                    }
                    AuditChain.canonical(stored, into: &canonical)
                    if !AuditChain.same(AuditChain.mac(of: canonical, key: key), mac) {
                        problems.append(.init(sequence: stored.sequence, kind: .rowChanged,
                                              problem: "its MAC does not match: changed after it was written, or written without this audit key"))
                    }
                    if let expected = anchored[stored.sequence], !AuditChain.same(AuditChain.hex(expected), mac) {
                        problems.append(.init(sequence: stored.sequence, kind: .anchorMismatch,
                                              problem: "differs from the row the pump anchored at \(stored.sequence) rows (the log was rebuilt or replaced)"))
                    }
                    if head?.sequence == stored.sequence { macs[stored.sequence] = mac }
                    previousMAC = mac
                    expectedSequence = stored.sequence &+ 1
                    lastSequence = stored.sequence
                }
            }
        } catch {
            throw .storage("the audit log could not be read: \(error)")
        }
        for (rowCount, _) in anchored where rowCount > lastSequence {
            problems.append(.init(sequence: rowCount, kind: .anchorBeyondLog,
                                  problem: "the pump anchored \(rowCount) rows but the log has \(count) (rows were removed, or the log was replaced)"))
        }
        var unsealedRows = 0
        switch head {
        case nil where AtomicFile.exists(headPath):
            problems.append(.init(sequence: nil, kind: .headForged, problem: "\(Self.headName) is unreadable, malformed or not written under this audit key"))
        case nil:
            if count > 0 { problems.append(.init(sequence: nil, kind: .headMissing, problem: "\(Self.headName) is missing")) }
        case let head?:
            if head.sequence > lastSequence {
                problems.append(.init(sequence: head.sequence, kind: .tailCut,
                                      problem: "the log ends before row \(head.sequence) named by \(Self.headName) (rows were removed from the end)"))
            } else if let mac = macs[head.sequence], !AuditChain.same(mac, head.mac) {
                problems.append(.init(sequence: head.sequence, kind: .headMismatch,
                                      problem: "differs from the MAC \(Self.headName) recorded for it"))
            } else {
                unsealedRows = Int(clamping: lastSequence - head.sequence)
            }
        }
        for id in pumpCommands where !isOwnCommand(id) {
            attribute(id, toSameKeyLogs: &sameKey)
        }
        for id in pumpCommands where isOwnCommand(id) {
            let rows: [AuditEntry]
            do { rows = try entries(commandID: id.description) } catch {
                throw .storage("the audit log could not be read: \(error)")
            }
            if rows.isEmpty {
                problems.append(.init(sequence: nil, kind: .commandMissing,
                                      problem: "the pump carried out command \(id) from this log, which the log no longer has (rows were removed, or an older head was put back)"))
            }
        }
        // Rows the pump has not witnessed: after this log's newest anchor
        // (all of them when the pump holds none of this log's).
        let newestAnchored = anchored.keys.max() ?? 0
        let judged = min(lastSequence, witnessedAsOf.map { Int64(clamping: $0) } ?? lastSequence)
        let unwitnessed = anchors.map { _ in Int(clamping: max(0, judged - newestAnchored)) }
        return AuditVerification(entries: count, problems: problems.sorted { ($0.sequence ?? 0) < ($1.sequence ?? 0) },
                                 unsealedRows: unsealedRows, anchorsChecked: anchors.map { _ in anchored.count },
                                 unwitnessedRows: unwitnessed, otherLogsAnchors: anchors.map { _ in otherLogs },
                                 sameKeyOtherLogs: anchors == nil && sameKey.isEmpty ? nil : sameKey,
                                 logID: AuditChain.hex(own))
    }

    /// Whether `id` names another log made with this audit key: a version 2
    /// id whose tag verifies under the key, or the key's version 1 id when
    /// this log is a version 2 one.
    func isSameKeyOtherLog(_ id: [UInt8]) -> Bool {
        guard id != logID else { return false }
        return id == AuditLogIdentity.logIDv1(key: key) || AuditLogIdentity.nonce(ofLogID: id, key: key) != nil
    }

    /// Lists a command of the pump's record under the same-key log that
    /// made it: one whose anchor the pump holds, or the key's version 1 log
    /// (whose id needs no anchor to be known). A command of a same-key log
    /// the pump holds no anchor of cannot be told from another key's.
    private func attribute(_ id: CommandID, toSameKeyLogs logs: inout [AuditVerification.SameKeyLog]) {
        for index in logs.indices {
            guard let logID = AuditChain.bytes(ofHex: logs[index].logID, count: RecordAuditAnchor.logIDLength),
                  AuditLogIdentity.isCommand(id, of: logID, key: key) else { continue }
            if !logs[index].commands.contains(id.description) { logs[index].commands.append(id.description) }
            return
        }
        let version1 = AuditLogIdentity.logIDv1(key: key)
        guard version1 != logID, AuditLogIdentity.isCommand(id, of: version1, key: key) else { return }
        logs.append(.init(logID: AuditChain.hex(version1), rowCount: nil, anchorNewer: nil, commands: [id.description]))
    }

    /// A fresh command id this log can later recognise as its own: 8 random
    /// bytes, then an 8-byte tag under the audit key that names this log
    /// (`AuditLogIdentity.commandTag`: for a log made before the nonce, as
    /// it always was). The pump treats it as any 16 bytes; a host with the
    /// key can tell, from the pump's own command record, that a command it
    /// sent is missing from its log (rows cut, or an old head copied back
    /// over a shortened log), which no anchor shows when the close that
    /// carried it was lost, and that a command was another same-key log's.
    public func taggedCommandID() -> CommandID {
        let own = logID
        while true {
            var generator = SystemRandomNumberGenerator()
            let random = (0..<8).map { _ in UInt8.random(in: .min ... .max, using: &generator) }
            if let id = CommandID(bytes: random + AuditLogIdentity.commandTag(random: random, logID: own, key: key)) {
                return id
            }
        }
    }

    /// Whether `id` was made by `taggedCommandID()` of this log.
    public func isOwnCommand(_ id: CommandID) -> Bool {
        AuditLogIdentity.isCommand(id, of: logID, key: key)
    }

    /// Which log this is, for the pump's anchors (`AuditLogIdentity`): for
    /// a log made before the nonce, the first 16 bytes of
    /// HMAC-SHA256(audit key, "PumpWand audit log id v1"); since, its nonce
    /// (8) and the first 8 bytes of HMAC-SHA256(audit key, "PumpWand audit
    /// log id v2" || nonce). It names the log (so each laptop's anchors are
    /// its own, even under one copied key) without revealing the key.
    public var logID: [UInt8] {
        identity.logID(key: key)
    }

    /// The writer's `PRAGMA synchronous` (2 is FULL), for the tests.
    func writerSynchronous() throws -> Int {
        try database.writeWithoutTransaction { db in try Int.fetchOne(db, sql: "PRAGMA synchronous") ?? -1 }
    }

    /// The MAC `entry` would carry under this log's key, with the
    /// previous MAC it names: what a forger without the key cannot compute.
    func mac(of entry: AuditEntry) -> String {
        let stored = AuditChain.StoredRow(
            sequence: entry.sequence, time: entry.time, operatorName: entry.operatorName,
            secondOperator: entry.secondOperator, pumpSerial: entry.pumpSerial, command: entry.command,
            phase: entry.phase.rawValue, commandID: entry.commandID, parameters: Self.json(entry.parameters),
            outcome: entry.outcome, overrides: Self.json(entry.overrides), previousMAC: entry.previousHash)
        var canonical: [UInt8] = []
        AuditChain.canonical(stored, into: &canonical)
        return AuditChain.mac(of: canonical, key: key.symmetric)
    }

    /// The head, when it is there, well formed and MAC'd under this key.
    func readHead() -> (sequence: Int64, mac: String)? {
        guard let bytes = try? AtomicFile.read(headPath, limit: 512) else { return nil }
        let fields = String(decoding: bytes, as: UTF8.self).split(whereSeparator: \.isWhitespace)
        guard fields.count == 4, fields[0] == "2", let sequence = Int64(fields[1]), sequence > 0 else { return nil }
        let mac = String(fields[2])
        guard AuditChain.same(AuditChain.headMAC(sequence: sequence, rowMAC: mac, key: key), String(fields[3])) else { return nil }
        return (sequence, mac)
    }

    private static func entry(from row: Row, decoder: JSONDecoder) throws -> AuditEntry {
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

    private static func json<T: Encodable>(_ value: T, _ encoder: JSONEncoder? = nil) -> String {
        let encoder = encoder ?? {
            let made = JSONEncoder()
            made.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
            return made
        }()
        return (try? encoder.encode(value)).map { String(decoding: $0, as: UTF8.self) } ?? "null"
    }

    static func format(_ date: Date) -> String {
        date.formatted(Date.ISO8601FormatStyle(includingFractionalSeconds: true, timeZone: .gmt))
    }
}

/// The audit log could not do its job. Commands that must be audited stop
/// before sending anything when this is thrown.
public enum AuditError: Error, Equatable, Sendable, CustomStringConvertible {
    case storage(String)
    case simulatedRecordOnRealPump(serial: String)
    /// The audit key is missing where it cannot be made, unsafe or malformed.
    case key(AuditKeyError)
    /// The log does not agree with its head (`checkBeforeWriting()`): cut,
    /// re-headed, its head deleted or garbled, or damaged. It is not
    /// written to, so the damage stays visible to `pumpctl audit verify`.
    case tampered(kind: AuditVerification.Kind, detail: String)

    public var description: String {
        switch self {
        case let .simulatedRecordOnRealPump(serial):
            return "REFUSED: the patient record of pump \(serial) is a SIMULATED training record (set with --simulator), and this is not a simulated session. Set the patient's record with pumpctl patient set (without --simulator) first. Nothing was sent to the pump."
        case let .key(error):
            return "Audit log failure: \(error.description). No command was sent; fix the configuration directory and try again."
        case let .tampered(_, detail):
            return "AUDIT LOG TAMPERED or damaged: \(detail). Nothing was sent to the pump and the log was not written to. Run pumpctl audit verify, and keep the state directory and the configuration directory's audit.key unchanged for an investigation. To start a new log deliberately, move the state directory aside (keeping it), then run the command again."
        case let .storage(detail):
            return "Audit log failure: \(detail). No command was sent; fix the state directory and try again."
        }
    }
}
