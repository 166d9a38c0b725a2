import WandProtocol

/// Alarms the simulated pump raises. Those that stop delivery sound the
/// two-tone alarm on a real pump; the others sound the single tone.
public enum SimulatedAlarm: String, Codable, Sendable, CaseIterable, Comparable {
    case lowReservoir = "low-reservoir"
    case emptyReservoir = "empty-reservoir"
    case electiveReplacement = "elective-replacement"
    case endOfService = "end-of-service"
    case motorStall = "motor-stall"
    case memoryFault = "memory-fault"

    /// Whether the pump delivers nothing while this alarm is active.
    public var stopsDelivery: Bool {
        switch self {
        case .lowReservoir, .electiveReplacement: return false
        case .emptyReservoir, .endOfService, .motorStall, .memoryFault: return true
        }
    }

    /// The alarm's code on the wire.
    public var wireCode: PumpAlarm {
        switch self {
        case .lowReservoir: return .lowReservoir
        case .emptyReservoir: return .emptyReservoir
        case .electiveReplacement: return .electiveReplacement
        case .endOfService: return .endOfService
        case .motorStall: return .motorStall
        case .memoryFault: return .memoryFault
        }
    }

    public static func < (a: SimulatedAlarm, b: SimulatedAlarm) -> Bool {
        allCases.firstIndex(of: a) ?? 0 < allCases.firstIndex(of: b) ?? 0
    }
}
