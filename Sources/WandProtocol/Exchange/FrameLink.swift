/// The byte link the exchange layer runs over: a wand reached by USB bulk
/// endpoints, a serial port, or an in-memory pair. Deliberately tiny so any
/// transport (WandLink's `WandTransport`) adapts to it in a few lines.
public protocol FrameLink: Sendable {
    /// Writes all of `bytes` to the wand. Throws `FrameLinkError.notSent`
    /// only when it is certain that no byte left the host; any other error
    /// means some or all bytes may have gone out.
    func send(_ bytes: [UInt8]) async throws
    /// Returns the next bytes that arrived (any chunking), or nil when
    /// `deadline` passed with nothing received. Throws when the link is gone.
    func receive(until deadline: ContinuousClock.Instant) async throws -> [UInt8]?
}

/// Errors a `FrameLink` throws that the exchange layer interprets.
public enum FrameLinkError: Error, Equatable, Sendable {
    /// Nothing was written (device closed, unplugged before the write,
    /// refused by the driver). The exchange reports this as certain failure.
    case notSent(reason: String)
}

/// How long to wait for each reply and how often to send the same frame.
///
/// The defaults follow hardware/PROTOCOL.md: 1.5 s per attempt covers the
/// wand's radio timeout (1 s) plus USB or serial latency; three attempts
/// (one send and two identical retransmissions) ride out short radio fades
/// without keeping a technician waiting more than about 5 s.
public struct RetryPolicy: Sendable, Equatable {
    public var attemptTimeout: Duration
    public var maximumAttempts: Int

    public init(attemptTimeout: Duration = .milliseconds(1500), maximumAttempts: Int = 3) {
        self.attemptTimeout = attemptTimeout
        self.maximumAttempts = max(1, maximumAttempts)
    }

    public static let standard = RetryPolicy()
}
