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
        // What reaches the patient is figured from the fluid path the pump
        // reports, never from what anyone believes the line holds.
        let request = self.request
        let bolus: BolusPlan
        do {
            bolus = try BolusPlan.plan(request, pump: .init(
                drug: status.drug, concentration: status.concentration, reservoir: status.reservoirVolume,
                line: status.fluidPath),
                delivery: delivery, policy: situation.policy, profile: situation.profile)
        } catch {
            throw .input(error.description)
        }
        // A prime fills the line of a stopped pump; every other bolus needs
        // infusion running.
        var findings = Self.stateFindings(status, allowingStopped: request.kind == .prime) + bolus.findings
        // A bolus message holds at most 24 h (PROTOCOL.md section 5); a
        // longer one would be dropped by the pump as malformed.
        if request.duration > Self.longestBolus {
            findings.append(Finding(code: .bolusDurationOutOfRange, severity: .hard,
                                    message: "a bolus runs at most \(Self.longestBolus); \(request.duration) is longer"))
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
        let step = WireStep(kind: .bolus, expectedReply: .executed(.startBolus)) { id, expiry in
            .startBolus(StartBolus(commandId: id, expiry: expiry, kind: kind, doseNanograms: dose, volumeNanolitres: volume, durationSeconds: duration))
        }
        return ChangePlan(
            command: .bolus, change: .bolus(bolus), before: status, findings: ValidationReport(findings: findings),
            confirmation: .yes, secondProvider: nil, steps: [step], abandon: nil, verification: .receipt,
            basis: PlanBasis(status),
            parameters: ["kind": request.kind.rawValue, "volume": bolus.volume.description,
                         "dose_to_patient": bolus.doseToPatient.description, "duration": bolus.duration.description,
                         "boluses_last_24h": delivery.bolusesLast24h.map { "\(delivery.bolusCountLast24h), \($0)" } ?? "unknown",
                         "opioid_tolerance": BolusPlan.effectiveTolerance(of: status.drug, requested: request.opioidTolerance,
                                                                           declared: delivery.declaredTolerance)?.rawValue ?? "-"])
    }

    /// What the pump delivered and will deliver around a bolus, from its
    /// state and its event log (the boluses of the last 24 h of pump time).
    static func delivery(in situation: PlanningSituation) -> BolusPlan.Delivery {
        let status = situation.status
        let prescription = status.prescription
        let basal = (try? prescription.dosePlan(on: situation.profile))?.largestPrescribedIn24h ?? status.dailyDose
        let earlier = situation.history?.technicianBolusesLast24h(at: status.strongestConcentration)
        let allowance = prescription.patientBolus.map {
            Mass(baseValue: $0.dose.baseValue.multipliedReportingOverflow(by: Int64($0.maximumPer24h)).overflow
                 ? .max : $0.dose.baseValue * Int64($0.maximumPer24h))
        } ?? .zero
        return BolusPlan.Delivery(indication: prescription.indication, basal: basal, bolusesLast24h: earlier?.drug,
                                  bolusCountLast24h: earlier?.count ?? 0, patientAllowance: allowance,
                                  declaredTolerance: situation.declaredOpioidTolerance)
    }

    /// The longest bolus the wire carries.
    static let longestBolus = Duration.seconds(86_400)

    /// What the pump's own state forbids for any delivery change.
    static func stateFindings(_ status: PumpStatus, allowingStopped: Bool = false) -> [Finding] {
        var findings: [Finding] = []
        if let alarm = status.deliveryStoppingAlarm {
            findings.append(Finding(code: .pumpAlarmStopsDelivery, severity: .hard,
                                    message: "the pump's \(alarm.name) alarm stops delivery; no bolus until it is cleared"))
        }
        switch status.infusion {
        case .stopped where !allowingStopped:
            findings.append(Finding(code: .pumpInfusionStopped, severity: .hard, message: "infusion is stopped; resume it before a bolus"))
        case .stopped:
            break
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
