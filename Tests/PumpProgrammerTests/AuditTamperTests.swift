import Foundation
import GRDB
import Glibc
import StateFiles
import SystemPackage
import Testing
import TestSupport
import WandProtocol
@testable import PumpProgrammer

/// The attacks of the outside review on the audit trail, each one now
/// caught: the rows are MAC'd under a key outside the state directory, the
/// head is MAC'd, and the pump's anchors catch what a holder of the key
/// could still rebuild.
@Suite struct AuditTamperTests {
    /// Removed when the test ends.
    let temporary = TemporaryDirectory.make(prefix: "pumpwand-test")
    var directory: StateDirectory { temporary.state }
    let key = try! AuditKey(bytes: Array(0..<32))
    /// Someone holding the state directory but not the audit key.
    let forgerKey = try! AuditKey(bytes: Array(repeating: 0x5A, count: 32))

    func record(_ command: String, dose: String = "50mcg") -> AuditRecord {
        AuditRecord(operatorName: "nurse.a", pumpSerial: "RP20-000001", command: command, phase: .intent,
                    commandID: "00000000000000aa", parameters: ["dose": dose])
    }

    func filled(_ count: Int) throws -> AuditLog {
        let log = try AuditLog(directory: directory, key: key)
        for index in 1...count { try log.append(record("bolus", dose: "\(index)mcg")) }
        try log.sealHead()
        return log
    }

    func raw() throws -> DatabaseQueue {
        try DatabaseQueue(path: directory.file(AuditLog.databaseName).string)
    }

    func tamper(_ sql: String) throws {
        try raw().write { db in
            try db.execute(sql: "DROP TRIGGER audit_entry_no_update; DROP TRIGGER audit_entry_no_delete")
            try db.execute(sql: sql)
        }
    }

    /// Puts `nonce` into a new, empty log, as one rebuilding an old log under its old id would.
    func tamperNonce(_ nonce: String?) throws {
        try raw().write { db in
            try db.execute(sql: "DROP TRIGGER audit_log_nonce_no_update")
            try db.execute(sql: "UPDATE audit_log_nonce SET nonce = ?", arguments: [nonce])
        }
    }

    /// Removes the log and its head as one would to start over.
    func removeLogAndHead() {
        for name in [AuditLog.databaseName, AuditLog.databaseName + "-wal", AuditLog.databaseName + "-shm", AuditLog.headName] {
            unlink(directory.file(name).string)
        }
    }

    @Test func editedRowsWithARebuiltChainAndHeadFailWithoutTheKey() throws {
        let log = try filled(3)
        // The forger rebuilds the whole log, with the dose of row 2 changed,
        // chain and head computed the only way they can: under another key.
        let honest = try log.entries()
        removeLogAndHead()
        let forged = try AuditLog(directory: directory, key: forgerKey)
        for entry in honest {
            try forged.append(record("bolus", dose: entry.sequence == 2 ? "500mcg" : entry.parameters["dose"] ?? ""))
        }
        try forged.sealHead()
        #expect(try forged.verify().intact, "the forger's own view is consistent")
        let verification = try AuditLog(directory: directory, key: key).verify()
        #expect(!verification.intact)
        #expect(verification.problems.filter { $0.kind == .rowChanged }.map(\.sequence) == [1, 2, 3])
        #expect(verification.problems.contains { $0.kind == .headForged })
    }

    @Test func aMiddleRowDeletedAndTheRestRenumberedIsDetected() throws {
        _ = try filled(4)
        try tamper("""
            DELETE FROM audit_entry WHERE sequence = 2;
            UPDATE audit_entry SET sequence = sequence - 1 WHERE sequence > 2;
            """)
        let verification = try AuditLog(directory: directory, key: key).verify()
        #expect(!verification.intact)
        // The sequence number is under each row's MAC, so renumbered rows
        // no longer verify, and row 2 (was 3) does not follow row 1.
        #expect(verification.problems.contains { $0.kind == .rowChanged && $0.sequence == 2 })
        #expect(verification.problems.contains { $0.kind == .rowChanged && $0.sequence == 3 })
        #expect(verification.problems.contains { $0.kind == .chainBroken && $0.sequence == 2 })
        #expect(verification.problems.contains { $0.kind == .tailCut && $0.sequence == 4 })
    }

