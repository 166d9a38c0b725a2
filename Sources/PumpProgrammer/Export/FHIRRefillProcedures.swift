import Foundation

/// Which audit rows stand for a refill the visit asked for, and what became
/// of each: one Procedure per refill asked, whether or not it got as far as
/// refill-complete.
///
/// A refill is two requests to the pump: refill-begin (delivery pauses) and
/// refill-complete (the `refill` rows). A refill whose begin went UNCERTAIN,
/// or was refused, never gets a `refill` intent row; a refill refused before
/// anything was sent (a discrepancy not acknowledged, no confirmation) has
/// only a `refill` event row with no command id. Each of those is a refill
/// asked, so each is filed.
extension FHIRExport {
    /// A refill asked in the visit: the row that stands for it, and the rows
    /// of its requests.
    struct RefillAsked {
        var row: AuditEntry
        var status: String
        var reason: String?
    }

    static let refillBegin = CommandKind.refillBegin.rawValue
    static let refillComplete = CommandKind.refillComplete.rawValue
    static let refillCancel = CommandKind.refillCancel.rawValue

    /// Whether the refill-begin intent `begin` was followed, in the same
    /// refill, by a refill-complete intent (that one files the refill): the
    /// next refill request of the pump in the log after `begin`.
    static func beginHasCompletion(_ begin: AuditEntry, log: [AuditEntry]) -> Bool {
        completion(of: begin, log: log) != nil
    }

    /// The refill-complete intent of the same refill as the refill-begin
    /// intent `begin`, if one followed it.
    static func completion(of begin: AuditEntry, log: [AuditEntry]) -> AuditEntry? {
        let next = log.first {
            $0.sequence > begin.sequence && $0.pumpSerial == begin.pumpSerial && $0.phase == .intent
                && [refillBegin, refillComplete].contains($0.command)
        }
        return next?.command == refillComplete ? next : nil
    }

    /// Refill-begin rows whose overrides and second provider are those of
    /// their refill-complete row: one refill, one authorisation, so one
    /// Provenance (the completion's), which also names the begin's
    /// AuditEvent. Keyed by the completion row's hash.
    static func beginsSharingProvenance(_ visit: AuditVisit, log: [AuditEntry]) -> [String: [AuditEntry]] {
        var shared: [String: [AuditEntry]] = [:]
        for row in visit.rows where row.phase == .intent && row.command == refillBegin
            && (!row.overrides.isEmpty || row.secondOperator != nil) {
            guard let done = completion(of: row, log: log), done.overrides == row.overrides, done.secondOperator == row.secondOperator,
                  done.operatorName == row.operatorName, visit.rows.contains(where: { $0.hash == done.hash }) else { continue }
            shared[done.hash, default: []].append(row)
        }
        return shared
    }

    /// What became of a refill whose refill-begin is the last request of it
    /// the programmer sent. FHIR R5 event-status: `not-done` is "terminated
    /// prior to any activity beyond preparation", `stopped` is "terminated
    /// prior to the full completion ... after at least some of the main
    /// activity was carried out". A begin the pump carried out paused
    /// delivery and opened the reservoir for the residual to be withdrawn
    /// (part of the refill itself), so a begun refill that was ended without
    /// refill-complete is `stopped`; one the pump never began is `not-done`.
    static func beginOnlyStatus(_ begin: AuditEntry, log: [AuditEntry]) -> (status: String, reason: String?) {
        guard let commandID = begin.commandID else { return ("unknown", "no outcome was recorded") }
        let rows = log.filter { $0.commandID == commandID }
        let (status, reason) = administrationStatus(rows)
        if status == "not-done" {
            return ("not-done", "refill-begin \(reason ?? "not carried out"): the refill was not begun")
        }
        // What the pump showed afterwards: reads of it after the begin,
        // until its next refill request.
        let nextRefill = log.first {
            $0.sequence > begin.sequence && $0.pumpSerial == begin.pumpSerial && $0.phase == .intent
                && [refillBegin, refillComplete].contains($0.command)
        }?.sequence ?? Int64.max
        let later = log.filter { $0.sequence > begin.sequence && $0.sequence < nextRefill && $0.pumpSerial == begin.pumpSerial }
        let cancelled = later.contains { $0.command == refillCancel && $0.phase == .outcome && $0.outcomeCode == .done }
        let reads = later.filter(isRead)
        if reads.contains(where: { $0.parameters["reservoir_contents_unknown"] == "true" }) {
            return ("stopped", "begun on the pump and never completed: the pump ended the open refill after 30 minutes (alarm 0x0008, event 0x0044); delivery resumed as before the refill and the reservoir contents are unknown")
        }
        if cancelled {
            return ("stopped", "begun on the pump and cancelled before refill-complete: delivery resumed as before the refill and nothing was recorded as added")
        }
        if let last = reads.last, last.parameters["not_delivering"] == "refill-in-progress" {
            return ("in-progress", "begun on the pump; refill-complete not yet sent")
        }
        if let last = reads.last, last.parameters["not_delivering"] != "refill-in-progress" {
            // Read afterwards and no refill open: whatever the begin did, the
            // refill did not complete.
            return ("stopped", "refill-begin \(reason ?? "carried out"); a later read shows no refill open and no refill-complete was sent, so the refill did not complete")
        }
        if status == "completed" {
            return ("in-progress", "begun on the pump; refill-complete was not sent")
        }
        return (status, reason.map { "refill-begin: \($0)" })
    }

    /// Every refill the visit asked for, in order: refill-complete intents,
    /// refill-begin intents that no refill-complete followed, and refills
    /// refused before anything was sent.
    static func refillsAsked(_ visit: AuditVisit, log: [AuditEntry]) -> [RefillAsked] {
        var asked: [RefillAsked] = []
        for row in visit.rows {
            if row.phase == .intent, row.command == refillComplete, let commandID = row.commandID {
                let (status, reason) = administrationStatus(log.filter { $0.commandID == commandID })
                asked.append(.init(row: row, status: status, reason: reason))
            } else if row.phase == .intent, row.command == refillBegin, row.commandID != nil, !beginHasCompletion(row, log: log) {
                let (status, reason) = beginOnlyStatus(row, log: log)
                asked.append(.init(row: row, status: status, reason: reason))
            } else if row.phase == .event, row.command == refillComplete, row.commandID == nil,
                      let outcome = row.outcomeCode, [.refusedByPolicy, .cancelled].contains(outcome) {
                // Refused before anything was sent: the row keeps what was asked.
                asked.append(.init(row: row, status: "not-done", reason: "\(outcome.rawValue): nothing was sent to the pump"))
            }
        }
        return asked
    }

    /// The refill's Procedure id: by its command id, or by its audit row for
    /// a refill refused before it had one.
    static func refillProcedureID(_ refill: RefillAsked, mark: String) -> String {
        stableID("Procedure", mark, refill.row.commandID ?? refill.row.hash)
    }
}
