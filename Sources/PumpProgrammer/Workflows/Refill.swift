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
    public var overrides: [Override]

    public init(withdrawn: Volume, added: Volume, drug: Drug?, concentration: Concentration, newPrescription: Prescription?,
                discrepancyAcknowledgement: String?, overrides: [Override]) {
        self.withdrawn = withdrawn
        self.added = added
        self.drug = drug
        self.concentration = concentration
        self.newPrescription = newPrescription
        self.discrepancyAcknowledgement = discrepancyAcknowledgement
        self.overrides = overrides
    }
}

/// The record of a refill.
public struct RefillRecord: Sendable, Encodable {
    public var check: RefillCheck
    public var added: Volume
    public var drug: String
    public var concentration: Concentration
    public var concentrationChanged: Bool
    public var discrepancyAcknowledgement: String?
    /// When the concentration changed: how long the line keeps delivering
    /// the old concentration, and what.
    public var bridge: BridgePlan?
    public var status: PumpStatus
    public var reportPaths: [String]

    enum CodingKeys: String, CodingKey {
        case check, added, drug, concentration, concentrationChanged, discrepancyAcknowledgement, status, reportPaths
        case bridgeVolume, bridgeDuration, bridgeDose
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(check, forKey: .check)
        try container.encode(added, forKey: .added)
        try container.encode(drug, forKey: .drug)
        try container.encode(concentration, forKey: .concentration)
        try container.encode(concentrationChanged, forKey: .concentrationChanged)
        try container.encode(discrepancyAcknowledgement, forKey: .discrepancyAcknowledgement)
        try container.encodeIfPresent(bridge?.volume, forKey: .bridgeVolume)
        try container.encodeIfPresent(bridge?.duration, forKey: .bridgeDuration)
        try container.encodeIfPresent(bridge?.doseDuringBridge, forKey: .bridgeDose)
        try container.encode(status, forKey: .status)
        try container.encode(reportPaths, forKey: .reportPaths)
    }
}

