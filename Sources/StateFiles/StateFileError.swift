import SystemPackage

/// Why a state or record file could not be read or written.
public enum StateFileError: Error, Equatable, Sendable, CustomStringConvertible {
    case notFound(path: String)
    case tooLarge(path: String, limit: Int)
    case permissionDenied(path: String)
    /// A file holding a secret or a record is readable or writable by others.
    case unsafePermissions(path: String, mode: UInt16)
    case io(path: String, operation: String, errno: Int32)

    public var description: String {
        switch self {
        case let .notFound(path):
            return "\(path) does not exist."
        case let .tooLarge(path, limit):
            return "\(path) is larger than \(limit) bytes, more than such a file can hold; it was not read."
        case let .permissionDenied(path):
            return "Permission denied for \(path). Check its owner and mode."
        case let .unsafePermissions(path, mode):
            return "\(path) has mode \(String(mode, radix: 8)), readable or writable by others; it was not used. Run: chmod 600 \(path)"
        case let .io(path, operation, errno):
            return "\(operation) failed for \(path): \(Errno(rawValue: errno)) (errno \(errno)). Nothing was changed there."
        }
    }

    static func from(_ errno: Errno, path: String, operation: String) -> StateFileError {
        switch errno {
        case .noSuchFileOrDirectory: return .notFound(path: path)
        case .permissionDenied, .notPermitted: return .permissionDenied(path: path)
        default: return .io(path: path, operation: operation, errno: errno.rawValue)
        }
    }
}
