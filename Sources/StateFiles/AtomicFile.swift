import Glibc
import SystemPackage

/// Whole-file reads and writes that survive a crash or power loss.
///
/// A write goes to a temporary file in the same folder, is fsynced, renamed
/// over the target and the folder fsynced, so a reader sees the old file or
/// the new one, never a torn mix. Reads are bounded: a file larger than the
/// caller's limit is refused, never loaded.
///
/// Reads open only regular files. A symbolic link is not followed unless
/// the caller asks (a record must not be redirected to another file), and a
/// FIFO or device is refused without blocking: the file is opened with
/// O_NOFOLLOW | O_NONBLOCK and checked with fstat before a byte is read.
public enum AtomicFile {
    /// Writes `bytes` to `path` atomically and durably, with `permissions`.
    /// Whatever was at `path` (a file, or a symbolic link itself, never its
    /// target) is replaced.
    public static func write(_ bytes: [UInt8], to path: FilePath, permissions: FilePermissions = [.ownerRead, .ownerWrite])
        throws(StateFileError)
    {
        let temporary = try writeTemporary(bytes, beside: path, permissions: permissions)
        var renamed = false
        defer { if !renamed { _ = unlink(temporary.string) } }
        guard rename(temporary.string, path.string) == 0 else {
            throw .from(Errno(rawValue: errno), path: path.string, operation: "rename")
        }
        renamed = true
        try syncDirectory(path.removingLastComponent())
    }

    /// Writes `bytes` to `path` atomically and durably only when nothing is
    /// at `path`; otherwise throws `.alreadyExists` and changes nothing.
    ///
    /// The file is complete and fsynced before it appears (it is hard-linked
    /// into place, which fails if the name is taken), so two writers racing
    /// for the same name cannot both succeed and no reader sees a torn file.
    public static func create(_ bytes: [UInt8], at path: FilePath, permissions: FilePermissions = [.ownerRead, .ownerWrite])
        throws(StateFileError)
    {
        let temporary = try writeTemporary(bytes, beside: path, permissions: permissions)
        guard link(temporary.string, path.string) == 0 else {
            let error = Errno(rawValue: errno)
            _ = unlink(temporary.string)
            throw .from(error, path: path.string, operation: "link")
        }
        // Drop the temporary name before the folder is synced, so what is
        // made durable is the folder holding only the new name.
        _ = unlink(temporary.string)
        try syncDirectory(path.removingLastComponent())
    }

    /// Reads a whole regular file of at most `limit` bytes.
    ///
    /// A symbolic link is refused with `.notRegularFile(kind: .symbolicLink)`
    /// unless `followingSymlinks` is true; a FIFO, socket, device or folder
    /// is refused with `.notRegularFile` without waiting for a writer.
    public static func read(_ path: FilePath, limit: Int, followingSymlinks: Bool = false) throws(StateFileError) -> [UInt8] {
        let (fd, info) = try openRegularForReading(path, followingSymlinks: followingSymlinks)
        defer { close(fd) }
        return try readAll(fd, size: info.st_size, path: path, limit: limit)
    }

    /// Opens `path` for reading and checks on the open descriptor that it is
    /// a regular file; the caller closes the descriptor. O_NONBLOCK: opening
    /// a FIFO for reading would otherwise wait for a writer forever.
    /// O_NOCTTY: a terminal must never become ours.
    private static func openRegularForReading(_ path: FilePath, followingSymlinks: Bool)
        throws(StateFileError) -> (descriptor: Int32, info: stat)
    {
        var flags = O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY
        if !followingSymlinks { flags |= O_NOFOLLOW }
        let fd = open(path.string, flags)
        guard fd >= 0 else {
            let error = Errno(rawValue: errno)
            // O_NOFOLLOW reports a final symbolic link as ELOOP; say what it is.
            if error == .tooManySymbolicLinkLevels, !followingSymlinks, kind(of: path) == .symbolicLink {
                throw .notRegularFile(path: path.string, kind: .symbolicLink)
            }
            throw .from(error, path: path.string, operation: "open")
        }
        var info = stat()
        guard fstat(fd, &info) == 0 else {
            let error = Errno(rawValue: errno)
            close(fd)
            throw .from(error, path: path.string, operation: "fstat")
        }
        let found = FileKind(mode: info.st_mode)
        guard found == .regular else {
            close(fd)
            throw .notRegularFile(path: path.string, kind: found)
        }
        return (fd, info)
    }

