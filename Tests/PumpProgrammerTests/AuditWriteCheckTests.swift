import Foundation
import GRDB
import Glibc
import StateFiles
import SystemPackage
import Testing
import TestSupport
@testable import PumpProgrammer

/// A log that no longer agrees with its head is never written to: the
/// attack cut the last rows, deleted or garbled `audit.head`, and let the
/// next routine command re-seal a head over the cut log, after which
/// `audit verify` called it intact.
@Suite struct AuditWriteCheckTests {
    /// Removed when the test ends.
    let temporary = TemporaryDirectory.make(prefix: "pumpwand-test")
    var directory: StateDirectory { temporary.state }
    let key = try! AuditKey(bytes: Array(0..<32))

    func record(_ command: String = "interrogate") -> AuditRecord {
        AuditRecord(operatorName: "nurse.a", pumpSerial: "RP20-000001", command: command, phase: .event, parameters: [:])
    }

    func filled(_ count: Int) throws -> AuditLog {
        let log = try AuditLog(directory: directory, key: key)
        for _ in 1...count { try log.append(record()) }
        try log.sealHead()
        return log
    }

    func tamper(_ sql: String) throws {
        try DatabaseQueue(path: directory.file(AuditLog.databaseName).string).write { db in
            try db.execute(sql: "DROP TRIGGER audit_entry_no_update; DROP TRIGGER audit_entry_no_delete")
            try db.execute(sql: sql)
        }
    }

    var headPath: FilePath { directory.file(AuditLog.headName) }

    /// The kind of the refusal when the next command appends its first row.
    func refusal(of log: AuditLog) -> AuditVerification.Kind? {
        do {
            try log.append(record("status"))
            return nil
        } catch {
            if case let .tampered(kind, _) = error { return kind }
            Issue.record("another error than tampered: \(error)")
            return nil
        }
    }

    func writeHead(sequence: Int64, mac: String) throws {
        let headMAC = AuditChain.headMAC(sequence: sequence, rowMAC: mac, key: key)
        try AtomicFile.write(Array("2 \(sequence) \(mac) \(headMAC)\n".utf8), to: headPath)
    }

    @Test func aCutLogWithItsHeadDeletedIsNotResealedAndStillFailsVerify() throws {
        _ = try filled(4)
        try tamper("DELETE FROM audit_entry WHERE sequence > 2")
        unlink(headPath.string)
        let next = try AuditLog(directory: directory, key: key)
        #expect(refusal(of: next) == .headMissing)
        try next.sealHead()
        #expect(!AtomicFile.exists(headPath), "no head was sealed over the cut log")
        #expect(try next.entries().count == 2, "no row was added")
        #expect(try next.verify().problems.map(\.kind) == [.headMissing])
    }

    @Test func aCutLogWithAGarbledHeadIsRefused() throws {
        _ = try filled(3)
        try tamper("DELETE FROM audit_entry WHERE sequence = 3")
        try AtomicFile.write(Array("garbage\n".utf8), to: headPath)
        let next = try AuditLog(directory: directory, key: key)
        #expect(refusal(of: next) == .headForged)
        #expect(try String(decoding: AtomicFile.read(headPath, limit: 64), as: UTF8.self) == "garbage\n", "the head is left as found")
        #expect(try next.verify().problems.map(\.kind) == [.headForged])
    }

    @Test func aCutLogUnderItsHeadIsRefused() throws {
        _ = try filled(3)
        try tamper("DELETE FROM audit_entry WHERE sequence = 3")
        #expect(refusal(of: try AuditLog(directory: directory, key: key)) == .tailCut)
    }

    @Test func aDeletedLogWithItsHeadLeftIsRefused() throws {
        _ = try filled(2)
        for suffix in ["", "-wal", "-shm"] { unlink(directory.file(AuditLog.databaseName + suffix).string) }
        let next = try AuditLog(directory: directory, key: key)
        #expect(refusal(of: next) == .tailCut)
        #expect(try next.entries().isEmpty)
    }

    @Test func aHeadRowWithAnotherMACIsRefused() throws {
        _ = try filled(2)
        try tamper("UPDATE audit_entry SET hash = '\(String(repeating: "ab", count: 32))' WHERE sequence = 2")
        #expect(refusal(of: try AuditLog(directory: directory, key: key)) == .headMismatch)
    }

    @Test func rowsAfterTheHeadLeftByACrashAreAcceptedAndChainedOn() throws {
        let log = try filled(3)
        let second = try #require(try log.entries().first { $0.sequence == 2 })
        // A crash after row 3 was written and before its head was sealed.
        try writeHead(sequence: 2, mac: second.hash)
        let next = try AuditLog(directory: directory, key: key)
        try next.append(record("status"))
        try next.sealHead()
        let verification = try next.verify()
        #expect(verification.intact)
        #expect(verification.entries == 4)
    }

