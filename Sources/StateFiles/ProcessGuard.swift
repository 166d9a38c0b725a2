import CProcessGuard
import Glibc

/// What the process does while it holds a secret (a pump key): no core
/// dump, no reading through /proc or ptrace by the user's other programs,
/// and the secret's bytes overwritten once they are no longer needed.
///
/// Swift gives no guarantee that a value was never copied (an array may be
/// moved when it grows, a `String` cannot be wiped at all), so key bytes
/// are kept in byte arrays only, read into storage of their final size, and
/// wiped with a write the compiler may not drop.
public enum ProcessGuard {
    /// Turns core dumps off for the rest of the process (RLIMIT_CORE 0,
    /// PR_SET_DUMPABLE 0). Returns false when the system refused either;
    /// the key is still used (a dump needs a crash as well), and the caller
    /// may say so.
    @discardableResult
    public static func disableCoreDumps() -> Bool {
        pumpwand_disable_core_dumps() == 0
    }

    /// Whether the process can still dump core: nil when the system does not say.
    public static var isDumpable: Bool? {
        switch pumpwand_is_dumpable() {
        case 0: return false
        case -1: return nil
        default: return true
        }
    }

    /// Whether core dumps are limited to nothing.
    public static var coreLimitIsZero: Bool {
        var limit = rlimit()
        guard getrlimit(Int32(RLIMIT_CORE.rawValue), &limit) == 0 else { return false }
        return limit.rlim_cur == 0
    }

    /// Overwrites `bytes` with zeros in place (explicit_bzero: not removed
    /// as a dead store). The array keeps its length.
    public static func wipe(_ bytes: inout [UInt8]) {
        bytes.withUnsafeMutableBytes { buffer in
            guard let base = buffer.baseAddress, buffer.count > 0 else { return }
            explicit_bzero(base, buffer.count)
        }
    }
}
