import WandProtocol

/// What became of recording the audit head in the pump at the end of a
/// session. Never a therapy outcome: a failed anchor is a warning, and the
/// command's own result stands.
public enum AuditAnchorOutcome: Sendable, Equatable {
    /// The head (`rowCount` rows) left with the session's close; the close's
    /// reply is not awaited, so whether the pump kept it is read by
    /// `audit verify --pump`.
    case sentWithClose(rowCount: UInt64)
    /// Nothing to anchor: the log is empty, or anchoring was not asked for
    /// (`audit verify --pump` judges the log and does not anchor it).
    case skipped
    /// The head could not be sealed or sent; the reason, for the warning.
    case failed(String)
    /// The close carried the anchor, but the head file (written after the
    /// close, off the wire's time) could not be written: the log's newest
    /// rows read as unsealed until the next command seals them.
    case headNotWritten(rowCount: UInt64, reason: String)
}

extension Programmer {
    /// The anchors the pump holds, newest first, without recording one.
    public func pumpAuditAnchors() async throws(ProgrammerError) -> [AuditAnchor] {
        let reply = try await read(.recordAuditAnchor(.reportOnly))
        guard case .auditAnchors(let report) = reply else {
            throw .deviceFault("the pump answered record audit anchor with \(reply.opcode)")
        }
        return report.anchors.map { AuditAnchor(logID: $0.logID, rowCount: $0.rowCount, rowMAC: $0.rowMAC) }
    }

    /// The anchor the session's close carries to the pump, so a local log
    /// later rebuilt, cut or replaced no longer matches what the pump
    /// witnessed: the rows are synced first (the pump must not witness rows
    /// a power cut could take back). The head file itself is written after
    /// the close (`close(anchoring:)`). A failure is a warning and never
    /// turns a therapy command into a failure.
    func anchorForClose(anchoring: Bool) -> (anchor: RecordAuditAnchor?, outcome: AuditAnchorOutcome) {
        guard anchoring else { return (nil, .skipped) }
        let anchor: AuditAnchor?
        do {
            try audit.syncRows()
            anchor = try audit.anchor()
        } catch {
            return (nil, .failed(error.description))
        }
        guard let anchor else { return (nil, .skipped) }
        return (RecordAuditAnchor(logID: anchor.logID, rowCount: anchor.rowCount, rowMAC: anchor.rowMAC),
                .sentWithClose(rowCount: anchor.rowCount))
    }
}