    @Test func aCutTailWithARewrittenHeadIsDetected() throws {
        let log = try filled(3)
        let second = try #require(try log.entries().first { $0.sequence == 2 })
        try tamper("DELETE FROM audit_entry WHERE sequence = 3")
        // A head naming row 2, in the new format, MAC'd under the forger's key.
        let forgedMAC = AuditChain.headMAC(sequence: 2, rowMAC: second.hash, key: forgerKey)
        try AtomicFile.write(Array("2 2 \(second.hash) \(forgedMAC)\n".utf8), to: directory.file(AuditLog.headName))
        let verification = try AuditLog(directory: directory, key: key).verify()
        #expect(verification.problems.map(\.kind) == [.headForged])
        // The old head format (no MAC of its own) is refused the same way.
        try AtomicFile.write(Array("2 \(second.hash)\n".utf8), to: directory.file(AuditLog.headName))
        #expect(try AuditLog(directory: directory, key: key).verify().problems.map(\.kind) == [.headForged])
    }

    @Test func aCutTailWithAHeadRewrittenUnderTheKeyIsCaughtByThePumpsAnchor() throws {
        let log = try filled(3)
        let anchor = try #require(try log.anchor())
        #expect(anchor.rowCount == 3)
        let second = try #require(try log.entries().first { $0.sequence == 2 })
        try tamper("DELETE FROM audit_entry WHERE sequence = 3")
        // Even holding the key, the head can be made to agree...
        let headMAC = AuditChain.headMAC(sequence: 2, rowMAC: second.hash, key: key)
        try AtomicFile.write(Array("2 2 \(second.hash) \(headMAC)\n".utf8), to: directory.file(AuditLog.headName))
        let reopened = try AuditLog(directory: directory, key: key)
        #expect(try reopened.verify().intact)
        // ...but not with what the pump witnessed.
        let verification = try reopened.verify(anchors: [anchor])
        #expect(verification.problems.map(\.kind) == [.anchorBeyondLog])
        #expect(verification.anchorsChecked == 1)
    }

