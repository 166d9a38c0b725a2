import GRDB
import StateFiles

extension AuditLog {
    /// Checks, cheaply, that the log still agrees with its head before
    /// anything is written to it; `append` calls it once per object, so a
    /// command stops before its first row (and before sending anything).
    ///
    /// Without it, a log cut at the end with `audit.head` deleted or
    /// garbled would be re-sealed by the next routine command, and
    /// `audit verify` would then call the cut log intact.
    ///
    /// Cost: the head, the last sequence number, and the rows from the
    /// head's row on (normally one; more only after a crash between a row
    /// and its head). Rows after the head are accepted when they chain
    /// from the head's row with valid MACs: a command that ended before
    /// sealing left them, and they are genuine.
    public func checkBeforeWriting() throws(AuditError) {
        if checkedForWriting.withLock({ $0 }) { return }
        if case let .damaged(text) = identity {
            throw .tampered(kind: .chainBroken, detail: "the log's nonce (\(text)) is not 16 hex digits: it was changed, so no row can follow from it")
        }
        let headFilePresent = AtomicFile.exists(headPath)
        let head = readHead()
        let key = self.key.symmetric
        let found: (kind: AuditVerification.Kind, detail: String)?
        do {
            found = try database.read { db -> (kind: AuditVerification.Kind, detail: String)? in
                let last = try Int64.fetchOne(db, sql: "SELECT MAX(sequence) FROM audit_entry") ?? 0
                guard let head else {
                    if headFilePresent {
                        return (.headForged, "\(Self.headName) is unreadable, malformed or not written under this audit key")
                    }
                    return last > 0 ? (.headMissing, "the log has \(last) rows but \(Self.headName) is missing") : nil
                }
                guard head.sequence <= last else {
                    return (.tailCut, "\(Self.headName) names row \(head.sequence) but the log ends at row \(last) (rows were removed from the end)")
                }
                let rows = try Row.fetchCursor(db, sql: """
                    SELECT \(AuditChain.StoredRow.selectedColumns) FROM audit_entry
                    WHERE sequence >= ? ORDER BY sequence
                    """, arguments: [head.sequence])
                var canonical: [UInt8] = []
                var previous: (sequence: Int64, mac: String)? = nil
                while let row = try rows.next() {
                    let stored = AuditChain.StoredRow(row: row)
                    let mac: String = row[12]
                    guard let before = previous else {
                        // The head's own row.
                        guard stored.sequence == head.sequence else {
                            return (.rowMissing, "row \(head.sequence) named by \(Self.headName) is missing")
                        }
                        guard AuditChain.same(mac, head.mac) else {
                            return (.headMismatch, "row \(head.sequence) differs from the MAC \(Self.headName) recorded for it")
                        }
                        previous = (stored.sequence, mac)
                        continue
                    }
                    guard stored.sequence == before.sequence &+ 1 else {
                        return (.rowMissing, "row \(before.sequence &+ 1) is missing after the head")
                    }
                    guard AuditChain.same(stored.previousMAC, before.mac) else {
                        return (.chainBroken, "row \(stored.sequence) after the head does not follow the row before it")
                    }
                    AuditChain.canonical(stored, into: &canonical)
                    guard AuditChain.same(AuditChain.mac(of: canonical, key: key), mac) else {
                        return (.rowChanged, "row \(stored.sequence) after the head does not carry its MAC under this audit key")
                    }
                    previous = (stored.sequence, mac)
                }
                return previous == nil ? (.rowMissing, "row \(head.sequence) named by \(Self.headName) is missing") : nil
            }
        } catch {
            throw .storage("the audit log could not be read: \(error)")
        }
        if let found { throw .tampered(kind: found.kind, detail: found.detail) }
        if head == nil { sealFirstAppend.withLock { $0 = true } }
        checkedForWriting.withLock { $0 = true }
    }
}
