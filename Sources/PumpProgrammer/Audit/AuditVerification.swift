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

    /// Another audit log made with this log's audit key, as the pump's
    /// anchors and command record show it: `audit.key` was copied to
    /// another computer, or this log replaced an earlier one of this
    /// computer (deleted and started afresh). Neither this log tampered
    /// with nor a fact to pass over: `verdict` says so on its own.
    public struct SameKeyLog: Codable, Sendable, Equatable {
        /// Its log id, 32 hex digits.
        public var logID: String
        /// The rows its anchor in the pump counts; nil when the pump holds
        /// only commands of it (the key's log made before the log nonce).
        public var rowCount: UInt64?
        /// Whether the pump recorded its anchor after this log's newest
        /// one (true when the pump holds none of this log's): after a log
        /// was started afresh, the old log's evidence.
        public var anchorNewer: Bool?
        /// Commands of the pump's record made by that log (command ids,
        /// hex), which are not this log's to have.
        public var commands: [String]

        public init(logID: String, rowCount: UInt64?, anchorNewer: Bool?, commands: [String]) {
            self.logID = logID
            self.rowCount = rowCount
            self.anchorNewer = anchorNewer
            self.commands = commands
        }

        enum CodingKeys: String, CodingKey {
            case logID = "logId", rowCount, anchorNewer, commands
        }
    }

    /// The judgement as one typed value, for scripts and the exit status.
    public enum Verdict: String, Codable, Sendable, CaseIterable {
        /// No problem, and no other log of this audit key on the pump.
        case intact
        /// This log verifies, but the pump holds anchors or commands of
        /// another log made with its audit key (`sameKeyOtherLogs`).
        case sameKeyOtherLogs = "same_key_other_logs"
        /// A problem in this log (`problems`).
        case tampered
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
    /// With `--pump`: anchors the pump holds of logs under other audit keys
    /// (other laptops' audit logs, or this log's before its key changed):
    /// counted, not judged. Logs of this key are in `sameKeyOtherLogs`.
    public var otherLogsAnchors: Int?
    /// With `--pump`: whose anchors were read, and whether that pump is the
    /// simulator (or a DEMO-key bench pump), so a saved result says which
    /// pump witnessed the log.
    public var pumpSerial: String?
    public var simulated: Bool?
    /// With `--pump`: other logs made with this audit key (newest anchor
    /// first), never counted in `otherLogsAnchors` and never judged as
    /// this log's.
    public var sameKeyOtherLogs: [SameKeyLog]?
    /// This log's id (32 hex digits), as its anchors carry it.
    public var logID: String?
    /// No problem in this log (other logs of its key aside: `verdict`).
    public var intact: Bool { problems.isEmpty }
    public var verdict: Verdict {
        if !problems.isEmpty { return .tampered }
        return (sameKeyOtherLogs ?? []).isEmpty ? .intact : .sameKeyOtherLogs
    }

    enum CodingKeys: String, CodingKey {
        case entries, problems, intact, verdict, unsealedRows, anchorsChecked, unwitnessedRows, otherLogsAnchors
        case sameKeyOtherLogs, logID = "logId", pumpSerial, simulated
    }

    public func encode(to encoder: Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(entries, forKey: .entries)
        try container.encode(problems, forKey: .problems)
        try container.encode(intact, forKey: .intact)
        try container.encode(verdict, forKey: .verdict)
        try container.encode(unsealedRows, forKey: .unsealedRows)
        try container.encodeIfPresent(anchorsChecked, forKey: .anchorsChecked)
        try container.encodeIfPresent(unwitnessedRows, forKey: .unwitnessedRows)
        try container.encodeIfPresent(otherLogsAnchors, forKey: .otherLogsAnchors)
        try container.encodeIfPresent(sameKeyOtherLogs, forKey: .sameKeyOtherLogs)
        try container.encodeIfPresent(logID, forKey: .logID)
        try container.encodeIfPresent(pumpSerial, forKey: .pumpSerial)
        try container.encodeIfPresent(simulated, forKey: .simulated)
    }

    public init(entries: Int, problems: [Problem], unsealedRows: Int = 0, anchorsChecked: Int? = nil,
                unwitnessedRows: Int? = nil, otherLogsAnchors: Int? = nil, sameKeyOtherLogs: [SameKeyLog]? = nil,
                logID: String? = nil) {
        self.entries = entries
        self.problems = problems
        self.unsealedRows = unsealedRows
        self.anchorsChecked = anchorsChecked
        self.unwitnessedRows = unwitnessedRows
        self.otherLogsAnchors = otherLogsAnchors
        self.sameKeyOtherLogs = sameKeyOtherLogs
        self.logID = logID
    }

    public init(from decoder: Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        entries = try container.decode(Int.self, forKey: .entries)
        problems = try container.decode([Problem].self, forKey: .problems)
        unsealedRows = try container.decodeIfPresent(Int.self, forKey: .unsealedRows) ?? 0
        anchorsChecked = try container.decodeIfPresent(Int.self, forKey: .anchorsChecked)
        unwitnessedRows = try container.decodeIfPresent(Int.self, forKey: .unwitnessedRows)
        otherLogsAnchors = try container.decodeIfPresent(Int.self, forKey: .otherLogsAnchors)
        sameKeyOtherLogs = try container.decodeIfPresent([SameKeyLog].self, forKey: .sameKeyOtherLogs)
        logID = try container.decodeIfPresent(String.self, forKey: .logID)
        pumpSerial = try container.decodeIfPresent(String.self, forKey: .pumpSerial)
        simulated = try container.decodeIfPresent(Bool.self, forKey: .simulated)
    }
}
