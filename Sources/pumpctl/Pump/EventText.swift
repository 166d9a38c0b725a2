import PumpProgrammer
import Therapy
import WandProtocol

/// An event log entry's detail in words, from its typed value: volumes to
/// the screen's precision (a bolus to 0.001 mL), alarms by name, a clock
/// change as a duration.
enum EventText {
    static func detail(_ event: LoggedEvent, drug: Drug) -> String {
        let code = PumpEventCode(rawValue: event.code)
        switch event.decoded {
        case .none:
            return ""
        case .alarm(let alarm):
            return alarm.description
        case .prescriptionHashPrefix(let prefix):
            return (code == .bolusCommand ? "command " : "prescription ") + prefix
        case .volume(let volume):
            switch code {
            case .bolusStarted?, .patientBolus?: return Shown.bolusVolume(volume)
            case .bolusFinished?: return "ended (last " + Shown.bolusVolume(volume) + ")"
            case .bolusCancelled?: return Shown.bolusVolume(volume) + " not delivered"
            case .refillBegun?: return "expected residual " + Shown.volume(volume)
            case .refillCompleted?: return Shown.volume(volume) + " added"
            case .refillWithdrawn?: return Shown.volume(volume) + " withdrawn"
            case .refillCancelled?: return "reservoir " + Shown.volume(volume) + " (unchanged)"
            case .refillAbandoned?: return "no complete or cancel in time: delivery resumed; reservoir unknown (estimate " + Shown.volume(volume) + ")"
            case .alarmThresholdSet?: return "low-reservoir alarm at " + Shown.volume(volume)
            default: return Shown.volume(volume)
            }
        case .clockMoved(let seconds):
            // magnitude, not abs: abs traps on Int64.min.
            return seconds == 0 ? "not moved" : "moved " + Shown.duration(seconds: Int64(clamping: seconds.magnitude))
                + (seconds > 0 ? " ahead" : " back")
        case .refusedRequest(let opcode, let known):
            return known.map { words("\($0)") } ?? "opcode 0x" + String(opcode, radix: 16)
        case .raw(let raw):
            // 0x0091 carries the anchored audit log's row count.
            switch code {
            case .auditAnchorRecorded: return "host audit log at \(raw) rows"
            case .auditAnchorBehind: return "a host audit log sent \(raw) rows, behind its anchor: not recorded (the log was cut, deleted or rebuilt)"
            default: return "\(raw)"
            }
        case .keyId(let id):
            return "new key id " + id
        case .drug(let mass):
            return Shown.dose(mass, drug: drug) + " to the patient"
        case .dailyDose(let dose):
            return Shown.doseRate(dose, drug: drug)
        case .concentration(let concentration):
            return Shown.concentration(concentration, drug: drug) + " at the tip"
        case .fluidPath(let event, let catheter):
            let what = event.map { $0 == .implant ? "implant" : "catheter replaced" } ?? "fluid path set"
            return "\(what), catheter " + Shown.volume(catheter)
        }
    }

    /// `startBolus` as "start bolus".
    static func words(_ name: String) -> String {
        var text = ""
        for character in name {
            if character.isUppercase { text += " " + character.lowercased() } else { text.append(character) }
        }
        return text
    }
}
