import PumpProgrammer
import Therapy
import WandProtocol

/// How a planned change, its prompt and what a session did to the pump
/// read for a person. Typed values in, words out: nothing here decides.
enum PlanText {
    /// The plan as shown before any prompt: what will be sent, what reaches
    /// the patient, every finding, and the second-provider rule.
    /// `overrides` are the technician's: each overridden rule is shown
    /// with the reason the audit log will record, before the prompt.
    static func describe(_ plan: ChangePlan, simulated: Bool, overrides: [Override] = []) -> String {
        var lines: [String] = []
        if simulated { lines.append("SIMULATED PUMP (not a patient)") }
        // A command an earlier run left pending was resolved first: say so
        // before anything new is planned.
        if let resolution = plan.resolution {
            lines.append("Resolved first: \(resolution.command.command) (command \(resolution.command.commandID)) of an earlier run: \(PumpText.words(resolution)).")
        }
        let status = plan.before
        switch plan.change {
        case .program(let change):
            lines.append("Prescription for pump \(status.serial):")
            lines.append(change.review.table)
        case .bolus(let bolus):
            lines.append("Bolus (\(bolus.kind.rawValue)) on pump \(status.serial): \(Shown.bolusVolume(bolus.volume)) over \(Shown.duration(bolus.duration))"
                         + (bolus.rate.map { " (\($0))" } ?? "") + "; \(Shown.dose(bolus.doseToPatient, drug: status.drug)) of \(status.drug.rawValue) reaches the patient"
                         + (status.fluidPath.tip == status.reservoirContents ? " (\(Shown.concentration(status.concentration, drug: status.drug)))." : "."))
            if let tip = status.fluidPath.tip, tip != status.reservoirContents {
                lines.append("  figured from what the line holds, not the reservoir's \(Shown.concentration(status.concentration, drug: status.drug)): \(PumpText.lineWords(status)).")
            }
        case .fluidPath(let event, let catheter, let prime):
            switch event {
            case .implant:
                lines.append("Record an IMPLANT on pump \(status.serial): a catheter of \(Shown.volume(catheter)); the pathway and the catheter hold no drug.")
            case .catheterReplaced:
                lines.append("Record a CATHETER REPLACEMENT on pump \(status.serial): a new catheter of \(Shown.volume(catheter)) that holds no drug; the pathway keeps what it holds.")
            }
            lines.append("Afterwards the pump delivers NO DRUG until the line is primed: \(Shown.volume(prime)) (pumpctl bolus --kind prime).")
        case .stop:
            if let line = status.deliveringFromTheLine {
                lines.append("Stop infusion on pump \(status.serial): the patient now receives \(line.drug.rawValue) \(Shown.doseRate(line.dailyDose, drug: line.drug)) from the line (the reservoir holds \(status.drug.rawValue) \(Shown.concentration(status.concentration, drug: status.drug))). Delivery stops until it is resumed.")
            } else {
                lines.append("Stop infusion on pump \(status.serial): \(status.drug.rawValue) \(Shown.concentration(status.concentration, drug: status.drug)), now \(Shown.doseRate(status.dailyDose, drug: status.drug)). Delivery stops until it is resumed.")
            }
        case .resume:
            lines.append("Resume infusion on pump \(status.serial) at its prescription (\(status.prescription.mode.name)).")
        case .refill(let refill):
            lines.append("Refill of pump \(status.serial):")
            if refill.residualUnknown {
                lines.append("  residual: " + refill.residualWords)
            } else {
                lines.append("  residual withdrawn \(Shown.volume(refill.check.withdrawn)), expected \(Shown.volume(refill.check.expected)), difference \(Shown.volume(refill.check.difference)) (tolerance \(Shown.volume(refill.check.tolerance)))"
                             + (refill.check.discrepancy ? ": DISCREPANCY" : ""))
            }
            lines.append("  add \(Shown.volume(refill.added)) of \(refill.drug.rawValue) \(Shown.concentration(refill.concentration, drug: refill.drug))"
                         + (refill.concentrationChanged ? " (the drug or concentration CHANGES)" : ""))
            if refill.finishesBegunRefill {
                lines.append("  the refill was begun earlier; delivery is paused until it is finished or cancelled")
            } else {
                lines.append("  delivery pauses from refill-begin until the refill is complete")
            }
            switch refill.infusionAfter {
            case .runs: lines.append("  after the refill: infusion runs" + (refill.program == nil ? "" : " at the new prescription"))
            case .remainsStopped: lines.append("  after the refill: infusion remains stopped: resume to start (pumpctl resume)")
            case .stoppedByPrescription: lines.append("  after the refill: infusion is stopped (the new prescription's mode is stopped)")
            case .asBeforeBegin: lines.append("  after the refill: infusion returns to what it was before refill-begin (stopped stays stopped: resume to start)")
            }
            if let program = refill.program {
                lines.append("New prescription, committed with the refill:")
                lines.append(program.review.table)
            }
            if let transition = refill.transition {
                lines += Shown.transition(transition, reservoir: .drug(refill.drug, refill.concentration), time: Screen.shared.zone.dateTime)
            }
        case .refillCancel:
            // Only a refill the pump reports as in progress is described as
            // one; otherwise the plan's finding says why nothing is sent.
            if status.infusion == .refillInProgress {
                lines.append("Cancel the refill in progress on pump \(status.serial): delivery resumes with the prescription and reservoir as they were.")
            } else {
                lines.append("Cancel a refill on pump \(status.serial): the pump reports no refill in progress.")
            }
        case .lowReservoirThreshold(let from, let to):
            lines.append("Low-reservoir alarm on pump \(status.serial): from \(Shown.volume(from)) to \(Shown.volume(to)).")
        case .setClock(let drift):
            lines.append("Set the clock of pump \(status.serial) to this computer's time (the pump is \(Shown.drift(seconds: drift))).")
        case .rekey(let serial, let keyId):
            lines.append("Give pump \(serial) a new key (key id \(keyId)) for its next sessions. Afterwards only hosts holding the new key reach it: every other laptop's key for it, a lost one's included, opens nothing.")
        }
        if plan.unchanged {
            lines.append("The pump already holds this: nothing will be sent.")
        }
        lines += findingLines(plan.reviewedFindings(overrides: overrides))
        if let reason = plan.secondProvider {
            lines.append("The clinic policy asks a second provider to confirm \(reason) (--second-operator NAME).")
        }
        return lines.joined(separator: "\n")
    }