extension Programmer {
    /// The guided refill: begin (the pump reports the residual it expects),
    /// residual check, capacity, drug and concentration, review, commit,
    /// new alarm and refill dates, a record and a report.
    ///
    /// A concentration change must carry its new prescription, which is
    /// validated like any programming and committed in the same command,
    /// and a second operator must be named.
    public func refill(_ request: RefillRequest, confirmation: Confirmation) async throws(ProgrammerError) -> RefillRecord {
        let (status, _) = try await interrogate()
        if let unresolved = status.unresolvedCommand {
            throw .unresolved(unresolved, detail: "Resolve it (pumpctl interrogate) before refilling.")
        }
        guard let profile = PumpProfile.named(status.model) else {
            throw .deviceFault("the pump reports a reservoir of \(status.reservoirCapacity), which matches no known pump profile")
        }
        let current = status.prescription
        let drug = request.drug ?? current.drug
        let changesDrug = drug != current.drug || request.concentration != current.concentration
        guard request.withdrawn.baseValue >= 0, request.added.baseValue > 0 else {
            throw .input("The volume added must be more than zero and the volume withdrawn not negative.")
        }

        // Capacity: the residual is withdrawn completely, so the reservoir
        // will hold exactly what is added.
        guard request.added <= profile.capacity else {
            throw .refusedByPolicy("\(request.added) would overfill the \(profile.capacity) reservoir")
        }

        // Drug and concentration must match, or come with a prescription for them.
        var findings: [Finding] = []
        var wire: WirePrescription?
        var bridge: BridgePlan?
        var pendingPrescription = request.newPrescription
        if changesDrug {
            guard let next = request.newPrescription else {
                throw .refusedByPolicy(offerFor(current: current, drug: drug, concentration: request.concentration, profile: profile))
            }
            if context.policy.requiresSecondOperator(.concentrationChange) {
                try requireSecondOperator("a change of drug or concentration")
            }
            if drug == current.drug, let lineVolume = lineVolume(current, profile: profile),
               let dose = try? current.dosePlan(on: profile).averagePrescribedDose, dose.baseValue > 0 {
                bridge = try? BridgePlan.plan(lineVolume: lineVolume, oldConcentration: current.concentration,
                                              newConcentration: request.concentration, dailyDose: dose, profile: profile)
            }
            pendingPrescription = next
        }
        if let next = pendingPrescription {
            if context.policy.requiresSecondOperator(.anyPrescriptionChange) {
                try requireSecondOperator("a change of prescription")
            }
            guard next.drug == drug, next.concentration == request.concentration else {
                throw .refusedByPolicy("the new prescription is for \(next.drug) \(next.concentration), but the reservoir is being filled with \(drug) \(request.concentration)")
            }
            let now = try pumpTime(of: status)
            let report = PrescriptionValidator.validate(next, in: ValidationContext(
                policy: context.policy, profile: profile, current: current, lastChange: try? PumpTime(parsing: status.lastChange),
                now: now, recentIncreases: recentIncreases()))
            findings = report.findings
            let review = Review.compare(current: current, pending: next, report: report, profile: profile, policy: context.policy)
            let accepted: AcceptedPrescription
            do { accepted = try report.accepting(overrides: request.overrides) } catch {
                throw .refusedByPolicy(error.description)
            }
            _ = accepted
            try Self.check(confirmation, review: review)
            wire = try WirePrescriptionMapping.wire(next, profile: profile)
        } else {
            guard request.overrides.isEmpty else {
                throw .refusedByPolicy("overrides were given but this refill changes no prescription; check it is the right command")
            }
            try Self.check(confirmation, review: Review(rows: [], errors: [], warnings: [], doseIncrease: false, pendingDailyDose: ""))
        }

        // Begin: the pump reports the residual it expects (unless a refill
        // was already begun, e.g. an earlier run stopped at the discrepancy).
        let expected: Volume
        if status.infusion == PumpStatus.infusionName(.refillInProgress) {
            expected = status.reservoirVolume
        } else {
            let begun = try await perform(command: "refill-begin", parameters: [:]) { id in .refillBegin(RefillBegin(commandId: id)) }
            guard case .refillBegun(let report) = begun else {
                throw .deviceFault("the pump answered refill begin with \(begun.opcode)")
            }
            expected = .nL(Int64(report.expectedResidualNanolitres))
        }
        let check = RefillCheck(expected: expected, withdrawn: request.withdrawn, tolerance: context.policy.residualTolerance)
        if check.discrepancy {
            guard let reason = request.discrepancyAcknowledgement, !reason.trimmingCharacters(in: .whitespaces).isEmpty else {
                try record(command: "refill", phase: .event, parameters: [
                    "expected": expected.description, "withdrawn": request.withdrawn.description, "tolerance": check.tolerance.description,
                ], outcome: "stopped: residual discrepancy not acknowledged")
                throw .refusedByPolicy("RESIDUAL DISCREPANCY: \(request.withdrawn) withdrawn, \(expected) expected (tolerance \(check.tolerance)). This can mean a pocket fill, a pump or a catheter problem. Investigate; to go on, acknowledge it with --acknowledge-discrepancy \"reason\" (the refill stays begun on the pump)")
            }
        }

        let parameters: [String: String] = [
            "expected": expected.description, "withdrawn": request.withdrawn.description, "added": request.added.description,
            "drug": drug.rawValue, "concentration": request.concentration.description,
            "discrepancy": check.discrepancy ? "true" : "false",
            "discrepancy_acknowledgement": request.discrepancyAcknowledgement ?? "",
            "prescription_hash": wire?.hash.description ?? "unchanged",
        ]
        let overrides = findings.filter { $0.severity == .soft }.compactMap { finding in
            request.overrides.first { $0.code == finding.code }.map { AuditOverride(code: $0.code.rawValue, reason: $0.reason) }
        }
        guard let wireDrug = WireDrug(rawValue: drug.wireCode),
              let withdrawn = UInt32(exactly: request.withdrawn.baseValue), let added = UInt32(exactly: request.added.baseValue),
              let concentration = UInt32(exactly: request.concentration.baseValue) else {
            throw .input("A refill volume or the concentration is outside what the pump can hold.")
        }
        _ = try await perform(command: "refill", parameters: parameters, overrides: overrides) { id in
            .refillComplete(RefillComplete(commandId: id, withdrawnNanolitres: withdrawn, addedNanolitres: added, drug: wireDrug,
                                           concentrationNanogramsPerMillilitre: concentration, newPrescription: wire))
        }
        if let wire { try await readBack(wire) }
        let (after2, _) = try await interrogate()
        var extra: [SessionReport.Section] = [.init(title: "Refill", fields: [
            .init("Expected residual", expected.description), .init("Withdrawn", request.withdrawn.description),
            .init("Difference", check.difference.description), .init("Tolerance", check.tolerance.description),
            .init("Discrepancy", check.discrepancy ? "YES: \(request.discrepancyAcknowledgement ?? "")" : "no"),
            .init("Added", request.added.description), .init("Drug", "\(drug.rawValue) \(request.concentration)"),
        ])]
        if let bridge {
            extra.append(.init(title: "Concentration change: bridge", fields: [
                .init("Line volume (old concentration)", bridge.volume.description),
                .init("Old drug keeps flowing for", bridge.duration.description),
                .init("Drug delivered from the line", bridge.doseDuringBridge.description),
            ]))
        }
        let paths = writeReport(title: "Refill", plan: nil, status: after2, overrides: [], extra: extra)
        return RefillRecord(check: check, added: request.added, drug: drug.rawValue, concentration: request.concentration,
                            concentrationChanged: changesDrug, discrepancyAcknowledgement: request.discrepancyAcknowledgement,
                            bridge: bridge, status: after2, reportPaths: paths)
    }

    /// The pump pathway plus the catheter: what still holds the old drug.
    func lineVolume(_ prescription: Prescription, profile: PumpProfile) -> Volume? {
        (prescription.catheter?.volume ?? .zero).adding(profile.internalPathwayVolume)
    }

    /// The refusal text for a concentration change without a prescription:
    /// it offers the prescription that keeps the daily dose, and the bridge.
    func offerFor(current: Prescription, drug: Drug, concentration: Concentration, profile: PumpProfile) -> String {
        var offered = current
        offered.drug = drug
        offered.concentration = concentration
        let file = String(decoding: offered.encodedFile(massUnit: context.policy.policy(for: drug)?.massUnit ?? .mcg), as: UTF8.self)
        var text = "the reservoir is being filled with \(drug.rawValue) \(concentration), but the pump's prescription is for \(current.drug.rawValue) \(current.concentration). A concentration change needs a new prescription in the same refill: give --prescription FILE. This one keeps the current daily dose at the new concentration:\n\(file)"
        if drug == current.drug, let line = lineVolume(current, profile: profile),
           let dose = try? current.dosePlan(on: profile).averagePrescribedDose,
           let bridge = try? BridgePlan.plan(lineVolume: line, oldConcentration: current.concentration,
                                             newConcentration: concentration, dailyDose: dose, profile: profile) {
            text += "\nBridge: the line holds \(bridge.volume) of the old concentration, which keeps flowing for \(bridge.duration) (\(bridge.doseDuringBridge) of drug) before the new concentration arrives"
        }
        return text
    }
}
