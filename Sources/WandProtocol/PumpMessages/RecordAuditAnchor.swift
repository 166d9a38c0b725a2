/// What a record audit anchor request asks (request 0x16).
public enum AuditAnchorMode: UInt8, Sendable, CaseIterable {
    /// Record nothing; report the anchors held (`pumpctl audit verify --pump`
    /// reads them without adding one for a log it is about to judge).
    case report = 0
    /// Record this anchor, then report.
    case record = 1
}

/// The host's audit head, for the pump to witness: which log it is (the
/// log id, so the heads of several laptops' logs are told apart), how many
/// rows that log holds and the MAC of its last row. It changes no therapy,
/// so it carries no command id: recording the same anchor twice (a
/// retransmission) adds nothing, since the pump ignores an anchor equal to
/// the newest it holds for that log.
/// ```
/// 0   1   opcode 0x16
/// 1   1   mode (0 report only, 1 record)
/// 2   16  log id (mode 0: 16 zero bytes)
/// 18  8   row count UInt64 (mode 1: 1 ... 2^63 - 1; mode 0: 0)
/// 26  32  last row's HMAC-SHA256 (mode 0: 32 zero bytes)
/// ```
public struct RecordAuditAnchor: PumpRequestMessage {
    public static let opcode = PumpOpcode.recordAuditAnchor
    public static let macLength = 32
    public static let logIDLength = 16
    public var mode: AuditAnchorMode
    /// Which host log: the first 16 bytes of HMAC-SHA256(audit key,
    /// "PumpWand audit log id v1"), so it names the log without revealing
    /// the key.
    public var logID: [UInt8]
    public var rowCount: UInt64
    public var rowMAC: [UInt8]

    /// A request to record an anchor.
    public init(logID: [UInt8], rowCount: UInt64, rowMAC: [UInt8]) {
        mode = .record
        self.logID = logID
        self.rowCount = rowCount
        self.rowMAC = rowMAC
    }

    /// A request that only reads the anchors.
    public static var reportOnly: RecordAuditAnchor {
        var request = RecordAuditAnchor(logID: Array(repeating: 0, count: logIDLength), rowCount: 0,
                                        rowMAC: Array(repeating: 0, count: macLength))
        request.mode = .report
        return request
    }

    public init(reading reader: inout ByteReader) throws(WireError) {
        mode = try readEnum(AuditAnchorMode.self, &reader, "auditAnchor.mode")
        logID = try reader.bytes(Self.logIDLength, "auditAnchor.logId")
        rowCount = try reader.uint64("auditAnchor.rowCount")
        rowMAC = try reader.bytes(Self.macLength, "auditAnchor.mac")
        switch mode {
        case .record:
            guard (1...UInt64(Int64.max)).contains(rowCount) else {
                throw .invalidValue(field: "auditAnchor.rowCount", value: Int64(truncatingIfNeeded: rowCount))
            }
        case .report:
            guard logID.allSatisfy({ $0 == 0 }) else { throw .invalidValue(field: "auditAnchor.logId", value: 1) }
            guard rowCount == 0 else {
                throw .invalidValue(field: "auditAnchor.rowCount", value: Int64(truncatingIfNeeded: rowCount))
            }
            guard rowMAC.allSatisfy({ $0 == 0 }) else { throw .invalidValue(field: "auditAnchor.mac", value: 1) }
        }
    }

    public func write(to writer: inout ByteWriter) {
        writer.uint8(mode.rawValue)
        writeAnchorFields(logID: logID, rowCount: rowCount, rowMAC: rowMAC, to: &writer)
    }
}

/// Log id, row count and MAC, each at its exact length whatever the caller
/// gave (short fields padded with zeros, long ones cut), so a frame always
/// has its layout: shared by 0x16, close session and the anchor report.
func writeAnchorFields(logID: [UInt8], rowCount: UInt64, rowMAC: [UInt8], to writer: inout ByteWriter) {
    writer.bytes(logID.prefix(RecordAuditAnchor.logIDLength))
    if logID.count < RecordAuditAnchor.logIDLength {
        writer.bytes(Array(repeating: 0, count: RecordAuditAnchor.logIDLength - logID.count))
    }
    writer.uint64(rowCount)
    writer.bytes(rowMAC.prefix(RecordAuditAnchor.macLength))
    if rowMAC.count < RecordAuditAnchor.macLength {
        writer.bytes(Array(repeating: 0, count: RecordAuditAnchor.macLength - rowMAC.count))
    }
}
