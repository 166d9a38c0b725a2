/// The result of `AuditLog.verify()`.
public struct AuditVerification: Codable, Sendable, Equatable {
    /// What is wrong, as a typed code: decisions read `kind`, never `problem`.
    public enum Kind: String, Codable, Sendable, CaseIterable {
        /// A sequence number is skipped (a row deleted, or rows renumbered).
        case rowMissing = "row_missing"
        /// A row does not carry the MAC of the row before it.
        case chainBroken = "chain_broken"
        /// A row's MAC is wrong: edited, or written without the audit key.
        case rowChanged = "row_changed"
        case headMissing = "head_missing"
        /// The head is unreadable, malformed, or its own MAC is wrong.
        case headForged = "head_forged"
        /// The head names a row the log no longer has.
        case tailCut = "tail_cut"
        /// The row the head names has another MAC.
        case headMismatch = "head_mismatch"
        /// The pump anchored more rows than the log has.
        case anchorBeyondLog = "anchor_beyond_log"
        /// The row at an anchored count has another MAC than the pump holds.
        case anchorMismatch = "anchor_mismatch"
        /// The pump's command record holds a command this log sent (its id
        /// carries this log's tag) that the log does not have.
        case commandMissing = "command_missing"
    }

    public struct Problem: Codable, Sendable, Equatable {
        /// The row concerned, when one is.
        public var sequence: Int64?
        public var kind: Kind
        public var problem: String

        public init(sequence: Int64?, kind: Kind, problem: String) {
            self.sequence = sequence
            self.kind = kind
            self.problem = problem
        }
    }

    public var entries: Int
    public var problems: [Problem]
    /// Rows after the head: written by a command that ended (or crashed)
    /// before sealing. They are still MAC-chained; only the pump's anchors
    /// can tell whether rows after the head were cut.
    public var unsealedRows: Int
    /// How many of the pump's anchors were checked; nil without `--pump`.
    public var anchorsChecked: Int?
    /// With `--pump`: rows newer than this log's newest anchor in the pump
    /// (the session's close that carried them was lost, or this log has
    /// never been anchored in that pump). Not tampering: not yet witnessed.
    public var unwitnessedRows: Int?
    /// With `--pump`: anchors the pump holds of other logs (other laptops'
    /// audit logs, or this log's before its key changed): counted, not judged.
    public var otherLogsAnchors: Int?
    /// With `--pump`: whose anchors were read, and whether that pump is the
    /// simulator (or a DEMO-key bench pump), so a saved result says which
    /// pump witnessed the log.
    public var pumpSerial: String?
    public var simulated: Bool?
    public var intact: Bool { problems.isEmpty }

    enum CodingKeys: String, CodingKey {
        case entries, problems, intact, unsealedRows, anchorsChecked, unwitnessedRows, otherLogsAnchors, pumpSerial, simulated
    }

    public func encode(to encoder: Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(entries, forKey: .entries)
        try container.encode(problems, forKey: .problems)
        try container.encode(intact, forKey: .intact)
        try container.encode(unsealedRows, forKey: .unsealedRows)
        try container.encodeIfPresent(anchorsChecked, forKey: .anchorsChecked)
        try container.encodeIfPresent(unwitnessedRows, forKey: .unwitnessedRows)
        try container.encodeIfPresent(otherLogsAnchors, forKey: .otherLogsAnchors)
        try container.encodeIfPresent(pumpSerial, forKey: .pumpSerial)
        try container.encodeIfPresent(simulated, forKey: .simulated)
    }

    public init(entries: Int, problems: [Problem], unsealedRows: Int = 0, anchorsChecked: Int? = nil,
                unwitnessedRows: Int? = nil, otherLogsAnchors: Int? = nil) {
        self.entries = entries
        self.problems = problems
        self.unsealedRows = unsealedRows
        self.anchorsChecked = anchorsChecked
        self.unwitnessedRows = unwitnessedRows
        self.otherLogsAnchors = otherLogsAnchors
    }

    public init(from decoder: Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        entries = try container.decode(Int.self, forKey: .entries)
        problems = try container.decode([Problem].self, forKey: .problems)
        unsealedRows = try container.decodeIfPresent(Int.self, forKey: .unsealedRows) ?? 0
        anchorsChecked = try container.decodeIfPresent(Int.self, forKey: .anchorsChecked)
        unwitnessedRows = try container.decodeIfPresent(Int.self, forKey: .unwitnessedRows)
        otherLogsAnchors = try container.decodeIfPresent(Int.self, forKey: .otherLogsAnchors)
        pumpSerial = try container.decodeIfPresent(String.self, forKey: .pumpSerial)
        simulated = try container.decodeIfPresent(Bool.self, forKey: .simulated)
    }
}
