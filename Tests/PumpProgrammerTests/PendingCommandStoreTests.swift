import Foundation
import Glibc
import Testing
import TestSupport
@testable import PumpProgrammer
import StateFiles
import SystemPackage

@Suite struct PendingCommandStoreTests {
    /// Removed when the test ends.
    let temporary = TemporaryDirectory.make(prefix: "pumpwand-test")
    var directory: StateDirectory { temporary.state }
    let bolus = PendingCommand(
        commandID: "0011223344556677", command: "bolus", pumpSerial: "RP20-000001",
        sentAt: Date(timeIntervalSince1970: 1_800_000_000), parameters: ["dose": "50mcg"])
    let program = PendingCommand(
        commandID: "8899aabbccddeeff", command: "program", pumpSerial: "RP40-000002",
        sentAt: Date(timeIntervalSince1970: 1_800_000_100), parameters: ["daily_dose": "400mcg/day"])

    var store: PendingCommandStore { PendingCommandStore(directory: directory) }

    func recordPath(_ serial: String) -> String { directory.path.string + "/pending/" + serial + ".json" }

    /// A record's JSON as the store writes it, to plant legacy and damaged files.
    func json(_ command: PendingCommand) throws -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.dateEncodingStrategy = .iso8601
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        return Array(try encoder.encode(command))
    }

    func mode(_ path: String) -> UInt32 {
        var info = stat()
        guard lstat(path, &info) == 0 else { return 0 }
        return info.st_mode & 0o777
    }

    @Test func noRecordMeansNothingPending() throws {
        #expect(try store.load(pumpSerial: bolus.pumpSerial) == nil)
        #expect(try store.all().isEmpty)
        // Resolving with nothing pending is not an error (the pump already answered).
        try store.resolve(commandID: bolus.commandID, pumpSerial: bolus.pumpSerial)
    }

    @Test func aRecordSurvivesANewStoreAndResolves() throws {
        try directory.create()
        try PendingCommandStore(directory: directory).record(bolus)
        #expect(AtomicFile.exists(FilePath(recordPath(bolus.pumpSerial))))
        #expect(mode(recordPath(bolus.pumpSerial)) == 0o600)
        #expect(mode(directory.path.string + "/pending") == 0o700)
        let again = PendingCommandStore(directory: directory)
        #expect(try again.load(pumpSerial: bolus.pumpSerial) == bolus)
        // Recording the same command again (a retry of the write) changes nothing.
        try again.record(bolus)
        try again.resolve(commandID: bolus.commandID, pumpSerial: bolus.pumpSerial)
        #expect(try again.load(pumpSerial: bolus.pumpSerial) == nil)
        #expect(!AtomicFile.exists(FilePath(recordPath(bolus.pumpSerial))))
    }

    @Test func aSecondCommandIsRefusedWhileOneIsPendingOnThatPump() throws {
        let store = self.store
        try store.record(bolus)
        var other = bolus
        other.commandID = "8899aabbccddeeff"
        #expect(throws: PendingCommandError.alreadyPending(bolus)) { try store.record(other) }
        #expect(throws: PendingCommandError.alreadyPending(bolus)) {
            try store.resolve(commandID: other.commandID, pumpSerial: other.pumpSerial)
        }
        #expect(try store.load(pumpSerial: bolus.pumpSerial) == bolus)
    }

    @Test func twoPumpsHaveIndependentRecords() throws {
        let store = self.store
        try store.record(bolus)
        // An uncertain bolus on one pump does not block a change on another.
        try store.record(program)
        #expect(try store.load(pumpSerial: bolus.pumpSerial) == bolus)
        #expect(try store.load(pumpSerial: program.pumpSerial) == program)
        #expect(try store.load(pumpSerial: "RP20-000003") == nil)
        #expect(try store.all() == [bolus, program])
        try store.resolve(commandID: bolus.commandID, pumpSerial: bolus.pumpSerial)
        #expect(try store.load(pumpSerial: bolus.pumpSerial) == nil)
        #expect(try store.all() == [program])
        // The other pump's id does not resolve this pump's record.
        #expect(throws: PendingCommandError.alreadyPending(program)) {
            try store.resolve(commandID: bolus.commandID, pumpSerial: program.pumpSerial)
        }
    }

    @Test(arguments: ["", "../RP20", "RP20/0001", "RP20.0001", ".", "..", "RP20 0001", "RP20-\u{00E9}", "RP20\u{0000}",
                      String(repeating: "A", count: 33)])
    func serialsThatCannotNameAFileAreRefused(serial: String) throws {
        let store = self.store
        var command = bolus
        command.pumpSerial = serial
        #expect(throws: PendingCommandError.invalidPumpSerial(serial)) { try store.load(pumpSerial: serial) }
        #expect(throws: PendingCommandError.invalidPumpSerial(serial)) { try store.record(command) }
        #expect(throws: PendingCommandError.invalidPumpSerial(serial)) {
            try store.resolve(commandID: command.commandID, pumpSerial: serial)
        }
        #expect(!AtomicFile.exists(directory.file("pending")))
    }

    @Test func thirtyTwoCharacterSerialsAreKept() throws {
        var command = bolus
        command.pumpSerial = String(repeating: "Z", count: 31) + "9"
        try store.record(command)
        #expect(try store.load(pumpSerial: command.pumpSerial) == command)
    }

    @Test func aLegacyRecordIsReadAsTheRecordOfThePumpItNames() throws {
        try directory.create()
        try AtomicFile.write(try json(bolus), to: directory.file(PendingCommandStore.legacyFileName))
        let store = self.store
        #expect(try store.load(pumpSerial: bolus.pumpSerial) == bolus)
        #expect(try store.load(pumpSerial: program.pumpSerial) == nil)
        #expect(try store.all() == [bolus])
        // Reading moves nothing.
        #expect(AtomicFile.exists(directory.file(PendingCommandStore.legacyFileName)))
        #expect(!AtomicFile.exists(directory.file("pending")))
    }

    @Test func theFirstWriteMovesTheLegacyRecordWithoutLosingIt() throws {
        try directory.create()
        let legacy = directory.file(PendingCommandStore.legacyFileName)
        try AtomicFile.write(try json(bolus), to: legacy)
        let store = self.store
        // A write for another pump moves the legacy record into pending/.
        try store.record(program)
        #expect(!AtomicFile.exists(legacy))
        #expect(try AtomicFile.read(FilePath(recordPath(bolus.pumpSerial)), limit: 65_536) == json(bolus))
        #expect(mode(recordPath(bolus.pumpSerial)) == 0o600)
        #expect(try store.load(pumpSerial: bolus.pumpSerial) == bolus)
        #expect(try store.all() == [bolus, program])
        // The moved record still blocks its pump and resolves as before.
        var retry = bolus
        retry.commandID = "ffffffffffffffff"
        #expect(throws: PendingCommandError.alreadyPending(bolus)) { try store.record(retry) }
        try store.resolve(commandID: bolus.commandID, pumpSerial: bolus.pumpSerial)
        #expect(try store.load(pumpSerial: bolus.pumpSerial) == nil)
    }

    @Test func resolvingTheLegacyRecordRemovesItWherever() throws {
        try directory.create()
        let legacy = directory.file(PendingCommandStore.legacyFileName)
        try AtomicFile.write(try json(bolus), to: legacy)
        try store.resolve(commandID: bolus.commandID, pumpSerial: bolus.pumpSerial)
        #expect(!AtomicFile.exists(legacy))
        #expect(!AtomicFile.exists(FilePath(recordPath(bolus.pumpSerial))))
        #expect(try store.all().isEmpty)
    }

    @Test func anInterruptedMoveLeavesOneCommandAndIsFinishedByTheNextWrite() throws {
        // A crash after the copy was made durable and before the old file was removed.
        try directory.create()
        let legacy = directory.file(PendingCommandStore.legacyFileName)
        try AtomicFile.write(try json(bolus), to: legacy)
        _ = try directory.subdirectory("pending", creating: true)
        try AtomicFile.write(try json(bolus), to: FilePath(recordPath(bolus.pumpSerial)))
        let store = self.store
        #expect(try store.load(pumpSerial: bolus.pumpSerial) == bolus)
        #expect(try store.all() == [bolus])
        try store.record(program)
        #expect(!AtomicFile.exists(legacy))
        #expect(try store.all() == [bolus, program])
    }

    @Test func aLegacyRecordThatConflictsStaysAndIsResolvedFirst() throws {
        // Both files name the same pump with different commands: neither is dropped.
        try directory.create()
        let legacy = directory.file(PendingCommandStore.legacyFileName)
        try AtomicFile.write(try json(bolus), to: legacy)
        var newer = bolus
        newer.commandID = "0123456789abcdef"
        _ = try directory.subdirectory("pending", creating: true)
        try AtomicFile.write(try json(newer), to: FilePath(recordPath(bolus.pumpSerial)))
        let store = self.store
        #expect(try store.load(pumpSerial: bolus.pumpSerial) == bolus)
        #expect(try store.all() == [bolus, newer])
        #expect(throws: PendingCommandError.alreadyPending(bolus)) { try store.record(program.withSerial(bolus.pumpSerial)) }
        #expect(AtomicFile.exists(legacy))
        #expect(throws: PendingCommandError.alreadyPending(bolus)) {
            try store.resolve(commandID: newer.commandID, pumpSerial: bolus.pumpSerial)
        }
        try store.resolve(commandID: bolus.commandID, pumpSerial: bolus.pumpSerial)
        #expect(!AtomicFile.exists(legacy))
        #expect(try store.load(pumpSerial: bolus.pumpSerial) == newer)
    }

    @Test func aDamagedLegacyRecordBlocksEveryPump() throws {
        // It cannot say which pump it belongs to, so none is assumed free.
        try directory.create()
        let legacy = directory.file(PendingCommandStore.legacyFileName)
        try AtomicFile.write(Array("{ not json".utf8), to: legacy)
        let store = self.store
        for attempt in [{ _ = try store.load(pumpSerial: "RP20-000009") }, { try store.record(program) }, { _ = try store.all() }] {
            let error = #expect(throws: PendingCommandError.self) { try attempt() }
            guard case .damaged(let path, _) = error else {
                Issue.record("expected .damaged, got \(String(describing: error))")
                continue
            }
            #expect(path == legacy.string)
        }
        #expect(AtomicFile.exists(legacy))
    }

    @Test func aDamagedRecordBlocksItsPumpInsteadOfVanishing() throws {
        let store = self.store
        try store.record(program)
        let path = recordPath(bolus.pumpSerial)
        try AtomicFile.write(Array("{ not json".utf8), to: FilePath(path))
        let error = #expect(throws: PendingCommandError.self) { try store.load(pumpSerial: bolus.pumpSerial) }
        guard case .damaged(path: path, detail: let detail) = error else {
            Issue.record("expected .damaged for \(path), got \(String(describing: error))")
            return
        }
        #expect(detail.hasPrefix("it is not a pending-command record"))
        #expect(throws: PendingCommandError.self) { try store.record(bolus) }
        #expect(throws: PendingCommandError.self) { try store.resolve(commandID: bolus.commandID, pumpSerial: bolus.pumpSerial) }
        #expect(AtomicFile.exists(FilePath(path)))
        // The other pump is not blocked by it.
        #expect(try store.load(pumpSerial: program.pumpSerial) == program)
    }

    @Test func aRecordNamingAnotherPumpIsDamaged() throws {
        _ = try directory.subdirectory("pending", creating: true)
        let path = recordPath("RP20-000005")
        try AtomicFile.write(try json(bolus), to: FilePath(path))
        #expect(throws: PendingCommandError.damaged(path: path, detail: "it names pump RP20-000001 but is the record of RP20-000005")) {
            try store.load(pumpSerial: "RP20-000005")
        }
    }

    @Test func anOversizedRecordIsRefusedUnread() throws {
        _ = try directory.subdirectory("pending", creating: true)
        let path = recordPath(bolus.pumpSerial)
        try AtomicFile.write([UInt8](repeating: 0x20, count: 64 * 1024 + 1), to: FilePath(path))
        #expect(throws: PendingCommandError.unreadable(path: path, cause: .tooLarge(path: path, limit: 64 * 1024))) {
            try store.load(pumpSerial: bolus.pumpSerial)
        }
    }

    @Test func aSymbolicLinkRecordIsRefusedAndNotFollowed() throws {
        _ = try directory.subdirectory("pending", creating: true)
        // The link points at a valid record of the same pump: still refused.
        let target = directory.path.string + "/elsewhere.json"
        try AtomicFile.write(try json(bolus), to: FilePath(target))
        let path = recordPath(bolus.pumpSerial)
        #expect(symlink(target, path) == 0)
        let refusal = PendingCommandError.unreadable(path: path, cause: .notRegularFile(path: path, kind: .symbolicLink))
        let store = self.store
        #expect(throws: refusal) { try store.load(pumpSerial: bolus.pumpSerial) }
        #expect(throws: refusal) { try store.record(bolus) }
        #expect(throws: refusal) { try store.all() }
        // A dangling link is not "nothing pending" either.
        #expect(unlink(target) == 0)
        #expect(throws: refusal) { try store.load(pumpSerial: bolus.pumpSerial) }
    }

    @Test func aSymbolicLinkLegacyRecordIsRefused() throws {
        try directory.create()
        let target = directory.path.string + "/elsewhere.json"
        try AtomicFile.write(try json(bolus), to: FilePath(target))
        let legacy = directory.file(PendingCommandStore.legacyFileName).string
        #expect(symlink(target, legacy) == 0)
        #expect(throws: PendingCommandError.unreadable(path: legacy, cause: .notRegularFile(path: legacy, kind: .symbolicLink))) {
            try store.load(pumpSerial: bolus.pumpSerial)
        }
    }

    @Test func aSymbolicLinkPendingFolderIsRefused() throws {
        try directory.create()
        let elsewhereFolder = try TemporaryDirectory(prefix: "pumpwand-test")
        defer { elsewhereFolder.remove() }
        let elsewhere = elsewhereFolder.state
        try elsewhere.create()
        let folder = directory.file("pending").string
        #expect(symlink(elsewhere.path.string, folder) == 0)
        let store = self.store
        #expect(throws: PendingCommandError.unreadable(path: folder, cause: .notDirectory(path: folder, kind: .symbolicLink))) {
            try store.load(pumpSerial: bolus.pumpSerial)
        }
        // A write looks for the pump's record first, so it is refused the same way.
        #expect(throws: PendingCommandError.unreadable(path: folder, cause: .notDirectory(path: folder, kind: .symbolicLink))) {
            try store.record(bolus)
        }
        #expect(!AtomicFile.exists(elsewhere.file(bolus.pumpSerial + ".json")))
    }

    @Test(.timeLimit(.minutes(1)))
    func aFIFORecordIsRefusedWithoutBlocking() throws {
        _ = try directory.subdirectory("pending", creating: true)
        let path = recordPath(bolus.pumpSerial)
        #expect(mkfifo(path, 0o600) == 0)
        let refusal = PendingCommandError.unreadable(path: path, cause: .notRegularFile(path: path, kind: .fifo))
        let store = self.store
        #expect(throws: refusal) { try store.load(pumpSerial: bolus.pumpSerial) }
        #expect(throws: refusal) { try store.record(bolus) }
        #expect(throws: refusal) { try store.all() }
    }

    @Test func aFolderWhereARecordShouldBeIsRefused() throws {
        _ = try directory.subdirectory("pending", creating: true)
        let path = recordPath(bolus.pumpSerial)
        #expect(mkdir(path, 0o700) == 0)
        #expect(throws: PendingCommandError.unreadable(path: path, cause: .notRegularFile(path: path, kind: .directory))) {
            try store.load(pumpSerial: bolus.pumpSerial)
        }
    }

    @Test func strayFilesInThePendingFolderAreNotRecords() throws {
        let store = self.store
        try store.record(bolus)
        // A temporary file of an interrupted write and names no serial could have.
        for name in [".RP20-000001.json.123.456.tmp", "notes.txt", "bad_name.json"] {
            try AtomicFile.write(Array("x".utf8), to: directory.file("pending/" + name))
        }
        #expect(try store.all() == [bolus])
    }
}

extension PendingCommand {
    func withSerial(_ serial: String) -> PendingCommand {
        var copy = self
        copy.pumpSerial = serial
        return copy
    }
}
