/// Which way a recorded frame travelled, seen from the host.
public enum TraceDirection: String, Sendable, CaseIterable, Codable {
    /// Wand (or pump, relayed) to host.
    case inbound
    /// Host to wand.
    case outbound

    /// pcapng epb_flags bits 0-1: 01 inbound, 10 outbound.
    var epbFlags: UInt32 {
        switch self {
        case .inbound: 0x1
        case .outbound: 0x2
        }
    }
}
