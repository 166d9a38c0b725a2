import Foundation
import Therapy
import WandProtocol

/// What the technician did at the refill port.
public struct RefillRequest: Sendable {
    public var withdrawn: Volume
    public var added: Volume
    /// The drug put in; nil means the drug already in the pump.
    public var drug: Drug?
    public var concentration: Concentration
    /// Required when the drug or concentration changes; optional otherwise.
    public var newPrescription: Prescription?
    /// Why a residual discrepancy is accepted, when there is one.
    public var discrepancyAcknowledgement: String?

    public init(withdrawn: Volume, added: Volume, drug: Drug?, concentration: Concentration, newPrescription: Prescription?,
                discrepancyAcknowledgement: String?) {
        self.withdrawn = withdrawn
        self.added = added
        self.drug = drug
        self.concentration = concentration
        self.newPrescription = newPrescription
        self.discrepancyAcknowledgement = discrepancyAcknowledgement
    }
}

/// A planned refill, for the screen and the record.
public struct RefillChange: Sendable {
    public var check: RefillCheck
    public var added: Volume
    public var drug: Drug
    public var concentration: Concentration
    public var concentrationChanged: Bool
    public var discrepancyAcknowledgement: String?
    /// The new prescription committed with the refill, when there is one.
    public var program: ProgramChange?
    /// When drug or concentration changes: what the line still holds, how
    /// the pump delivers it (by dose at the tip, PROTOCOL.md 5) and when the
    /// new drug reaches the patient.
    public var transition: LineTransition?
    /// True when an earlier run began the refill and this one finishes it.
    public var finishesBegunRefill: Bool
    /// The units the new drug is shown in (morphine in mg).
    public var units: DisplayUnits
    /// Set when the pump reports its reservoir contents unknown (a refill
    /// abandoned, alarm 0x0008): the expected residual is the pump's
    /// estimate of a reservoir that may have been emptied, so the residual
    /// withdrawn cannot be checked against it, either way.
    public var residualUnknown = false

    /// The residual check in words, for every screen and the report.
    public var residualWords: String { Self.residualWords(check, unknown: residualUnknown) }

    public static func residualWords(_ check: RefillCheck, unknown: Bool) -> String {
        if unknown {
            return "\(Shown.volume(check.withdrawn)) withdrawn; the expected residual is UNKNOWN (a refill was abandoned, alarm 0x0008: the pump's estimate of \(Shown.volume(check.expected)) may be wrong, the reservoir may have been empty), so the residual cannot be checked against the pump. Measure what you withdraw and record it."
        }
        return "\(Shown.volume(check.withdrawn)) withdrawn, \(Shown.volume(check.expected)) expected, difference \(Shown.volume(check.difference)) (tolerance \(Shown.volume(check.tolerance))): "
            + (check.discrepancy ? "DISCREPANCY: this can mean a pocket fill, a pump or a catheter problem." : "within tolerance.")
    }
    /// What infusion does once the refill completes, shown before the prompt.
    public var infusionAfter: InfusionAfterRefill = .asBeforeBegin

    /// The pump puts delivery back as it was before refill begin, a carried
    /// prescription included (PROTOCOL.md, refill complete): it never starts
    /// a stopped pump; only a stopped-mode prescription stops a running one.
    public enum InfusionAfterRefill: String, Sendable, Equatable {
        /// The pump was infusing when the refill began (or will begin).
        case runs
        /// It was stopped: it stays stopped until resumed.
        case remainsStopped = "remains-stopped"
        /// The carried prescription's mode is stopped.
        case stoppedByPrescription = "stopped-by-prescription"
        /// An earlier run began the refill: the pump restores what it was
        /// then, which this run did not see.
        case asBeforeBegin = "as-before-refill-begin"

        static func of(_ status: PumpStatus, finishes: Bool, prescription: WirePrescription?) -> Self {
            if prescription?.mode == .stopped { return .stoppedByPrescription }
            if finishes { return .asBeforeBegin }
            return status.infusion == .stopped ? .remainsStopped : .runs
        }
    }
}