    @Test func aDeletedAndRecreatedLogAndHeadAreCaughtByThePumpsAnchors() throws {
        let original = try filled(4)
        let anchors = [try #require(try original.anchor())]
        let nonce = try raw().read { db in try String.fetchOne(db, sql: "SELECT nonce FROM audit_log_nonce") }
        removeLogAndHead()
        // Recreated with fewer rows, under the same key: a new log (a new
        // nonce), and the old log's anchor is named as another log of this
        // key, ahead of this one (AuditLogNonceTests).
        let shorter = try AuditLog(directory: directory, key: key)
        try shorter.append(record("bolus"))
        try shorter.sealHead()
        #expect(try shorter.verify().intact)
        let replaced = try shorter.verify(anchors: anchors)
        #expect(replaced.problems.isEmpty && replaced.verdict == .sameKeyOtherLogs)
        #expect(replaced.sameKeyOtherLogs?.map(\.rowCount) == [4])
        // Recreated with the old log's nonce put back (the old log id), under
        // the key, with fewer rows: the anchor is beyond it.
        removeLogAndHead()
        _ = try AuditLog(directory: directory, key: key)
        try tamperNonce(nonce)
        let renamed = try AuditLog(directory: directory, key: key)
        try renamed.append(record("bolus"))
        try renamed.sealHead()
        #expect(renamed.logID == original.logID)
        #expect(try renamed.verify(anchors: anchors).problems.map(\.kind) == [.anchorBeyondLog])
        // And with as many rows: the row at the anchored count differs.
        removeLogAndHead()
        _ = try AuditLog(directory: directory, key: key)
        try tamperNonce(nonce)
        let rebuilt = try AuditLog(directory: directory, key: key)
        for index in 1...4 { try rebuilt.append(record("bolus", dose: "\(index)mcg"), at: Date(timeIntervalSince1970: 1)) }
        try rebuilt.sealHead()
        #expect(try rebuilt.verify().intact)
        let verification = try rebuilt.verify(anchors: anchors)
        #expect(verification.problems.map(\.kind) == [.anchorMismatch])
        #expect(verification.problems.first?.sequence == 4)
    }

    @Test func theLogVerifiesAgainstItsOwnAnchors() throws {
        let log = try filled(2)
        let first = try #require(try log.anchor())
        try log.append(record("stop"))
        try log.sealHead()
        let second = try #require(try log.anchor())
        let verification = try log.verify(anchors: [second, first])
        #expect(verification.intact, "\(verification.problems)")
        #expect(verification.anchorsChecked == 2)
    }

    @Test func rowsUnderAnotherKeyDoNotVerify() throws {
        _ = try filled(2)
        let verification = try AuditLog(directory: directory, key: forgerKey).verify()
        #expect(verification.problems.filter { $0.kind == .rowChanged }.count == 2)
    }

    @Test func theHeadIsWrittenOncePerCommandNotPerRow() throws {
        // A new log's first row is sealed at once (a crash must leave a
        // head to chain from); after that, once per command.
        let log = try filled(1)
        for index in 2...6 { try log.append(record("bolus", dose: "\(index)mcg")) }
        let before = String(decoding: try AtomicFile.read(directory.file(AuditLog.headName), limit: 512), as: UTF8.self)
        #expect(before.hasPrefix("2 1 "), "no head write per row")
        try log.sealHead()
        let head = String(decoding: try AtomicFile.read(directory.file(AuditLog.headName), limit: 512), as: UTF8.self)
        #expect(head.hasPrefix("2 6 "))
        #expect(try log.verify().intact)
    }

    /// Each row is durable when its append returns (an intent row before
    /// its command leaves): GRDB's WAL set-up had left synchronous NORMAL.
    @Test func everyCommitIsSyncedFull() throws {
        let log = try AuditLog(directory: directory, key: key)
        try log.append(record("bolus"))
        #expect(try log.writerSynchronous() == 2)
    }

    /// A deferred row (a read, an outcome) is committed without its own
    /// fsync, and the writer goes back to FULL at once, so the next intent
    /// row is synced, and syncs the deferred rows before it with it.
    @Test func aDeferredRowLeavesTheWriterSyncingFull() throws {
        let log = try AuditLog(directory: directory, key: key)
        try log.append([record("interrogate")], durability: .deferred)
        #expect(try log.writerSynchronous() == 2)
        try log.append(record("bolus"))
        #expect(try log.entries().map(\.command) == ["interrogate", "bolus"])
    }

    /// The head never names a row a power loss could take back: after
    /// deferred rows, sealing syncs the log first, and the sealed log
    /// verifies with every row.
    @Test func theHeadAfterDeferredRowsSealsThemAll() throws {
        let log = try AuditLog(directory: directory, key: key)
        try log.append(record("bolus"))
        try log.append([record("interrogate"), record("interrogate")], durability: .deferred)
        try log.sealHead()
        let reopened = try AuditLog(directory: directory, key: key)
        let verification = try reopened.verify()
        #expect(verification.intact, "\(verification.problems)")
        #expect(verification.unsealedRows == 0)
        #expect(try reopened.entries().count == 3)
    }

    @Test func reviewReadsOnlyOnePumpsRowsThroughAnIndex() throws {
        let log = try AuditLog(directory: directory, key: key)
        try log.append(record("commit"))
        try log.append(AuditRecord(operatorName: "nurse.a", pumpSerial: "RP20-000002", command: "commit", phase: .intent))
        try log.append(record("interrogate"))
        try log.append(record("refill-complete"))
        let rows = try log.entries(pumpSerial: "RP20-000001", commands: ["commit", "refill-complete"])
        #expect(rows.map(\.sequence) == [1, 4])
        let plan = try raw().read { db in
            try Row.fetchAll(db, sql: """
                EXPLAIN QUERY PLAN SELECT * FROM audit_entry WHERE pump_serial = ? AND command IN (?, ?) ORDER BY sequence
                """, arguments: ["RP20-000001", "commit", "refill-complete"]).map { ($0["detail"] as String?) ?? "" }
        }
        #expect(plan.joined().contains("audit_entry_pump_command"), "\(plan)")
        #expect(try log.entries(commandID: "00000000000000aa").map(\.sequence) == [1, 3, 4])
    }
}

/// The audit key: made 0600 on first use in the configuration directory,
/// and refused, never used or replaced, when it is not safely the user's.
@Suite struct AuditKeyFileTests {
    /// Removed when the test ends.
    let temporary = TemporaryDirectory.make(prefix: "pumpwand-test")
    var folder: StateDirectory { temporary.state }
    var config: StateDirectory { StateDirectory(path: folder.path.appending("config")) }

