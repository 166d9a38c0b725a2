import Therapy
import WandProtocol

/// A new prescription, reviewed against the one the pump holds.
public struct ProgramChange: Sendable {
    public var review: Review
    public var pending: Prescription
    public var wire: WirePrescription
    /// What the pump delivers now and what it will deliver, by the pump's
    /// own figures (both rounded to its resolution): the like-with-like
    /// comparison every dose rule uses.
    public var currentDelivered: DoseRate
    public var pendingDelivered: DoseRate
    public var doseIncrease: Bool { pendingDelivered > currentDelivered }
}

/// Stage, commit by hash, read back: the change of a prescription.
///
/// Request: `StagePrescription` then `CommitStagedPrescription` (abandoned
/// with `DiscardStagedPrescription`). Replies: a stage receipt with the
/// hash the pump computed (it must be the reviewed one), then a command
/// receipt. Audit: mode, daily dose, concentration, hash, dose increase.
public struct ProgramCommand: PumpCommand {
    public var prescription: Prescription
    public var kind: CommandKind { .commit }

    public init(prescription: Prescription) {
        self.prescription = prescription
    }

    public func plan(in situation: PlanningSituation) throws(ProgrammerError) -> ChangePlan {
        let status = situation.status
        let change = try Self.change(to: prescription, in: situation)
        let policy = situation.policy
        let secondProvider = Self.secondProvider(for: change, current: status, policy: policy)
        let steps = change.wire.hash == status.prescriptionHash ? [] : Self.steps(for: change.wire)
        var stateFindings = PumpStateRules.refillInProgress(status)
            + PumpStateRules.deliveryStopped(status, what: "the pump refuses a new prescription")
        // A prescription that delivers, on a line whose tip holds no drug,
        // gives nothing for days: prime first (as for resume).
        if status.fluidPath.tipHoldsNoDrug, PumpStatus.averageVolumeRate(of: change.wire).baseValue > 0 {
            stateFindings.append(Finding(code: .lineHoldsNoDrug, severity: .hard,
                                         message: "the catheter tip holds no drug: this prescription would deliver nothing until \(status.fluidPath.primeVolume) had been pushed at its rate; prime the line first (pumpctl bolus --kind prime)"))
        }
        // While the line holds another concentration of the drug the pump
        // runs the prescription by dose at the tip; a rate it cannot run
        // there would be refused by the pump with no reason given.
        stateFindings += RefillCommand.tipRateFindings(change.wire, line: status.fluidPath, profile: situation.profile)
        return ChangePlan(
            command: .commit, change: .program(change), before: status,
            findings: ValidationReport(findings: stateFindings + change.review.report.findings),
            confirmation: Self.confirmation(for: change, policy: policy), secondProvider: secondProvider,
            steps: steps, abandon: Self.discard, verification: .prescription(change.wire), basis: PlanBasis(status),
            parameters: Self.parameters(change))
    }