    /// Reads a secret (a key file) as ssh reads a private key: opened once,
    /// without following a symbolic link and without waiting on a FIFO, and
    /// every check made on the open descriptor, so nothing can be swapped in
    /// between a check and the read. Refused unless it is a regular file of
    /// at most `limit` bytes, owned by this process's user, that neither
    /// group nor others can read or write.
    ///
    /// The caller owns the returned bytes and wipes them when done
    /// (`ProcessGuard.wipe`).
    public static func readSecret(_ path: FilePath, limit: Int) throws(StateFileError) -> [UInt8] {
        let (fd, info) = try openRegularForReading(path, followingSymlinks: false)
        defer { close(fd) }
        guard info.st_uid == geteuid() else { throw .ownedByAnotherUser(path: path.string, owner: info.st_uid) }
        // The full mode (setuid, setgid, sticky bits too) is what is reported.
        let mode = UInt16(info.st_mode & 0o7777)
        guard mode & 0o077 == 0 else { throw .unsafePermissions(path: path.string, mode: mode) }
        return try readAll(fd, size: info.st_size, path: path, limit: limit)
    }

    /// Opens or creates `path` as a private regular file for a program that
    /// opens it again itself (SQLite): created 0600 without following a
    /// link, refused if it is a link, a FIFO, a device or another user's,
    /// and narrowed to 0600 if an earlier version left it readable by
    /// others. With `creating` false a missing file is left missing.
    public static func preparePrivate(_ path: FilePath, creating: Bool) throws(StateFileError) {
        var flags = O_RDWR | O_CLOEXEC | O_NONBLOCK | O_NOCTTY | O_NOFOLLOW
        if creating { flags |= O_CREAT }
        let fd = open(path.string, flags, 0o600)
        guard fd >= 0 else {
            let error = Errno(rawValue: errno)
            if !creating, error == .noSuchFileOrDirectory { return }
            if error == .tooManySymbolicLinkLevels, kind(of: path) == .symbolicLink {
                throw .notRegularFile(path: path.string, kind: .symbolicLink)
            }
            // O_RDWR on a FIFO with no reader, or on a folder, fails: say what is there.
            if let found = kind(of: path), found != .regular { throw .notRegularFile(path: path.string, kind: found) }
            throw .from(error, path: path.string, operation: "open")
        }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0 else { throw .from(Errno(rawValue: errno), path: path.string, operation: "fstat") }
        let found = FileKind(mode: info.st_mode)
        guard found == .regular else { throw .notRegularFile(path: path.string, kind: found) }
        guard info.st_uid == geteuid() else { throw .ownedByAnotherUser(path: path.string, owner: info.st_uid) }
        if info.st_mode & 0o077 != 0, fchmod(fd, 0o600) != 0 {
            throw .from(Errno(rawValue: errno), path: path.string, operation: "fchmod")
        }
    }

    /// Reads the rest of an open regular file, at most `limit` bytes.
    private static func readAll(_ fd: Int32, size: off_t, path: FilePath, limit: Int) throws(StateFileError) -> [UInt8] {
        guard size <= limit else { throw .tooLarge(path: path.string, limit: limit) }
        var result: [UInt8] = []
        result.reserveCapacity(Int(size))
        var chunk = [UInt8](repeating: 0, count: 64 * 1024)
        // The chunk may have held a key: it is wiped, not just freed.
        defer { ProcessGuard.wipe(&chunk) }
        while true {
            let count = chunk.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
            if count < 0 {
                if errno == EINTR { continue }
                throw .from(Errno(rawValue: errno), path: path.string, operation: "read")
            }
            if count == 0 { return result }
            // The file may have grown since fstat; the limit holds on what is read.
            guard count <= limit - result.count else { throw .tooLarge(path: path.string, limit: limit) }
            result.append(contentsOf: chunk[0..<count])
        }
    }

