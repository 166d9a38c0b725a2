import WandProtocol

extension SimulatedPump {
    /// Request 0x16: witnesses the host's audit head. The pump cannot judge
    /// an anchor (it holds no audit key); it keeps the newest eight, logs
    /// each as event 0x0091 and reports them, so a host log later found
    /// shorter than, or different at, an anchor was cut or replaced.
    ///
    /// An anchor equal to the newest is not recorded again (a retransmitted
    /// request, or a session that wrote no rows), so the ring keeps eight
    /// different heads.
    mutating func recordAuditAnchor(_ message: RecordAuditAnchor) -> PumpReply {
        if message.mode == .record {
            let newest = auditAnchors.first
            if newest?.rowCount != message.rowCount || newest?.rowMAC != message.rowMAC {
                auditAnchors.insert(WireAuditAnchor(utcSeconds: clock, rowCount: message.rowCount, rowMAC: message.rowMAC), at: 0)
                if auditAnchors.count > AuditAnchorReport.maximumAnchors {
                    auditAnchors.removeLast(auditAnchors.count - AuditAnchorReport.maximumAnchors)
                }
                eventLog.append(time: clock, code: PumpEventCode.auditAnchorRecorded.rawValue, detail: UInt32(clamping: message.rowCount))
            }
        }
        return .auditAnchors(AuditAnchorReport(anchors: auditAnchors))
    }
}
