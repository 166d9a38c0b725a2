import Crypto
import GRDB
import WandProtocol

/// Which log an audit log is, as the pump's anchors and the pump's command
/// record name it.
///
/// A log made before the nonce (version 1) is named by its audit key
/// alone, so two laptops whose configuration directory was copied (one
/// `audit.key`) shared one log id: each one's anchors were refused as
/// behind the other's or overwrote them, and each read the other's visits
/// as its own log cut. A log made since draws 8 random bytes once, when its
/// database is created, and is named by them and the key, so every log is
/// told apart, and a log id still says, to a holder of the key, that it was
/// made with this key.
///
/// The nonce is kept in a one-row table (`audit_log_nonce`, append-only as
/// the rows are) and enters the chain as the first row's previous MAC
/// (`genesis`) instead of 64 zeros: the first row's MAC covers it, so a
/// nonce changed, removed or added makes row 1 fail `verify()`, and the
/// rows a reader shows are unchanged. It is drawn with the database rather
/// than with the first row because the first command id (which names the
/// log) is made before the first row is written.
enum AuditLogIdentity: Sendable, Equatable {
    /// Made before the nonce: log id v1, chain from 64 zeros.
    case version1
    /// Log id v2 and a chain from the nonce.
    case version2(nonce: [UInt8])
    /// The stored nonce is not 8 bytes of hex: changed by hand. Nothing is
    /// written to the log, and its first row fails `verify()`.
    case damaged(String)

    static let nonceLength = 8
    static let tagLength = RecordAuditAnchor.logIDLength - nonceLength
    static let logIDv1Label = Array("PumpWand audit log id v1".utf8)
    static let logIDv2Label = Array("PumpWand audit log id v2".utf8)
    static let genesisLabel = Array("PumpWand audit genesis v2".utf8)
    static let commandV1Label = Array("PumpWand command id v1".utf8)
    static let commandV2Label = Array("PumpWand command id v2".utf8)

    /// The first 16 bytes of HMAC-SHA256(audit key, "PumpWand audit log id v1").
    static func logIDv1(key: AuditKey) -> [UInt8] {
        Array(HMAC<SHA256>.authenticationCode(for: logIDv1Label, using: key.symmetric).prefix(RecordAuditAnchor.logIDLength))
    }

    /// nonce (8) || the first 8 bytes of HMAC-SHA256(audit key, "PumpWand
    /// audit log id v2" || nonce).
    static func logIDv2(key: AuditKey, nonce: [UInt8]) -> [UInt8] {
        nonce + Array(HMAC<SHA256>.authenticationCode(for: logIDv2Label + nonce, using: key.symmetric).prefix(tagLength))
    }

    /// The nonce of a log id made with `key` by a version 2 log, nil when
    /// the id is not one (another key's, a version 1 id, or noise).
    static func nonce(ofLogID id: [UInt8], key: AuditKey) -> [UInt8]? {
        guard id.count == RecordAuditAnchor.logIDLength else { return nil }
        let nonce = Array(id.prefix(nonceLength))
        return AuditChain.same(AuditChain.hex(logIDv2(key: key, nonce: nonce)), AuditChain.hex(id)) ? nonce : nil
    }

    /// The previous MAC the first row names.
    func genesis(key: AuditKey) -> String {
        switch self {
        case .version1:
            return AuditChain.genesis
        case let .version2(nonce):
            return AuditChain.hex(HMAC<SHA256>.authenticationCode(for: Self.genesisLabel + nonce, using: key.symmetric))
        case .damaged:
            // No row's previous MAC is this (it is not 64 hex digits).
            return "damaged log nonce"
        }
    }

    func logID(key: AuditKey) -> [UInt8] {
        switch self {
        case .version1, .damaged: Self.logIDv1(key: key)
        case let .version2(nonce): Self.logIDv2(key: key, nonce: nonce)
        }
    }

    /// The 8-byte tag of a command id made by the log `logID` under `key`:
    /// HMAC-SHA256(audit key, "PumpWand command id v1" || random) for a
    /// version 1 log id (as before the nonce), HMAC-SHA256(audit key,
    /// "PumpWand command id v2" || log id || random) for a version 2 one, so
    /// the command names its log.
    static func commandTag(random: [UInt8], logID: [UInt8], key: AuditKey) -> [UInt8] {
        let message = logID == logIDv1(key: key) ? commandV1Label + random : commandV2Label + logID + random
        return Array(HMAC<SHA256>.authenticationCode(for: message, using: key.symmetric).prefix(8))
    }

    /// Whether `id` was made for the log `logID` under `key`.
    static func isCommand(_ id: CommandID, of logID: [UInt8], key: AuditKey) -> Bool {
        let random = Array(id.bytes.prefix(8))
        return AuditChain.same(AuditChain.hex(commandTag(random: random, logID: logID, key: key)),
                               AuditChain.hex(Array(id.bytes.suffix(8))))
    }

    /// The identity stored in `db` (after the migrations).
    static func read(_ db: Database) throws -> AuditLogIdentity {
        guard let text = try String.fetchOne(db, sql: "SELECT nonce FROM audit_log_nonce ORDER BY rowid LIMIT 1") else {
            return .version1
        }
        guard let nonce = AuditChain.bytes(ofHex: text, count: nonceLength) else {
            // Shown in the refusal: bounded, and nothing a terminal acts on.
            let shown = text.unicodeScalars.prefix(40).map { (0x20...0x7E).contains($0.value) ? Character($0) : "?" }
            return .damaged(String(shown))
        }
        return .version2(nonce: nonce)
    }

    /// The table, and a nonce for a log that has no rows yet. A log with
    /// rows was made before the nonce: it keeps log id v1, so the anchors a
    /// clinic's pumps hold of it still match.
    static func migrate(_ db: Database) throws {
        try db.execute(sql: """
            CREATE TABLE audit_log_nonce (nonce TEXT NOT NULL);
            CREATE TRIGGER audit_log_nonce_no_update BEFORE UPDATE ON audit_log_nonce
            BEGIN SELECT RAISE(ABORT, 'the audit log nonce is fixed'); END;
            CREATE TRIGGER audit_log_nonce_no_delete BEFORE DELETE ON audit_log_nonce
            BEGIN SELECT RAISE(ABORT, 'the audit log nonce is fixed'); END;
            CREATE TRIGGER audit_log_nonce_once BEFORE INSERT ON audit_log_nonce
            WHEN (SELECT COUNT(*) FROM audit_log_nonce) > 0
            BEGIN SELECT RAISE(ABORT, 'the audit log nonce is fixed'); END;
            """)
        let rows = try Int64.fetchOne(db, sql: "SELECT COUNT(*) FROM audit_entry") ?? 0
        guard rows == 0 else { return }
        var generator = SystemRandomNumberGenerator()
        let nonce = (0..<nonceLength).map { _ in UInt8.random(in: .min ... .max, using: &generator) }
        try db.execute(sql: "INSERT INTO audit_log_nonce (nonce) VALUES (?)", arguments: [AuditChain.hex(nonce)])
    }
}
