import Foundation
import Glibc
import SystemPackage
import Testing
import TestSupport
@testable import StateFiles

@Suite struct StateDirectoryLockTests {
    /// Removed when the test ends.
    let temporary: TemporaryDirectory
    var directory: StateDirectory { StateDirectory(path: FilePath(temporary.path)) }

    init() throws {
        temporary = try TemporaryDirectory(prefix: "pumpwand-lock")
    }

    var lockPath: String { directory.file("lock").string }

    @Test func theHolderIsWrittenIntoAPrivateLockFile() throws {
        let lock = try StateDirectoryLock.acquire(directory, command: "pumpctl program", now: { Date(timeIntervalSince1970: 1_764_583_323.75) })
        #expect(lock.holder == StateDirectoryLockHolder(pid: getpid(), command: "pumpctl program", since: Date(timeIntervalSince1970: 1_764_583_323)))
        let text = String(decoding: try AtomicFile.read(FilePath(lockPath), limit: 4096), as: UTF8.self)
        #expect(text == "pumpwand state directory lock\npid \(getpid())\ncommand pumpctl program\nsince 1764583323\n")
        var info = stat()
        #expect(stat(lockPath, &info) == 0 && info.st_mode & 0o777 == 0o600)
        lock.release()
        #expect(!lock.isHeld)
        // Released: the file no longer names anyone.
        #expect(try AtomicFile.read(FilePath(lockPath), limit: 4096).isEmpty)
    }

