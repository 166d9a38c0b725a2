import Foundation
import Therapy
import WandProtocol

/// A bolus the technician asks for.
public struct BolusRequest: Sendable {
    public enum Kind: String, Sendable, CaseIterable {
        case therapeutic, bridge, prime
    }

    public var kind: Kind
    /// Drug to the patient for a therapeutic bolus.
    public var dose: Mass?
    /// Volume to push for a bridge or priming bolus (default: the line volume).
    public var volume: Volume?
    public var duration: Duration
    /// What the line holds before a bridge or priming bolus; nil means the
    /// drug now in the reservoir.
    public var lineContents: LineContents?
    public var overrides: [Override]

    public init(kind: Kind, dose: Mass?, volume: Volume?, duration: Duration, lineContents: LineContents?, overrides: [Override]) {
        self.kind = kind
        self.dose = dose
        self.volume = volume
        self.duration = duration
        self.lineContents = lineContents
        self.overrides = overrides
    }
}

/// What a bolus command did.
public struct BolusRecord: Sendable, Encodable {
    public var kind: String
    public var volume: Volume
    /// Drug that reaches the patient, from what the line holds.
    public var doseToPatient: Mass
    public var duration: Duration
    public var findings: [Finding]
}

extension Programmer {
    /// Checks a bolus against the pump's state and the policy, then sends
    /// it under the uncertain-delivery rules: a lost reply is never
    /// followed by a second bolus.
    public func bolus(_ request: BolusRequest, confirmation: Confirmation) async throws(ProgrammerError) -> BolusRecord {
        let (status, _) = try await interrogate()
        if let unresolved = status.unresolvedCommand {
            throw .unresolved(unresolved, detail: "Resolve it (pumpctl interrogate) before any bolus.")
        }
        if let stopping = status.alarms.first(where: \.stopsDelivery) {
            throw .refusedByPolicy("no bolus while the pump's \(stopping.name) alarm stops delivery")
        }
        guard status.infusion != PumpStatus.infusionName(.stopped) else {
            throw .refusedByPolicy("infusion is stopped; resume it before a bolus")
        }
        guard status.infusion != PumpStatus.infusionName(.bolusInProgress) else {
            throw .refusedByPolicy("a bolus is already running")
        }
        guard let profile = PumpProfile.named(status.model) else {
            throw .deviceFault("the pump reports a reservoir that matches no known pump profile")
        }
        guard request.duration.baseValue > 0 else { throw .input("The bolus duration must be more than zero.") }
        let concentration = status.concentration
        let line = lineVolume(status.prescription, profile: profile) ?? profile.internalPathwayVolume
        var findings: [Finding] = []
        let volume: Volume
        let doseToPatient: Mass
        switch request.kind {
        case .therapeutic:
            guard let dose = request.dose, dose.baseValue > 0 else { throw .input("A therapeutic bolus needs --dose with a unit, e.g. 50mcg.") }
            guard let exact = DoseArithmetic.volume(holding: dose, at: concentration),
                  let delivered = DoseArithmetic.dose(in: exact, at: concentration), exact.baseValue > 0 else {
                throw .input("The bolus volume cannot be computed at \(concentration).")
            }
            volume = exact
            doseToPatient = delivered
            if let limits = context.policy.policy(for: status.prescription.drug)?.bolus {
                if delivered > limits.hardMax {
                    findings.append(Finding(code: .bolusAboveHardMax, severity: .hard,
                                            message: "\(delivered) is above the hard maximum single bolus of \(limits.hardMax)"))
                } else if let soft = limits.softMax, delivered > soft {
                    findings.append(Finding(code: .bolusAboveSoftMax, severity: .soft,
                                            message: "\(delivered) is above the usual maximum single bolus of \(soft)"))
                }
            }
        case .bridge, .prime:
            volume = request.volume ?? line
            let plan: PrimingPlan
            do {
                plan = try PrimingPlan.plan(primeVolume: volume, lineVolume: line,
                                            lineContents: request.lineContents ?? .drug(concentration),
                                            newConcentration: concentration, profile: profile)
            } catch {
                throw .input("The \(request.kind.rawValue) bolus cannot be computed: \(error.description)")
            }
            doseToPatient = plan.doseToPatient
            if let finding = plan.finding { findings.append(finding) }
        }
        // volume / duration, nL/day
        if volume.baseValue * 86_400 / request.duration.baseValue > profile.maximumBolusRate.baseValue {
            findings.append(Finding(code: .bolusRateAboveMaximum, severity: .hard,
                                    message: "\(volume) in \(request.duration) is faster than the pump's maximum bolus rate \(profile.maximumBolusRate)"))
        }
        guard volume <= status.reservoirVolume else {
            throw .refusedByPolicy("the bolus needs \(volume) but the reservoir holds \(status.reservoirVolume)")
        }
        let report = ValidationReport(findings: findings)
        let accepted: AcceptedPrescription
        do { accepted = try report.accepting(overrides: request.overrides) } catch {
            try record(command: "bolus", phase: .event, parameters: ["refusal": error.description], outcome: "refused by policy")
            throw .refusedByPolicy(error.description)
        }
        try Self.check(confirmation, review: Review(rows: [], errors: [], warnings: report.warnings, doseIncrease: false, pendingDailyDose: ""))
        guard let doseField = UInt32(exactly: doseToPatient.baseValue), let volumeField = UInt32(exactly: volume.baseValue),
              let durationField = UInt32(exactly: request.duration.baseValue) else {
            throw .input("The bolus is outside what the pump can hold.")
        }
        let kind: BolusKind = switch request.kind {
        case .therapeutic: .therapeutic
        case .bridge: .bridge
        case .prime: .prime
        }
        _ = try await perform(
            command: "bolus",
            parameters: ["kind": request.kind.rawValue, "volume": volume.description, "dose_to_patient": doseToPatient.description,
                         "duration": request.duration.description],
            overrides: accepted.overridden.map { AuditOverride(code: $0.finding.code.rawValue, reason: $0.reason) }
        ) { id in
            .startBolus(StartBolus(commandId: id, kind: kind, doseNanograms: doseField, volumeNanolitres: volumeField,
                                   durationSeconds: durationField))
        }
        return BolusRecord(kind: request.kind.rawValue, volume: volume, doseToPatient: doseToPatient,
                           duration: request.duration, findings: findings)
    }

