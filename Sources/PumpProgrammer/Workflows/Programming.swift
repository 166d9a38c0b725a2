import Foundation
import Therapy
import WandProtocol

/// How the technician confirmed a reviewed change.
public enum Confirmation: Sendable, Equatable {
    /// Typed at the prompt: the new daily dose for an increase, or `yes`.
    case typed(String)
    /// Non-interactive: `--yes` given (or not).
    case flag(yes: Bool)
}

/// A reviewed change, ready to be written once confirmed.
public struct ProgramPlan: Sendable {
    public var review: Review
    public var pending: Prescription
    public var current: Prescription
    public var wire: WirePrescription
    public var report: ValidationReport
    public var profile: PumpProfile
    public var status: PumpStatus
}

/// What a completed programming session changed.
public struct ProgramResult: Sendable {
    public var plan: ProgramPlan
    public var overrides: [Override]
    public var status: PumpStatus
    public var reportPaths: [String]
}

extension Programmer {
    /// Reads the pump and validates `pending` against the policy, the pump
    /// and the current prescription. Changes nothing.
    public func review(_ pending: Prescription) async throws(ProgrammerError) -> ProgramPlan {
        let (status, _) = try await interrogate()
        if let unresolved = status.unresolvedCommand {
            throw .unresolved(unresolved, detail: "Resolve it (pumpctl interrogate) before programming.")
        }
        guard let profile = PumpProfile.named(status.model) else {
            throw .deviceFault("the pump reports a reservoir of \(status.reservoirCapacity), which matches no known pump profile")
        }
        let now = try pumpTime(of: status)
        let last = try? PumpTime(parsing: status.lastChange)
        let context = ValidationContext(
            policy: self.context.policy, profile: profile, current: status.prescription, lastChange: last, now: now,
            recentIncreases: recentIncreases())
        let report = PrescriptionValidator.validate(pending, in: context)
        let wire = try WirePrescriptionMapping.wire(pending, profile: profile)
        let review = Review.compare(current: status.prescription, pending: pending, report: report,
                                    profile: profile, policy: self.context.policy)
        return ProgramPlan(review: review, pending: pending, current: status.prescription, wire: wire,
                           report: report, profile: profile, status: status)
    }

    /// Applies the one rule for going ahead: no hard finding, every soft
    /// finding overridden with a reason, and a confirmation that fits the
    /// change (the new daily dose typed back for an increase).
    public func authorise(_ plan: ProgramPlan, overrides: [Override], confirmation: Confirmation)
        throws(ProgrammerError) -> AcceptedPrescription
    {
        let accepted: AcceptedPrescription
        do {
            accepted = try plan.report.accepting(overrides: overrides)
        } catch {
            try? record(command: "program", phase: .event, parameters: ["refusal": error.description], outcome: "refused by policy")
            throw .refusedByPolicy(error.description)
        }
        if context.policy.requiresSecondOperator(.anyPrescriptionChange)
            || (plan.review.doseIncrease && context.policy.requiresSecondOperator(.doseIncrease)) {
            try requireSecondOperator(plan.review.doseIncrease ? "a dose increase" : "a change of prescription")
        }
        try Self.check(confirmation, review: plan.review)
        return accepted
    }

    /// Refuses unless a second provider is named (policy decides when).
    func requireSecondOperator(_ change: String) throws(ProgrammerError) {
        guard let second = context.secondOperator?.trimmingCharacters(in: .whitespaces), !second.isEmpty else {
            throw .refusedByPolicy("the clinic policy asks a second provider to confirm \(change): give --second-operator NAME")
        }
        guard second != context.operatorName else {
            throw .refusedByPolicy("the second provider must be another person than the operator (\(second))")
        }
    }

    static func check(_ confirmation: Confirmation, review: Review) throws(ProgrammerError) {
        switch confirmation {
        case .flag(let yes):
            guard yes else {
                throw .refusedByPolicy("not confirmed: run interactively to confirm, or give --yes in a script after reviewing")
            }
        case .typed(let text):
            let answer = text.trimmingCharacters(in: .whitespaces)
            if review.doseIncrease {
                guard let typed = try? DoseRate(parsing: answer),
                      let expected = try? DoseRate(parsing: review.pendingDailyDose), typed == expected else {
                    throw .refusedByPolicy("the daily dose typed (\(answer)) is not the new daily dose \(review.pendingDailyDose)")
                }
            } else {
                guard answer.lowercased() == "yes" else { throw .refusedByPolicy("not confirmed") }
            }
        }
    }

