import WandProtocol

/// The pump clock as the host last read it, tied to this computer's
/// monotonic clock: enough to say what the pump's clock shows now without
/// asking again, and so to give each state-changing request its expiry in
/// pump time.
///
/// Monotonic, not wall-clock, time carries the reading forward: a wall
/// clock set or stepped by NTP between the read and the send must not move
/// an expiry. `ContinuousClock` keeps counting while the laptop sleeps, as
/// the pump's clock does, so a lid closed during a review does not leave
/// the estimate behind. The pump reports whole seconds and the reply takes time to
/// arrive, so the estimate lags the pump's true clock by up to about a
/// second: an expiry from it lives a little less than asked, never longer.
public struct PumpClockReading: Sendable, Equatable {
    /// The pump's UTC seconds, as its reply said.
    public var pumpUTCSeconds: Int64
    /// When this computer received that reply.
    public var receivedAt: ContinuousClock.Instant

    public init(pumpUTCSeconds: Int64, receivedAt: ContinuousClock.Instant) {
        self.pumpUTCSeconds = pumpUTCSeconds
        self.receivedAt = receivedAt
    }

    /// The pump's clock at `now`, in whole seconds (rounded down).
    public func pumpUTCSeconds(at now: ContinuousClock.Instant) -> Int64 {
        let elapsed = now - receivedAt
        // A reading from the future (it cannot happen with one monotonic
        // clock) is taken as no time elapsed rather than moving backwards.
        let seconds = max(0, elapsed.components.seconds)
        let (sum, overflow) = pumpUTCSeconds.addingReportingOverflow(seconds)
        return overflow ? .max : sum
    }

    /// The expiry for a request sent at `now`: the pump clock then plus the
    /// host's validity. Every attempt of the request reuses these bytes.
    public func expiry(at now: ContinuousClock.Instant,
                       validity: Int64 = RequestExpiry.hostValiditySeconds) -> RequestExpiry {
        .after(pumpClock: pumpUTCSeconds(at: now), validity: validity)
    }
}
