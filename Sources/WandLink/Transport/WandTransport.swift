/// A byte pipe to one wand: the layer under the wire protocol.
///
/// A transport moves bytes and nothing else. It does not know where frames
/// begin or end, and it never retries: whether a lost reply means "resend"
/// or "ask the pump what happened" is the protocol's decision, because a
/// dosing command sent twice is a double dose.
///
/// Opening is the conforming type's initializer or factory
/// (`SerialTransport(path:)`, `USBTransport.open(serialNumber:)`,
/// `InMemoryTransport.pair()`), so a value of this type is always an open
/// connection until `close()`.
///
/// Conforming types are safe to share between tasks. One task may send
/// while another receives; two concurrent receives each get some of the
/// bytes, in order, which is rarely what a caller wants.
public protocol WandTransport: AnyObject, Sendable {
    /// What this transport is connected to, for messages and the audit
    /// trail: a tty path, or the wand's serial number and USB location.
    var peerDescription: String { get }

    /// Sends all of `bytes`, in order.
    ///
    /// When this throws, the wand may have received none, some or all of the
    /// bytes: callers that sent a command must treat its outcome as unknown
    /// until they have read the pump's state back.
    func send(_ bytes: [UInt8]) async throws(WandTransportError)

    /// Waits until at least one byte has arrived or `deadline` passes, and
    /// returns every byte available then (never an empty array).
    ///
    /// Throws `.timedOut` at the deadline with nothing received, `.unplugged`
    /// when the wand went away, `.closed` after `close()`, and `.cancelled`
    /// when the calling task is cancelled. No byte is lost by a timeout or a
    /// cancellation: it is returned by the next call.
    func receive(deadline: ContinuousClock.Instant) async throws(WandTransportError) -> [UInt8]

    /// Releases the wand so another program (or another open) can use it.
    /// Idempotent; operations after it throw `.closed`. Waiting operations
    /// end promptly with `.closed`.
    func close() async
}
