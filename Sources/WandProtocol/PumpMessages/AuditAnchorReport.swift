/// One anchor the pump holds: when it recorded it (pump clock) and what the
/// host sent.
/// ```
/// 0   8   UTC seconds the pump recorded it (Int64, 0 ... 253 402 300 799)
/// 8   16  log id
/// 24  8   row count UInt64 (1 ... 2^63 - 1)
/// 32  32  last row's HMAC-SHA256
/// ```
public struct WireAuditAnchor: Sendable, Equatable, Codable, WireFields {
    public var utcSeconds: Int64
    public var logID: [UInt8]
    public var rowCount: UInt64
    public var rowMAC: [UInt8]

    public init(utcSeconds: Int64, logID: [UInt8], rowCount: UInt64, rowMAC: [UInt8]) {
        self.utcSeconds = utcSeconds
        self.logID = logID
        self.rowCount = rowCount
        self.rowMAC = rowMAC
    }

    enum CodingKeys: String, CodingKey { case utcSeconds, logID, rowCount, rowMAC }

    /// A saved simulator state from before log ids holds anchors without
    /// one: they read as the all-zero log, which no host log has.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        utcSeconds = try container.decode(Int64.self, forKey: .utcSeconds)
        logID = try container.decodeIfPresent([UInt8].self, forKey: .logID)
            ?? Array(repeating: 0, count: RecordAuditAnchor.logIDLength)
        rowCount = try container.decode(UInt64.self, forKey: .rowCount)
        rowMAC = try container.decode([UInt8].self, forKey: .rowMAC)
    }

    public init(reading reader: inout ByteReader) throws(WireError) {
        utcSeconds = try readUTCSeconds(&reader, "auditAnchor.utcSeconds")
        logID = try reader.bytes(RecordAuditAnchor.logIDLength, "auditAnchor.logId")
        rowCount = try reader.uint64("auditAnchor.rowCount")
        guard (1...UInt64(Int64.max)).contains(rowCount) else {
            throw .invalidValue(field: "auditAnchor.rowCount", value: Int64(truncatingIfNeeded: rowCount))
        }
        rowMAC = try reader.bytes(RecordAuditAnchor.macLength, "auditAnchor.mac")
    }

    public func write(to writer: inout ByteWriter) {
        writer.int64(utcSeconds)
        writeAnchorFields(logID: logID, rowCount: rowCount, rowMAC: rowMAC, to: &writer)
    }
}

/// The anchors the pump holds, newest first: reply body to record audit
/// anchor (0x96). The pump keeps the newest anchor of each log, for the
/// eight logs anchored most recently.
/// ```
/// 0   1   anchors a (0 ... 8)
/// 1   64a WireAuditAnchor each, newest first
/// ```
public struct AuditAnchorReport: Sendable, Equatable, WireFields {
    /// How many anchors a pump keeps: one for each of the eight logs
    /// (laptops) that anchored most recently.
    public static let maximumAnchors = 8
    public var anchors: [WireAuditAnchor]

    public init(anchors: [WireAuditAnchor]) {
        self.anchors = anchors
    }

    public init(reading reader: inout ByteReader) throws(WireError) {
        let count = Int(try reader.uint8("auditAnchors.count"))
        guard count <= Self.maximumAnchors else {
            throw .tooMany(field: "auditAnchors.anchors", count: count, maximum: Self.maximumAnchors)
        }
        var parsed: [WireAuditAnchor] = []
        for _ in 0..<count { parsed.append(try WireAuditAnchor(reading: &reader)) }
        anchors = parsed
    }

    public func write(to writer: inout ByteWriter) {
        let held = anchors.prefix(Self.maximumAnchors)
        writer.uint8(UInt8(held.count))
        for anchor in held { anchor.write(to: &writer) }
    }
}
