import WandLink
import WandProtocol

/// Runs the protocol's exchange layer over a WandLink transport.
///
/// Whether a failed send reached the wand is the transport's to say: it
/// counts the bytes that left the host (`WandSendError.bytesSent`). A send
/// of which no byte left is "not sent", a certain failure; every other
/// failure may have put bytes on the wire, so the exchange layer treats the
/// request as possibly delivered. Nothing here reads the kind of failure.
public struct TransportFrameLink: FrameLink {
    public let transport: any WandTransport

    public init(transport: any WandTransport) {
        self.transport = transport
    }

    public func send(_ bytes: [UInt8]) async throws {
        do {
            try await transport.send(bytes)
        } catch {
            if !error.anyByteLeft { throw FrameLinkError.notSent(reason: error.description) }
            throw error
        }
    }

    public func receive(until deadline: ContinuousClock.Instant) async throws -> [UInt8]? {
        do {
            return try await transport.receive(deadline: deadline)
        } catch .timedOut {
            return nil
        }
    }
}
