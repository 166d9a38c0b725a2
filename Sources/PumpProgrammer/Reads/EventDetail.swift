import Therapy
import WandProtocol

/// An event log entry's detail as the typed value its event code says it
/// is (hardware/PROTOCOL.md, "Event codes"): a volume in nanolitres, an
/// alarm, the start of a prescription hash, the seconds a clock moved, a
/// refused request's opcode. An unknown code keeps the raw number.
public enum EventDetail: Sendable, Equatable {
    /// The code carries no detail (always 0).
    case none
    case alarm(PumpAlarm)
    /// The first 4 bytes of the prescription's hash, as hex.
    case prescriptionHashPrefix(String)
    case volume(Volume)
    /// Seconds the pump's clock moved; negative is back.
    case clockMoved(seconds: Int64)
    /// The request the pump refused: its opcode, and what it is when known.
    case refusedRequest(opcode: UInt8, PumpOpcode?)
    /// Drug a bolus put into the patient (event 0x0025).
    case drug(Mass)
    /// A committed prescription's daily dose (event 0x0013).
    case dailyDose(DoseRate)
    /// The concentration now at the catheter tip (event 0x0081).
    case concentration(Concentration)
    /// A fluid path set (event 0x0080): implant or catheter replaced, and the catheter volume.
    case fluidPath(event: FluidPathEvent?, catheter: Volume)
    /// The id of the pump's new long-term key (event 0x0090), 8 hex
    /// digits: names the key, never reveals it.
    case keyId(String)
    /// A code this build does not know: the detail as it came.
    case raw(UInt32)

    public init(code: UInt16, detail: UInt32) {
        guard let known = PumpEventCode(rawValue: code) else {
            self = .raw(detail)
            return
        }
        switch known {
        case .alarmRaised, .alarmCleared:
            // An alarm code is 16 bits; a wider detail is shown as it came.
            if let alarm = UInt16(exactly: detail) { self = .alarm(PumpAlarm(rawValue: alarm)) } else { self = .raw(detail) }
        case .prescriptionCommitted, .prescriptionStaged, .bolusCommand:
            let hex = String(detail, radix: 16)
            self = .prescriptionHashPrefix(String(repeating: "0", count: max(0, 8 - hex.count)) + hex)
        case .bolusStarted, .bolusFinished, .bolusCancelled, .patientBolus,
             .refillBegun, .refillCompleted, .refillCancelled, .refillWithdrawn, .refillAbandoned, .alarmThresholdSet:
            // UInt32 nanolitres always fit a volume's Int64 base value.
            self = .volume(Volume(baseValue: Int64(detail)))
        case .clockSet:
            self = .clockMoved(seconds: Int64(Int32(bitPattern: detail)))
        case .commandRefused:
            if let opcode = UInt8(exactly: detail) { self = .refusedRequest(opcode: opcode, PumpOpcode(rawValue: opcode)) } else { self = .raw(detail) }
        case .stagedDiscarded, .patientBolusRefused, .infusionStopped, .infusionResumed:
            self = detail == 0 ? .none : .raw(detail)
        case .bolusDrugDelivered:
            self = .drug(Mass(baseValue: Int64(detail)))
        case .prescriptionDoseCommitted:
            self = .dailyDose(DoseRate(baseValue: Int64(detail)))
        case .lineTurnedOver:
            self = .concentration(Concentration(baseValue: Int64(detail)))
        case .auditAnchorRecorded, .auditAnchorBehind:
            // The anchored row count: a plain number, shown as it came.
            self = .raw(detail)
        case .fluidPathSet:
            self = .fluidPath(event: FluidPathEvent(rawValue: UInt8(detail >> 24)), catheter: .nL(Int64(detail & 0x00FF_FFFF)))
        case .keyChanged:
            let hex = String(detail, radix: 16)
            self = .keyId(String(repeating: "0", count: max(0, 8 - hex.count)) + hex)
        }
    }
}

extension EventDetail: Encodable {
    enum CodingKeys: String, CodingKey { case alarm, prescriptionHashPrefix, volume, clockMoved, refusedRequest, raw, drug, concentration, fluidPath, dailyDose, keyId }
    enum FluidPathKeys: String, CodingKey { case event, catheter }
    enum AlarmKeys: String, CodingKey { case code, name }
    enum RequestKeys: String, CodingKey { case opcode, name }

    /// JSON: null, or an object with one key naming what the detail is:
    /// `{"volume": {"value": 0.025, "unit": "mL"}}`, `{"alarm": {"code": 5, "name": "motor stall"}}`,
    /// `{"clock_moved": {"value": -300, "unit": "s"}}`, ...
    public func encode(to encoder: any Encoder) throws {
        if case .none = self {
            var container = encoder.singleValueContainer()
            try container.encodeNil()
            return
        }
        var container = encoder.container(keyedBy: CodingKeys.self)
        switch self {
        case .none:
            break
        case .alarm(let alarm):
            var nested = container.nestedContainer(keyedBy: AlarmKeys.self, forKey: .alarm)
            try nested.encode(alarm.rawValue, forKey: .code)
            try nested.encode(alarm.description, forKey: .name)
        case .prescriptionHashPrefix(let prefix):
            try container.encode(prefix, forKey: .prescriptionHashPrefix)
        case .volume(let volume):
            try container.encode(volume.valueAndUnit(in: VolumeDimension.defaultUnit), forKey: .volume)
        case .clockMoved(let seconds):
            try container.encode(Duration(baseValue: seconds).valueAndUnit(in: DurationDimension.defaultUnit), forKey: .clockMoved)
        case .refusedRequest(let opcode, let known):
            var nested = container.nestedContainer(keyedBy: RequestKeys.self, forKey: .refusedRequest)
            try nested.encode(opcode, forKey: .opcode)
            try nested.encode(known.map { "\($0)" }, forKey: .name)
        case .raw(let raw):
            try container.encode(raw, forKey: .raw)
        case .keyId(let id):
            try container.encode(id, forKey: .keyId)
        case .drug(let mass):
            try container.encode(mass.valueAndUnit(in: .mcg), forKey: .drug)
        case .dailyDose(let dose):
            try container.encode(dose.valueAndUnit(in: .mcgPerDay), forKey: .dailyDose)
        case .concentration(let concentration):
            try container.encode(concentration.valueAndUnit(in: .mcgPerML), forKey: .concentration)
        case .fluidPath(let event, let catheter):
            var nested = container.nestedContainer(keyedBy: FluidPathKeys.self, forKey: .fluidPath)
            try nested.encode(event.map { $0 == .implant ? "implant" : "catheter-replaced" }, forKey: .event)
            try nested.encode(catheter.valueAndUnit(in: VolumeDimension.defaultUnit), forKey: .catheter)
        }
    }
}
