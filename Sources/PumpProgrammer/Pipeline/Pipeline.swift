import Foundation
import Therapy
import WandProtocol

/// What a change did, once executed and verified.
public struct ChangeResult: Sendable {
    public var plan: ChangePlan
    /// The pump's replies, one per step sent.
    public var replies: [PumpReply]
    /// The pump read after the change (nil when that read failed).
    public var after: PumpStatus?
    public var overrides: [AcceptedPrescription.OverriddenFinding]
    public var reportPaths: [String]
    public var effect: PumpEffect
}

/// The one pipeline every state-changing command goes through:
/// plan -> check -> (show, confirm: the caller) -> authorise -> execute ->
/// verify -> report. No command has a path around it.
extension Programmer {
    /// Reads the pump (resolving first any command left pending) and plans
    /// `command` from its typed state. Sends nothing that changes the pump.
    public func plan(_ command: some PumpCommand) async throws(ProgrammerError) -> ChangePlan {
        try checkPolicyCeilings()
        // The newest event page comes with the report: the history read
        // below starts from it without an exchange of its own.
        let (status, resolution) = try await interrogate(includingNewestEvents: true)
        if let unresolved = status.unresolvedCommand {
            throw .unresolved(unresolved, detail: "Resolve it (pumpctl interrogate) before any change.")
        }
        guard let profile = status.profile else {
            throw .deviceFault("the pump reports a reservoir of \(status.reservoirCapacity), which matches no known pump profile")
        }
        var window = historyWindow(for: status.drug)
        // A pump in the stopped mode is titrated from its last delivering
        // commit, however long ago it was made: read back far enough to find it.
        if status.prescription.mode == .stopped { window = max(window, Self.stoppedModeHistory) }
        let history = await pumpHistory(status: status, window: window)
        recordBolusEnds(in: history)
        let increases = increases(in: history, window: window)
        // Every window is judged in true time: this computer's clock, in the
        // pump's zone, with the last change placed by the event that made it.
        let now = status.hostClock
        let lastChange: PumpTime
        if let placed = history?.lastTherapyChange {
            lastChange = placed
        } else if let history, !history.clockWasSet, let stamped = status.lastChange.adding(seconds: -min(status.clockDriftSeconds, 0)) {
            // As late as it can have been (PumpHistory): the drift may have begun after it.
            lastChange = stamped
        } else {
            // Not placed across a clock setting, or the log could not be
            // read: the safe side is that the change was just now.
            lastChange = now
        }
        let situation = PlanningSituation(status: status, policy: context.policy, profile: profile, now: now,
                                          recentIncreases: increases.times, history: history,
                                          increaseHistoryComplete: increases.complete, lastChange: lastChange,
                                          declaredOpioidTolerance: declaredOpioidTolerance(of: status),
                                          lastDeliveringDose: lastDeliveringDose(of: status, in: history))
        var plan = try command.plan(in: situation)
        plan.resolution = resolution
        return plan
    }

    /// Every check of a plan except the confirmation itself: hard findings,
    /// soft findings without an override and reason, the second provider.
    /// Pure and cheap; the command line runs it before it prompts, so a
    /// refusal never comes after a yes.
    public func check(_ plan: ChangePlan, overrides: [Override]) throws(ProgrammerError) -> AcceptedPrescription {
        let accepted: AcceptedPrescription
        do {
            accepted = try plan.findings.accepting(overrides: overrides + plan.acknowledged)
        } catch {
            throw .refusedByPolicy(error.description)
        }
        if let reason = plan.secondProvider {
            guard let second = context.secondOperator?.trimmingCharacters(in: .whitespaces), !second.isEmpty else {
                throw .refusedByPolicy("the clinic policy asks a second provider to confirm \(reason): give --second-operator NAME")
            }
            guard second != context.operatorName else {
                throw .refusedByPolicy("the second provider must be another person than the operator (\(second))")
            }
        }
        return accepted
    }

    /// `check`, recording a refusal in the audit trail: what a programmer
    /// runs after showing the plan and before any prompt.
    public func preflight(_ plan: ChangePlan, overrides: [Override]) throws(ProgrammerError) -> AcceptedPrescription {
        do {
            return try check(plan, overrides: overrides)
        } catch {
            try? record(command: plan.command.rawValue, phase: .event, parameters: plan.parameters, outcome: .refusedByPolicy,
                        detail: error.description)
            throw error
        }
    }

    /// The one rule for going ahead: `check`, then a confirmation that fits
    /// the plan's rule (the new daily dose typed back for an increase).
    public func authorise(_ plan: ChangePlan, overrides: [Override], confirmation: Confirmation)
        throws(ProgrammerError) -> AcceptedPrescription
    {
        let accepted = try check(plan, overrides: overrides)
        try Self.check(confirmation, rule: plan.confirmation)
        return accepted
    }

