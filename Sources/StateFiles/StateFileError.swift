import Glibc
import SystemPackage

/// What kind of file system object a path names, for refusals that say
/// what was found instead of a regular file or a folder.
public enum FileKind: String, Sendable, Equatable, CustomStringConvertible {
    case regular = "regular file"
    case directory
    case symbolicLink = "symbolic link"
    case fifo = "FIFO"
    case socket
    case characterDevice = "character device"
    case blockDevice = "block device"
    case unknown = "unknown kind of file"

    public var description: String { rawValue }

    /// The kind a `stat` mode names.
    public init(mode: UInt32) {
        switch mode & UInt32(S_IFMT) {
        case UInt32(S_IFREG): self = .regular
        case UInt32(S_IFDIR): self = .directory
        case UInt32(S_IFLNK): self = .symbolicLink
        case UInt32(S_IFIFO): self = .fifo
        case UInt32(S_IFSOCK): self = .socket
        case UInt32(S_IFCHR): self = .characterDevice
        case UInt32(S_IFBLK): self = .blockDevice
        default: self = .unknown
        }
    }
}

/// What makes a folder unsafe to keep state or secrets in.
public enum DirectoryProblem: Sendable, Equatable {
    /// Owned by this user id, neither this process's user nor root.
    case ownedByAnotherUser(owner: UInt32)
    /// Group- or world-writable (the permission bits, e.g. 0o777).
    case writableByOthers(mode: UInt16)
}

/// Why a state or record file could not be read or written.
public enum StateFileError: Error, Equatable, Sendable, CustomStringConvertible {
    case notFound(path: String)
    case tooLarge(path: String, limit: Int)
    case permissionDenied(path: String)
    /// A file holding a secret or a record is readable or writable by others.
    case unsafePermissions(path: String, mode: UInt16)
    /// A record path names a symbolic link, a FIFO, a device or a folder.
    /// Links are not followed (a record must not be redirected elsewhere),
    /// and a FIFO or device is never opened for reading (it could block or
    /// have side effects).
    case notRegularFile(path: String, kind: FileKind)
    /// A folder the state lives in is a symbolic link or not a folder.
    case notDirectory(path: String, kind: FileKind)
    /// A file that must be created new is already there.
    case alreadyExists(path: String)
    /// A folder state or secrets are kept in could be changed by another
    /// user (it is theirs, or others may write into it): they could plant a
    /// link or a FIFO there, or swap a record, so nothing is read or written.
    case unsafeDirectory(path: String, problem: DirectoryProblem)
    /// A secret (a key file) or a record belongs to another user, who could
    /// change it or read it; it was not used.
    case ownedByAnotherUser(path: String, owner: UInt32)
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
        case let .notRegularFile(path, kind):
            return "\(path) is a \(kind), not a regular file; it was not read or followed. Check who put it there."
        case let .notDirectory(path, kind):
            return "\(path) is a \(kind), not a folder; nothing was read or written there. Check who put it there."
        case let .alreadyExists(path):
            return "\(path) already exists; it was not replaced."
        case let .unsafeDirectory(path, .ownedByAnotherUser(owner)):
            return "The folder \(path) belongs to user \(owner), not to you; nothing was read or written there. Use a folder of your own (--state-dir), or have it made yours: chown \(geteuid()) \(path)"
        case let .unsafeDirectory(path, .writableByOthers(mode)):
            return "The folder \(path) has mode \(String(mode, radix: 8)): others can write into it and plant files; nothing was read or written there. Run: chmod go-w \(path)"
        case let .ownedByAnotherUser(path, owner):
            return "\(path) belongs to user \(owner), not to you; it was not used. Use a file of your own (chown \(geteuid()) \(path))."
        case let .io(path, operation, errno):
            return "\(operation) failed for \(path): \(Errno(rawValue: errno)) (errno \(errno)). Nothing was changed there."
        }
    }

    static func from(_ errno: Errno, path: String, operation: String) -> StateFileError {
        switch errno {
        case .noSuchFileOrDirectory: return .notFound(path: path)
        case .permissionDenied, .notPermitted: return .permissionDenied(path: path)
        case .fileExists: return .alreadyExists(path: path)
        default: return .io(path: path, operation: operation, errno: errno.rawValue)
        }
    }
}
