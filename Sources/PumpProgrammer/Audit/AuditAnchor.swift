/// What the pump keeps of the host's audit log (request 0x16): how many
/// rows the log had and the MAC of its last row. The pump cannot check it;
/// it only witnesses it, so a log later found with fewer rows, or with
/// another row at that count, was cut, rebuilt or replaced, whoever holds
/// the audit key.
public struct AuditAnchor: Sendable, Equatable {
    /// Which log: `AuditLog.logID` of the log that sent it.
    public var logID: [UInt8]
    public var rowCount: UInt64
    /// The last row's HMAC-SHA256, 32 bytes.
    public var rowMAC: [UInt8]

    public init(logID: [UInt8], rowCount: UInt64, rowMAC: [UInt8]) {
        self.logID = logID
        self.rowCount = rowCount
        self.rowMAC = rowMAC
    }
}