    /// Stages, commits by the staged hash and reads back; a mismatch at any
    /// step is a device fault and the pump is left with its old or its new
    /// prescription, never a mix (the pump switches atomically at commit).
    public func program(_ plan: ProgramPlan, overrides: [Override], confirmation: Confirmation)
        async throws(ProgrammerError) -> ProgramResult
    {
        let accepted = try authorise(plan, overrides: overrides, confirmation: confirmation)
        let auditOverrides = accepted.overridden.map { AuditOverride(code: $0.finding.code.rawValue, reason: $0.reason) }
        let wire = plan.wire
        let parameters = [
            "mode": plan.pending.mode.name, "daily_dose": plan.review.pendingDailyDose,
            "concentration": plan.pending.concentration.description, "prescription_hash": wire.hash.description,
            "dose_increase": plan.review.doseIncrease ? "true" : "false",
        ]

        let staged = try await perform(command: "stage", parameters: parameters, overrides: auditOverrides) { id in
            .stagePrescription(StagePrescription(commandId: id, prescription: wire))
        }
        guard case .staged(let receipt) = staged, receipt.stagedHash == wire.hash else {
            _ = try? await perform(command: "discard", parameters: [:]) { id in
                .discardStagedPrescription(DiscardStagedPrescription(commandId: id))
            }
            throw .deviceFault("the pump staged a prescription whose hash is not the reviewed one; it was discarded and nothing was committed")
        }
        _ = try await perform(command: "program", parameters: parameters, overrides: auditOverrides) { id in
            .commitStagedPrescription(CommitStagedPrescription(commandId: id, stagedHash: wire.hash))
        }
        try await readBack(wire)
        let (status, _) = try await interrogate()
        let paths = writeReport(title: "Programming", plan: plan, status: status, overrides: accepted.overridden)
        return ProgramResult(plan: plan, overrides: overrides, status: status, reportPaths: paths)
    }

    /// Reads the active prescription back and compares it field by field.
    func readBack(_ expected: WirePrescription) async throws(ProgrammerError) {
        let reply = try await read(.readPrescription(ReadPrescriptionRequest()))
        guard case .prescription(let report) = reply else {
            throw .deviceFault("the pump answered the read-back with \(reply.opcode)")
        }
        guard report.prescription == expected, report.hash == expected.hash else {
            try record(command: "read-back", phase: .event, parameters: ["expected": expected.hash.description, "found": report.hash.description],
                       outcome: "MISMATCH")
            throw .deviceFault("the prescription read back from the pump (hash \(report.hash)) differs from the one written (hash \(expected.hash)). Do not rely on the pump's delivery; interrogate it and contact the pump's support.")
        }
        try record(command: "read-back", phase: .event, parameters: ["hash": report.hash.description], outcome: "matches")
    }

    func pumpTime(of status: PumpStatus) throws(ProgrammerError) -> PumpTime {
        do { return try PumpTime(parsing: status.clock) } catch {
            throw .deviceFault("the pump's clock \(status.clock) cannot be read")
        }
    }

    /// Dose increases recorded in the audit log for this pump, for the
    /// titration rules that count them.
    func recentIncreases() -> [PumpTime] {
        guard let entries = try? audit.entries() else { return [] }
        let intents = Dictionary(entries.filter { $0.phase == .intent && $0.command == "program" }
            .compactMap { entry in entry.commandID.map { ($0, entry) } }, uniquingKeysWith: { first, _ in first })
        return entries.compactMap { entry in
            guard entry.phase == .outcome, entry.command == "program", entry.pumpSerial == pumpSerial,
                  entry.outcome == "done" || entry.outcome?.hasPrefix("resolved: the pump had carried it out") == true,
                  let id = entry.commandID, intents[id]?.parameters["dose_increase"] == "true",
                  let time = try? PumpTime(parsing: Self.secondsPrecision(entry.time)) else { return nil }
            return time
        }
    }

    /// Audit times carry milliseconds; Therapy's parser takes whole seconds.
    static func secondsPrecision(_ time: String) -> String {
        guard let dot = time.firstIndex(of: ".") else { return time }
        return String(time[..<dot]) + "Z"
    }
}
