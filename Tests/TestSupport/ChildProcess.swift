import Dispatch
import Foundation
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// Child processes for the tests: `pumpctl`, `wandsim`, the bring-up
/// scripts, the Python harnesses, umockdev.
///
/// Nothing here blocks a Swift concurrency thread. Each of the child's
/// output streams is drained by a thread of its own (so a chatty child never
/// fills a pipe and stalls), standard input is written from another, and the
/// exit is seen by `waitid` on a thread of its own (and
/// `Process.terminationHandler`); tests `await` all of it.
///
/// Every wait has a time limit. A child still running at its limit is sent
/// SIGTERM, then SIGKILL, and the run fails with `ChildProcess.TimedOut`,
/// which names the command and carries the output so far: a hung child is a
/// distinct, reported failure, never a hung test run.
public enum ChildProcess {
    /// How long `run` lets a child run unless told otherwise.
    public static let defaultTimeLimit: Duration = .seconds(60)

    /// How long a child has between SIGTERM and SIGKILL when it is stopped.
    public static let terminationGrace: Duration = .seconds(5)

    /// What a finished child left behind.
    public struct Result: Sendable, CustomStringConvertible {
        /// The exit status, or the signal number when `signalled`.
        public var status: Int32
        /// True when the child was ended by a signal (`status` is then the signal).
        public var signalled: Bool
        public var stdout: String
        /// Empty when standard error was merged into `stdout`.
        public var stderr: String
        /// True when the child was still running at its time limit and was killed.
        public var timedOut: Bool

        public init(status: Int32, signalled: Bool = false, stdout: String, stderr: String, timedOut: Bool = false) {
            self.status = status
            self.signalled = signalled
            self.stdout = stdout
            self.stderr = stderr
            self.timedOut = timedOut
        }

        public var description: String {
            let end = timedOut ? "TIMED OUT, then \(signalled ? "signal" : "status") \(status)"
                : signalled ? "signal \(status)" : "status \(status)"
            return "\(end)\n--- stdout ---\n\(stdout)\n--- stderr ---\n\(stderr)"
        }
    }

    /// A child that outlived its time limit (it has been killed).
    public struct TimedOut: Error, CustomStringConvertible {
        public var command: String
        public var limit: Duration
        /// `timedOut` is true; stdout and stderr hold what the child wrote before it was killed.
        public var result: Result

        public var description: String {
            "TIMED OUT: \(command) was still running after \(limit) and was killed (SIGTERM, then SIGKILL).\n"
                + "--- stdout so far ---\n\(result.stdout)\n--- stderr so far ---\n\(result.stderr)"
        }
    }

    /// What the child reads on standard input.
    public enum Input: Sendable {
        /// End of file at once (an empty pipe, closed).
        case closed
        /// These bytes, then end of file.
        case bytes(Data)
        /// These bytes, with the pipe held open until the child exits (a
        /// terminal session under `script(1)` must not see end of file early).
        case bytesKeepingOpen(Data)

        public static func text(_ text: String) -> Input { .bytes(Data(text.utf8)) }
    }

    /// Runs `executable` with `arguments` to the end and returns its status
    /// and output. `environment` is added to (and overrides) this process's
    /// environment. Throws `TimedOut` when the child is still running after
    /// `timeLimit`.
    public static func run(
        _ executable: String, _ arguments: [String] = [], environment: [String: String] = [:],
        input: Input = .closed, mergingStandardError: Bool = false, timeLimit: Duration = defaultTimeLimit,
        terminationGrace: Duration = terminationGrace
    ) async throws -> Result {
        let child = try await start(executable, arguments, environment: environment, input: input,
                                    mergingStandardError: mergingStandardError)
        // The child has ended (or was killed): its TMPDIR goes now, not
        // when the object does (its threads may hold it until this
        // process exits, after the last test).
        defer { child.removeTemporaryDirectory() }
        return try await child.finish(within: timeLimit, terminationGrace: terminationGrace)
    }

