import SystemPackage
import Synchronization
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// A wand reached through a tty: the CDC-ACM bring-up interface
/// (`/dev/ttyACM0`, `/dev/pumpwand/by-serial/...`), a bring-up board's UART,
/// or wandsim's pty.
///
/// Opening takes the tty exclusively (flock), puts it in raw 8N1 at the
/// configured speed, raises DTR and RTS where the tty has them, and discards
/// anything left over from a previous user, so the first byte read is the
/// wand's answer to this program.
///
/// Blocking calls run on two dedicated threads (one for reading, one for
/// writing) and wait in slices of at most `pollSlice`, so a close or a
/// cancellation is noticed promptly and no thread of the cooperative pool is
/// ever blocked.
public final class SerialTransport: WandTransport {
    /// How the tty is set up.
    public struct Configuration: Sendable {
        /// Line speed in bits per second. Only speeds termios names are
        /// accepted; a USB CDC-ACM wand ignores it, a UART needs it.
        public var bitsPerSecond: Int
        /// How long `send` waits for the tty to accept bytes before `.timedOut`.
        public var sendTimeout: Duration

        public init(bitsPerSecond: Int = 115_200, sendTimeout: Duration = .seconds(2)) {
            self.bitsPerSecond = bitsPerSecond
            self.sendTimeout = sendTimeout
        }
    }

    /// Longest single wait inside a blocking call.
    static let pollSlice: Duration = .milliseconds(50)
    /// Largest single read.
    static let readChunk = 4096

    public let path: String
    public var peerDescription: String { path }

    private let descriptor: FileDescriptor
    private let sendTimeout: Duration
    private let reader: BlockingLane
    private let writer: BlockingLane
    private let state = Mutex(State())

    private struct State {
        /// `close()` was called: new operations throw `.closed`, running
        /// ones stop at their next slice.
        var closing = false
        /// The descriptor has been closed (by `close()` or `deinit`).
        var released = false
    }

    /// Opens and configures the tty at `path`.
    ///
    /// Throws `.notFound` when there is no such tty, `.permissionDenied`
    /// when this user may not open it (the udev rules grant access),
    /// `.busy` when another program holds it, `.io` for anything else
    /// (`ENOTTY` when `path` is not a terminal).
    public init(path: String, configuration: Configuration = Configuration()) throws(WandTransportError) {
        guard let speed = Self.baudRate(bitsPerSecond: configuration.bitsPerSecond) else {
            throw .io(errno: EINVAL, operation: "setting \(configuration.bitsPerSecond) bit/s on \(path) (unsupported speed)")
        }
        self.path = path
        sendTimeout = configuration.sendTimeout
        descriptor = try Self.openConfigured(path: path, speed: speed)
        reader = BlockingLane(label: "pumpwand.serial.read \(path)")
        writer = BlockingLane(label: "pumpwand.serial.write \(path)")
    }

    deinit {
        // No operation can be running: each one holds a reference to self.
        let needsClose = state.withLock { state -> Bool in
            defer { state.released = true }
            return !state.released
        }
        if needsClose { try? descriptor.close() }
    }

    public func send(_ bytes: [UInt8]) async throws(WandSendError) {
        guard !bytes.isEmpty else { return }
        let deadline = ContinuousClock.now + sendTimeout
        try await writer.run { _ in
            // Cancellation is not honoured here: stopping half-way through
            // a frame would leave the wand with a fragment. The send ends
            // when it completes, the wand stops reading (timeout) or goes away.
            Result { () throws(WandSendError) in try self.writeAll(bytes, deadline: deadline) }
        }
    }

    public func receive(deadline: ContinuousClock.Instant) async throws(WandTransportError) -> [UInt8] {
        try await reader.run { cancellation in
            Result { () throws(WandTransportError) in try self.readAvailable(deadline: deadline, cancellation: cancellation) }
        }
    }