    @Test func aMissingKeyIsCreated0600AndReadBackTheSame() throws {
        let first = try AuditKey.loadOrCreate(in: config)
        let path = config.file(AuditKey.fileName)
        var info = stat()
        #expect(lstat(path.string, &info) == 0)
        #expect(info.st_mode & 0o777 == 0o600)
        #expect(info.st_size == 32)
        var folderInfo = stat()
        #expect(stat(config.path.string, &folderInfo) == 0)
        #expect(folderInfo.st_mode & 0o777 == 0o700)
        let second = try AuditKey.loadOrCreate(in: config)
        #expect(AuditChain.headMAC(sequence: 1, rowMAC: "x", key: first) == AuditChain.headMAC(sequence: 1, rowMAC: "x", key: second))
    }

    @Test func aSymbolicLinkKeyIsRefused() throws {
        try config.create()
        let elsewhere = folder.file("elsewhere.key")
        try AtomicFile.write(Array(repeating: 7, count: 32), to: elsewhere)
        let path = config.file(AuditKey.fileName)
        #expect(symlink(elsewhere.string, path.string) == 0)
        #expect(throws: AuditKeyError.unusable(.notRegularFile(path: path.string, kind: .symbolicLink))) {
            _ = try AuditKey.loadOrCreate(in: config)
        }
        #expect(AtomicFile.kind(of: path) == .symbolicLink, "the link is left, not replaced")
    }

