import Foundation
import Glibc
import StateFiles
import SystemPackage
import Testing
import TestSupport
import WandProtocol
@testable import PumpProgrammer

/// The keyring folder and its files are opened as the state directory's
/// are: no links, no FIFOs, this user's, private; imports are whole or not
/// at all; a key is never in a listing.
@Suite("Keyring files")
struct PumpKeyStoreTests {
    /// Removed when the test ends.
    let temporary = TemporaryDirectory.make(prefix: "pumpwand-test")
    var config: FilePath { FilePath(temporary.path) }
    var store: PumpKeyStore { PumpKeyStore(configDirectory: config) }

    static func bundle(_ entries: [(serial: String, key: [UInt8])]) throws -> ProvisioningBundle {
        try ProvisioningBundle(verifying: try DemoManufacturerSigner.bundle(entries: entries, issuedAt: 1_800_000_000, issuer: "batch 1"))
    }

    static let keyA = [UInt8](repeating: 0xA5, count: 32)
    static let keyB = [UInt8](repeating: 0x5A, count: 32)

    func mode(_ path: FilePath) -> UInt32 {
        var info = stat()
        return lstat(path.string, &info) == 0 ? UInt32(info.st_mode & 0o777) : 0
    }

    @Test("An import writes one private file per serial in a private folder, and the keyring finds each by serial")
    func importAndLookUp() throws {
        let written = try store.importBundle(try Self.bundle([("RP20-0001", Self.keyA), ("RP40-0002", Self.keyB)]), now: 1_800_000_100)
        #expect(written == ["RP20-0001", "RP40-0002"])
        #expect(mode(store.folder) == 0o700)
        #expect(mode(store.folder.appending("RP20-0001.key")) == 0o600)
        let records = try store.records()
        #expect(records.map(\.serial) == ["RP20-0001", "RP40-0002"])
        #expect(records[0].currentKeyId == Rekey.keyIdHex(Self.keyA))
        #expect(records[0].source.hasPrefix("bundle "))
        #expect(records[0].demo)
        #expect(records[0].changedAt == 1_800_000_100)
        let keyring = try store.keyring(allowDemo: true)
        #expect(keyring.candidates(for: "RP20-0001").map(\.role) == [.current])
        #expect(keyring.allKeys().map(\.serial) == ["RP20-0001", "RP40-0002"])
        #expect(keyring.holds(Self.keyB))
        #expect(keyring.key(for: "RP99-0009") == nil)
        // Importing the same bundle again changes nothing and is not an error.
        #expect(try store.importBundle(try Self.bundle([("RP20-0001", Self.keyA)]), now: 1_800_000_200) == [])
    }

    @Test("Without --allow-demo-keys a DEMO bundle's keys are left out of the keyring, and named as refused")
    func demoKeysLeftOut() throws {
        try store.importBundle(try Self.bundle([("RP20-0001", Self.keyA)]), now: 1)
        let keyring = try store.keyring(allowDemo: false)
        #expect(keyring.candidates(for: "RP20-0001").isEmpty)
        #expect(keyring.demoRefused == ["RP20-0001"])
        #expect(try store.keyring(allowDemo: true).demoSerials == ["RP20-0001"])
    }

