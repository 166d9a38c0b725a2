import Foundation
import Glibc
import Synchronization
import SystemPackage

/// Who holds a state directory: what a second pumpctl tells its user.
public struct StateDirectoryLockHolder: Sendable, Equatable {
    public var pid: Int32
    /// What the holder is doing, e.g. `pumpctl program`.
    public var command: String
    /// When it took the lock, to the second.
    public var since: Date

    public init(pid: Int32, command: String, since: Date) {
        self.pid = pid
        self.command = command
        self.since = since
    }
}

/// Exclusive use of a state directory for the length of a session.
///
/// Two pumpctl processes on one laptop must not interleave their audit
/// records and pending commands, so each session holds `flock(LOCK_EX)` on
/// `<dir>/lock` from start to end. The lock is the kernel's, not the file's:
/// it goes when the holder releases it, closes the file or dies (even by
/// SIGKILL), so a stale file naming a dead process is never a lock, and
/// nothing ever has to be cleaned up by hand.
///
/// The holder writes its pid, command and start time into the file only so
/// a second process can say who is in the way; the contents decide nothing.
public final class StateDirectoryLock: Sendable {
    public static let fileName = "lock"
    /// How long `acquire` waits for a holder to finish by default: long
    /// enough for a read-only command to end, short enough that a person
    /// at the keyboard is told what is going on.
    public static let defaultTimeout: Swift.Duration = .seconds(5)
    /// Time between attempts while waiting.
    public static let defaultPollInterval: Swift.Duration = .milliseconds(50)
    /// Longest command text kept in the file.
    static let commandLimit = 200
    /// Largest lock file read when asking who holds it.
    static let recordLimit = 4096
    static let header = "pumpwand state directory lock"

    public let path: FilePath
    public let holder: StateDirectoryLockHolder
    /// The locked descriptor; -1 once released.
    private let descriptor: Mutex<Int32>

    private init(path: FilePath, descriptor: Int32, holder: StateDirectoryLockHolder) {
        self.path = path
        self.holder = holder
        self.descriptor = Mutex(descriptor)
    }

    deinit { release() }

    /// Takes the state directory for `command` (e.g. `pumpctl program`),
    /// creating the directory (0700) and its lock file (0600) when missing.
    ///
    /// Tries at once, then every `pollInterval` until `timeout` has passed;
    /// a zero timeout tries once. Throws `.heldBy` naming the holder when it
    /// is still held, `.heldByUnidentified` when the holder left no record
    /// of itself, and `.unusable` when the lock file cannot be used (a
    /// symbolic link, a FIFO, no permission).
    public static func acquire(_ directory: StateDirectory, command: String,
                               timeout: Swift.Duration = defaultTimeout,
                               pollInterval: Swift.Duration = defaultPollInterval,
                               now: () -> Date = { Date() }) throws(StateDirectoryLockError) -> StateDirectoryLock {
        do {
            try directory.create()
        } catch {
            throw .unusable(path: directory.path.string, reason: error)
        }
        let path = directory.file(fileName)
        let fd = try openLockFile(path)
        let clock = ContinuousClock()
        let deadline = clock.now.advanced(by: max(.zero, timeout))
        var lastSeen: StateDirectoryLockHolder?
        while true {
            if flock(fd, LOCK_EX | LOCK_NB) == 0 { break }
            let error = errno
            if error == EINTR { continue }
            guard error == EWOULDBLOCK else {
                close(fd)
                throw .unusable(path: path.string, reason: .io(path: path.string, operation: "flock", errno: error))
            }
            // Read at every attempt: a holder that has only just locked may
            // not have written itself yet when the wait ends.
            if let seen = readHolder(fd) { lastSeen = seen }
            let remaining = clock.now.duration(to: deadline)
            guard remaining > .zero else {
                let found = readHolder(fd) ?? lastSeen
                close(fd)
                guard let found else { throw .heldByUnidentified(path: path.string) }
                throw .heldBy(pid: found.pid, command: found.command, since: found.since)
            }
            sleep(for: min(max(pollInterval, .milliseconds(1)), remaining))
        }
        // Whole seconds, as the file keeps them; a clock that gives no
        // finite time is recorded as the epoch rather than trapping.
        let started = Date(timeIntervalSince1970: TimeInterval(Int64(exactly: now().timeIntervalSince1970.rounded(.down)) ?? 0))
        let holder = StateDirectoryLockHolder(pid: getpid(), command: sanitized(command), since: started)
        let record = Array(text(of: holder).utf8)
        // Written under the lock, so no other holder's record is overwritten.
        let written = record.withUnsafeBytes { pwrite(fd, $0.baseAddress, $0.count, 0) }
        guard ftruncate(fd, off_t(record.count)) == 0, written == record.count else {
            let error = errno
            close(fd)  // releases the lock
            throw .unusable(path: path.string, reason: .io(path: path.string, operation: "write", errno: error))
        }
        return StateDirectoryLock(path: path, descriptor: fd, holder: holder)
    }

    /// Gives the directory up. The record is emptied first, so the file
    /// never names a holder that has gone. Releasing twice does nothing.
    public func release() {
        descriptor.withLock { fd in
            guard fd >= 0 else { return }
            _ = ftruncate(fd, 0)
            _ = flock(fd, LOCK_UN)
            close(fd)
            fd = -1
        }
    }

    /// Whether this lock is still held (not released).
    public var isHeld: Bool { descriptor.withLock { $0 >= 0 } }