    @Test func aGroupReadableKeyIsRefused() throws {
        _ = try AuditKey.loadOrCreate(in: config)
        let path = config.file(AuditKey.fileName)
        #expect(chmod(path.string, 0o640) == 0)
        #expect(throws: AuditKeyError.unusable(.unsafePermissions(path: path.string, mode: 0o640))) {
            _ = try AuditKey.loadOrCreate(in: config)
        }
    }

    @Test func aKeyOfTheWrongSizeIsRefused() throws {
        try config.create()
        let path = config.file(AuditKey.fileName)
        try AtomicFile.write(Array(repeating: 1, count: 16), to: path)
        #expect(throws: AuditKeyError.malformed(path: path.string, size: 16)) { _ = try AuditKey.loadOrCreate(in: config) }
    }

    @Test func aWorldWritableConfigurationDirectoryIsRefused() throws {
        try config.create()
        #expect(chmod(config.path.string, 0o777) == 0)
        let unsafe = StateFileError.unsafeDirectory(path: config.path.string, problem: .writableByOthers(mode: 0o777))
        #expect(throws: AuditKeyError.unusable(unsafe)) { _ = try AuditKey.loadOrCreate(in: config) }
    }

    @Test func theEnvironmentNamesTheFolder() throws {
        let explicit = ConfigurationDirectory.resolve(environment: ["PUMPWAND_CONFIG_DIR": "/x/y", "XDG_CONFIG_HOME": "/c", "HOME": "/h"])
        #expect(explicit?.path == FilePath("/x/y"))
        #expect(ConfigurationDirectory.resolve(environment: ["XDG_CONFIG_HOME": "/c", "HOME": "/h"])?.path == FilePath("/c/pumpwand"))
        #expect(ConfigurationDirectory.resolve(environment: ["HOME": "/h"])?.path == FilePath("/h/.config/pumpwand"))
        #expect(ConfigurationDirectory.resolve(environment: ["HOME": "relative"]) == nil)
        #expect(throws: AuditKeyError.noConfigurationDirectory) { _ = try AuditKey.resolve(environment: [:]) }
    }

    @Test func anUnsafeKeyNamedByTheEnvironmentIsRefused() throws {
        _ = try AuditKey.loadOrCreate(in: config)
        let path = config.file(AuditKey.fileName)
        #expect(chmod(path.string, 0o644) == 0)
        #expect(throws: AuditKeyError.unusable(.unsafePermissions(path: path.string, mode: 0o644))) {
            _ = try AuditKey.resolve(environment: ["PUMPWAND_CONFIG_DIR": config.path.string])
        }
        // As the audit log says it: a typed case of its own, not a storage text.
        #expect(AuditError.key(.unusable(.unsafePermissions(path: path.string, mode: 0o644))).description
            .contains("No command was sent"))
    }
}

/// Several laptops' logs anchor the same pump: each log judges only its own
/// anchor (by log id), counts the others, and says which of its rows the
/// pump has not witnessed yet, none of which is tampering.
@Suite struct AuditLogIdentityTests {
    func record(_ command: String) -> AuditRecord {
        AuditRecord(operatorName: "nurse.a", pumpSerial: "RP20-000001", command: command, phase: .intent,
                    commandID: "00000000000000aa", parameters: [:])
    }

    @Test func theLogIdIsTheWorkedExamples() throws {
        // A log made before the log nonce: PROTOCOL.md 10.10's log id,
        // computed by scripts/protocol_examples.py (version 2:
        // AuditLogNonceTests.bothLogIdDerivationsAreTheWorkedExamples).
        let logID = AuditLogIdentity.logIDv1(key: try AuditKey(bytes: Array(0x40..<0x60)))
        let path = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("hardware/PROTOCOL.md").path
        let text = try String(contentsOfFile: path, encoding: .utf8)
        let marker = try #require(text.range(of: "<!-- plaintext example: audit-log-id -->"))
        let open = try #require(text[marker.upperBound...].range(of: "```hex\n"))
        let close = try #require(text[open.upperBound...].range(of: "```"))
        let hex = text[open.upperBound..<close.lowerBound].split(whereSeparator: \.isWhitespace)
        #expect(logID == hex.compactMap { UInt8($0, radix: 16) })
        #expect(hex.count == 16)
    }

