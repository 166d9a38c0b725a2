/// Alarms the simulated pump raises. Those that stop delivery sound the
/// two-tone alarm on a real pump; the others sound the single tone.
public enum PumpAlarm: String, Codable, Sendable, CaseIterable, Comparable {
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

    public static func < (a: PumpAlarm, b: PumpAlarm) -> Bool {
        allCases.firstIndex(of: a) ?? 0 < allCases.firstIndex(of: b) ?? 0
    }
}
