import CTerminal
import FHIRPosting
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Sends visit bundles to a FHIR server (`export fhir --post URL`) through
/// `pumpwand-fhir-post`, one run per visit: the bundle goes to its standard
/// input and its outcome (`FHIRPost.Outcome`) comes back on its standard
/// output. Every entry has an id derived from the audit log, so sending a
/// visit again, or a retry after a lost reply, updates the same resources
/// and never adds copies: a retry is always safe.
///
/// The HTTP client is a program of its own so that pumpctl does not load
/// FoundationNetworking and libcurl's 29 libraries at the start of every
/// command (about 4.5 ms and 6 MB each time; docs/performance-startup.md).
struct FHIRPoster {
    var base: URL
    /// Further tries after the first, for a failure that may pass.
    var retries: Int
    var firstDelay: Duration

    static let executableName = "pumpwand-fhir-post"

    /// Where the poster is: `PREFIX/libexec/pumpwand/` beside an installed
    /// `PREFIX/bin/pumpctl`, or pumpctl's own folder in a build folder,
    /// both found from pumpctl's own executable (never PATH), each resolved
    /// to its real path. Patient data is handed to it, so the first
    /// candidate whose every folder from `/` down, and the file itself, is
    /// trusted (`trustProblem`) is taken, and that real path is the one
    /// started: no one but root and this user can change any part of it
    /// between the check and the start.
    static func locate() throws(LocateProblem) -> String {
        guard let executable = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe") else {
            throw .ownPathUnknown
        }
        let folder = URL(fileURLWithPath: executable).deletingLastPathComponent()
        let candidates = [
            folder.deletingLastPathComponent().appendingPathComponent("libexec/pumpwand/\(executableName)").path,
            folder.appendingPathComponent(executableName).path,
        ]
        var refused: [String] = []
        for candidate in candidates {
            guard let real = realpath(candidate, nil) else { continue }
            let path = String(cString: real)
            free(real)
            if let problem = trustProblem(path) { refused.append(problem) } else { return path }
        }
        throw refused.isEmpty ? .missing(candidates) : .untrusted(refused)
    }

    /// Why `path` (a real path: no links) is not trusted with patient
    /// data, or nil: the file must be a regular executable owned by root or
    /// this user that only its owner may write; every folder above it must
    /// be owned by root or this user and writable by no one else, except a
    /// root-owned sticky folder such as /tmp (where others cannot rename or
    /// remove what is not theirs).
    static func trustProblem(_ path: String) -> String? {
        let user = geteuid()
        var info = stat()
        guard lstat(path, &info) == 0 else { return "\(path) cannot be examined (errno \(errno))" }
        guard info.st_mode & S_IFMT == S_IFREG, access(path, X_OK) == 0 else { return "\(path) is not an executable file" }
        guard info.st_uid == 0 || info.st_uid == user else { return "\(path) belongs to another user (uid \(info.st_uid))" }
        guard info.st_mode & (S_IWGRP | S_IWOTH) == 0 else { return "\(path) may be written by others than its owner" }
        var folder = URL(fileURLWithPath: path).deletingLastPathComponent().path
        while true {
            guard lstat(folder, &info) == 0, info.st_mode & S_IFMT == S_IFDIR else { return "\(folder) cannot be examined" }
            guard info.st_uid == 0 || info.st_uid == user else { return "\(folder) belongs to another user (uid \(info.st_uid))" }
            let sharedSticky = info.st_uid == 0 && info.st_mode & S_ISVTX != 0
            guard info.st_mode & (S_IWGRP | S_IWOTH) == 0 || sharedSticky else {
                return "\(folder) may be written by others than its owner"
            }
            if folder == "/" { return nil }
            folder = URL(fileURLWithPath: folder).deletingLastPathComponent().path
        }
    }

    enum LocateProblem: Error, CustomStringConvertible {
        case ownPathUnknown
        case missing([String])
        case untrusted([String])

        var description: String {
            switch self {
            case .ownPathUnknown: return "pumpctl's own path could not be read from /proc/self/exe."
            case let .missing(paths): return "it is in neither \(paths.joined(separator: " nor "))."
            case let .untrusted(problems):
                return problems.joined(separator: "; ") + ": it is not trusted with patient data."
            }
        }
    }

    /// Sends one visit's bundle and waits for the poster's outcome, at most
    /// `FHIRPost.deadline` (its tries and delays) and never past Ctrl-C:
    /// then the poster is killed and the visit is unconfirmed if it had
    /// taken the bundle. This blocks the calling thread: an export sends its
    /// visits one after another and does nothing else meanwhile.
    func send(_ body: Data, visit: String, entries: Int) throws(FHIRPost.Failure) -> FHIRPost.Sent {
        let path: String
        do { path = try Self.locate() } catch { throw .posterUnavailable(visit: visit, detail: error.description) }
        let milliseconds = firstDelay.components.seconds * 1000 + firstDelay.components.attoseconds / 1_000_000_000_000_000
        let arguments = [path, "--url", base.absoluteString, "--visit", visit, "--entries", "\(entries)",
                         "--retries", "\(retries)", "--first-delay-ms", "\(milliseconds)",
                         "--timeout", "\(FHIRPost.defaultTimeoutSeconds)"]
        let deadline = ContinuousClock.now + FHIRPost.deadline(retries: retries, firstDelay: firstDelay)
        // The bundle goes through a socket rather than a pipe: a poster that
        // ends before reading it all gives EPIPE to send(MSG_NOSIGNAL), not
        // a SIGPIPE that would end pumpctl between its audit rows.
        var sockets: [Int32] = [-1, -1]
        var output: [Int32] = [-1, -1]
        guard socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0, &sockets) == 0 else {
            throw .posterUnavailable(visit: visit, detail: "no socket for its input (errno \(errno)).")
        }
        defer { close(sockets[0]) }
        // Close-on-exec at once: only the poster's dup2 copies reach it.
        guard pipe(&output) == 0, fcntl(output[0], F_SETFD, FD_CLOEXEC) == 0, fcntl(output[1], F_SETFD, FD_CLOEXEC) == 0 else {
            close(sockets[1])
            throw .posterUnavailable(visit: visit, detail: "no pipe for its answer (errno \(errno)).")
        }
        defer { close(output[0]) }
        let pid: pid_t
        do { pid = try Self.spawn(arguments, input: sockets[1], output: output[1]) } catch {
            close(sockets[1])
            close(output[1])
            throw .posterUnavailable(visit: visit, detail: error.description)
        }
        close(sockets[1])
        close(output[1])

        var stoppedBecause: FHIRPost.StopReason?
        let handedOver: Bool
        switch Self.write(body, to: sockets[0], until: deadline) {
        case .done: handedOver = true
        case .readerGone: handedOver = false
        case .stopped(let reason):
            handedOver = false
            stoppedBecause = reason
        }
        shutdown(sockets[0], Int32(SHUT_WR))
        var answer: Data? = nil
        var answerProblem: String?
        if stoppedBecause == nil {
            var reason: FHIRPost.StopReason?
            let read = FHIRPost.readToEnd(output[0], limit: FHIRPost.outcomeLimit) {
                reason = Self.stopReason(deadline)
                return reason != nil
            }
            switch read {
            case .data(let data): answer = data
            case .tooLong: answerProblem = "its answer was longer than \(FHIRPost.outcomeLimit) bytes"
            case .failed(let code): answerProblem = "its answer could not be read (errno \(code))"
            case .stopped: stoppedBecause = reason
            }
        }
        if stoppedBecause != nil { kill(pid, SIGKILL) }
        let status = Self.reap(pid)
        if let reason = stoppedBecause { throw .stopped(visit: visit, reason: reason, handedOver: handedOver) }
        // A Ctrl-C that came while the poster was ending is the cause of
        // an outcome that did not come.
        let interrupted = pumpwand_interrupt_count() > 0
        let ended = status.signalled ? "ended by signal \(status.code)" : "exit status \(status.code)"
        guard !status.signalled, status.code == 0, let answer,
              let outcome = try? JSONDecoder().decode(FHIRPost.Outcome.self, from: answer) else {
            // The poster sends only after reading the whole bundle: one it
            // did not take in full never reached the server.
            if interrupted { throw .stopped(visit: visit, reason: .interrupted, handedOver: handedOver) }
            if !handedOver { throw .posterUnavailable(visit: visit, detail: "it ended (\(ended)) before taking the bundle.") }
            throw .posterFailed(visit: visit, detail: answerProblem.map { "\($0), \(ended)" } ?? ended)
        }
        switch outcome {
        case .sent(let sent) where FHIRPost.confirms(sent, visit: visit, entries: entries): return sent
        case .sent(let sent) where sent.visit != visit:
            throw .posterFailed(visit: visit, detail: "it answered for visit \(sent.visit)")
        case .sent(let sent):
            throw .posterFailed(visit: visit, detail: "it called the visit stored with HTTP \(sent.status) and \(sent.entries.count) entry answers (\(sent.entries.prefix(3).joined(separator: ", "))) for the \(entries) sent")
        case .failed(.entryCount(let named, _, let answered)) where named == visit:
            // The count sent is pumpctl's to say, not the poster's.
            throw .entryCount(visit: visit, sent: entries, answered: answered)
        case .failed(let failure) where failure.visit == visit: throw failure
        case .failed(let failure): throw .posterFailed(visit: visit, detail: "it answered for visit \(failure.visit)")
        }
    }

    struct SpawnFailure: Error, CustomStringConvertible {
        var description: String
    }

    /// Starts the poster with its standard input and output on these
    /// descriptors, every signal at its default and none blocked (pumpctl's
    /// threads block and catch some; a poster inheriting that could not be
    /// stopped by Ctrl-C or SIGTERM), and pumpctl's standard error.
    static func spawn(_ arguments: [String], input: Int32, output: Int32) throws(SpawnFailure) -> pid_t {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_adddup2(&actions, input, 0)
        posix_spawn_file_actions_adddup2(&actions, output, 1)
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var none = sigset_t()
        sigemptyset(&none)
        var all = sigset_t()
        sigfillset(&all)
        posix_spawnattr_setsigmask(&attributes, &none)
        posix_spawnattr_setsigdefault(&attributes, &all)
        // A process group of its own: Ctrl-C at the terminal reaches pumpctl
        // alone, which then stops the poster and records the visit as
        // cancelled, instead of the poster dying first as if it had failed.
        posix_spawnattr_setpgroup(&attributes, 0)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETPGROUP))
        var argv: [UnsafeMutablePointer<CChar>?] = arguments.map { strdup($0) }
        argv.append(nil)
        defer { for pointer in argv { free(pointer) } }
        var pid: pid_t = 0
        let failed = posix_spawn(&pid, arguments[0], &actions, &attributes, argv, environ)
        guard failed == 0 else { throw SpawnFailure(description: "\(arguments[0]): \(String(cString: strerror(failed)))") }
        return pid
    }

    /// Why a wait ended early: Ctrl-C, or the deadline.
    static func stopReason(_ deadline: ContinuousClock.Instant) -> FHIRPost.StopReason? {
        if pumpwand_interrupt_count() > 0 { return .interrupted }
        if ContinuousClock.now >= deadline { return .deadline }
        return nil
    }

    /// Waits up to a tenth of a second for `events` on `descriptor`.
    static func ready(_ descriptor: Int32, _ events: Int32) -> Bool {
        var waiting = pollfd(fd: descriptor, events: Int16(events), revents: 0)
        return poll(&waiting, 1, 100) > 0
    }

    enum Written { case done, readerGone, stopped(FHIRPost.StopReason) }

    /// Writes all of `data`, a slice at a time as the poster takes it.
    static func write(_ data: Data, to socket: Int32, until deadline: ContinuousClock.Instant) -> Written {
        data.withUnsafeBytes { bytes in
            var offset = 0
            while offset < bytes.count {
                if let reason = stopReason(deadline) { return .stopped(reason) }
                guard ready(socket, POLLOUT) else { continue }
                let count = Glibc.send(socket, bytes.baseAddress.map { $0 + offset }, bytes.count - offset,
                                       Int32(MSG_NOSIGNAL | MSG_DONTWAIT))
                if count < 0 {
                    if errno == EINTR || errno == EAGAIN { continue }
                    return .readerGone
                }
                offset += count
            }
            return .done
        }
    }

    /// Waits for the poster to end: its exit status, or the signal that ended it.
    static func reap(_ pid: pid_t) -> (signalled: Bool, code: Int32) {
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 {
            if errno != EINTR { return (false, -1) }
        }
        // WIFSIGNALED / WTERMSIG / WEXITSTATUS, which Swift does not import as macros.
        let signal = status & 0x7f
        return signal != 0 ? (true, signal) : (false, (status >> 8) & 0xff)
    }
}