/// The guided refill: begin (delivery pauses), complete with the new drug
/// (and a new prescription when drug or concentration changes), or cancel.
///
/// Every check whose values are known runs before refill-begin: the
/// residual against what the pump holds, capacity, drug and concentration,
/// the new prescription's review and the second-provider rule (the same
/// rule as `ProgramCommand`). A refill refused or abandoned after begin is
/// cancelled on the pump (`RefillCancel`), so delivery resumes.
///
/// Requests: `RefillBegin`, `RefillComplete`; abandoned with
/// `RefillCancel`. Replies: the begin report (the residual the pump
/// expects), then a command receipt. Audit: expected, withdrawn, added,
/// drug, concentration, discrepancy and its acknowledgement, hash.
public struct RefillCommand: PumpCommand {
    public var request: RefillRequest
    public var kind: CommandKind { .refillComplete }

    public init(request: RefillRequest) {
        self.request = request
    }

    /// The most a pump can deliver in the minutes between the review and
    /// refill-begin at any prescription the library allows (well under
    /// 0.1 mL); a larger drop in the expected residual is not delivery.
    static let deliveryDuringReview = Volume.uL(100)

    public func plan(in situation: PlanningSituation) throws(ProgrammerError) -> ChangePlan {
        let status = situation.status
        let policy = situation.policy
        let profile = situation.profile
        guard request.withdrawn.baseValue >= 0, request.added.baseValue > 0 else {
            throw .input("The volume added must be more than zero and the volume withdrawn not negative.")
        }
        let current = status.prescription
        let drug = request.drug ?? current.drug
        let changesDrug = drug != current.drug || request.concentration != current.concentration
        var findings: [Finding] = []
        // The residual is withdrawn completely, so the reservoir will hold
        // exactly what is added.
        if request.added > profile.capacity {
            findings.append(Finding(code: .refillOverfill, severity: .hard,
                                    message: "\(request.added) would overfill the \(profile.capacity) reservoir"))
        }
        // A fill far below the reservoir's scale is probably uL for mL.
        findings += RefillPlausibility.findings(added: request.added, capacity: profile.capacity,
                                                alarmThreshold: status.lowReservoirThreshold, dailyVolume: status.rate)
        // The pump expects what its reservoir holds: checked now, before
        // delivery is paused, and again against the begin report.
        let check = RefillCheck(expected: status.reservoirVolume, withdrawn: request.withdrawn, tolerance: policy.residualTolerance)
        let acknowledgement = request.discrepancyAcknowledgement?.trimmingCharacters(in: .whitespacesAndNewlines)
        var acknowledged: [Override] = []
        // After an abandoned refill the pump's figure is not a residual to
        // check against: a correct 0 mL from an emptied reservoir is no
        // pocket fill, and a "within tolerance" would be a false comfort.
        let residualUnknown = status.reservoirContentsUnknown
        if check.discrepancy, !residualUnknown {
            findings.append(Finding(code: .refillResidualDiscrepancy, severity: .soft,
                                    message: "\(Shown.volume(request.withdrawn)) withdrawn, \(Shown.volume(check.expected)) expected (tolerance \(Shown.volume(check.tolerance))); this can mean a pocket fill, a pump or a catheter problem"))
            // Whatever was given is judged by the one rule for reasons
            // (ValidationReport.accepting): a newline or "." is refused there.
            if let acknowledgement = request.discrepancyAcknowledgement {
                acknowledged.append(Override(code: .refillResidualDiscrepancy, reason: acknowledgement))
            }
        }

        var program: ProgramChange?
        var transition: LineTransition?
        var secondProvider: SecondProviderReason?
        var confirmation = ConfirmationRule.yes
        if changesDrug, request.newPrescription == nil {
            findings.append(Finding(code: .refillNeedsPrescription, severity: .hard,
                                    message: Self.offer(current: current, drug: drug, concentration: request.concentration,
                                                        status: status, policy: policy, profile: profile)))
        }
        if let next = request.newPrescription {
            if next.drug != drug || next.concentration != request.concentration {
                findings.append(Finding(code: .refillPrescriptionMismatch, severity: .hard,
                                        message: "the new prescription is for \(next.drug.rawValue) \(DisplayUnits.of(next.drug, policy: policy).text(next.concentration)), but the reservoir is being filled with \(drug.rawValue) \(DisplayUnits.of(drug, policy: policy).text(request.concentration))"))
            }
            let change = try ProgramCommand.change(to: next, in: situation)
            findings += change.review.report.findings
            secondProvider = ProgramCommand.secondProvider(for: change, current: status, policy: policy)
            confirmation = ProgramCommand.confirmation(for: change, policy: policy)
            program = change
            if changesDrug {
                let after = Self.transition(of: status, into: .drug(drug, request.concentration), next: change)
                transition = after
                if current.drug == .baclofen, drug != .baclofen {
                    // The last baclofen reaches the patient when the line has
                    // turned over; nothing intrathecal replaces it after that.
                    let when = after?.reservoirDrugArrives.map { "at about \($0.iso8601)" } ?? "when the line has turned over"
                    findings.append(Finding(
                        code: .drugChangeWithdrawal, severity: .soft,
                        message: "leaving baclofen: the line's last baclofen reaches the patient \(when), and intrathecal baclofen stops then. Abrupt baclofen withdrawal can cause high fever, altered mental status, rebound spasticity and muscle rigidity, and can be fatal: give the withdrawal plan (oral baclofen cover from then, tapered) as the reason"))
                }
            }
        }
        // What the pump would refuse at refill-complete, after the residual
        // has been withdrawn, is refused here, before anything is begun.
        if changesDrug {
            if drug != current.drug, let held = status.outgoingWire, let old = Drug(wireCode: held.drug.rawValue) {
                let when = status.lineTransition?.reservoirDrugArrives.map { " (about \($0.iso8601))" } ?? ""
                findings.append(Finding(code: .lineHoldsOtherDrug, severity: .hard,
                                        message: "the line still holds \(old.rawValue) from the earlier drug change: the pump takes another drug only once it has reached the patient\(when)"))
            }
            if status.fluidPath.segments.count >= WireFluidPath.maximumSegments {
                findings.append(Finding(code: .lineHoldsOtherDrug, severity: .hard,
                                        message: "the line already holds \(status.fluidPath.segments.count) different fluids, the most the pump keeps: refill with the concentration in the pump until the line has turned over"))
            }
            if let wire = program?.wire {
                findings += Self.tipRateFindings(wire, line: status.fluidPath, profile: profile)
            }
        }
        if changesDrug, secondProvider == nil, policy.requiresSecondOperator(.concentrationChange) {
            secondProvider = .concentrationChange
        }

        let wireDrug = WireDrug(rawValue: drug.wireCode)
        // PROTOCOL.md: withdrawn 0 ... 40 000 000 nL; a request outside it does not decode.
        let withdrawn = UInt32(exactly: request.withdrawn.baseValue).flatMap { $0 <= StartBolus.maximumVolumeNanolitres ? $0 : nil }
        let added = UInt32(exactly: request.added.baseValue)
        let concentration = UInt32(exactly: request.concentration.baseValue)
        if wireDrug == nil || withdrawn == nil || added == nil || concentration == nil {
            findings.append(Finding(code: .arithmeticOutOfRange, severity: .hard,
                                    message: "a refill volume or the concentration is outside what the pump can hold"))
        }
        let wire = program?.wire
        let finishes = status.infusion == .refillInProgress
        var steps: [WireStep] = []
        if !finishes {
            steps.append(WireStep(kind: .refillBegin, expectedReply: .refillBegun(
                checked: status.reservoirVolume, allowance: Self.deliveryDuringReview)) { id, expiry in
                .refillBegin(RefillBegin(commandId: id, expiry: expiry))
            })
        }
        // Out-of-range figures are hard findings already; the step is never
        // sent then, and these stand in only to build it.
        let fields = (withdrawn: withdrawn ?? 0, added: added ?? 0, drug: wireDrug ?? .baclofen, concentration: concentration ?? 0)
        steps.append(WireStep(kind: .refillComplete, expectedReply: .executed(.refillComplete)) { id, expiry in
            .refillComplete(RefillComplete(commandId: id, expiry: expiry, withdrawnNanolitres: fields.withdrawn, addedNanolitres: fields.added,
                                           drug: fields.drug, concentrationNanogramsPerMillilitre: fields.concentration,
                                           newPrescription: wire))
        })
        var refill = RefillChange(check: check, added: request.added, drug: drug, concentration: request.concentration,
                                  concentrationChanged: changesDrug, discrepancyAcknowledgement: acknowledgement,
                                  program: program, transition: transition, finishesBegunRefill: finishes,
                                  units: DisplayUnits.of(drug, policy: policy))
        refill.infusionAfter = .of(status, finishes: finishes, prescription: wire)
        refill.residualUnknown = residualUnknown
        var plan = ChangePlan(
            command: .refillComplete, change: .refill(refill), before: status, findings: ValidationReport(findings: findings),
            confirmation: confirmation, secondProvider: secondProvider, steps: steps, abandon: RefillCancelCommand.step,
            verification: wire.map { .prescription($0) } ?? .receipt, basis: PlanBasis(status),
            parameters: [
                "expected": check.expected.description, "withdrawn": request.withdrawn.description,
                "added": request.added.description, "drug": drug.rawValue, "concentration": request.concentration.description,
                "discrepancy": check.discrepancy && !residualUnknown ? "true" : "false", "discrepancy_acknowledgement": acknowledgement ?? "",
                "residual_unknown": residualUnknown ? "true" : "false",
                "prescription_hash": wire?.hash.description ?? "unchanged",
                "dose_increase": program?.doseIncrease == true ? "true" : "false",
            ])
        plan.acknowledged = acknowledged
        return plan
    }

