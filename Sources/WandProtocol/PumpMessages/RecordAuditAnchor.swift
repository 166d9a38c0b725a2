/// What a record audit anchor request asks (request 0x16).
public enum AuditAnchorMode: UInt8, Sendable, CaseIterable {
    /// Record nothing; report the anchors held (`pumpctl audit verify --pump`
    /// reads them without adding one for a log it is about to judge).
    case report = 0
    /// Record this anchor, then report.
    case record = 1
}

/// The host's audit head, for the pump to witness: how many rows the
/// host's audit log holds and the MAC of its last row. It changes no
/// therapy, so it carries no command id: recording the same anchor twice
/// (a retransmission) adds nothing, since the pump ignores an anchor equal
/// to its newest.
/// ```
/// 0   1   opcode 0x16
/// 1   1   mode (0 report only, 1 record)
/// 2   8   row count UInt64 (mode 1: 1 ... 2^63 - 1; mode 0: 0)
/// 10  32  last row's HMAC-SHA256 (mode 0: 32 zero bytes)
/// ```
public struct RecordAuditAnchor: PumpRequestMessage {
    public static let opcode = PumpOpcode.recordAuditAnchor
    public static let macLength = 32
    public var mode: AuditAnchorMode
    public var rowCount: UInt64
    public var rowMAC: [UInt8]

    /// A request to record an anchor.
    public init(rowCount: UInt64, rowMAC: [UInt8]) {
        mode = .record
        self.rowCount = rowCount
        self.rowMAC = rowMAC
    }

    /// A request that only reads the anchors.
    public static var reportOnly: RecordAuditAnchor {
        var request = RecordAuditAnchor(rowCount: 0, rowMAC: Array(repeating: 0, count: macLength))
        request.mode = .report
        return request
    }

    public init(reading reader: inout ByteReader) throws(WireError) {
        mode = try readEnum(AuditAnchorMode.self, &reader, "auditAnchor.mode")
        rowCount = try reader.uint64("auditAnchor.rowCount")
        rowMAC = try reader.bytes(Self.macLength, "auditAnchor.mac")
        switch mode {
        case .record:
            guard (1...UInt64(Int64.max)).contains(rowCount) else {
                throw .invalidValue(field: "auditAnchor.rowCount", value: Int64(truncatingIfNeeded: rowCount))
            }
        case .report:
            guard rowCount == 0 else {
                throw .invalidValue(field: "auditAnchor.rowCount", value: Int64(truncatingIfNeeded: rowCount))
            }
            guard rowMAC.allSatisfy({ $0 == 0 }) else { throw .invalidValue(field: "auditAnchor.mac", value: 1) }
        }
    }

    public func write(to writer: inout ByteWriter) {
        writer.uint8(mode.rawValue)
        writer.uint64(rowCount)
        // Exactly 32 bytes whatever the caller gave: a short MAC is padded
        // with zeros, a long one cut, so the frame always has its layout.
        writer.bytes(rowMAC.prefix(Self.macLength))
        if rowMAC.count < Self.macLength { writer.bytes(Array(repeating: 0, count: Self.macLength - rowMAC.count)) }
    }
}