    static func check(_ confirmation: Confirmation, rule: ConfirmationRule) throws(ProgrammerError) {
        switch confirmation {
        case .interrupted:
            throw .cancelled
        case .flag(let yes):
            guard yes else {
                throw .refusedByPolicy("not confirmed: run interactively to confirm, or give --yes in a script after reviewing")
            }
        case .typed(let text):
            let answer = text.trimmingCharacters(in: .whitespaces)
            switch rule {
            case .yes:
                guard answer.lowercased() == "yes" else { throw .refusedByPolicy("not confirmed (\"yes\" was not typed)") }
            case .typeDailyDose(let dose, let unit):
                guard let typed = try? DoseRate.parseWithUnit(answer).quantity, typed == dose else {
                    throw .refusedByPolicy("the daily dose typed (\(answer)) is not the new daily dose \(dose.formatted(in: unit))")
                }
            }
        }
    }

    /// Authorises, checks the pump still is as reviewed, sends the plan's
    /// steps, verifies and reports. A change abandoned after its first step
    /// (refused, cancelled, a reply that is not the one planned) is undone
    /// with the plan's `abandon` step, so the pump is never left half-way.
    public func execute(_ plan: ChangePlan, overrides: [Override], confirmation: Confirmation)
        async throws(ProgrammerError) -> ChangeResult
    {
        let command = plan.command.rawValue
        let accepted: AcceptedPrescription
        do {
            accepted = try authorise(plan, overrides: overrides, confirmation: confirmation)
        } catch {
            try? record(command: command, phase: .event, parameters: plan.parameters,
                        outcome: error == .cancelled ? .cancelled : .refusedByPolicy, detail: error.description)
            throw error
        }
        let auditOverrides = accepted.overridden.map { AuditOverride(code: $0.finding.code.rawValue, reason: $0.reason) }
        if plan.unchanged {
            try record(command: command, phase: .event, parameters: plan.parameters, outcome: .unchanged)
            return ChangeResult(plan: plan, replies: [], after: plan.before, overrides: accepted.overridden, reportPaths: [],
                                effect: effect)
        }
        if context.interrupted() {
            try? record(command: command, phase: .event, parameters: plan.parameters, outcome: .cancelled)
            throw .cancelled
        }
        // The review must still describe the pump: another programmer (or
        // the pump itself) may have changed it while the technician read.
        // A review read moments ago in this same session, with nothing
        // sent since, is the pump's state as it is (reviewStillCurrent);
        // only without a prompt (--yes): a review shown at a prompt is read
        // again however quickly it was answered, since while it was on the
        // screen another programmer may have opened a session of its own.
        var reusable = false
        if confirmation == .flag(yes: true) { reusable = await reviewStillCurrent() }
        if !reusable {
            let fresh = try await readStatus()
            let changed = plan.basis.differences(from: PlanBasis(fresh))
            guard changed.isEmpty else {
                try record(command: command, phase: .event, parameters: plan.parameters, outcome: .staleReview,
                           detail: changed.joined(separator: ", "))
                throw .staleReview(changed: changed)
            }
        }

        var replies: [PumpReply] = []
        var anyExecuted = false
        // A refill that writes a prescription records what a program would
        // (mode, daily dose, declared opioid tolerance), so later commands
        // that read the audit row of that commit find them.
        var recorded = plan.parameters
        if case .refill(let refill) = plan.change, let program = refill.program {
            for (key, value) in ProgramCommand.parameters(program) where recorded[key] == nil { recorded[key] = value }
        }
        for (index, step) in plan.steps.enumerated() {
            if index > 0, context.interrupted() {
                try await abandon(plan, reason: "cancelled by the technician")
                throw .cancelled
            }
            let last = index == plan.steps.count - 1
            var parameters = recorded
            var keepPending = false
            if last, case .prescription(let wire) = plan.verification {
                // Kept until the read-back matched, so a failed read-back is
                // verified by the next command.
                keepPending = true
                parameters["verify_prescription_hash"] = wire.hash.description
            }
            do {
                let reply = try await perform(step, parameters: parameters, overrides: auditOverrides, keepPending: keepPending)
                anyExecuted = true
                try checkPlanned(reply, step.expectedReply)
                replies.append(reply)
            } catch {
                // A change half-way is undone, unless this step's outcome is
                // unknown: then nothing else is sent until the pump has been
                // asked about it.
                if anyExecuted, !Self.leavesOutcomeUnknown(error) {
                    try? await abandon(plan, reason: error.description)
                }
                // Ctrl-C while the step was retried and no answer came: the
                // technician stopped it. What the pump was left in (an
                // unknown outcome stays pending) is the ledger's to say.
                if context.interrupted(), Self.endedUnanswered(error) {
                    try? record(command: command, phase: .event, parameters: plan.parameters, outcome: .cancelled,
                                detail: "Ctrl-C while \(step.kind.rawValue) was retried: \(error.description)")
                    throw .cancelled
                }
                throw error
            }
        }

        var readAfter: PumpStatus?
        if case .prescription(let wire) = plan.verification, let last = ledger.last {
            // One interrogate is both the read-back (its report carries the
            // whole active prescription, compared field by field) and the
            // status the report shows.
            var report: InterrogateReport?
            do {
                let read = try await interrogateReport()
                report = read
                readAfter = try? await status(from: read)
                try readBack(wire, from: read.prescription, hash: read.prescriptionHash)
            } catch {
                var after = readAfter
                if report == nil { after = try? await readStatus() }
                // A report in hand means the read came and readBack threw:
                // the pump holds another prescription than the one written.
                var differs = false
                if report != nil, case .deviceFault = error { differs = true }
                _ = writeReport(plan, status: after ?? plan.before, overrides: accepted.overridden, verified: false,
                                readBackDiffers: differs)
                if case .deviceFault = error {
                    try? clearPendingRecord(last.commandID)
                    throw error
                }
                try? record(command: "read-back", phase: .event, commandID: last.commandID.description,
                            outcome: .notVerified, detail: error.description)
                throw .notVerified(plan.command, detail: error.description)
            }
            try clearPendingRecord(last.commandID)
        }
        var after = readAfter
        if after == nil { after = try? await readStatus() }
        let paths = plan.writesReport ? writeReport(plan, status: after ?? plan.before, overrides: accepted.overridden, verified: true) : []
        return ChangeResult(plan: plan, replies: replies, after: after, overrides: accepted.overridden, reportPaths: paths,
                            effect: effect)
    }

