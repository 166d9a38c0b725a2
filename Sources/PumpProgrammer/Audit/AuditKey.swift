import Crypto
import Foundation
import StateFiles
import SystemPackage

/// The secret that MACs the audit log (HMAC-SHA256). It lives in the
/// user's configuration directory, never in the state directory beside
/// the log: rows rebuilt, renumbered or cut by someone holding only the
/// state directory no longer verify.
public struct AuditKey: Sendable {
    public static let fileName = "audit.key"
    /// 256 bits, as HMAC-SHA256 wants.
    public static let byteCount = 32

    /// Kept as bytes (SymmetricKey is not Sendable); `symmetric` makes the
    /// key for one append or one verify pass.
    private let bytes: [UInt8]
    var symmetric: SymmetricKey { SymmetricKey(data: bytes) }

    /// A key from its bytes (tests and benchmarks); exactly 32 bytes.
    public init(bytes: [UInt8]) throws(AuditKeyError) {
        guard bytes.count == Self.byteCount else { throw .malformed(path: "(in memory)", size: bytes.count) }
        self.bytes = bytes
    }

    /// The key of the configuration directory the environment names. With
    /// `creatingIfMissing` false (a log that already has rows or a head) a
    /// missing key is an error, never silently replaced.
    public static func resolve(environment: [String: String] = ProcessInfo.processInfo.environment,
                               creatingIfMissing: Bool = true)
        throws(AuditKeyError) -> AuditKey
    {
        guard let directory = ConfigurationDirectory.resolve(environment: environment) else {
            throw .noConfigurationDirectory
        }
        return try loadOrCreate(in: directory, creatingIfMissing: creatingIfMissing)
    }

    /// Reads `audit.key` in `directory`, creating the folder (0700, checked
    /// as the state directory is) and a fresh random key (0600) on first use.
    ///
    /// The key is read as ssh reads a private key (`AtomicFile.readSecret`):
    /// a symbolic link, a FIFO, another user's file or one group or others
    /// can read is refused, never used and never replaced.
    ///
    /// With `creatingIfMissing` false a missing key throws
    /// `missingForExistingLog`: the log it MAC'd would otherwise go on
    /// under a new key and could never be verified again.
    public static func loadOrCreate(in directory: StateDirectory, creatingIfMissing: Bool = true)
        throws(AuditKeyError) -> AuditKey
    {
        do { try directory.create() } catch { throw .unusable(error) }
        let path = directory.file(fileName)
        if !AtomicFile.exists(path) {
            guard creatingIfMissing else { throw .missingForExistingLog(path: path.string) }
            var fresh = SymmetricKey(size: .bits256).withUnsafeBytes { Array($0) }
            defer { ProcessGuard.wipe(&fresh) }
            do {
                // Exclusive: two first uses racing keep one key, never two.
                try AtomicFile.create(fresh, at: path, permissions: [.ownerRead, .ownerWrite])
            } catch .alreadyExists {
                // The other one won; its key is read below.
            } catch {
                throw .unusable(error)
            }
        }
        var bytes: [UInt8]
        do { bytes = try AtomicFile.readSecret(path, limit: 4096) } catch { throw .unusable(error) }
        defer { ProcessGuard.wipe(&bytes) }
        guard bytes.count == byteCount else { throw .malformed(path: path.string, size: bytes.count) }
        return AuditKey(unchecked: bytes)
    }

    private init(unchecked bytes: [UInt8]) {
        self.bytes = bytes
    }
}

/// Why the audit key cannot be used. Every audited command stops before
/// sending anything when it is thrown.
public enum AuditKeyError: Error, Equatable, Sendable, CustomStringConvertible {
    /// Neither PUMPWAND_CONFIG_DIR, XDG_CONFIG_HOME nor HOME names a folder.
    case noConfigurationDirectory
    /// The folder or the key file is unsafe or unreadable (a link, a FIFO,
    /// group- or world-readable, another user's).
    case unusable(StateFileError)
    /// The key file does not hold exactly 32 bytes.
    case malformed(path: String, size: Int)
    /// The key is gone while the audit log has rows or a head: a new key
    /// is not made, since rows under it could never verify with the old.
    case missingForExistingLog(path: String)

    public var description: String {
        switch self {
        case .noConfigurationDirectory:
            return "no configuration directory for the audit key: set HOME, XDG_CONFIG_HOME or \(ConfigurationDirectory.environmentVariable)"
        case let .unusable(error):
            return "the audit key cannot be used: \(error.description)"
        case let .malformed(path, size):
            return "the audit key \(path) holds \(size) bytes, not \(AuditKey.byteCount); it was not used or replaced"
        case let .missingForExistingLog(path):
            return "the audit key \(path) is missing but the audit log already has rows: a new key was NOT made, since the log could never be verified again (AUDIT LOG TAMPERED or damaged). Restore audit.key from its backup; keep the state directory as it is for an investigation, or move it aside to start a new log deliberately"
        }
    }
}
