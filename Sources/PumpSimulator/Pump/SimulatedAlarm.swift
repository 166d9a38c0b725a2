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
    /// A refill left open past `SimulatedPump.refillTimeLimit` was ended by
    /// the pump: delivery runs again, but the residual may have been
    /// withdrawn with nothing added, so the reservoir volume is not known.
    /// Cleared only by a refill complete (a measured reservoir).
    case refillAbandoned = "refill-abandoned"

    /// Whether the pump delivers nothing while this alarm is active.
    public var stopsDelivery: Bool {
        switch self {
        // A refill abandoned resumes delivery on purpose: the pause itself
        // is the withdrawal risk it ends.
        case .lowReservoir, .electiveReplacement, .refillAbandoned: return false
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
        case .refillAbandoned: return .refillAbandoned
        }
    }

    public static func < (a: SimulatedAlarm, b: SimulatedAlarm) -> Bool {
        allCases.firstIndex(of: a) ?? 0 < allCases.firstIndex(of: b) ?? 0
    }
}