    /// The review of `pending` against the pump: validation, the wire form, the comparison.
    static func change(to file: Prescription, in situation: PlanningSituation) throws(ProgrammerError) -> ProgramChange {
        let status = situation.status
        // The catheter is the pump's record (set at the implant or the last
        // catheter replacement): a file without one takes it, and a file
        // that names another is refused, since the pump would refuse it too
        // and the line volume decides every bridge and prime.
        var pending = file
        let recorded = status.fluidPath.catheter
        if pending.catheter == nil { pending.catheter = .volume(recorded) }
        var catheterFindings: [Finding] = []
        if pending.catheter?.volume != recorded {
            catheterFindings.append(Finding(
                code: .catheterMismatch, severity: .hard,
                message: "the prescription gives a catheter of \(pending.catheter?.volume.map(\.description) ?? "no computable volume"), but the pump records \(recorded) (set at the implant or the last catheter replacement); leave the catheter out of the file to use the pump's record, or record the revision first (pumpctl catheter)"))
        }
        let wire = try WirePrescriptionMapping.wire(pending, profile: situation.profile)
        let currentDelivered = PumpStatus.deliveredDailyDose(of: status.wirePrescription)
        let pendingDelivered = PumpStatus.deliveredDailyDose(of: wire)
        let report = PrescriptionValidator.validate(pending, in: ValidationContext(
            policy: situation.policy, profile: situation.profile, current: status.prescription, lastChange: situation.lastChange ?? status.lastChange,
            now: situation.now, recentIncreases: situation.recentIncreases, currentDeliveredDose: currentDelivered,
            // A stopped infusion keeps its last delivering prescription, and
            // a new one is titrated from it; the stopped *mode* (no dose
            // held) makes the new prescription a start.
            recentBoluses: situation.history?.technicianBolusesLast24h(at: status.strongestConcentration)?.drug,
            increaseHistoryComplete: situation.increaseHistoryComplete,
            // A log that wrapped (or could not be read) cannot show the 24 h
            // totals pass: a finding, and a second provider, say so.
            bolusHistoryComplete: situation.bolusHistoryComplete,
            // A restart after a long stop is a start as well as a change.
            stoppedSince: situation.stoppedSince, lastDeliveringDose: situation.lastDeliveringDose))
        // The current catheter is the pump's record, not the figure the
        // active prescription was written with before a revision.
        var current = status.prescription
        current.catheter = .volume(recorded)
        let review = Review.compare(current: current, currentDelivered: currentDelivered,
                                    currentRate: PumpStatus.averageVolumeRate(of: status.wirePrescription), pending: pending,
                                    pendingDelivered: pendingDelivered,
                                    report: ValidationReport(findings: catheterFindings + report.findings, notChecked: report.notChecked), profile: situation.profile,
                                    policy: situation.policy)
        return ProgramChange(review: review, pending: pending, wire: wire, currentDelivered: currentDelivered,
                             pendingDelivered: pendingDelivered)
    }

    static func confirmation(for change: ProgramChange, policy: ClinicPolicy) -> ConfirmationRule {
        guard change.doseIncrease else { return .yes }
        let unit = policy.policy(for: change.pending.drug)?.doseRateUnit ?? .mcgPerDay
        return .typeDailyDose(change.review.pendingPrescribed, unit: unit)
    }

    /// The one second-provider rule for every prescription change,
    /// whichever command carries it (program, or refill with a new
    /// prescription).
    static func secondProvider(for change: ProgramChange, current: PumpStatus, policy: ClinicPolicy) -> SecondProviderReason? {
        if change.wire.hash == current.prescriptionHash { return nil }
        let incomplete: Set<FindingCode> = [.doseHistoryIncomplete, .titrationHistoryUnknown]
        let concentrationChange = change.pending.drug != current.drug || change.pending.concentration != current.concentration
        if concentrationChange, policy.requiresSecondOperator(.concentrationChange) { return .concentrationChange }
        if change.doseIncrease, policy.requiresSecondOperator(.doseIncrease) { return .doseIncrease }
        if policy.requiresSecondOperator(.anyPrescriptionChange) { return .prescriptionChange }
        // Whatever the policy asks, limits that could not be checked against
        // the pump's whole history need a second provider (clinical practice:
        // a second experienced provider confirms programming).
        if change.review.report.findings.contains(where: { incomplete.contains($0.code) }) { return .incompleteHistory }
        return nil
    }

    static func steps(for wire: WirePrescription) -> [WireStep] {
        [
            WireStep(kind: .stage, expectedReply: .staged(wire.hash)) { id, expiry in
                .stagePrescription(StagePrescription(commandId: id, expiry: expiry, prescription: wire))
            },
            WireStep(kind: .commit, expectedReply: .executed(.commitStagedPrescription)) { id, expiry in
                .commitStagedPrescription(CommitStagedPrescription(commandId: id, expiry: expiry, stagedHash: wire.hash))
            },
        ]
    }

    static let discard = WireStep(kind: .discard, expectedReply: .executed(.discardStagedPrescription)) { id, expiry in
        .discardStagedPrescription(DiscardStagedPrescription(commandId: id, expiry: expiry))
    }

    static func parameters(_ change: ProgramChange) -> [String: String] {
        [
            "mode": change.pending.mode.name, "daily_dose": change.pendingDelivered.description,
            "concentration": change.pending.concentration.description, "prescription_hash": change.wire.hash.description,
            "dose_increase": change.doseIncrease ? "true" : "false",
            // The pump does not store it; a later bolus is held to it.
            "opioid_tolerance": change.pending.drug.isOpioid ? (change.pending.opioidTolerance ?? .naive).rawValue : "-",
        ]
    }
}
