import Crypto
import Foundation

/// The hash chain over audit rows: each row's hash covers its own fields and
/// the previous row's hash, so changing, deleting or reordering any row
/// breaks every hash after it.
enum AuditChain {
    static let genesis = String(repeating: "0", count: 64)

    /// SHA-256 over a canonical JSON text of every field but the hash itself.
    static func hash(of entry: AuditEntry) -> String {
        var unhashed = entry
        unhashed.hash = ""
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        // Encoding plain strings, integers and arrays cannot fail; an empty
        // input would still give a hash that no honest row matches.
        let canonical = (try? encoder.encode(unhashed)) ?? Data()
        return SHA256.hash(data: canonical).map { String(format: "%02x", $0) }.joined()
    }
}