    /// Stops infusion. Stopping baclofen risks withdrawal, so it needs the
    /// `withdrawal.risk` override with a reason.
    public func stop(overrides: [Override], confirmation: Confirmation) async throws(ProgrammerError) -> PumpStatus {
        let (status, _) = try await interrogate()
        var findings: [Finding] = []
        if status.prescription.drug == .baclofen {
            findings.append(Finding(code: .withdrawalRisk, severity: .soft,
                                    message: "stopping intrathecal baclofen abruptly can cause withdrawal: high fever, altered mental status, rebound spasticity, muscle rigidity, and in rare cases death"))
        }
        let report = ValidationReport(findings: findings)
        let accepted: AcceptedPrescription
        do { accepted = try report.accepting(overrides: overrides) } catch { throw .refusedByPolicy(error.description) }
        try Self.check(confirmation, review: Review(rows: [], errors: [], warnings: report.warnings, doseIncrease: false, pendingDailyDose: ""))
        _ = try await perform(command: "stop", parameters: [:],
                              overrides: accepted.overridden.map { AuditOverride(code: $0.finding.code.rawValue, reason: $0.reason) }) { id in
            .stopInfusion(StopInfusion(commandId: id))
        }
        return try await interrogate().status
    }

    public func resume(confirmation: Confirmation) async throws(ProgrammerError) -> PumpStatus {
        try Self.check(confirmation, review: Review(rows: [], errors: [], warnings: [], doseIncrease: false, pendingDailyDose: ""))
        _ = try await perform(command: "resume", parameters: [:]) { id in .resumeInfusion(ResumeInfusion(commandId: id)) }
        return try await interrogate().status
    }
}