    /// What the line delivers after a refill that fills `reservoir`: the
    /// line as it is now, pushed out by dose at the tip at the new
    /// prescription's dose (the old drug at the prescription now running).
    static func transition(of status: PumpStatus, into reservoir: FluidPath.Contents, next: ProgramChange) -> LineTransition? {
        let ahead = status.fluidPath.ahead(of: reservoir)
        guard !ahead.isEmpty else { return nil }
        // A refill never starts a stopped pump (PROTOCOL.md, refill
        // complete): then nothing is pushed out, no stretch has a time, and
        // no arrival time is claimed ("only once the pump delivers again").
        let runs = status.infusion != .stopped && status.prescription.mode != .stopped && next.wire.mode != .stopped
        let outgoing = reservoir.drug == status.drug || !runs ? nil : PumpStatus.deliveredDailyDose(of: status.wirePrescription)
        return LineTransition.figure(
            ahead: ahead, reservoir: reservoir, dose: runs ? next.pendingDelivered : .zero, outgoingDose: outgoing,
            volumeRate: runs ? PumpStatus.averageVolumeRate(of: next.wire) : .zero, from: status.hostClock)
    }

    /// The pump runs a new prescription by dose at the tip while the line
    /// holds another concentration of its drug (PROTOCOL.md 5): each rate,
    /// scaled to every such concentration, must be one its motor can run.
    static func tipRateFindings(_ wire: WirePrescription, line: FluidPath, profile: PumpProfile) -> [Finding] {
        let concentration = Int64(wire.concentrationNanogramsPerMillilitre)
        let rates = wire.mode == .flex ? wire.steps.map { Int64($0.volumeRateNanolitresPerDay) }
            : [Int64(wire.continuousVolumeRateNanolitresPerDay)]
        var findings: [Finding] = []
        for segment in line.segments {
            guard case .drug(let held, let at) = segment.contents, held.wireCode == wire.drug.rawValue,
                  at.baseValue > 0, at.baseValue != concentration else { continue }
            for rate in rates where rate > 0 {
                guard let scaled = Exact64.mulDiv(rate, concentration, at.baseValue) else { continue }
                if scaled > profile.maximumContinuousRate.baseValue {
                    findings.append(Finding(code: .rateAboveMaximum, severity: .hard,
                                            message: "while the line's \(held.rawValue) \(at) leaves, the pump would run \(VolumeRate.nLPerDay(scaled)) to keep the dose, above its maximum \(profile.maximumContinuousRate)"))
                } else if scaled < profile.minimumRate.baseValue {
                    findings.append(Finding(code: .rateBelowMinimum, severity: .hard,
                                            message: "while the line's \(held.rawValue) \(at) leaves, the pump would run \(VolumeRate.nLPerDay(scaled)) to keep the dose, below its minimum \(profile.minimumRate)"))
                }
            }
        }
        return findings
    }

