import WandProtocol

extension SimulatedPump {
    /// Request 0x16: witnesses the host's audit head. The pump cannot judge
    /// an anchor (it holds no audit key); it keeps the newest anchor of each
    /// log (by log id) for the eight logs anchored most recently, logs each
    /// as event 0x0091 and reports them, so a host log later found shorter
    /// than, or different at, its anchor was cut or replaced, and the heads
    /// of several laptops never push each other out.
    ///
    /// An anchor equal to its log's newest is not recorded again (a
    /// retransmitted request, or a session that wrote no rows); one behind
    /// it is refused and logged as event 0x0092.
    mutating func recordAuditAnchor(_ message: RecordAuditAnchor) -> PumpReply {
        if message.mode == .record {
            let held = auditAnchors.firstIndex { $0.logID == message.logID }
            let same = held.map { auditAnchors[$0].rowCount == message.rowCount && auditAnchors[$0].rowMAC == message.rowMAC } ?? false
            // A log's anchor never goes back: fewer rows, or as many with
            // another MAC, means the log was cut, deleted or rebuilt, and
            // the anchor held is the evidence (`audit verify --pump`).
            let behind = held.map { !same && message.rowCount <= auditAnchors[$0].rowCount } ?? false
            if behind {
                eventLog.append(time: clock, code: PumpEventCode.auditAnchorBehind.rawValue, detail: UInt32(clamping: message.rowCount))
            } else if !same {
                if let held { auditAnchors.remove(at: held) }
                auditAnchors.insert(WireAuditAnchor(utcSeconds: clock, logID: message.logID, rowCount: message.rowCount,
                                                    rowMAC: message.rowMAC), at: 0)
                if auditAnchors.count > AuditAnchorReport.maximumAnchors {
                    auditAnchors.removeLast(auditAnchors.count - AuditAnchorReport.maximumAnchors)
                }
                eventLog.append(time: clock, code: PumpEventCode.auditAnchorRecorded.rawValue, detail: UInt32(clamping: message.rowCount))
            }
        }
        return .auditAnchors(AuditAnchorReport(anchors: auditAnchors))
    }
}