    /// Runs `body` while no child starts, once every child started before
    /// has exec'd its program.
    ///
    /// Starting a child copies every descriptor of this process into it for
    /// the moment between fork and exec (O_CLOEXEC closes them only at
    /// exec). A descriptor a test closes meanwhile stays open there, and a
    /// flock on it stays held: the next open of that tty is refused as busy.
    /// The serial transport flocks its tty, and child-process tests start
    /// children all the time in parallel, so a test that lets go of a tty
    /// for another open (or for a child to take) closes it in here.
    ///
    /// `body` must not start children itself (it would wait for itself).
    public static func withNoChildStarting<T>(_ body: () async throws -> T) async rethrows -> T {
        // No new child starts from now on; then the ones under way finish.
        launches.withLock { $0.holdingBack += 1 }
        defer { launches.withLock { $0.holdingBack -= 1 } }
        while launches.withLock({ $0.inFlight }) > 0 {
            try? await Task.sleep(for: .milliseconds(1))
        }
        return try await body()
    }

    /// Children being started right now, and how many `withNoChildStarting`
    /// sections (running or about to) hold new ones back.
    static let launches = Mutex<(inFlight: Int, holdingBack: Int)>((0, 0))

    /// Starts a child without waiting for it; see `RunningChild`.
    public static func start(
        _ executable: String, _ arguments: [String] = [], environment: [String: String] = [:],
        input: Input = .closed, mergingStandardError: Bool = false
    ) async throws -> RunningChild {
        try await RunningChild(executable: executable, arguments: arguments, environment: environment, input: input,
                               mergingStandardError: mergingStandardError)
    }
}

/// A started child process. Its output is collected as it comes; a test can
/// wait for a line, stop the child, or wait for its exit, each within a
/// time limit. A child still running when the last reference goes is killed.
public final class RunningChild: @unchecked Sendable {
    // @unchecked: `process` is configured before `run()` and afterwards only
    // read (pid) or signalled; everything that changes is in `state`.

    public let command: String
    public var processIdentifier: Int32 { process.processIdentifier }
    private let process: Process
    private let state = Mutex(State())
    /// The child's TMPDIR (unless the test gave one): what it, or anything
    /// it starts, leaves in its temporary directory is removed with this
    /// object, also when it was killed before cleaning up (umockdev-run and
    /// the Python harnesses leave their testbed, /sys and /dev included,
    /// when killed at a time limit).
    private let scratch: TemporaryDirectory?

    private struct State {
        var stdout = Data()
        var stderr = Data()
        var openStreams = 0
        var exit: (status: Int32, signalled: Bool)?
        var waiters: [Int: Waiter] = [:]
        var nextWaiter = 0
        /// Set once the child has exited and the streams had their grace to
        /// reach end of file: the readers stop even if a grandchild still
        /// holds a pipe open.
        var stopReading = false
        /// Standard input held open until the child exits (`.bytesKeepingOpen`).
        var heldInput: FileHandle?
    }

    private struct Waiter {
        var check: @Sendable (Snapshot) -> Bool
        var continuation: CheckedContinuation<Bool, Never>
    }

    /// What a waiter may look at.
    public struct Snapshot: Sendable {
        public var stdout: Data
        public var stderr: Data
        public var streamsClosed: Bool
        public var exit: (status: Int32, signalled: Bool)?
        public var exited: Bool { exit != nil }
    }

    init(executable: String, arguments: [String], environment: [String: String], input: ChildProcess.Input,
         mergingStandardError: Bool) async throws {
        command = ([executable] + arguments).map { $0.contains(" ") ? "'\($0)'" : $0 }.joined(separator: " ")
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        var merged = ProcessInfo.processInfo.environment
        for (key, value) in environment { merged[key] = value }
        if environment["TMPDIR"] == nil {
            let scratch = try TemporaryDirectory(prefix: "pumpwand-child")
            merged["TMPDIR"] = scratch.path
            self.scratch = scratch
        } else {
            scratch = nil
        }
        process.environment = merged

        let out = Pipe()
        let err = mergingStandardError ? out : Pipe()
        let stdin = Pipe()
        process.standardOutput = out
        process.standardError = err
        process.standardInput = stdin
        self.process = process
        state.withLock { $0.openStreams = mergingStandardError ? 1 : 2 }

        process.terminationHandler = { [weak self] process in
            self?.exited(status: process.terminationStatus, signalled: process.terminationReason == .uncaughtSignal)
        }
        try await Self.launch(process)
        startExitWatcher()

        startReader(out.fileHandleForReading, isStandardError: false)
        if !mergingStandardError { startReader(err.fileHandleForReading, isStandardError: true) }
        startWriter(stdin.fileHandleForWriting, input: input)
    }