    @Test func rowsAfterTheHeadThatDoNotChainAreRefused() throws {
        let log = try filled(3)
        let second = try #require(try log.entries().first { $0.sequence == 2 })
        try writeHead(sequence: 2, mac: second.hash)
        try tamper("UPDATE audit_entry SET previous_hash = '\(String(repeating: "cd", count: 32))' WHERE sequence = 3")
        #expect(refusal(of: try AuditLog(directory: directory, key: key)) == .chainBroken)
    }

    @Test func rowsAfterTheHeadWithAForeignMACAreRefused() throws {
        let log = try filled(3)
        let second = try #require(try log.entries().first { $0.sequence == 2 })
        try writeHead(sequence: 2, mac: second.hash)
        try tamper("UPDATE audit_entry SET operator = 'someone.else' WHERE sequence = 3")
        #expect(refusal(of: try AuditLog(directory: directory, key: key)) == .rowChanged)
    }

    @Test func aNewLogsFirstCommandEndingBeforeItsSealLeavesALogTheNextCommandWritesTo() throws {
        let first = try AuditLog(directory: directory, key: key)
        for _ in 1...3 { try first.append(record()) }
        // The first command has not sealed (it crashed, or is still open):
        // its first row was sealed at once, and the rest chain from it.
        let next = try AuditLog(directory: directory, key: key)
        try next.append(record("status"))
        try next.sealHead()
        #expect(try next.verify().intact)
        #expect(try next.entries().count == 4)
    }

    @Test func aFreshLogAndAnIntactLogAreWrittenTo() throws {
        let log = try AuditLog(directory: directory, key: key)
        try log.append(record())
        try log.sealHead()
        let next = try AuditLog(directory: directory, key: key)
        try next.checkBeforeWriting()
        try next.append(record("status"))
        try next.sealHead()
        #expect(try next.verify().intact)
    }

    @Test func theRefusalSaysTamperedNothingSentAndWhatToDo() {
        let text = AuditError.tampered(kind: .headMissing, detail: "audit.head is missing").description
        #expect(text.contains("AUDIT LOG TAMPERED"))
        #expect(text.contains("Nothing was sent to the pump"))
        #expect(text.contains("pumpctl audit verify"))
        #expect(text.contains("move the state directory aside"))
    }
}

/// A deleted `audit.key` is not silently replaced while the log has rows
/// or a head: rows under a new key could never verify with the old ones.
@Suite struct AuditKeyReplacementTests {
    /// Removed when the test ends.
    let temporary = TemporaryDirectory.make(prefix: "pumpwand-test")
    var folder: StateDirectory { temporary.state }
    var state: StateDirectory { StateDirectory(path: folder.path.appending("state")) }
    var config: StateDirectory { StateDirectory(path: folder.path.appending("config")) }
    var environment: [String: String] { ["PUMPWAND_CONFIG_DIR": config.path.string] }
    var keyPath: FilePath { config.file(AuditKey.fileName) }

    func writeOneRow() throws {
        let log = try AuditLog(directory: state, keyEnvironment: environment)
        try log.append(AuditRecord(operatorName: "nurse.a", pumpSerial: nil, command: "interrogate", phase: .event, parameters: [:]))
        try log.sealHead()
    }

    @Test func aDeletedKeyIsNotReplacedWhileTheLogHasRows() throws {
        try writeOneRow()
        #expect(unlink(keyPath.string) == 0)
        #expect(throws: AuditError.key(.missingForExistingLog(path: keyPath.string))) {
            _ = try AuditLog(directory: state, keyEnvironment: environment)
        }
        #expect(!AtomicFile.exists(keyPath), "no new key was made")
    }

    @Test func aDeletedKeyIsNotReplacedWhileOnlyTheHeadIsLeft() throws {
        try writeOneRow()
        #expect(unlink(keyPath.string) == 0)
        for suffix in ["", "-wal", "-shm"] { unlink(state.file(AuditLog.databaseName + suffix).string) }
        #expect(throws: AuditError.key(.missingForExistingLog(path: keyPath.string))) {
            _ = try AuditLog(directory: state, keyEnvironment: environment)
        }
        #expect(!AtomicFile.exists(keyPath))
    }

    @Test func anEmptyLogStillGetsAKeyOnFirstUse() throws {
        #expect(!AtomicFile.exists(keyPath))
        try writeOneRow()
        #expect(AtomicFile.exists(keyPath), "an empty log made its key")
        #expect(try AuditLog(directory: state, keyEnvironment: environment).verify().intact)
    }

    @Test func theKeyFileIsNotMadeWhenCreationIsNotAllowed() {
        #expect(throws: AuditKeyError.missingForExistingLog(path: keyPath.string)) {
            _ = try AuditKey.loadOrCreate(in: config, creatingIfMissing: false)
        }
        #expect(!AtomicFile.exists(keyPath))
    }
}