    /// Every finding as the review shows it: a refusal, a warning that
    /// needs an override, or the rule overridden (or acknowledged by the
    /// request itself, a refill's discrepancy) and the reason recorded.
    static func findingLines(_ reviewed: [ReviewedFinding]) -> [String] {
        reviewed.map { item in
            let finding = item.finding
            switch item.disposition {
            case .refuses:
                return "ERROR   \(finding.code): \(finding.message)"
            case .needsOverride:
                return "WARNING \(finding.code): \(finding.message) (needs --override \(finding.code)=REASON)"
            case .overridden(let reason):
                return "OVERRIDDEN \(finding.code): \(finding.message)\n  the audit log records this reason for overriding it: \"\(reason)\""
            case .reasonRefused:
                return "WARNING \(finding.code): \(finding.message) (the reason given with --override \(finding.code) says nothing: give one in words)"
            case .acknowledged(let reason):
                return "ACKNOWLEDGED \(finding.code): \(finding.message)\n  the audit log records this reason for going ahead: \"\(reason)\""
            }
        }
    }

    /// The question asked once every check has passed; it repeats what
    /// will be sent.
    static func prompt(_ plan: ChangePlan) -> String {
        if case .typeDailyDose(let dose, let unit) = plan.confirmation {
            return "The daily dose goes UP. Type the new daily dose (\(dose.formatted(in: unit))) to write it to the pump:"
        }
        let what: String
        switch plan.change {
        case .program: what = "write this prescription to the pump"
        case .bolus(let bolus): what = "start this \(bolus.kind.rawValue) bolus: \(Shown.bolusVolume(bolus.volume)) over \(Shown.duration(bolus.duration)), \(Shown.dose(bolus.doseToPatient, drug: plan.before.drug)) to the patient"
        case .stop: what = "STOP infusion"
        case .resume: what = "resume infusion"
        case .refill(let refill): what = "record this refill of \(Shown.volume(refill.added)) \(refill.drug.rawValue) \(Shown.concentration(refill.concentration, drug: refill.drug))"
        case .refillCancel: what = "cancel the refill"
        case .lowReservoirThreshold(_, let to): what = "set the low-reservoir alarm to \(Shown.volume(to))"
        case .setClock: what = "set the pump's clock to this computer's time"
        case .rekey(let serial, _): what = "change the key of pump \(serial) (other laptops' keys stop working)"
        case .fluidPath(let event, let catheter, _):
            what = "record the \(event == .implant ? "implant" : "catheter replacement") with a catheter of \(Shown.volume(catheter))"
        }
        return "Type yes to \(what):"
    }

    /// What the session did to the pump, from the programmer's ledger.
    static func sentence(_ effect: PumpEffect) -> String {
        switch effect {
        case .nothingSent:
            // The session may have read the pump (the handshake, an
            // interrogate): what the ledger knows is that no request that
            // changes it left this computer.
            return "No change was sent to the pump."
        case .unchanged:
            return "The pump is unchanged: it did not carry out what was sent."
        case .unknown(let command, let executed):
            var text = "The outcome of \(command.command) (command \(command.commandID)) is UNKNOWN: run 'pumpctl interrogate' with the wand over the pump before anything else."
            if !executed.isEmpty {
                text += " Already carried out in this session: " + executed.map(\.rawValue).joined(separator: ", ") + "."
            }
            if executed.last == .refillBegin {
                text += " The refill was begun, so DELIVERY IS PAUSED until it is completed or cancelled."
            }
            return text
        case .changed(let kinds):
            if kinds.last == .refillCancel {
                return "The refill was begun and then cancelled on the pump: delivery resumed with the prescription and reservoir as they were."
            }
            if kinds.last == .discard {
                return "A prescription was staged and then discarded: the pump's prescription is unchanged."
            }
            if kinds.last == .refillBegin {
                return "THE PUMP IS IN REFILL MODE AND DELIVERY IS PAUSED: finish the refill (pumpctl refill ...) or cancel it (pumpctl refill --cancel) now."
            }
            if kinds.last == .stage {
                return "A prescription is staged on the pump but not active; the pump runs its previous prescription."
            }
            return "The pump carried out: " + kinds.map(\.rawValue).joined(separator: ", ") + "."
        }
    }
}
