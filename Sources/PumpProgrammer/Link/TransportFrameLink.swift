import WandLink
import WandProtocol

/// Runs the protocol's exchange layer over a WandLink transport.
///
/// The only errors reported as "not sent" are those raised before a byte
/// could leave the host (closed, not found, no permission, busy); anything
/// else during a send may have put bytes on the wire, so the exchange layer
/// must treat the request as possibly delivered.
public struct TransportFrameLink: FrameLink {
    public let transport: any WandTransport

    public init(transport: any WandTransport) {
        self.transport = transport
    }

    public func send(_ bytes: [UInt8]) async throws {
        do {
            try await transport.send(bytes)
        } catch {
            switch error {
            case .closed, .notFound, .permissionDenied, .busy:
                throw FrameLinkError.notSent(reason: error.description)
            default:
                throw error
            }
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