    /// Whether anything is at `path`, a dangling symbolic link included (so
    /// a link is never mistaken for "no record").
    public static func exists(_ path: FilePath) -> Bool {
        var info = stat()
        return lstat(path.string, &info) == 0
    }

    /// What is at `path` without following a final symbolic link; nil when
    /// nothing is there.
    public static func kind(of path: FilePath) -> FileKind? {
        var info = stat()
        guard lstat(path.string, &info) == 0 else { return nil }
        return FileKind(mode: info.st_mode)
    }

    /// Removes `path`, durably unless `durably` is false (then a power cut
    /// may bring the file back; a crash of this process cannot); a missing
    /// file is not an error.
    public static func remove(_ path: FilePath, durably: Bool = true) throws(StateFileError) {
        if unlink(path.string) != 0 {
            let error = Errno(rawValue: errno)
            if error == .noSuchFileOrDirectory { return }
            throw .from(error, path: path.string, operation: "unlink")
        }
        if durably { try syncDirectory(path.removingLastComponent()) }
    }

    /// Refuses a file that others can read or write (as ssh does with keys).
    ///
    /// This checks by path: the file read afterwards may not be the one
    /// checked. For a secret, `readSecret` checks the descriptor it reads.
    public static func requirePrivate(_ path: FilePath) throws(StateFileError) {
        var info = stat()
        guard stat(path.string, &info) == 0 else {
            throw .from(Errno(rawValue: errno), path: path.string, operation: "stat")
        }
        // The full mode (setuid, setgid, sticky bits too) is what is reported.
        let mode = UInt16(info.st_mode & 0o7777)
        guard mode & 0o077 == 0 else { throw .unsafePermissions(path: path.string, mode: mode) }
    }

    /// A complete, fsynced temporary file beside `path`, for `write` and `create`.
    private static func writeTemporary(_ bytes: [UInt8], beside path: FilePath, permissions: FilePermissions)
        throws(StateFileError) -> FilePath
    {
        let directory = path.removingLastComponent()
        // The folder is not checked here: a file the technician names
        // (`--save-prescription /tmp/x.json`) may go anywhere, and neither
        // the exclusive no-follow create nor rename/link follows a link at
        // the destination. State goes through `StateDirectory`, which
        // checks its folders (`requireSafe`).
        let name = path.lastComponent?.string ?? "state"
        let temporary = directory.appending(".\(name).\(getpid()).\(UInt32.random(in: 0...UInt32.max)).tmp")
        let fd: FileDescriptor
        do {
            fd = try FileDescriptor.open(
                temporary, .writeOnly, options: [.create, .exclusiveCreate, .closeOnExec, .noFollow], permissions: permissions)
        } catch let error as Errno {
            throw .from(error, path: temporary.string, operation: "create")
        } catch {
            throw .io(path: temporary.string, operation: "create", errno: EIO)
        }
        do {
            try fd.closeAfter {
                _ = try fd.writeAll(bytes)
                guard fsync(fd.rawValue) == 0 else { throw Errno(rawValue: errno) }
            }
        } catch let error as Errno {
            _ = unlink(temporary.string)
            throw .from(error, path: temporary.string, operation: "write")
        } catch {
            _ = unlink(temporary.string)
            throw .io(path: temporary.string, operation: "write", errno: EIO)
        }
        return temporary
    }

    static func syncDirectory(_ directory: FilePath) throws(StateFileError) {
        let target = directory.isEmpty ? FilePath(".") : directory
        let fd = open(target.string, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard fd >= 0 else { throw .from(Errno(rawValue: errno), path: target.string, operation: "open folder") }
        defer { close(fd) }
        guard fsync(fd) == 0 else { throw .from(Errno(rawValue: errno), path: target.string, operation: "fsync folder") }
    }
}
