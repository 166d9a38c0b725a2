/// The status byte of a pump reply: 0 means done; any other value is a
/// refusal, and a refused command changed nothing on the pump.
public enum PumpRefusal: UInt8, Error, Sendable, CaseIterable {
    /// The request decoded but a field is out of the pump's accepted range.
    case malformedRequest = 0x01
    /// The opcode is unknown to this pump firmware.
    case unknownOpcode = 0x02
    /// The prescription breaks the pump's own limits (rates, dose and volume
    /// rate inconsistent with the concentration, bolus allowance). Fix it and stage again.
    case prescriptionInvalid = 0x03
    /// Commit named a hash other than the staged prescription's: nothing was
    /// committed. Read back, review and stage again.
    case stagedHashMismatch = 0x04
    /// Commit or discard with nothing staged.
    case nothingStaged = 0x05
    /// The prescription's drug or concentration differs from the reservoir's.
    case drugMismatch = 0x06
    /// A refill changing drug or concentration did not carry a prescription
    /// for the new contents; nothing was changed.
    case concentrationChangeNeedsPrescription = 0x07
    /// The added volume would exceed the reservoir's capacity.
    case reservoirOverfill = 0x08
    /// A bolus is already running.
    case bolusInProgress = 0x09
    /// Cancel bolus with no bolus running.
    case noBolusInProgress = 0x0A
    /// The bolus exceeds the pump's limit or the reservoir's contents.
    case bolusExceedsLimit = 0x0B
    /// Bolus refused because infusion is stopped; resume first.
    case infusionStopped = 0x0C
    /// Stop requested while already stopped.
    case alreadyStopped = 0x0D
    /// Resume requested while already running.
    case alreadyRunning = 0x0E
    /// Refill complete or refill cancel without refill begin: no refill is in
    /// progress.
    case notInRefill = 0x0F
    /// The command is not allowed during a refill (only refill complete,
    /// refill cancel, reads and session messages are).
    case refillInProgress = 0x10
    /// The battery has reached end of service: the pump refuses therapy
    /// changes. Replace the pump.
    case batteryEndOfService = 0x11
    /// The clock value is out of range (before the pump's manufacture time or
    /// the zone offset outside -720 ... 840).
    case clockOutOfRange = 0x12
    /// The command id was already used for a different request. Nothing was
    /// executed; send the new command with a fresh id.
    case commandIdReused = 0x13
    /// The event log page does not exist.
    case pageOutOfRange = 0x14
    /// The pump's hardware reported a fault; it kept its safe state.
    case internalFault = 0x15
    /// The alarm threshold is outside the reservoir's range.
    case alarmThresholdOutOfRange = 0x16
    /// Resume, bolus or commit refused while an alarm that blocks delivery is
    /// active (motor stall, empty reservoir).
    case blockingAlarmActive = 0x17
    /// Set fluid path while infusion runs: a catheter is changed only with
    /// the pump stopped. Stop infusion first.
    case infusionRunning = 0x18
    /// A refill changing drug or concentration while the line still holds
    /// another drug of an earlier drug change, or already holds eight
    /// different fluids (the most the fluid path report carries).
    case lineHoldsEarlierChange = 0x19
    /// The prescription's catheter volume differs from the catheter the
    /// pump records (set fluid path); nothing changed.
    case catheterMismatch = 0x1A
    /// The request arrived after its expiry (pump time, `RequestExpiry`):
    /// it was held back on its way, or took too long. Nothing was changed;
    /// the refusal is stored under its command id like any other outcome.
    case requestExpired = 0x1B

    /// What the technician should read.
    public var meaning: String {
        switch self {
        case .malformedRequest: "the pump could not accept a field of the request"
        case .unknownOpcode: "the pump does not know this request"
        case .prescriptionInvalid: "the pump found the prescription invalid; nothing was staged"
        case .stagedHashMismatch: "the staged prescription is not the one reviewed; nothing was committed"
        case .nothingStaged: "no prescription is staged"
        case .drugMismatch: "the prescription's drug or concentration differs from the reservoir's"
        case .concentrationChangeNeedsPrescription: "a concentration change needs the new prescription; nothing was changed"
        case .reservoirOverfill: "the volume added would overfill the reservoir"
        case .bolusInProgress: "a bolus is already running"
        case .noBolusInProgress: "no bolus is running"
        case .bolusExceedsLimit: "the bolus exceeds the pump's limit or the reservoir's contents"
        case .infusionStopped: "infusion is stopped; resume before a bolus"
        case .alreadyStopped: "infusion is already stopped"
        case .alreadyRunning: "infusion is already running"
        case .notInRefill: "no refill is in progress (the pump itself ends a refill left open for 30 minutes)"
        case .refillInProgress: "a refill is in progress; complete or cancel it first"
        case .batteryEndOfService: "the battery is at end of service; therapy changes are refused"
        case .clockOutOfRange: "the clock value is out of range"
        case .commandIdReused: "this command id was used for a different command; nothing was executed"
        case .pageOutOfRange: "no such event log page"
        case .internalFault: "the pump reported an internal fault"
        case .alarmThresholdOutOfRange: "the alarm threshold is out of range"
        case .blockingAlarmActive: "an active alarm blocks delivery changes"
        case .infusionRunning: "infusion is running; stop it before changing the catheter record"
        case .lineHoldsEarlierChange: "the line still holds the fluid of earlier changes (another drug, or seven other concentrations); change drug or concentration again only after it has reached the patient"
        case .catheterMismatch: "the prescription's catheter volume differs from the catheter the pump records"
        case .requestExpired: "the request arrived after its expiry; nothing was changed"
        }
    }
}

/// A pump alarm code (UInt16 on the wire). Codes this build does not name
/// are kept, not dropped: an unknown alarm is still an alarm.
public struct PumpAlarm: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    public let rawValue: UInt16
    public init(rawValue: UInt16) { self.rawValue = rawValue }

    public static let lowReservoir = PumpAlarm(rawValue: 0x0001)
    public static let emptyReservoir = PumpAlarm(rawValue: 0x0002)
    public static let electiveReplacement = PumpAlarm(rawValue: 0x0003)
    public static let endOfService = PumpAlarm(rawValue: 0x0004)
    public static let motorStall = PumpAlarm(rawValue: 0x0005)
    public static let memoryFault = PumpAlarm(rawValue: 0x0006)
    public static let clockLost = PumpAlarm(rawValue: 0x0007)
    /// The pump ended a refill left open past its time limit and resumed
    /// delivery as before refill begin; the reservoir contents are unknown.
    public static let refillAbandoned = PumpAlarm(rawValue: 0x0008)

    public var description: String {
        switch self {
        case .lowReservoir: "low reservoir"
        case .emptyReservoir: "empty reservoir"
        case .electiveReplacement: "elective replacement indicator"
        case .endOfService: "end of service"
        case .motorStall: "motor stall"
        case .memoryFault: "memory fault"
        case .clockLost: "clock lost"
        case .refillAbandoned: "refill abandoned: reservoir contents unknown"
        default: "alarm 0x" + hexByte(UInt8(rawValue >> 8)) + hexByte(UInt8(rawValue & 0xFF))
        }
    }
}