    @Test("A bundle with another key for a serial already held is refused whole: nothing of it is written")
    func conflictingImportIsAllOrNothing() throws {
        try store.importBundle(try Self.bundle([("RP20-0001", Self.keyA)]), now: 1)
        #expect(throws: PumpKeyStoreError.conflictingKey(serial: "RP20-0001")) {
            try store.importBundle(try Self.bundle([("RP40-0002", Self.keyB), ("RP20-0001", Self.keyB)]), now: 2)
        }
        #expect(try store.records().map(\.serial) == ["RP20-0001"])
        #expect(try store.record(serial: "RP20-0001")?.current == Self.keyA)
    }

    @Test("A group-writable keyring folder is refused before anything is read or written")
    func groupWritableFolderRefused() throws {
        try store.importBundle(try Self.bundle([("RP20-0001", Self.keyA)]), now: 1)
        #expect(chmod(store.folder.string, 0o770) == 0)
        let refusal = PumpKeyStoreError.file(.unsafeDirectory(path: store.folder.string, problem: .writableByOthers(mode: 0o770)))
        #expect(throws: refusal) { try store.records() }
        #expect(throws: refusal) { try store.importBundle(try Self.bundle([("RP40-0002", Self.keyB)]), now: 2) }
        #expect(chmod(config.string, 0o777) == 0)
        #expect(throws: PumpKeyStoreError.file(.unsafeDirectory(path: config.string, problem: .writableByOthers(mode: 0o777)))) {
            try store.records()
        }
    }

    @Test("A keyring file that is a symbolic link is refused, and its target is not read")
    func symlinkRefused() throws {
        try store.importBundle(try Self.bundle([("RP20-0001", Self.keyA)]), now: 1)
        let target = config.appending("elsewhere.key")
        #expect(rename(store.folder.appending("RP20-0001.key").string, target.string) == 0)
        #expect(symlink(target.string, store.folder.appending("RP20-0001.key").string) == 0)
        #expect(throws: PumpKeyStoreError.file(.notRegularFile(path: store.folder.appending("RP20-0001.key").string, kind: .symbolicLink))) {
            try store.record(serial: "RP20-0001")
        }
    }

    @Test("A keyring file others can read is refused (as ssh refuses a private key)")
    func readableByOthersRefused() throws {
        try store.importBundle(try Self.bundle([("RP20-0001", Self.keyA)]), now: 1)
        let file = store.folder.appending("RP20-0001.key")
        #expect(chmod(file.string, 0o644) == 0)
        #expect(throws: PumpKeyStoreError.file(.unsafePermissions(path: file.string, mode: 0o644))) { try store.record(serial: "RP20-0001") }
    }

    @Test("A FIFO planted as a keyring file is refused without waiting for a writer")
    func fifoRefused() throws {
        _ = try store.importBundle(try Self.bundle([("RP20-0001", Self.keyA)]), now: 1)
        let file = store.folder.appending("RP40-0002.key")
        #expect(mkfifo(file.string, 0o600) == 0)
        #expect(throws: PumpKeyStoreError.file(.notRegularFile(path: file.string, kind: .fifo))) { try store.record(serial: "RP40-0002") }
    }

    @Test("A keyring file of another user is refused", .enabled(if: geteuid() == 0, "changing a file's owner needs root"))
    func anotherUsersFileRefused() throws {
        try store.importBundle(try Self.bundle([("RP20-0001", Self.keyA)]), now: 1)
        let file = store.folder.appending("RP20-0001.key")
        #expect(chown(file.string, 65534, 65534) == 0)
        #expect(throws: PumpKeyStoreError.file(.ownedByAnotherUser(path: file.string, owner: 65534))) { try store.record(serial: "RP20-0001") }
    }

    @Test("A damaged file, or one whose serial is not its name, is refused as damaged")
    func damagedRefused() throws {
        try store.importBundle(try Self.bundle([("RP20-0001", Self.keyA)]), now: 1)
        let file = store.folder.appending("RP20-0001.key")
        let bytes = try AtomicFile.readSecret(file, limit: 512)
        try AtomicFile.write(Array(bytes.dropLast()), to: file)
        #expect(throws: PumpKeyStoreError.damaged(path: file.string)) { try store.record(serial: "RP20-0001") }
        try AtomicFile.write(bytes, to: store.folder.appending("RP40-0002.key"))
        #expect(throws: PumpKeyStoreError.damaged(path: store.folder.appending("RP40-0002.key").string)) { try store.record(serial: "RP40-0002") }
    }

    @Test("Pending keys: tried first, made current by promote, dropped by drop; remove leaves nothing")
    func pendingPromoteDropRemove() throws {
        try store.importBundle(try Self.bundle([("RP20-0001", Self.keyA)]), now: 1)
        try store.setPending(serial: "RP20-0001", key: Self.keyB)
        #expect(try store.keyring(allowDemo: true).candidates(for: "RP20-0001").map(\.role) == [.pending, .current])
        #expect(try store.record(serial: "RP20-0001")?.pendingKeyId == Rekey.keyIdHex(Self.keyB))
        try store.dropPending(serial: "RP20-0001")
        #expect(try store.record(serial: "RP20-0001")?.pending == nil)
        try store.setPending(serial: "RP20-0001", key: Self.keyB)
        try store.promotePending(serial: "RP20-0001", now: 5)
        let record = try #require(try store.record(serial: "RP20-0001"))
        #expect(record.current == Self.keyB)
        #expect(record.pending == nil)
        // The bundle is DEMO-signed: the re-keyed entry keeps the mark.
        #expect(record.source == "re-key of a DEMO key")
        #expect(record.demo)
        try store.remove(serial: "RP20-0001")
        #expect(try store.records().isEmpty)
        #expect(throws: PumpKeyStoreError.notFound(serial: "RP20-0001")) { try store.remove(serial: "RP20-0001") }
        #expect(throws: PumpKeyStoreError.invalidSerial("../x")) { try store.remove(serial: "../x") }
    }

    @Test("The default folder follows PUMPWAND_CONFIG_DIR, then XDG_CONFIG_HOME, then HOME")
    func defaultPath() {
        #expect(PumpKeyStore.defaultPath(environment: ["PUMPWAND_CONFIG_DIR": "/c", "XDG_CONFIG_HOME": "/x", "HOME": "/h"]) == FilePath("/c"))
        #expect(PumpKeyStore.defaultPath(environment: ["XDG_CONFIG_HOME": "/x", "HOME": "/h"]) == FilePath("/x/pumpwand"))
        #expect(PumpKeyStore.defaultPath(environment: ["XDG_CONFIG_HOME": "relative", "HOME": "/h"]) == FilePath("/h/.config/pumpwand"))
        #expect(PumpKeyStore.defaultPath(environment: [:]) == nil)
    }
}