    public func close() async {
        let first = state.withLock { state -> Bool in
            defer { state.closing = true }
            return !state.closing
        }
        guard first else { return }
        // Running calls notice `closing` within one poll slice; after both
        // lanes are drained nothing uses the descriptor any more.
        await reader.drain()
        await writer.drain()
        let needsClose = state.withLock { state -> Bool in
            defer { state.released = true }
            return !state.released
        }
        // Closing releases the flock, so another open may take the tty.
        if needsClose { try? descriptor.close() }
    }

    // MARK: Opening

    static func openConfigured(path: String, speed: BaudRate) throws(WandTransportError) -> FileDescriptor {
        let descriptor: FileDescriptor
        do {
            // O_NOCTTY: the wand must never become this process's controlling
            // terminal. O_NONBLOCK: open does not wait for carrier, and every
            // wait below is an explicit, bounded poll.
            descriptor = try FileDescriptor.open(
                path, .readWrite,
                options: [.nonBlocking, .closeOnExec, FileDescriptor.OpenOptions(rawValue: O_NOCTTY)],
                retryOnInterrupt: true)
        } catch let error as Errno {
            throw openFailure(error, path: path, operation: "open \(path)")
        } catch {
            throw .io(errno: EIO, operation: "open \(path)")
        }
        do {
            try configure(descriptor, path: path, speed: speed)
            return descriptor
        } catch {
            try? descriptor.close()
            throw error
        }
    }

    private static func configure(_ descriptor: FileDescriptor, path: String, speed: BaudRate)
        throws(WandTransportError)
    {
        // Lock first, so a tty another program holds is refused before any
        // of its settings are touched.
        do { try descriptor.lockExclusivelyWithoutWaiting() } catch {
            throw openFailure(error, path: path, operation: "flock \(path)")
        }
        do {
            var attributes = try descriptor.terminalAttributes()
            attributes.makeRaw()
            // 8N1, receiver on, modem status lines ignored, no flow control.
            var flags = attributes.controlFlags
            flags.subtract([.characterSizeMask, .parity, .twoStopBits, .hardwareFlowControl])
            flags.formUnion([.eightBits, .local, .read])
            attributes.controlFlags = flags
            // Non-blocking reads return what is there; poll does the waiting.
            attributes.setReadThreshold(minimumBytes: 0, timeoutDeciseconds: 0)
            try attributes.setSpeed(speed)
            try descriptor.setTerminalAttributes(attributes, when: .now)
        } catch {
            throw openFailure(error, path: path, operation: "configuring \(path) as a raw 8N1 terminal")
        }
        // A CDC-ACM wand starts talking when the host raises DTR. A pty or
        // a UART without modem lines answers ENOTTY or EINVAL: harmless.
        do {
            try descriptor.raiseModemLines([.dataTerminalReady, .requestToSend])
        } catch where error == .inappropriateIOCTLForDevice || error == .invalidArgument {
        } catch {
            throw openFailure(error, path: path, operation: "raising DTR/RTS on \(path)")
        }
        // Bytes left from a previous user belong to no request of ours.
        do { try descriptor.discardTerminalQueue(.both) } catch {
            throw openFailure(error, path: path, operation: "flushing \(path)")
        }
    }

    /// How an errno from opening or setting up a tty reads as a transport
    /// error. Kept separate so every mapping is testable even where the
    /// situation cannot be created (root is never refused by file modes).
    static func openFailure(_ error: Errno, path: String, operation: String) -> WandTransportError {
        switch error {
        case .noSuchFileOrDirectory, .operationNotSupportedByDevice, .noSuchAddressOrDevice, .notDirectory:
            return .notFound(device: path)
        case .permissionDenied, .notPermitted:
            return .permissionDenied(device: path)
        case .resourceBusy, .wouldBlock:
            return .busy(device: path)
        default:
            return .io(errno: error.rawValue, operation: operation)
        }
    }

