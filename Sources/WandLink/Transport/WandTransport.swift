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
    /// When this throws, the error says how many bytes may have left the
    /// host (`WandSendError.bytesSent`, counted by the transport itself from
    /// what write(2), libusb or the in-memory buffer accepted). Only
    /// `anyByteLeft == false` proves the wand received nothing; after any
    /// other failure a command's outcome is unknown until the pump's state
    /// has been read back, even when `failure` is `.timedOut` or
    /// `.cancelled` (part of the send may have gone before it stopped).
    func send(_ bytes: [UInt8]) async throws(WandSendError)

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
