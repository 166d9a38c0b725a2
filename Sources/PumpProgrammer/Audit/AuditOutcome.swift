/// How an audit row ends, as a stable code. Decisions read these codes
/// (`AuditEntry.outcomeCode`), never the free text of a row; details go in
/// the row's parameters under `detail`.
public enum AuditOutcome: String, Codable, Sendable, CaseIterable {
    case sessionOpened = "session opened"
    case sessionClosed = "session closed"
    case wrongPump = "refused: wrong pump"
    case read
    /// Sent and carried out by the pump (its receipt checked).
    case done
    case refusedByPump = "refused by pump"
    /// Certainly not sent: no byte of it left this computer.
    case notSent = "not sent"
    /// Sent, no reply: the pump may or may not have carried it out.
    case uncertain = "UNCERTAIN"
    case resolvedExecuted = "resolved: executed"
    case resolvedRefused = "resolved: refused"
    case resolvedNeverReceived = "resolved: never received"
    /// Refused by the checks before anything was sent.
    case refusedByPolicy = "refused by policy"
    /// The technician cancelled (declined at the prompt, or Ctrl-C).
    case cancelled
    /// The pump changed between review and send; nothing was sent.
    case staleReview = "refused: stale review"
    case readBackMatches = "matches"
    case readBackMismatch = "MISMATCH"
    /// Carried out, but the read-back after it failed: to be verified.
    case notVerified = "not verified"
    /// The pump already held what was asked for; nothing was sent.
    case unchanged
    case reportNotWritten = "report not written"
    /// A read the pump did not answer (no reply after the retries, or the link failed).
    case noReply = "no reply"
    /// A read the pump did answer, with an authenticated reply that did not
    /// decode: not silence, so the wand's position is not the thing to fix.
    case unreadableReply = "unreadable reply"
    /// The patient record of a pump was set or replaced (`pumpctl patient set`).
    case patientRecordSet = "patient record set"
    /// A visit was exported (FHIR); nothing was sent to a pump.
    case exported
    /// An export whose bundles (some or all) may have reached the FHIR
    /// server without its confirming they were stored: the row's
    /// `unconfirmed` names them. Sending again is safe.
    case exportUnconfirmed = "sent, not confirmed"
}

extension AuditEntry {
    /// The row's outcome as a code, when it has one.
    public var outcomeCode: AuditOutcome? { outcome.flatMap(AuditOutcome.init(rawValue:)) }
}