    static func baudRate(bitsPerSecond: Int) -> BaudRate? {
        switch bitsPerSecond {
        case 9600: return .b9600
        case 115_200: return .b115200
        default: return nil
        }
    }

    // MARK: Blocking work (runs on the lanes)

    private var isClosing: Bool { state.withLock { $0.closing } }

    private static func milliseconds(until deadline: ContinuousClock.Instant) -> Int32 {
        let remaining = min(max(deadline - .now, .zero), pollSlice)
        let (seconds, attoseconds) = remaining.components
        // Round up so a wait never ends just before the deadline.
        return Int32(seconds * 1000 + (attoseconds + 999_999_999_999_999) / 1_000_000_000_000_000)
    }

    /// A tty that went away answers EIO (hangup), ENXIO or ENODEV.
    private static func isHangup(_ error: Errno) -> Bool {
        error == .ioError || error == .noSuchAddressOrDevice || error == .operationNotSupportedByDevice
    }

    private func readAvailable(deadline: ContinuousClock.Instant, cancellation: CancellationFlag)
        throws(WandTransportError) -> [UInt8]
    {
        while true {
            if isClosing { throw .closed }
            if cancellation.isCancelled { throw .cancelled }
            let events: PollEvents
            do { events = try descriptor.poll(for: .readable, timeoutMilliseconds: Self.milliseconds(until: deadline)) }
            catch { throw .io(errno: error.rawValue, operation: "poll \(path)") }
            if events.isEmpty {
                if ContinuousClock.now >= deadline { throw .timedOut }
                continue
            }
            if events.contains(.invalid) { throw .io(errno: EBADF, operation: "poll \(path)") }
            // Readable, hung up or in error: the read says which. Bytes that
            // arrived before a hangup are returned first.
            var buffer = [UInt8](repeating: 0, count: Self.readChunk)
            let count: Int
            do {
                count = try buffer.withUnsafeMutableBytes { raw in
                    Result { () throws(Errno) in
                        try systemCall { Glibc.read(descriptor.rawValue, raw.baseAddress, raw.count) }
                    }
                }.get()
            } catch where error == .wouldBlock {
                continue
            } catch where Self.isHangup(error) {
                throw .unplugged
            } catch {
                throw .io(errno: error.rawValue, operation: "read \(path)")
            }
            // Poll said ready and nothing came: the other end hung up.
            if count == 0 { throw .unplugged }
            return Array(buffer.prefix(count))
        }
    }

    /// Writes every byte, counting what write(2) accepted: a byte the
    /// kernel took is in the tty's output queue and may reach the wand
    /// whatever happens next, a byte it did not take never can. A failure
    /// carries that count.
    private func writeAll(_ bytes: [UInt8], deadline: ContinuousClock.Instant) throws(WandSendError) {
        var offset = 0
        func failed(_ failure: WandTransportError) -> WandSendError {
            WandSendError(failure: failure, bytesSent: offset)
        }
        while offset < bytes.count {
            if isClosing { throw failed(.closed) }
            do {
                offset += try bytes.withUnsafeBytes { raw in
                    Result { () throws(Errno) in
                        try systemCall {
                            Glibc.write(descriptor.rawValue, raw.baseAddress.map { $0 + offset }, raw.count - offset)
                        }
                    }
                }.get()
                continue
            } catch where error == .wouldBlock {
                // The tty's output buffer is full: wait for room below.
            } catch where Self.isHangup(error) {
                throw failed(.unplugged)
            } catch {
                throw failed(.io(errno: error.rawValue, operation: "write \(path)"))
            }
            let events: PollEvents
            do { events = try descriptor.poll(for: .writable, timeoutMilliseconds: Self.milliseconds(until: deadline)) }
            catch { throw failed(.io(errno: error.rawValue, operation: "poll \(path)")) }
            if events.contains(.hangUp) { throw failed(.unplugged) }
            if events.isEmpty && ContinuousClock.now >= deadline { throw failed(.timedOut) }
        }
    }
}
