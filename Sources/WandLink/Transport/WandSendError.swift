/// A send that failed, and how much of it had left the host by then.
///
/// Only the transport can know whether the wand may have received any of a
/// send: it is the one that called write(2), submitted the USB packets or
/// filled the in-memory buffer. It says so here, so the layers above never
/// have to guess from the kind of failure. The protocol needs exactly one
/// fact from it: a request none of whose bytes left the host certainly did
/// not reach the pump; any other failed send may have.
public struct WandSendError: Error, Equatable, Sendable, CustomStringConvertible {
    /// What went wrong.
    public var failure: WandTransportError
    /// How many bytes of this send may have left the host before the
    /// failure, in order from its first byte. Counted conservatively: a byte
    /// is counted once it was handed to the operating system or to libusb
    /// and not handed back. 0 means certainly none left.
    public var bytesSent: Int

    public init(failure: WandTransportError, bytesSent: Int) {
        self.failure = failure
        self.bytesSent = max(0, bytesSent)
    }

    /// Whether the wand may have received any byte of this send. When false,
    /// the send changed nothing on the far side of the transport.
    public var anyByteLeft: Bool { bytesSent > 0 }

    public var description: String {
        if anyByteLeft {
            return "\(failure.description) (\(bytesSent) byte(s) of this send had left the host.)"
        }
        return "\(failure.headline) None of this send left the host: the wand received nothing from it."
    }
}
