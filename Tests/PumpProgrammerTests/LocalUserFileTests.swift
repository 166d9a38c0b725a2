import Foundation
import Glibc
import StateFiles
import SystemPackage
import Testing
import TestSupport
import WandProtocol
@testable import PumpProgrammer

/// The local-user attacks of docs/security.md on the programmer's own
/// files: the audit database, the pending records, the key file.
@Suite struct LocalUserFileTests {
    static let nobody: uid_t = 65534
    /// Removed when the test ends.
    let temporary = TemporaryDirectory.make(prefix: "pumpwand-test")
    var directory: StateDirectory { temporary.state }

    func mode(_ path: FilePath) -> UInt32 {
        var info = stat()
        guard lstat(path.string, &info) == 0 else { return 0 }
        return info.st_mode & 0o7777
    }

    // MARK: The audit database

    /// It used to be created 0644, readable by every user of the laptop.
    @Test func theAuditDatabaseAndItsJournalAreCreatedPrivate() throws {
        let log = try AuditLog(directory: directory)
        _ = try log.append(AuditRecord(operatorName: "nurse.a", pumpSerial: "RP20-000001", command: "bolus", phase: .intent))
        try log.sealHead()
        let database = directory.file(AuditLog.databaseName)
        #expect(mode(database) == 0o600)
        for suffix in ["-wal", "-shm"] where AtomicFile.exists(directory.file(AuditLog.databaseName + suffix)) {
            #expect(mode(directory.file(AuditLog.databaseName + suffix)) == 0o600, "audit.sqlite\(suffix)")
        }
        #expect(mode(directory.file(AuditLog.headName)) == 0o600)
    }

    @Test func anAuditDatabaseAnEarlierVersionLeftReadableIsNarrowed() throws {
        _ = try AuditLog(directory: directory)
        let database = directory.file(AuditLog.databaseName)
        #expect(chmod(database.string, 0o644) == 0)
        _ = try AuditLog(directory: directory)
        #expect(mode(database) == 0o600)
    }