    /// Removes the child's own TMPDIR (if this object made it) and what is
    /// in it; also done when the object ends.
    public func removeTemporaryDirectory() {
        scratch?.remove()
    }

    deinit {
        // Nothing may outlive its test: a child still running is killed
        // (Foundation reaps it).
        if state.withLock({ $0.exit == nil }) { Glibc.kill(processIdentifier, SIGKILL) }
        state.withLock { $0.stopReading = true }
    }

    // MARK: Looking

    public var isRunning: Bool { state.withLock { $0.exit == nil } }

    /// The output so far.
    public var stdout: String { state.withLock { String(decoding: $0.stdout, as: UTF8.self) } }
    public var stderr: String { state.withLock { String(decoding: $0.stderr, as: UTF8.self) } }

    /// Waits until a whole line of standard output starts with `prefix`
    /// (anywhere in the output so far) and returns it without its newline;
    /// nil when output ends without one or `within` passes first.
    public func line(startingWith prefix: String, within limit: Duration = .seconds(30)) async -> String? {
        @Sendable func find(_ data: Data) -> String? {
            let text = String(decoding: data, as: UTF8.self)
            var lines = text.split(separator: "\n", omittingEmptySubsequences: false)
            // The last piece is a line still being written, unless it is empty.
            lines.removeLast()
            return lines.first { $0.hasPrefix(prefix) }.map(String.init)
        }
        _ = await wait(within: limit) { find($0.stdout) != nil || $0.streamsClosed }
        let snapshot = self.snapshot()
        if let found = find(snapshot.stdout) { return found }
        // At end of output a last line without a newline counts too.
        if snapshot.streamsClosed, let last = String(decoding: snapshot.stdout, as: UTF8.self)
            .split(separator: "\n").last, last.hasPrefix(prefix) { return String(last) }
        return nil
    }

    // MARK: Ending

    /// Waits for the child to exit and its output to end. Throws
    /// `ChildProcess.TimedOut` (after killing it: SIGTERM, and SIGKILL
    /// `terminationGrace` later) when that takes longer than `limit`.
    public func finish(within limit: Duration = ChildProcess.defaultTimeLimit,
                       terminationGrace: Duration = ChildProcess.terminationGrace) async throws -> ChildProcess.Result {
        if await wait(within: limit, until: { $0.exited && $0.streamsClosed }) { return result(timedOut: false) }
        if !isRunning {
            // Exited; a grandchild holds the output open. Wait for the readers to give up.
            _ = await wait(within: .seconds(10)) { $0.streamsClosed }
            return result(timedOut: false)
        }
        await stop(signal: SIGTERM, tree: true, grace: terminationGrace)
        throw ChildProcess.TimedOut(command: command, limit: limit, result: result(timedOut: true))
    }

    /// Stops the child as `kill(1)` would (SIGTERM: wandsim saves its state)
    /// and waits for it; SIGKILL follows after `grace` (children start with
    /// SIGTERM blocked, see `launch`: one without a handler for it only
    /// ends then).
    @discardableResult
    public func terminate(grace: Duration = ChildProcess.terminationGrace) async -> ChildProcess.Result {
        await stop(signal: SIGTERM, tree: false, grace: grace)
        return result(timedOut: false)
    }

    /// Kills the child without warning (SIGKILL), as a crash or a pulled cable would, and waits for it.
    @discardableResult
    public func kill() async -> ChildProcess.Result {
        await stop(signal: SIGKILL, tree: false)
        return result(timedOut: false)
    }