    @Test func aSecondLockInTheSameProcessWaitsThenNamesTheFirstHolder() throws {
        let first = try StateDirectoryLock.acquire(directory, command: "pumpctl program")
        let clock = ContinuousClock()
        let started = clock.now
        #expect(throws: StateDirectoryLockError.heldBy(pid: getpid(), command: "pumpctl program", since: first.holder.since)) {
            try StateDirectoryLock.acquire(directory, command: "pumpctl bolus", timeout: .milliseconds(300), pollInterval: .milliseconds(20))
        }
        let waited = started.duration(to: clock.now)
        // The wait is bounded: at least the timeout, and not much more.
        #expect(waited >= .milliseconds(300) && waited < .seconds(3))
        first.release()
        let second = try StateDirectoryLock.acquire(directory, command: "pumpctl bolus", timeout: .zero)
        #expect(second.holder.command == "pumpctl bolus")
    }

    @Test func theMessageSaysWhoAndSinceWhen() {
        let error = StateDirectoryLockError.heldBy(pid: 1234, command: "pumpctl program", since: Date())
        #expect(error.description.hasPrefix("The state directory is in use by pumpctl program (pid 1234) since "))
        #expect(error.description.contains("; wait for it to finish"))
    }

    @Test func droppingTheLockReleasesIt() throws {
        func session() throws {
            let lock = try StateDirectoryLock.acquire(directory, command: "pumpctl interrogate")
            #expect(lock.isHeld)
        }
        try session()
        _ = try StateDirectoryLock.acquire(directory, command: "pumpctl interrogate", timeout: .zero)
    }

    @Test func aStaleFileNamingADeadProcessIsNotALock() throws {
        try directory.create()
        // A crashed holder's record: the kernel dropped its flock when it died.
        try AtomicFile.write(Array("pumpwand state directory lock\npid 2147483646\ncommand pumpctl bolus\nsince 1700000000\n".utf8),
                             to: FilePath(lockPath))
        let lock = try StateDirectoryLock.acquire(directory, command: "pumpctl interrogate", timeout: .zero)
        #expect(lock.holder.pid == getpid())
        let text = String(decoding: try AtomicFile.read(FilePath(lockPath), limit: 4096), as: UTF8.self)
        #expect(text.contains("pid \(getpid())\n") && !text.contains("2147483646"))
    }

    @Test(.timeLimit(.minutes(1)))
    func aChildProcessHoldingTheLockIsReportedAndItsExitLetsTheNextIn() throws {
        try directory.create()
        // The child writes a holder record as pumpctl would, then holds the
        // lock with flock(1) until its standard input closes. `exec` keeps
        // the shell's pid, so $$ is the pid of the process holding the lock.
        let child = Process()
        child.executableURL = URL(fileURLWithPath: "/bin/sh")
        child.arguments = ["-c", #"printf 'pumpwand state directory lock\npid %s\ncommand pumpctl program\nsince 1764583323\n' $$ > "$1" && exec /usr/bin/flock -o "$1" cat"#,
                           "sh", lockPath]
        let input = Pipe()
        child.standardInput = input
        child.standardOutput = FileHandle.nullDevice
        try child.run()
        defer { if child.isRunning { child.terminate() } }
        try waitUntilLockedByAnother(lockPath)
        #expect(throws: StateDirectoryLockError.heldBy(pid: child.processIdentifier, command: "pumpctl program",
                                                       since: Date(timeIntervalSince1970: 1_764_583_323))) {
            try StateDirectoryLock.acquire(directory, command: "pumpctl bolus", timeout: .milliseconds(200))
        }
        // cat ends at end of input, flock(1) exits, the kernel drops the lock.
        try input.fileHandleForWriting.close()
        child.waitUntilExit()
        let lock = try StateDirectoryLock.acquire(directory, command: "pumpctl bolus", timeout: .seconds(5))
        #expect(lock.holder.pid == getpid())
    }

    @Test(.timeLimit(.minutes(1)))
    func aHolderThatLeftNoRecordIsReportedAsUnidentified() throws {
        try directory.create()
        try AtomicFile.write([], to: FilePath(lockPath))
        let child = Process()
        child.executableURL = URL(fileURLWithPath: "/usr/bin/flock")
        child.arguments = ["-o", lockPath, "cat"]
        let input = Pipe()
        child.standardInput = input
        try child.run()
        defer { if child.isRunning { child.terminate() } }
        try waitUntilLockedByAnother(lockPath)
        #expect(throws: StateDirectoryLockError.heldByUnidentified(path: lockPath)) {
            try StateDirectoryLock.acquire(directory, command: "pumpctl bolus", timeout: .milliseconds(100))
        }
        try input.fileHandleForWriting.close()
        child.waitUntilExit()
    }

    @Test func aSymbolicLinkLockFileIsUnusable() throws {
        try directory.create()
        let target = directory.file("elsewhere").string
        try AtomicFile.write([], to: FilePath(target))
        #expect(symlink(target, lockPath) == 0)
        #expect(throws: StateDirectoryLockError.unusable(path: lockPath, reason: .notRegularFile(path: lockPath, kind: .symbolicLink))) {
            try StateDirectoryLock.acquire(directory, command: "pumpctl bolus", timeout: .zero)
        }
    }

    @Test(.timeLimit(.minutes(1)))
    func aFIFOLockFileIsUnusableWithoutBlocking() throws {
        try directory.create()
        #expect(mkfifo(lockPath, 0o600) == 0)
        #expect(throws: StateDirectoryLockError.unusable(path: lockPath, reason: .notRegularFile(path: lockPath, kind: .fifo))) {
            try StateDirectoryLock.acquire(directory, command: "pumpctl bolus", timeout: .zero)
        }
    }

    @Test func commandTextIsOneBoundedLine() throws {
        let lock = try StateDirectoryLock.acquire(directory, command: "pumpctl\nprogram\u{7F}" + String(repeating: "x", count: 300))
        #expect(lock.holder.command.hasPrefix("pumpctl program "))
        #expect(lock.holder.command.utf8.count == 200)
        #expect(StateDirectoryLock.parse(StateDirectoryLock.text(of: lock.holder)) == lock.holder)
    }

    @Test func aPartlyWrittenRecordNamesNoOne() {
        #expect(StateDirectoryLock.parse("pumpwand state directory lock\npid 12\ncommand pumpctl program\nsince 17") == nil)
        #expect(StateDirectoryLock.parse("") == nil)
        #expect(StateDirectoryLock.parse("pumpwand state directory lock\npid -1\ncommand x\nsince 1\n") == nil)
    }

    /// Polls with a bare flock (which writes nothing) until another process
    /// holds the file; a successful probe is undone at once.
    private func waitUntilLockedByAnother(_ path: String) throws {
        // The child may not have created the file yet.
        var fd: Int32 = -1
        for _ in 0..<1_000 where fd < 0 {
            fd = open(path, O_RDONLY | O_CLOEXEC)
            if fd < 0 { usleep(10_000) }
        }
        try #require(fd >= 0)
        defer { close(fd) }
        for _ in 0..<1_000 {
            if flock(fd, LOCK_EX | LOCK_NB) != 0 { return }
            flock(fd, LOCK_UN)
            usleep(10_000)
        }
        Issue.record("the child never took the lock")
    }
}