    @Test func anotherLaptopsAnchorIsCountedNotJudged() throws {
        let mineFolder = try TemporaryDirectory(prefix: "pumpwand-test")
        defer { mineFolder.remove() }
        let mine = try AuditLog(directory: mineFolder.state, key: try AuditKey(bytes: Array(0..<32)))
        let theirsFolder = try TemporaryDirectory(prefix: "pumpwand-test")
        defer { theirsFolder.remove() }
        let theirs = try AuditLog(directory: theirsFolder.state, key: try AuditKey(bytes: Array(32..<64)))
        for _ in 1...3 { try mine.append(record("bolus")) }
        for _ in 1...5 { try theirs.append(record("bolus")) }
        try mine.sealHead()
        try theirs.sealHead()
        let anchors = [try #require(try theirs.anchor()), try #require(try mine.anchor())]
        #expect(mine.logID != theirs.logID)
        let verification = try mine.verify(anchors: anchors)
        // Their 5-row anchor is beyond my 3 rows: judged, it would read as a cut log.
        #expect(verification.intact, "\(verification.problems)")
        #expect(verification.anchorsChecked == 1 && verification.otherLogsAnchors == 1)
        #expect(verification.unwitnessedRows == 0)
    }

    @Test func rowsAfterTheNewestAnchorAreReportedAsNotWitnessed() throws {
        let logFolder = try TemporaryDirectory(prefix: "pumpwand-test")
        defer { logFolder.remove() }
        let log = try AuditLog(directory: logFolder.state, key: try AuditKey(bytes: Array(0..<32)))
        for _ in 1...3 { try log.append(record("bolus")) }
        let anchor = try #require(try log.anchor())
        for _ in 1...2 { try log.append(record("bolus")) }
        try log.sealHead()
        let verification = try log.verify(anchors: [anchor])
        #expect(verification.intact && verification.unwitnessedRows == 2)
        // The rows the reading session itself added are not counted.
        #expect(try log.verify(anchors: [anchor], witnessedAsOf: 4).unwitnessedRows == 1)
        // No anchor of this log at all: every row is unwitnessed.
        #expect(try log.verify(anchors: []).unwitnessedRows == 5)
    }
}

/// The attack that anchors alone miss: the close that carried a visit's
/// anchor lost, the visit's rows removed and an older head put back. The
/// pump's own command record still names the visit's commands, and their
/// ids carry this log's tag.
@Suite struct AuditCommandTagTests {
    func record(_ command: String, id: CommandID) -> AuditRecord {
        AuditRecord(operatorName: "nurse.a", pumpSerial: "RP20-000001", command: command, phase: .intent,
                    commandID: id.description, parameters: [:])
    }

    @Test func aLogKnowsItsOwnCommandIdsAndNoOneElses() throws {
        let mineFolder = try TemporaryDirectory(prefix: "pumpwand-test")
        defer { mineFolder.remove() }
        let mine = try AuditLog(directory: mineFolder.state, key: try AuditKey(bytes: Array(0..<32)))
        let theirsFolder = try TemporaryDirectory(prefix: "pumpwand-test")
        defer { theirsFolder.remove() }
        let theirs = try AuditLog(directory: theirsFolder.state, key: try AuditKey(bytes: Array(32..<64)))
        let id = mine.taggedCommandID()
        #expect(mine.isOwnCommand(id))
        #expect(!theirs.isOwnCommand(id))
        #expect(!mine.isOwnCommand(CommandID.random()))
        #expect(mine.taggedCommandID() != id)
    }

    @Test func aCommandThePumpCarriedOutThatTheLogLacksIsTampering() throws {
        let folder = try TemporaryDirectory(prefix: "pumpwand-test")
        defer { folder.remove() }
        let directory = folder.state
        let log = try AuditLog(directory: directory, key: try AuditKey(bytes: Array(0..<32)))
        let kept = log.taggedCommandID()
        try log.append(record("bolus", id: kept))
        try log.sealHead()
        // The head of a shorter log, as an attacker would copy it back.
        let removed = log.taggedCommandID()
        let foreign = CommandID.random()
        // Verified against the pump's record: the kept command is there,
        // another computer's is not judged, the removed one is caught.
        let intact = try log.verify(anchors: [], pumpCommands: [kept, foreign])
        #expect(intact.intact, "\(intact.problems)")
        let cut = try log.verify(anchors: [], pumpCommands: [kept, removed, foreign])
        #expect(cut.problems.map(\.kind) == [AuditVerification.Kind.commandMissing])
        #expect(cut.problems.first?.problem.contains(removed.description) == true)
    }
}