    /// Waits (polling /proc) until the child has a handler for `signal`;
    /// false after `limit` or once it has exited. wandsim and `pumpctl wands
    /// --watch` announce themselves before libdispatch has armed their
    /// SIGTERM source, and a SIGTERM sent before that is discarded (see
    /// `launch`): a test that will stop one with SIGTERM waits for this first.
    public func waitUntilCatching(_ signal: Int32, within limit: Duration = .seconds(30)) async -> Bool {
        let deadline = ContinuousClock.now + limit
        while isRunning && ContinuousClock.now < deadline {
            if Self.catches(processIdentifier, signal) { return true }
            try? await Task.sleep(for: .milliseconds(10))
        }
        return false
    }

    /// True when /proc/PID/status lists a handler for `signal` (SigCgt).
    static func catches(_ pid: Int32, _ signal: Int32) -> Bool {
        guard let status = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8),
              let line = status.split(separator: "\n").first(where: { $0.hasPrefix("SigCgt:") }),
              let mask = UInt64(line.dropFirst("SigCgt:".count).trimmingCharacters(in: .whitespaces), radix: 16)
        else { return false }
        return mask >> UInt64(signal - 1) & 1 == 1
    }

    /// Waits up to `limit` for the child to exit by itself; true when it did.
    public func waitForExit(within limit: Duration) async -> Bool {
        await wait(within: limit) { $0.exited }
    }

    /// Signals the child (with `tree`, also everything it started: a
    /// harness and the command under it), escalating to SIGKILL after the
    /// grace, and waits for the exit and the end of its output.
    private func stop(signal: Int32, tree: Bool, grace: Duration = ChildProcess.terminationGrace) async {
        guard isRunning else {
            _ = await wait(within: .seconds(10)) { $0.streamsClosed }
            return
        }
        let targets = tree ? [processIdentifier] + Self.descendants(of: processIdentifier) : [processIdentifier]
        for pid in targets { Glibc.kill(pid, signal) }
        if signal != SIGKILL, !(await wait(within: grace) { $0.exited }) {
            for pid in targets { Glibc.kill(pid, SIGKILL) }
        } else if tree {
            // The child is gone; what it started must not linger either.
            for pid in targets.dropFirst() { Glibc.kill(pid, SIGKILL) }
        }
        _ = await wait(within: .seconds(30)) { $0.exited }
        _ = await wait(within: .seconds(10)) { $0.streamsClosed }
    }

    /// The processes below `root`, from /proc (children before grandchildren).
    static func descendants(of root: Int32) -> [Int32] {
        var parents: [Int32: [Int32]] = [:]
        for entry in (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? [] {
            guard let pid = Int32(entry),
                  let stat = try? String(contentsOfFile: "/proc/\(entry)/stat", encoding: .utf8),
                  let close = stat.lastIndex(of: ")") else { continue }
            // "pid (comm) state ppid ...": the name may hold spaces and parentheses.
            let fields = stat[stat.index(after: close)...].split(separator: " ")
            guard fields.count > 1, let parent = Int32(fields[1]) else { continue }
            parents[parent, default: []].append(pid)
        }
        var found: [Int32] = []
        var queue = [root]
        while !queue.isEmpty {
            let children = parents[queue.removeFirst()] ?? []
            found += children
            queue += children
        }
        return found
    }

    private func result(timedOut: Bool) -> ChildProcess.Result {
        let snapshot = self.snapshot()
        return ChildProcess.Result(
            status: snapshot.exit?.status ?? -1, signalled: snapshot.exit?.signalled ?? false,
            stdout: String(decoding: snapshot.stdout, as: UTF8.self),
            stderr: String(decoding: snapshot.stderr, as: UTF8.self), timedOut: timedOut)
    }

    // MARK: Waiting

    public func snapshot() -> Snapshot {
        state.withLock { Self.snapshot(of: $0) }
    }

    private static func snapshot(of state: borrowing State) -> Snapshot {
        Snapshot(stdout: state.stdout, stderr: state.stderr, streamsClosed: state.openStreams == 0, exit: state.exit)
    }

    /// Suspends (holding no thread) until `condition` holds or `limit`
    /// passes; true when the condition held.
    public func wait(within limit: Duration, until condition: @escaping @Sendable (Snapshot) -> Bool) async -> Bool {
        await withCheckedContinuation { (continuation: CheckedContinuation<Bool, Never>) in
            let id: Int? = state.withLock { state in
                if condition(Self.snapshot(of: state)) { return nil }
                let id = state.nextWaiter
                state.nextWaiter += 1
                state.waiters[id] = Waiter(check: condition, continuation: continuation)
                return id
            }
            guard let id else { return continuation.resume(returning: true) }
            let (seconds, attoseconds) = limit.components
            let nanoseconds = max(0, Int(seconds) * 1_000_000_000 + Int(attoseconds / 1_000_000_000))
            DispatchQueue.global().asyncAfter(deadline: .now() + .nanoseconds(nanoseconds)) { [weak self] in
                let waiter = self?.state.withLock { $0.waiters.removeValue(forKey: id) }
                waiter?.continuation.resume(returning: false)
            }
        }
    }

    /// Changes the state and wakes the waiters whose condition now holds.
    private func update(_ change: (inout State) -> Void) {
        let ready: [Waiter] = state.withLock { state in
            change(&state)
            let snapshot = Self.snapshot(of: state)
            let done = state.waiters.filter { $0.value.check(snapshot) }
            for id in done.keys { state.waiters[id] = nil }
            return Array(done.values)
        }
        for waiter in ready { waiter.continuation.resume(returning: true) }
    }

    /// Starts `process` from a thread of its own with a known signal mask,
    /// the one Swift concurrency's threads have.
    ///
    /// A child inherits the signal mask of the thread that starts it, and
    /// Swift concurrency's threads (libdispatch workers) block every signal
    /// but the synchronous ones, SIGPIPE and SIGPROF. The tests have always
    /// started their children from those threads, and the programs under
    /// test have only ever run that way. Starting every child from here
    /// gives it that mask whatever thread calls `start`, so no test depends
    /// on which thread it happened to run on. (It does not make an early
    /// SIGTERM safe: wandsim and `pumpctl wands --watch` set SIGTERM to
    /// SIG_IGN and take it through a DispatchSource that libdispatch arms a
    /// little after they announce themselves, and their main thread, parked
    /// in `dispatch_main`'s sigsuspend, takes a SIGTERM sent in between and
    /// discards it; see `waitUntilCatching`.)
    private static func launch(_ process: Process) async throws {
        // The caller waits suspended: a launch may be held back for as long
        // as a test is in withNoChildStarting, which needs a concurrency
        // thread to finish.
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
            let thread = Thread {
                // Held back while a test closes descriptors in `withNoChildStarting`.
                while !ChildProcess.launches.withLock({ state in
                    guard state.holdingBack == 0 else { return false }
                    state.inFlight += 1
                    return true
                }) {
                    usleep(1_000)
                }
                // posix_spawn returns once the child has exec'd (or failed to):
                // from then on it holds none of this process's O_CLOEXEC descriptors.
                defer { ChildProcess.launches.withLock { $0.inFlight -= 1 } }
                var mask = sigset_t()
                sigfillset(&mask)
                // As libdispatch's workers: these can be delivered only to the
                // thread that caused them, or must not be held back.
                for synchronous in [SIGILL, SIGTRAP, SIGFPE, SIGBUS, SIGSEGV, SIGSYS, SIGPIPE, SIGPROF] {
                    sigdelset(&mask, synchronous)
                }
                pthread_sigmask(SIG_SETMASK, &mask, nil)
                continuation.resume(with: Result { try process.run() })
            }
            thread.name = "child launcher"
            thread.start()
        }
    }

    // MARK: The exit

    /// Records the exit (the first report wins) and lets go of what the child held.
    private func exited(status: Int32, signalled: Bool) {
        var first = false
        update { state in
            guard state.exit == nil else { return }
            state.exit = (status, signalled)
            first = true
        }
        guard first else { return }
        try? state.withLock { state -> FileHandle? in
            defer { state.heldInput = nil }
            return state.heldInput
        }?.close()
        // A grandchild that inherited a pipe may keep it open after the
        // child is gone; the output so far is the child's output then.
        DispatchQueue.global().asyncAfter(deadline: .now() + 5) { [weak self] in
            self?.update { $0.stopReading = true }
        }
    }

    /// Foundation reports the exit only once every process that inherited
    /// its internal socket has gone, so a child whose own children live on
    /// (`sleep &`, a harness's command) would look alive. This thread sees
    /// the exit itself, with `waitid(WNOWAIT)`, which leaves the reaping to
    /// Foundation.
    private func startExitWatcher() {
        let pid = processIdentifier
        let thread = Thread { [weak self] in
            var info = siginfo_t()
            var outcome: Int32
            repeat { outcome = waitid(P_PID, id_t(pid), &info, WEXITED | WNOWAIT) } while outcome < 0 && errno == EINTR
            // ECHILD: Foundation reaped it first, and its handler reports the exit.
            guard outcome == 0 else { return }
            let code = info.si_code
            let status = info._sifields._sigchld.si_status
            self?.exited(status: status, signalled: code == Int32(CLD_KILLED) || code == Int32(CLD_DUMPED))
        }
        thread.name = "child exit watcher"
        thread.start()
    }

    // MARK: The threads that move bytes

    private func startReader(_ handle: FileHandle, isStandardError: Bool) {
        let thread = Thread { [weak self] in
            let fd = handle.fileDescriptor
            var buffer = [UInt8](repeating: 0, count: 65536)
            reading: while true {
                var poller = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
                let ready = Glibc.poll(&poller, 1, 100)
                if ready < 0 && errno == EINTR { continue }
                if ready == 0 {
                    // Nothing for 100 ms: give up only once told to.
                    guard let self, !self.state.withLock({ $0.stopReading }) else { break reading }
                    continue
                }
                let count = buffer.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
                if count < 0 && errno == EINTR { continue }
                if count <= 0 { break reading }
                let chunk = Data(buffer[0..<count])
                guard let self else { break reading }
                self.update { state in
                    if isStandardError { state.stderr.append(chunk) } else { state.stdout.append(chunk) }
                }
            }
            try? handle.close()
            self?.update { $0.openStreams -= 1 }
        }
        thread.name = "child output reader"
        thread.start()
    }

    private func startWriter(_ handle: FileHandle, input: ChildProcess.Input) {
        let (data, keepOpen): (Data, Bool)
        switch input {
        case .closed: (data, keepOpen) = (Data(), false)
        case .bytes(let bytes): (data, keepOpen) = (bytes, false)
        case .bytesKeepingOpen(let bytes): (data, keepOpen) = (bytes, true)
        }
        if data.isEmpty && !keepOpen {
            try? handle.close()
            return
        }
        let thread = Thread { [weak self] in
            // A child that exits without reading its input must not kill
            // the test process with SIGPIPE: blocked on this thread, the
            // write fails with EPIPE instead.
            var pipeSignal = sigset_t()
            sigemptyset(&pipeSignal)
            sigaddset(&pipeSignal, SIGPIPE)
            pthread_sigmask(SIG_BLOCK, &pipeSignal, nil)
            let fd = handle.fileDescriptor
            data.withUnsafeBytes { bytes in
                var offset = 0
                while offset < bytes.count {
                    let written = Glibc.write(fd, bytes.baseAddress! + offset, bytes.count - offset)
                    if written < 0 && errno == EINTR { continue }
                    if written <= 0 { break }
                    offset += written
                }
            }
            // Held open: the termination handler closes it once the child exits.
            let hold = keepOpen && self?.state.withLock { state -> Bool in
                if state.exit != nil { return false }
                state.heldInput = handle
                return true
            } == true
            if !hold { try? handle.close() }
        }
        thread.name = "child input writer"
        thread.start()
    }
}