    /// The refusal text for a concentration change without a prescription:
    /// it offers the prescription that keeps the daily dose, and says how
    /// the pump will deliver the line's old concentration.
    static func offer(current: Prescription, drug: Drug, concentration: Concentration, status: PumpStatus,
                      policy: ClinicPolicy, profile: PumpProfile) -> String {
        var offered = current
        offered.drug = drug
        offered.concentration = concentration
        offered.catheter = .volume(status.fluidPath.catheter)
        let file = String(decoding: offered.encodedFile(massUnit: policy.policy(for: drug)?.massUnit ?? .mcg), as: UTF8.self)
        let new = DisplayUnits.of(drug, policy: policy), old = DisplayUnits.of(current.drug, policy: policy)
        var text = "the reservoir is being filled with \(drug.rawValue) \(new.text(concentration)), but the pump's prescription is for \(current.drug.rawValue) \(old.text(current.concentration)). A concentration change needs a new prescription in the same refill: give --prescription FILE. This one keeps the current daily dose at the new concentration:\n\(file)"
        let ahead = status.fluidPath.ahead(of: .drug(drug, concentration))
        if drug == current.drug, !ahead.isEmpty {
            let volume = status.fluidPath.volumeAhead(of: .drug(drug, concentration))
            text += "\nThe line holds \(volume) of the old concentration; the pump delivers it at the prescribed daily dose (by dose at the catheter tip) before the new concentration arrives"
        }
        return text
    }
}

