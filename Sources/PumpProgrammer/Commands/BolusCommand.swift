import Therapy
import WandProtocol

/// A bolus: therapeutic, bridge or priming.
///
/// Request: `StartBolus` (kind, dose to the patient, volume, duration).
/// Reply: a command receipt. Audit: kind, volume, dose to the patient,
/// duration. Limits and rates are Therapy's (`BolusPlan`); what the pump's
/// state allows (alarms, stopped, a bolus running, a refill begun) is
/// checked here, as findings, so all of it is shown before any prompt.
public struct BolusCommand: PumpCommand {
    public var request: BolusPlan.Request
    public var kind: CommandKind { .bolus }

    public init(request: BolusPlan.Request) {
        self.request = request
    }

    public func plan(in situation: PlanningSituation) throws(ProgrammerError) -> ChangePlan {
        let status = situation.status
        let delivery = Self.delivery(in: situation)
        // A delivering pump's line holds at least the reservoir's drug: a
        // claim of a weaker line can only raise what reaches the patient
        // above what is shown, so the dose is figured at the stronger of
        // the two (the fluid path the pump keeps is issue 12's).
        var request = self.request
        if case .drug(let claimed)? = request.lineContents, claimed < status.concentration,
           status.infusion == .infusing || status.infusion == .bolusInProgress {
            request.lineContents = .drug(status.concentration)
        }
        let bolus: BolusPlan
        do {
            bolus = try BolusPlan.plan(request, pump: .init(
                drug: status.drug, concentration: status.concentration, reservoir: status.reservoirVolume,
                lineVolume: status.lineVolume ?? situation.profile.internalPathwayVolume),
                delivery: delivery, policy: situation.policy, profile: situation.profile)
        } catch {
            throw .input(error.description)
        }
        var findings = Self.stateFindings(status) + bolus.findings
        // A bolus message holds at most 24 h (PROTOCOL.md section 5); a
        // longer one would be dropped by the pump as malformed.
        if request.duration > Self.longestBolus {
            findings.append(Finding(code: .bolusDurationOutOfRange, severity: .hard,
                                    message: "a bolus runs at most \(Self.longestBolus); \(request.duration) is longer"))
        }
        // A pump that is delivering has a full line: "empty" is only ever
        // true of a stopped pump (after implant, a catheter revision or a
        // replacement), and believing it would hide the drug the prime pushes.
        if request.lineContents == .empty, status.infusion == .infusing || status.infusion == .bolusInProgress {
            findings.append(Finding(code: .primingLineNotEmpty, severity: .hard,
                                    message: "the pump is delivering, so its line is full of \(status.drug.rawValue) \(status.concentration); 'empty' can be given only for a stopped pump"))
        }
        let kind: BolusKind = switch request.kind {
        case .therapeutic: .therapeutic
        case .bridge: .bridge
        case .prime: .prime
        }
        // Out-of-range figures are hard findings already; the step is never
        // sent then, and these stand in only to build it.
        let dose = UInt32(exactly: bolus.doseToPatient.baseValue) ?? 0
        let volume = UInt32(exactly: bolus.volume.baseValue) ?? 0
        let duration = UInt32(exactly: bolus.duration.baseValue) ?? 0
        let step = WireStep(kind: .bolus, expectedReply: .executed(.startBolus)) { id in
            .startBolus(StartBolus(commandId: id, kind: kind, doseNanograms: dose, volumeNanolitres: volume, durationSeconds: duration))
        }
        return ChangePlan(
            command: .bolus, change: .bolus(bolus), before: status, findings: ValidationReport(findings: findings),
            confirmation: .yes, secondProvider: nil, steps: [step], abandon: nil, verification: .receipt,
            basis: PlanBasis(status),
            parameters: ["kind": request.kind.rawValue, "volume": bolus.volume.description,
                         "dose_to_patient": bolus.doseToPatient.description, "duration": bolus.duration.description,
                         "boluses_last_24h": delivery.bolusesLast24h.map { "\(delivery.bolusCountLast24h), \($0)" } ?? "unknown",
                         "opioid_tolerance": request.opioidTolerance?.rawValue ?? (status.drug.isOpioid ? "naive (not given)" : "-")])
    }

    /// What the pump delivered and will deliver around a bolus, from its
    /// state and its event log (the boluses of the last 24 h of pump time).
    static func delivery(in situation: PlanningSituation) -> BolusPlan.Delivery {
        let status = situation.status
        let prescription = status.prescription
        let basal = (try? prescription.dosePlan(on: situation.profile))?.largestPrescribedIn24h ?? status.dailyDose
        let earlier = situation.history?.technicianBolusesLast24h(at: status.concentration)
        let allowance = prescription.patientBolus.map {
            Mass(baseValue: $0.dose.baseValue.multipliedReportingOverflow(by: Int64($0.maximumPer24h)).overflow
                 ? .max : $0.dose.baseValue * Int64($0.maximumPer24h))
        } ?? .zero
        return BolusPlan.Delivery(indication: prescription.indication, basal: basal, bolusesLast24h: earlier?.drug,
                                  bolusCountLast24h: earlier?.count ?? 0, patientAllowance: allowance)
    }

    /// The longest bolus the wire carries.
    static let longestBolus = Duration.seconds(86_400)

    /// What the pump's own state forbids for any delivery change.
    static func stateFindings(_ status: PumpStatus) -> [Finding] {
        var findings: [Finding] = []
        if let alarm = status.deliveryStoppingAlarm {
            findings.append(Finding(code: .pumpAlarmStopsDelivery, severity: .hard,
                                    message: "the pump's \(alarm.name) alarm stops delivery; no bolus until it is cleared"))
        }
        switch status.infusion {
        case .stopped:
            findings.append(Finding(code: .pumpInfusionStopped, severity: .hard, message: "infusion is stopped; resume it before a bolus"))
        case .bolusInProgress:
            findings.append(Finding(code: .pumpBolusRunning, severity: .hard, message: "a bolus is already running"))
        case .refillInProgress:
            findings.append(Finding(code: .pumpRefillInProgress, severity: .hard,
                                    message: "a refill is in progress; finish or cancel it first (pumpctl refill, or pumpctl refill --cancel)"))
        case .infusing:
            break
        }
        return findings
    }
}
