import Synchronization

/// One end of an in-process byte pipe: for tests and for running the
/// simulator inside the same process as the programmer.
///
/// It keeps the contract of the real transports: bounded buffering (a
/// sender waits for room, and times out if the other end never reads),
/// `receive` returns whatever is buffered, and closing one end looks like an
/// unplug to the other.
public final class InMemoryTransport: WandTransport {
    /// The most bytes buffered in each direction before `send` waits.
    public static let defaultCapacity = 64 * 1024

    public let peerDescription: String
    private let inbound: Direction
    private let outbound: Direction
    private let sendTimeout: Duration

    private init(name: String, inbound: Direction, outbound: Direction, sendTimeout: Duration) {
        peerDescription = name
        self.inbound = inbound
        self.outbound = outbound
        self.sendTimeout = sendTimeout
    }

    /// Two connected ends: what one sends, the other receives.
    /// - Parameters:
    ///   - capacity: bytes buffered per direction before `send` waits.
    ///   - sendTimeout: how long `send` waits for room before `.timedOut`.
    public static func pair(
        capacity: Int = defaultCapacity, sendTimeout: Duration = .seconds(2)
    ) -> (host: InMemoryTransport, wand: InMemoryTransport) {
        let toWand = Direction(capacity: max(1, capacity))
        let toHost = Direction(capacity: max(1, capacity))
        return (
            InMemoryTransport(name: "in-memory wand", inbound: toHost, outbound: toWand, sendTimeout: sendTimeout),
            InMemoryTransport(name: "in-memory host", inbound: toWand, outbound: toHost, sendTimeout: sendTimeout)
        )
    }

    /// Bytes count as sent once they are in the other end's buffer: from
    /// then on the other end can read them, whatever happens to this one.
    public func send(_ bytes: [UInt8]) async throws(WandSendError) {
        let deadline = ContinuousClock.now + sendTimeout
        var sent = 0
        while sent < bytes.count {
            let seen = outbound.signal.generation
            let accepted: Int
            do {
                accepted = try outbound.withState { state throws(WandTransportError) -> Int in
                    if state.senderClosed { throw .closed }
                    if state.receiverClosed { throw .unplugged }
                    let room = state.capacity - state.buffer.count
                    let count = min(room, bytes.count - sent)
                    state.buffer.append(contentsOf: bytes[sent..<(sent + count)])
                    return count
                }
            } catch {
                throw WandSendError(failure: error, bytesSent: sent)
            }
            if accepted > 0 {
                sent += accepted
                outbound.signal.signal()
                continue
            }
            if Task.isCancelled { throw WandSendError(failure: .cancelled, bytesSent: sent) }
            if ContinuousClock.now >= deadline { throw WandSendError(failure: .timedOut, bytesSent: sent) }
            await outbound.signal.wait(after: seen, deadline: deadline)
        }
    }

    public func receive(deadline: ContinuousClock.Instant) async throws(WandTransportError) -> [UInt8] {
        while true {
            let seen = inbound.signal.generation
            let taken = try inbound.withState { state throws(WandTransportError) -> [UInt8] in
                if state.receiverClosed { throw .closed }
                let bytes = state.buffer
                state.buffer.removeAll(keepingCapacity: true)
                if bytes.isEmpty && state.senderClosed { throw .unplugged }
                return bytes
            }
            if !taken.isEmpty {
                inbound.signal.signal()  // room for a waiting sender
                return taken
            }
            if Task.isCancelled { throw .cancelled }
            if ContinuousClock.now >= deadline { throw .timedOut }
            await inbound.signal.wait(after: seen, deadline: deadline)
        }
    }

    public func close() async { shutDown() }

    // Dropping an end without closing it is an unplug for the other end.
    deinit { shutDown() }

    private func shutDown() {
        inbound.state.withLock { $0.receiverClosed = true }
        outbound.state.withLock { $0.senderClosed = true }
        inbound.signal.signal()
        outbound.signal.signal()
    }

    /// One direction of the pipe. Bytes the sender wrote before closing
    /// stay readable; only then does the receiver see `.unplugged`.
    private final class Direction: Sendable {
        struct State {
            let capacity: Int
            var buffer: [UInt8] = []
            var senderClosed = false
            var receiverClosed = false
        }

        let state: Mutex<State>
        let signal = ChangeSignal()

        init(capacity: Int) { state = Mutex(State(capacity: capacity)) }

        func withState<R>(_ body: (inout State) throws(WandTransportError) -> R) throws(WandTransportError) -> R {
            try state.withLock { (state: inout State) throws(WandTransportError) -> R in try body(&state) }
        }
    }
}
