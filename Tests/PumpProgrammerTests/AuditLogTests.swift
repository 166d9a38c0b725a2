import Foundation
import GRDB
import Testing
import TestSupport
@testable import PumpProgrammer
@testable import StateFiles

@Suite struct AuditLogTests {
    /// Removed when the test ends.
    let temporary = TemporaryDirectory.make(prefix: "pumpwand-test")
    var directory: StateDirectory { temporary.state }

    func record(_ command: String, phase: AuditPhase = .intent) -> AuditRecord {
        AuditRecord(
            operatorName: "nurse.a", pumpSerial: "RP20-000001", command: command, phase: phase,
            commandID: "00000000000000aa", parameters: ["dose": "50mcg"], outcome: phase == .outcome ? "delivered" : nil,
            overrides: [AuditOverride(code: "dose.above-soft-max", reason: "consultant order")])
    }

    /// Opens the raw database as an attacker or a careless tool would.
    func raw() throws -> DatabaseQueue {
        try DatabaseQueue(path: directory.file(AuditLog.databaseName).string)
    }

    @Test func appendedRowsReadBackInOrderAndVerify() throws {
        let log = try AuditLog(directory: directory)
        let first = try log.append(record("bolus"))
        let second = try log.append(record("bolus", phase: .outcome))
        #expect(first.sequence == 1 && second.sequence == 2)
        // The first row follows from the log's nonce (AuditLogIdentity).
        #expect(first.previousHash == log.identity.genesis(key: log.key))
        #expect(second.previousHash == first.hash)
        #expect(try log.entries() == [first, second])
        // The command's end: the head follows its rows once.
        try log.sealHead()
        let verification = try log.verify()
        #expect(verification.intact, "\(verification.problems)")
        #expect(verification.entries == 2)
    }

    @Test func rowsSurviveReopening() throws {
        let entry = try AuditLog(directory: directory).append(record("program"))
        let reopened = try AuditLog(directory: directory)
        #expect(try reopened.entries() == [entry])
        #expect(try reopened.verify().intact)
    }

    @Test func journalIsWALWithFullSync() throws {
        _ = try AuditLog(directory: directory).append(record("stop"))
        let mode = try raw().read { try String.fetchOne($0, sql: "PRAGMA journal_mode") }
        #expect(mode == "wal")
    }

    @Test func updateAndDeleteAreRefusedByTheDatabase() throws {
        let log = try AuditLog(directory: directory)
        try log.append(record("bolus"))
        try log.sealHead()
        let db = try raw()
        #expect(throws: DatabaseError.self) {
            try db.write { try $0.execute(sql: "UPDATE audit_entry SET outcome = 'none'") }
        }
        #expect(throws: DatabaseError.self) {
            try db.write { try $0.execute(sql: "DELETE FROM audit_entry") }
        }
        #expect(try log.verify().intact)
    }

    /// The triggers can be dropped by anyone holding the file; the chain is
    /// what catches that.
    func tamper(_ sql: String) throws {
        try raw().write { db in
            try db.execute(sql: "DROP TRIGGER audit_entry_no_update; DROP TRIGGER audit_entry_no_delete")
            try db.execute(sql: sql)
        }
    }

    @Test func aChangedRowIsDetected() throws {
        let log = try AuditLog(directory: directory)
        for name in ["a", "b", "c"] { try log.append(record(name)) }
        try tamper("UPDATE audit_entry SET parameters = '{\"dose\":\"5mcg\"}' WHERE sequence = 2")
        let problems = try log.verify().problems
        #expect(problems.contains { $0.sequence == 2 && $0.problem.contains("changed") })
    }

    @Test func aDeletedRowIsDetected() throws {
        let log = try AuditLog(directory: directory)
        for name in ["a", "b", "c"] { try log.append(record(name)) }
        try tamper("DELETE FROM audit_entry WHERE sequence = 2")
        let problems = try log.verify().problems
        #expect(problems.contains { $0.sequence == 3 && $0.problem.contains("missing") })
        #expect(problems.contains { $0.sequence == 3 && $0.problem.contains("does not follow") })
    }

    @Test func reorderedRowsAreDetected() throws {
        let log = try AuditLog(directory: directory)
        for name in ["a", "b", "c"] { try log.append(record(name)) }
        // Swap the contents of rows 1 and 2, keeping sequence numbers.
        try tamper("""
            UPDATE audit_entry SET sequence = -1 WHERE sequence = 1;
            UPDATE audit_entry SET sequence = 1 WHERE sequence = 2;
            UPDATE audit_entry SET sequence = 2 WHERE sequence = -1;
            """)
        let verification = try log.verify()
        #expect(!verification.intact)
        #expect(verification.problems.contains { $0.problem.contains("does not follow") })
    }

    @Test func removedTailRowsAreDetectedThroughTheHead() throws {
        let log = try AuditLog(directory: directory)
        for name in ["a", "b", "c"] { try log.append(record(name)) }
        try log.sealHead()
        try tamper("DELETE FROM audit_entry WHERE sequence = 3")
        let problems = try log.verify().problems
        #expect(problems.contains { $0.kind == .tailCut && $0.problem.contains("removed from the end") })
    }

    @Test func aHeadBehindTheLogIsACrashNotTampering() throws {
        let log = try AuditLog(directory: directory)
        try log.append(record("a"))
        try log.sealHead()
        try log.append(record("b"))
        try log.append(record("c"))
        // As if the process died after its rows and before sealing the head.
        let verification = try log.verify()
        #expect(verification.intact, "\(verification.problems)")
        #expect(verification.unsealedRows == 2)
    }
}
