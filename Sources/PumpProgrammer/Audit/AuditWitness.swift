import WandProtocol

/// What became of recording the audit head in the pump at the end of a
/// session. Never a therapy outcome: a failed anchor is a warning, and the
/// command's own result stands.
public enum AuditAnchorOutcome: Sendable, Equatable {
    /// The pump holds the head (`rowCount` rows).
    case recorded(rowCount: UInt64)
    /// Nothing to anchor: the log is empty, or anchoring was not asked for
    /// (`audit verify --pump` judges the log and does not anchor it).
    case skipped
    /// The pump did not take it; the reason, for the warning.
    case failed(String)
}

extension Programmer {
    /// The anchors the pump holds, newest first, without recording one.
    public func pumpAuditAnchors() async throws(ProgrammerError) -> [AuditAnchor] {
        let reply = try await read(.recordAuditAnchor(.reportOnly))
        guard case .auditAnchors(let report) = reply else {
            throw .deviceFault("the pump answered record audit anchor with \(reply.opcode)")
        }
        return report.anchors.map { AuditAnchor(rowCount: $0.rowCount, rowMAC: $0.rowMAC) }
    }

    /// Seals the audit head once for the whole command, then records it in
    /// the pump (request 0x16), so a local log later rebuilt, cut or
    /// replaced no longer matches what the pump witnessed. A failure is
    /// written as an audit row and returned as a warning; it never turns a
    /// therapy command into a failure.
    func sealAndAnchorAuditHead(anchoring: Bool) async -> AuditAnchorOutcome {
        do { try audit.sealHead() } catch { return .failed(error.description) }
        guard anchoring else { return .skipped }
        let anchor: AuditAnchor?
        do { anchor = try audit.anchor() } catch { return .failed(error.description) }
        guard let anchor else { return .skipped }
        let outcome: AuditAnchorOutcome
        switch await connection.send(.recordAuditAnchor(RecordAuditAnchor(rowCount: anchor.rowCount, rowMAC: anchor.rowMAC))) {
        case .completed(.auditAnchors(let report)):
            outcome = report.anchors.contains { $0.rowCount == anchor.rowCount && $0.rowMAC == anchor.rowMAC }
                ? .recorded(rowCount: anchor.rowCount)
                : .failed("the pump's reply does not hold the anchor sent")
        case .completed(let reply):
            outcome = .failed("the pump answered record audit anchor with \(reply.opcode)")
        case .refused(_, let refusal):
            outcome = .failed("the pump refused it (\(refusal))")
        case .notSent(let reason):
            outcome = .failed("it was not sent (\(reason))")
        case .unacknowledged(let attempts, let linkError, _):
            outcome = .failed(linkError.map { "the link failed: \($0)" } ?? "no reply after \(attempts) attempts")
        }
        if case .failed(let why) = outcome {
            // Recorded, and sealed again, so the log itself says the pump
            // did not witness this head.
            try? record(command: "audit anchor", phase: .event, parameters: ["row_count": "\(anchor.rowCount)"],
                        outcome: .noReply, detail: why)
            try? audit.sealHead()
        }
        return outcome
    }
}