    // MARK: The lock file

    private static func openLockFile(_ path: FilePath) throws(StateDirectoryLockError) -> Int32 {
        // O_NOFOLLOW: a link could make us lock (and write into) another
        // file. O_NONBLOCK: a FIFO there must not hang the open.
        let fd = open(path.string, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK | O_NOCTTY, 0o600)
        guard fd >= 0 else {
            let error = Errno(rawValue: errno)
            if error == .tooManySymbolicLinkLevels, AtomicFile.kind(of: path) == .symbolicLink {
                throw .unusable(path: path.string, reason: .notRegularFile(path: path.string, kind: .symbolicLink))
            }
            throw .unusable(path: path.string, reason: .from(error, path: path.string, operation: "open"))
        }
        var info = stat()
        guard fstat(fd, &info) == 0 else {
            let error = errno
            close(fd)
            throw .unusable(path: path.string, reason: .io(path: path.string, operation: "fstat", errno: error))
        }
        let kind = FileKind(mode: info.st_mode)
        guard kind == .regular else {
            close(fd)
            throw .unusable(path: path.string, reason: .notRegularFile(path: path.string, kind: kind))
        }
        return fd
    }

    /// The holder named in the file, if it names one well-formed.
    static func readHolder(_ fd: Int32) -> StateDirectoryLockHolder? {
        var buffer = [UInt8](repeating: 0, count: recordLimit)
        let count = buffer.withUnsafeMutableBytes { pread(fd, $0.baseAddress, $0.count, 0) }
        guard count > 0, count < recordLimit else { return nil }
        return parse(String(decoding: buffer[0..<count], as: UTF8.self))
    }

    static func text(of holder: StateDirectoryLockHolder) -> String {
        "\(header)\npid \(holder.pid)\ncommand \(holder.command)\nsince \(Int64(exactly: holder.since.timeIntervalSince1970.rounded(.down)) ?? 0)\n"
    }

    static func parse(_ text: String) -> StateDirectoryLockHolder? {
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false)
        // A record being written shows up without its last newline: not yet a record.
        guard lines.count == 5, lines[0] == header, lines[4].isEmpty,
              lines[1].hasPrefix("pid "), let pid = Int32(lines[1].dropFirst(4)), pid > 0,
              lines[2].hasPrefix("command "),
              lines[3].hasPrefix("since "), let since = Int64(lines[3].dropFirst(6)) else { return nil }
        return StateDirectoryLockHolder(pid: pid, command: String(lines[2].dropFirst(8)),
                                        since: Date(timeIntervalSince1970: TimeInterval(since)))
    }

    /// One line of printable text, bounded, so the record stays parseable.
    static func sanitized(_ command: String) -> String {
        var result = ""
        for character in command {
            let printable = character.unicodeScalars.allSatisfy { $0.value >= 0x20 && $0.value != 0x7F }
            let next = printable ? character : " "
            guard result.utf8.count + String(next).utf8.count <= commandLimit else { break }
            result.append(next)
        }
        return result
    }

    private static func sleep(for duration: Swift.Duration) {
        let (seconds, attoseconds) = duration.components
        var request = timespec(tv_sec: Int(seconds), tv_nsec: Int(attoseconds / 1_000_000_000))
        var remaining = timespec()
        while nanosleep(&request, &remaining) != 0 && errno == EINTR { request = remaining }
    }
}

/// Why the state directory could not be taken. Nothing was sent to a pump.
public enum StateDirectoryLockError: Error, Equatable, Sendable, CustomStringConvertible {
    /// Another process holds it and says who it is.
    case heldBy(pid: Int32, command: String, since: Date)
    /// Another process holds it and left no record of itself (a process
    /// that is not pumpctl, or one that locked an instant ago).
    case heldByUnidentified(path: String)
    /// The lock file cannot be used: a symbolic link or other non-regular
    /// file, missing permission, or an error from the system.
    case unusable(path: String, reason: StateFileError)

    public var description: String {
        switch self {
        case let .heldBy(pid, command, since):
            return "The state directory is in use by \(command) (pid \(pid)) since \(Self.clockText(since)); wait for it to finish, then try again. Nothing was sent."
        case let .heldByUnidentified(path):
            return "The state directory is in use by another process (it holds \(path) and has not said what it is); wait for it to finish, then try again. Nothing was sent."
        case let .unusable(path, reason):
            return "The state directory lock \(path) cannot be used: \(reason.description) Nothing was sent."
        }
    }

    /// `10:02:03` in local time, with the date when it was not today.
    static func clockText(_ date: Date, now: Date = Date()) -> String {
        func local(_ date: Date) -> tm? {
            guard var time = time_t(exactly: date.timeIntervalSince1970.rounded(.down)) else { return nil }
            var parts = tm()
            return localtime_r(&time, &parts) == nil ? nil : parts
        }
        guard let then = local(date) else { return "an unknown time" }
        func two(_ value: Int32) -> String { value < 10 ? "0\(value)" : "\(value)" }
        let clock = "\(two(then.tm_hour)):\(two(then.tm_min)):\(two(then.tm_sec))"
        if let today = local(now), today.tm_year == then.tm_year, today.tm_yday == then.tm_yday { return clock }
        return "\(then.tm_year + 1900)-\(two(then.tm_mon + 1))-\(two(then.tm_mday)) \(clock)"
    }
}
