import Foundation
import Glibc
import SystemPackage
import Testing
import TestSupport
@testable import StateFiles

/// What another user of the same computer can try against the state
/// directory and a key file, each failing to do harm (docs/security.md).
/// Run as root the attacks are real (root follows links anywhere), so the
/// suite is meant to pass both as root and as an ordinary user.
@Suite struct LocalUserAttackTests {
    static let nobody: uid_t = 65534

    /// Both removed when the test ends (a planted link is removed, not
    /// followed).
    let temporary: TemporaryDirectory
    let temporaryElsewhere: TemporaryDirectory
    var folder: FilePath { FilePath(temporary.path) }
    /// Where a planted link points: must stay empty.
    var elsewhere: FilePath { FilePath(temporaryElsewhere.path) }

    init() throws {
        temporary = try TemporaryDirectory(prefix: "pumpwand-attack")
        temporaryElsewhere = try TemporaryDirectory(prefix: "pumpwand-attack")
    }

    func listing(_ path: FilePath) throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: path.string).sorted()
    }

    func mode(_ path: FilePath) -> UInt32 {
        var info = stat()
        guard lstat(path.string, &info) == 0 else { return 0 }
        return info.st_mode & 0o7777
    }

    // MARK: The state directory

    /// The reproduction: a world-writable state directory with `lock`,
    /// `pending` and a report name planted as links to another folder. Root
    /// used to create files through them; now nothing is opened there.
    @Test func aWorldWritableStateDirectoryIsRefusedAndNothingIsCreatedThroughItsLinks() throws {
        #expect(chmod(folder.string, 0o777) == 0)
        #expect(symlink(elsewhere.appending("victim-lock").string, folder.appending("lock").string) == 0)
        #expect(symlink(elsewhere.string, folder.appending("pending").string) == 0)
        #expect(symlink(elsewhere.appending("victim-reports").string, folder.appending("reports").string) == 0)
        let directory = StateDirectory(path: folder)
        let unsafe = StateFileError.unsafeDirectory(path: folder.string, problem: .writableByOthers(mode: 0o777))
        #expect(throws: StateDirectoryLockError.unusable(path: folder.string, reason: unsafe)) {
            _ = try StateDirectoryLock.acquire(directory, command: "pumpctl bolus", timeout: .zero)
        }
        #expect(throws: unsafe) { _ = try directory.subdirectory("pending", creating: false) }
        #expect(throws: unsafe) { _ = try directory.subdirectory("pending", creating: true) }
        #expect(throws: unsafe) { _ = try directory.subdirectory("reports", creating: true) }
        #expect(try listing(elsewhere) == [])
        // The message names the folder and the fix.
        #expect(unsafe.description.contains(folder.string))
        #expect(unsafe.description.contains("chmod go-w \(folder.string)"))
    }

    @Test func aGroupWritableStateDirectoryIsRefused() throws {
        #expect(chmod(folder.string, 0o770) == 0)
        #expect(throws: StateFileError.unsafeDirectory(path: folder.string, problem: .writableByOthers(mode: 0o770))) {
            try StateDirectory(path: folder).create()
        }
        #expect(try listing(folder) == [])
    }

    /// A sticky world-writable folder (/tmp) is still one others write into.
    @Test func aStickyWorldWritableFolderIsRefusedToo() throws {
        #expect(chmod(folder.string, 0o1777) == 0)
        // Reported with its sticky bit: "mode 1777", not "mode 777".
        #expect(throws: StateFileError.unsafeDirectory(path: folder.string, problem: .writableByOthers(mode: 0o1777))) {
            try StateDirectory.requireSafe(folder)
        }
    }

    /// A subfolder (`pending/`, `reports/`) is checked as the state
    /// directory is: a writable one inside a safe state directory is refused.
    @Test func aWorldWritableRecordFolderIsRefused() throws {
        let pending = folder.appending("pending")
        #expect(mkdir(pending.string, 0o700) == 0)
        #expect(chmod(pending.string, 0o777) == 0)
        #expect(throws: StateFileError.unsafeDirectory(path: pending.string, problem: .writableByOthers(mode: 0o777))) {
            _ = try StateDirectory(path: folder).subdirectory("pending", creating: false)
        }
    }

    @Test func aStateDirectoryOfAnotherUserIsRefused() throws {
        guard geteuid() == 0 else {
            try Requirements.skip("giving a folder to another user needs root (run the suite as root to check it)")
        }
        #expect(chown(folder.string, Self.nobody, Self.nobody) == 0)
        let unsafe = StateFileError.unsafeDirectory(path: folder.string, problem: .ownedByAnotherUser(owner: Self.nobody))
        #expect(throws: unsafe) { try StateDirectory(path: folder).create() }
        #expect(throws: StateDirectoryLockError.unusable(path: folder.string, reason: unsafe)) {
            _ = try StateDirectoryLock.acquire(StateDirectory(path: folder), command: "pumpctl program", timeout: .zero)
        }
        #expect(try listing(folder) == [])
    }

    @Test func aNewStateDirectoryIsPrivateAndAccepted() throws {
        let fresh = folder.appending("a/b/pumpwand")
        try StateDirectory(path: fresh).create()
        #expect(mode(fresh) == 0o700)
        let lock = try StateDirectoryLock.acquire(StateDirectory(path: fresh), command: "pumpctl interrogate", timeout: .zero)
        lock.release()
        #expect(mode(fresh.appending("lock")) == 0o600)
    }

    // MARK: Files in the state directory

    /// SQLite opens its own files: `preparePrivate` makes them 0600 first,
    /// whatever the umask, and narrows a file an earlier version left 0644.
    @Test func aPreparedFileIsPrivateAndALooseOneIsNarrowed() throws {
        let database = folder.appending("audit.sqlite")
        try AtomicFile.preparePrivate(database, creating: true)
        #expect(mode(database) == 0o600)
        #expect(chmod(database.string, 0o644) == 0)
        try AtomicFile.preparePrivate(database, creating: true)
        #expect(mode(database) == 0o600)
        // Not creating: a missing file stays missing.
        try AtomicFile.preparePrivate(folder.appending("audit.sqlite-wal"), creating: false)
        #expect(!AtomicFile.exists(folder.appending("audit.sqlite-wal")))
    }

    @Test func aLinkPlantedAsTheDatabaseIsRefusedAndItsTargetUntouched() throws {
        let target = elsewhere.appending("target")
        try AtomicFile.write(Array("someone's file".utf8), to: target)
        #expect(chmod(target.string, 0o644) == 0)
        let database = folder.appending("audit.sqlite")
        #expect(symlink(target.string, database.string) == 0)
        #expect(throws: StateFileError.notRegularFile(path: database.string, kind: .symbolicLink)) {
            try AtomicFile.preparePrivate(database, creating: true)
        }
        #expect(mode(target) == 0o644)
        #expect(try AtomicFile.read(target, limit: 100) == Array("someone's file".utf8))
    }

    @Test(.timeLimit(.minutes(1)))
    func aFIFOPlantedAsTheDatabaseIsRefusedAtOnce() throws {
        let database = folder.appending("audit.sqlite")
        #expect(mkfifo(database.string, 0o600) == 0)
        #expect(throws: StateFileError.notRegularFile(path: database.string, kind: .fifo)) {
            try AtomicFile.preparePrivate(database, creating: true)
        }
    }

    // MARK: Key files

    func keyFile(_ name: String = "pump.key", mode: mode_t = 0o600) throws -> FilePath {
        let path = folder.appending(name)
        try AtomicFile.write([UInt8](repeating: 0x5A, count: 32), to: path)
        #expect(chmod(path.string, mode) == 0)
        return path
    }

    @Test func aPrivateKeyFileOfThisUserIsRead() throws {
        #expect(try AtomicFile.readSecret(try keyFile(), limit: 256) == [UInt8](repeating: 0x5A, count: 32))
    }

    @Test(arguments: [0o644 as mode_t, 0o640, 0o604, 0o660, 0o602])
    func aKeyFileOthersCanReadOrWriteIsRefused(mode: mode_t) throws {
        let path = try keyFile(mode: mode)
        #expect(throws: StateFileError.unsafePermissions(path: path.string, mode: UInt16(mode))) {
            _ = try AtomicFile.readSecret(path, limit: 256)
        }
    }

    @Test func aKeyFileThatIsASymbolicLinkIsRefused() throws {
        let real = try keyFile("real.key")
        let link = folder.appending("pump.key")
        #expect(symlink(real.string, link.string) == 0)
        #expect(throws: StateFileError.notRegularFile(path: link.string, kind: .symbolicLink)) {
            _ = try AtomicFile.readSecret(link, limit: 256)
        }
    }

    /// A FIFO used to hang the key load forever; now it is refused at once.
    @Test(.timeLimit(.minutes(1)))
    func aKeyFileThatIsAFIFOIsRefusedWithoutBlocking() throws {
        let path = folder.appending("pump.key")
        #expect(mkfifo(path.string, 0o600) == 0)
        let started = ContinuousClock.now
        #expect(throws: StateFileError.notRegularFile(path: path.string, kind: .fifo)) {
            _ = try AtomicFile.readSecret(path, limit: 256)
        }
        #expect(ContinuousClock.now - started < .seconds(5))
    }

    @Test func aKeyFileThatIsAFolderIsRefused() throws {
        let path = folder.appending("pump.key")
        #expect(mkdir(path.string, 0o700) == 0)
        #expect(throws: StateFileError.notRegularFile(path: path.string, kind: .directory)) {
            _ = try AtomicFile.readSecret(path, limit: 256)
        }
    }

    /// Another user's key file (as root: one given to nobody; otherwise a
    /// file of root's) is refused even when its mode is 0600.
    @Test func aKeyFileOfAnotherUserIsRefused() throws {
        let path: FilePath
        let owner: uid_t
        if geteuid() == 0 {
            path = try keyFile()
            #expect(chown(path.string, Self.nobody, Self.nobody) == 0)
            owner = Self.nobody
        } else {
            // Owned by root and readable by all: ownership is checked first.
            path = "/etc/passwd"
            owner = 0
        }
        #expect(throws: StateFileError.ownedByAnotherUser(path: path.string, owner: owner)) {
            _ = try AtomicFile.readSecret(path, limit: 1 << 20)
        }
    }

    @Test func wipingZeroesTheBytesInPlace() {
        var secret: [UInt8] = [1, 2, 3, 4]
        ProcessGuard.wipe(&secret)
        #expect(secret == [0, 0, 0, 0])
    }
}