    @Test func aLinkPlantedAsTheAuditDatabaseIsRefused() throws {
        try directory.create()
        let elsewhereFolder = try TemporaryDirectory(prefix: "pumpwand-test")
        defer { elsewhereFolder.remove() }
        let elsewhere = elsewhereFolder.state
        let target = elsewhere.file("victim.sqlite")
        let database = directory.file(AuditLog.databaseName)
        #expect(symlink(target.string, database.string) == 0)
        let refusal = StateFileError.notRegularFile(path: database.string, kind: .symbolicLink)
        #expect(throws: AuditError.storage("the audit log at \(database) cannot be used: \(refusal.description)")) {
            _ = try AuditLog(directory: directory)
        }
        #expect(!AtomicFile.exists(target))
    }

    @Test func aWorldWritableStateDirectoryOpensNoAuditLog() throws {
        try directory.create()
        #expect(chmod(directory.path.string, 0o777) == 0)
        let unsafe = StateFileError.unsafeDirectory(path: directory.path.string, problem: .writableByOthers(mode: 0o777))
        #expect(throws: AuditError.storage(unsafe.description)) { _ = try AuditLog(directory: directory) }
        #expect(!AtomicFile.exists(directory.file(AuditLog.databaseName)))
    }

    // MARK: Pending records

    /// A planted `pending` link in a world-writable state directory: the
    /// record is refused before the link is looked at, nothing lands there.
    @Test func aPendingRecordIsNeverWrittenIntoAWorldWritableStateDirectory() throws {
        try directory.create()
        let elsewhereFolder = try TemporaryDirectory(prefix: "pumpwand-test")
        defer { elsewhereFolder.remove() }
        let elsewhere = elsewhereFolder.state
        try elsewhere.create()
        #expect(symlink(elsewhere.path.string, directory.file(PendingCommandStore.folderName).string) == 0)
        #expect(chmod(directory.path.string, 0o777) == 0)
        let bolus = PendingCommand(commandID: "0011223344556677", command: "bolus", pumpSerial: "RP20-000001",
                                   sentAt: Date(timeIntervalSince1970: 1_800_000_000), parameters: [:])
        let store = PendingCommandStore(directory: directory)
        let unsafe = StateFileError.unsafeDirectory(path: directory.path.string, problem: .writableByOthers(mode: 0o777))
        #expect(throws: PendingCommandError.unreadable(path: directory.file(PendingCommandStore.folderName).string, cause: unsafe)) {
            try store.record(bolus)
        }
        #expect(try FileManager.default.contentsOfDirectory(atPath: elsewhere.path.string) == [])
    }

    // MARK: The key file

    func keyFile(mode: mode_t = 0o600, hex: Bool = false) throws -> FilePath {
        try directory.create()
        let path = directory.file("pump.key")
        let raw = [UInt8](repeating: 0x5A, count: 32)
        try AtomicFile.write(hex ? Array((String(repeating: "5a", count: 32) + "\n").utf8) : raw, to: path)
        #expect(chmod(path.string, mode) == 0)
        return path
    }

    /// Every refusal below is of an unsafe file: a permission failure (77).
    func refusal(_ cause: StateFileError) -> ProgrammerError {
        .permissionDenied("The pump key file cannot be used: \(cause.description)")
    }

    @Test(arguments: [false, true])
    func aPrivateKeyFileLoadsAndCoreDumpsGoOff(hex: Bool) throws {
        let keyring = try PumpKeyring.load(keyFile: try keyFile(hex: hex))
        #expect(keyring.holds([UInt8](repeating: 0x5A, count: 32)))
        // While a key is loaded this process leaves no core and cannot be
        // read through /proc by the user's other programs.
        #expect(ProcessGuard.coreLimitIsZero)
        #expect(ProcessGuard.isDumpable == false)
    }

    @Test func aKeyFileReadableByOthersIsRefused() throws {
        let path = try keyFile(mode: 0o644)
        #expect(throws: refusal(.unsafePermissions(path: path.string, mode: 0o644))) {
            _ = try PumpKeyring.load(keyFile: path)
        }
    }

    @Test func aKeyFileThatIsASymbolicLinkIsRefused() throws {
        let real = try keyFile()
        let link = directory.file("link.key")
        #expect(symlink(real.string, link.string) == 0)
        #expect(throws: refusal(.notRegularFile(path: link.string, kind: .symbolicLink))) {
            _ = try PumpKeyring.load(keyFile: link)
        }
    }

    @Test(.timeLimit(.minutes(1)))
    func aKeyFileThatIsAFIFOIsRefusedWithoutHanging() throws {
        try directory.create()
        let path = directory.file("pump.key")
        #expect(mkfifo(path.string, 0o600) == 0)
        #expect(throws: refusal(.notRegularFile(path: path.string, kind: .fifo))) {
            _ = try PumpKeyring.load(keyFile: path)
        }
    }

    @Test func aKeyFileOfAnotherUserIsRefused() throws {
        let path: FilePath
        let owner: uid_t
        if geteuid() == 0 {
            path = try keyFile()
            #expect(chown(path.string, Self.nobody, Self.nobody) == 0)
            owner = Self.nobody
        } else {
            path = "/etc/passwd"
            owner = 0
        }
        #expect(throws: refusal(.ownedByAnotherUser(path: path.string, owner: owner))) {
            _ = try PumpKeyring.load(keyFile: path)
        }
    }

    @Test func keyBytesAreRawOrHexAndNothingElse() {
        let raw = [UInt8](0..<32)
        #expect(PumpKeyring.keyBytes(in: raw) == raw)
        let hex = Array(raw.map { byte in String(byte, radix: 16).count == 1 ? "0" + String(byte, radix: 16) : String(byte, radix: 16) }
            .joined(separator: " ").uppercased().utf8)
        #expect(PumpKeyring.keyBytes(in: hex) == raw)
        #expect(PumpKeyring.keyBytes(in: Array(String(repeating: "0", count: 63).utf8)) == nil)
        #expect(PumpKeyring.keyBytes(in: Array(String(repeating: "0", count: 66).utf8)) == nil)
        #expect(PumpKeyring.keyBytes(in: Array((String(repeating: "0", count: 62) + "0g").utf8)) == nil)
    }
}