/// Cancels a refill that was begun: delivery resumes with the prescription
/// and the reservoir as they were.
///
/// Request: `RefillCancel`. Reply: a command receipt.
public struct RefillCancelCommand: PumpCommand {
    public var kind: CommandKind { .refillCancel }
    public init() {}

    static let step = WireStep(kind: .refillCancel, expectedReply: .executed(.refillCancel)) { id, expiry in
        .refillCancel(RefillCancel(commandId: id, expiry: expiry))
    }

    public func plan(in situation: PlanningSituation) throws(ProgrammerError) -> ChangePlan {
        let status = situation.status
        var findings: [Finding] = []
        if status.infusion != .refillInProgress {
            // Say what the pump did and what to do, not only the rule: after
            // an abandoned refill the technician came to cancel one the
            // pump has already ended.
            let message = status.reservoirContentsUnknown
                ? "no refill is in progress on the pump: the pump ended the refill left open (alarm: refill abandoned) and resumed delivery as it was before it; the reservoir may be EMPTY. Refill now (pumpctl refill): withdraw and measure the residual, then add the new drug"
                : "no refill is in progress on the pump: there is nothing to cancel"
            findings.append(Finding(code: .pumpAlreadyInState, severity: .hard, message: message))
        }
        return ChangePlan(command: .refillCancel, change: .refillCancel, before: status, findings: ValidationReport(findings: findings),
                          confirmation: .yes, secondProvider: nil, steps: [Self.step], abandon: nil, verification: .receipt,
                          basis: PlanBasis(status), parameters: [:])
    }
}
