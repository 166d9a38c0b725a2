import CTerminal
import Synchronization
import SystemPackage
import WandLink
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// The wand's end of a pseudo-terminal: the host opens the slave path as
/// if it were a wand's tty, and the simulated wand reads and writes the
/// master.
///
/// The simulator keeps one descriptor of the slave open itself, so the
/// master never sees a hangup when a host closes the slave: the next host
/// can open the same path and talk to the same simulated wand. Blocking
/// waits run on their own threads in slices (WandLink's `BlockingLane`),
/// polling with the same termios and poll wrappers the serial transport
/// uses.
final class PseudoTerminalWand: WandTransport {
    /// The tty the host opens.
    let slavePath: String
    var peerDescription: String { "pty master of \(slavePath)" }

    private let master: FileDescriptor
    private let heldSlave: FileDescriptor
    private let reader = BlockingLane(label: "wandsim.pty.read")
    private let writer = BlockingLane(label: "wandsim.pty.write")
    private let closing = Atomic(false)
    private let released = Mutex(false)

    static let pollSlice: Int32 = 50
    static let sendTimeout: Duration = .seconds(2)

    /// Creates a new pseudo-terminal in raw mode.
    init() throws(WandTransportError) {
        var name = [CChar](repeating: 0, count: 256)
        let descriptor = pumpwand_open_pseudoterminal(&name, name.count)
        guard descriptor >= 0 else { throw .io(errno: -descriptor, operation: "creating a pseudo-terminal (posix_openpt)") }
        master = FileDescriptor(rawValue: descriptor)
        slavePath = String(decoding: name.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        do {
            let flags = try systemCall { fcntl(descriptor, F_GETFL) }
            try systemCall { fcntl(descriptor, F_SETFL, flags | O_NONBLOCK) }
            heldSlave = try FileDescriptor.open(
                slavePath, .readWrite, options: [.nonBlocking, .closeOnExec, FileDescriptor.OpenOptions(rawValue: O_NOCTTY)],
                retryOnInterrupt: true)
        } catch {
            try? master.close()
            throw .io(errno: (error as? Errno)?.rawValue ?? EIO, operation: "opening \(slavePath)")
        }
        do {
            // Raw from the start: with the default line discipline the pty
            // would echo the wand's own bytes back to it, and translate
            // CR, 0x11 and 0x13 before any host has opened the slave.
            var attributes = try heldSlave.terminalAttributes()
            attributes.makeRaw()
            attributes.setReadThreshold(minimumBytes: 0, timeoutDeciseconds: 0)
            try heldSlave.setTerminalAttributes(attributes, when: .now)
        } catch {
            try? heldSlave.close()
            try? master.close()
            throw .io(errno: error.rawValue, operation: "putting \(slavePath) in raw mode")
        }
    }

    deinit { release() }

    private func release() {
        let first = released.withLock { released -> Bool in
            defer { released = true }
            return !released
        }
        guard first else { return }
        try? heldSlave.close()
        try? master.close()
    }

    func send(_ bytes: [UInt8]) async throws(WandSendError) {
        guard !bytes.isEmpty else { return }
        let deadline = ContinuousClock.now + Self.sendTimeout
        try await writer.run { _ in
            Result { () throws(WandSendError) in try self.writeAll(bytes, deadline: deadline) }
        }
    }

    func receive(deadline: ContinuousClock.Instant) async throws(WandTransportError) -> [UInt8] {
        try await reader.run { cancellation in
            Result { () throws(WandTransportError) in try self.readAvailable(deadline: deadline, cancellation: cancellation) }
        }
    }

    func close() async {
        guard !closing.exchange(true, ordering: .acquiringAndReleasing) else { return }
        await reader.drain()
        await writer.drain()
        release()
    }

    private func slice(until deadline: ContinuousClock.Instant) -> Int32 {
        let remaining = deadline - .now
        guard remaining > .zero else { return 0 }
        let (seconds, attoseconds) = remaining.components
        return Int32(min(Int64(Self.pollSlice), seconds * 1000 + (attoseconds + 999_999_999_999_999) / 1_000_000_000_000_000))
    }

    private func readAvailable(deadline: ContinuousClock.Instant, cancellation: CancellationFlag) throws(WandTransportError) -> [UInt8] {
        while true {
            if closing.load(ordering: .acquiring) { throw .closed }
            if cancellation.isCancelled { throw .cancelled }
            let events: PollEvents
            do { events = try master.poll(for: .readable, timeoutMilliseconds: slice(until: deadline)) } catch {
                throw .io(errno: error.rawValue, operation: "poll \(slavePath)")
            }
            if events.isEmpty {
                if ContinuousClock.now >= deadline { throw .timedOut }
                continue
            }
            var buffer = [UInt8](repeating: 0, count: 4096)
            let count: Int
            do {
                count = try buffer.withUnsafeMutableBytes { raw in
                    Result { () throws(Errno) in try systemCall { read(master.rawValue, raw.baseAddress, raw.count) } }
                }.get()
            } catch where error == .wouldBlock {
                continue
            } catch where error == .ioError {
                // No slave open at all: cannot happen while we hold one,
                // but never spin on it.
                if ContinuousClock.now >= deadline { throw .timedOut }
                continue
            } catch {
                throw .io(errno: error.rawValue, operation: "read \(slavePath)")
            }
            if count > 0 { return Array(buffer.prefix(count)) }
        }
    }

    /// Counts the bytes write(2) took, as the serial transport does: those
    /// are in the pty and the host can read them.
    private func writeAll(_ bytes: [UInt8], deadline: ContinuousClock.Instant) throws(WandSendError) {
        var offset = 0
        while offset < bytes.count {
            if closing.load(ordering: .acquiring) { throw WandSendError(failure: .closed, bytesSent: offset) }
            do {
                offset += try bytes.withUnsafeBytes { raw in
                    Result { () throws(Errno) in
                        try systemCall { write(master.rawValue, raw.baseAddress.map { $0 + offset }, raw.count - offset) }
                    }
                }.get()
                continue
            } catch where error == .wouldBlock {
                // No host is reading and the pty's buffer is full.
            } catch {
                throw WandSendError(failure: .io(errno: error.rawValue, operation: "write \(slavePath)"), bytesSent: offset)
            }
            if ContinuousClock.now >= deadline { throw WandSendError(failure: .timedOut, bytesSent: offset) }
            _ = try? master.poll(for: .writable, timeoutMilliseconds: slice(until: deadline))
        }
    }
}