    /// Errors of a request that got no answer (silence, a lost link, a
    /// wand that says the pump is away), as against an answer or a refusal.
    static func endedUnanswered(_ error: ProgrammerError) -> Bool {
        switch error {
        case .communication, .uncertain, .pumpNotInRange, .cancelled: return true
        default: return false
        }
    }

    static func leavesOutcomeUnknown(_ error: ProgrammerError) -> Bool {
        switch error {
        case .uncertain, .unresolved: return true
        default: return false
        }
    }

    private func clearPendingRecord(_ id: CommandID) throws(ProgrammerError) {
        do { try pending.resolve(commandID: id.description, pumpSerial: pumpSerial) } catch { throw .storage(error.description) }
    }

    /// Checks a proven reply against what the plan expected of it.
    func checkPlanned(_ reply: PumpReply, _ expected: ExpectedReply) throws(ProgrammerError) {
        switch (expected, reply) {
        case (.staged(let hash), .staged(let receipt)):
            guard receipt.stagedHash == hash else {
                throw .deviceFault("the pump staged a prescription whose hash (\(receipt.stagedHash)) is not the reviewed one (\(hash))")
            }
        case (.executed(let opcode), .executed(let answered, _)):
            guard answered == opcode else { throw .deviceFault("the pump answered \(opcode) with a receipt for \(answered)") }
        case (.refillBegun(let checked, let allowance), .refillBegun(let report)):
            let now = Volume.nL(Int64(report.expectedResidualNanolitres))
            guard now <= checked, checked.baseValue - now.baseValue <= allowance.baseValue else {
                throw .refusedByPolicy("the pump now expects a residual of \(now), but the review checked \(checked): the reservoir changed more than delivery explains. Investigate (pumpctl interrogate), then refill again")
            }
        default:
            throw .deviceFault("the pump's reply (\(reply.opcode)) is not the one planned")
        }
    }

    /// Undoes a change whose first step was carried out.
    func abandon(_ plan: ChangePlan, reason: String) async throws(ProgrammerError) {
        guard let step = plan.abandon else { return }
        try record(command: plan.command.rawValue, phase: .event, parameters: plan.parameters, outcome: .cancelled, detail: reason)
        let reply = try await perform(step, parameters: ["abandoned": plan.command.rawValue])
        try checkPlanned(reply, step.expectedReply)
    }

    /// Compares the active prescription the pump reported, field by field
    /// and by hash, with the one written.
    func readBack(_ expected: WirePrescription, from prescription: WirePrescription, hash: PrescriptionHash) throws(ProgrammerError) {
        let report = PrescriptionReport(prescription: prescription, hash: hash)
        guard report.prescription == expected, report.hash == expected.hash else {
            try record(command: "read-back", phase: .event, parameters: ["expected": expected.hash.description, "found": report.hash.description],
                       outcome: .readBackMismatch)
            throw .deviceFault("the prescription read back from the pump (hash \(report.hash)) differs from the one written (hash \(expected.hash)). Do not rely on the pump's delivery; interrogate it and contact the pump's support.")
        }
        try record(command: "read-back", phase: .event, parameters: ["hash": report.hash.description], outcome: .readBackMatches)
    }
}

extension ChangePlan {
    /// Prescription changes and refills leave a report for the record.
    var writesReport: Bool {
        switch change {
        case .program, .refill: return true
        default: return false
        }
    }
}
