/// Codes of the pump's event log entries (`PumpEvent.code`). The detail
/// word's meaning depends on the code. Codes not listed here are shown by
/// number, never dropped.
public enum PumpEventCode: UInt16, Sendable, CaseIterable {
    /// detail: alarm code.
    case alarmRaised = 0x0001
    /// detail: alarm code.
    case alarmCleared = 0x0002
    /// detail: first 4 bytes of the new prescription's hash.
    case prescriptionCommitted = 0x0010
    case prescriptionStaged = 0x0011
    case stagedDiscarded = 0x0012
    /// The daily dose of the prescription just committed (logged right after
    /// its 0x0010), so the pump's own log says which commits raised the
    /// dose and what a stopped pump last delivered. detail: the dose its
    /// stored dose figures give, averaged over its cycle, ng/day (0 for the
    /// stopped and minimum-rate modes).
    case prescriptionDoseCommitted = 0x0013
    /// detail: bolus volume, nL.
    case bolusStarted = 0x0020
    /// detail: volume delivered, nL.
    case bolusFinished = 0x0021
    /// detail: volume not delivered, nL.
    case bolusCancelled = 0x0022
    /// detail: patient bolus volume, nL.
    case patientBolus = 0x0023
    /// What a bolus that ended (finished, cancelled or cut) put into the
    /// patient, from the fluid path. detail: ng. Logged right after the
    /// bolus's end event; it belongs to the newest bolus start before it.
    case bolusDrugDelivered = 0x0025
    /// The command id of the bolus just started (logged right after its
    /// 0x0020), so its end can be tied to the command that asked for it.
    /// detail: the id's first 4 bytes, big-endian.
    case bolusCommand = 0x0026
    /// detail: patient requests refused (lockout or daily maximum).
    case patientBolusRefused = 0x0024
    case infusionStopped = 0x0030
    case infusionResumed = 0x0031
    /// detail: expected residual, nL.
    case refillBegun = 0x0040
    /// detail: volume added, nL.
    case refillCompleted = 0x0041
    /// Refill cancelled, delivery resumed as before refill begin.
    /// detail: reservoir volume, nL (unchanged by the refill).
    case refillCancelled = 0x0042
    /// The volume withdrawn at refill complete (logged right before its
    /// 0x0041), kept by the pump beside the expected residual of 0x0040 so
    /// its own record shows a residual that did not match (a pocket fill,
    /// a pump or a catheter problem). detail: volume withdrawn, nL.
    case refillWithdrawn = 0x0043
    /// The pump ended a refill that had no complete or cancel within its
    /// time limit, put delivery back as it was before refill begin and
    /// raised alarm 0x0008. detail: the pump's reservoir estimate, nL (the
    /// expected residual: what was really withdrawn or added is unknown).
    case refillAbandoned = 0x0044
    /// detail: new threshold, nL.
    case alarmThresholdSet = 0x0050
    /// detail: seconds the clock moved (two's complement).
    case clockSet = 0x0060
    /// detail: opcode of the refused request.
    case commandRefused = 0x0070
    /// Set fluid path. detail: event (1 implant, 2 catheter replaced) in the
    /// top byte, catheter volume in nL in the low 24 bits.
    case fluidPathSet = 0x0080
    /// The reservoir's fluid reached the catheter tip after a refill that
    /// changed drug or concentration, or after a prime. detail: the
    /// concentration now at the tip, ng/mL.
    case lineTurnedOver = 0x0081
    /// The pump took a new long-term key (re-key, 0x15) for the sessions
    /// after the one that sent it. detail: the new key's id
    /// (`Rekey.keyId`), never the key.
    case keyChanged = 0x0090
    /// The pump recorded the host's audit anchor (request 0x16). detail:
    /// the anchored row count, saturated at 4 294 967 295; the MAC is in
    /// the anchors request 0x16 reports.
    case auditAnchorRecorded = 0x0091
    /// The pump kept its anchor of a log against a new one behind it (fewer
    /// rows, or as many with another last MAC: the log was cut, deleted or
    /// rebuilt since). detail: the row count sent, saturated.
    case auditAnchorBehind = 0x0092
}

extension PumpEventCode {
    /// Whether this event is a change of the programmed therapy: the one
    /// rule (PROTOCOL.md Q16) by which the pump sets its "last therapy
    /// change" and by which a host finds that change in the event log.
    /// A commit (also logged by a refill complete that carries a
    /// prescription), a stop and a resume are; a refill's own events are
    /// not: a refill without a prescription leaves the programmed therapy
    /// as it was, and an abandoned one puts delivery back as it was.
    public var marksTherapyChange: Bool {
        switch self {
        case .prescriptionCommitted, .infusionStopped, .infusionResumed: true
        default: false
        }
    }

    /// A short name for logs and tables.
    public var name: String {
        switch self {
        case .alarmRaised: "alarm raised"
        case .alarmCleared: "alarm cleared"
        case .prescriptionCommitted: "prescription committed"
        case .prescriptionStaged: "prescription staged"
        case .stagedDiscarded: "staged prescription discarded"
        case .prescriptionDoseCommitted: "committed daily dose"
        case .bolusStarted: "bolus started"
        case .bolusFinished: "bolus finished"
        case .bolusCancelled: "bolus cancelled"
        case .patientBolus: "patient bolus"
        case .bolusDrugDelivered: "bolus drug delivered"
        case .bolusCommand: "bolus command"
        case .patientBolusRefused: "patient bolus refused"
        case .infusionStopped: "infusion stopped"
        case .infusionResumed: "infusion resumed"
        case .refillBegun: "refill begun"
        case .refillCompleted: "refill completed"
        case .refillCancelled: "refill cancelled"
        case .refillWithdrawn: "refill volume withdrawn"
        case .refillAbandoned: "refill abandoned"
        case .alarmThresholdSet: "alarm threshold set"
        case .clockSet: "clock set"
        case .commandRefused: "command refused"
        case .fluidPathSet: "fluid path set"
        case .lineTurnedOver: "reservoir drug reached the catheter tip"
        case .keyChanged: "pump key changed"
        case .auditAnchorRecorded: "audit anchor recorded"
        case .auditAnchorBehind: "audit anchor behind the one held (not recorded)"
        }
    }
}
