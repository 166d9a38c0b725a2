import Glibc
import SystemPackage

/// Whole-file reads and writes that survive a crash or power loss.
///
/// A write goes to a temporary file in the same folder, is fsynced, renamed
/// over the target and the folder fsynced, so a reader sees the old file or
/// the new one, never a torn mix. Reads are bounded: a file larger than the
/// caller's limit is refused, never loaded.
public enum AtomicFile {
    /// Writes `bytes` to `path` atomically and durably, with `permissions`.
    public static func write(_ bytes: [UInt8], to path: FilePath, permissions: FilePermissions = [.ownerRead, .ownerWrite])
        throws(StateFileError)
    {
        let directory = path.removingLastComponent()
        let name = path.lastComponent?.string ?? "state"
        let temporary = directory.appending(".\(name).\(getpid()).\(UInt32.random(in: 0...UInt32.max)).tmp")
        let fd: FileDescriptor
        do {
            fd = try FileDescriptor.open(
                temporary, .writeOnly, options: [.create, .exclusiveCreate, .closeOnExec], permissions: permissions)
        } catch let error as Errno {
            throw .from(error, path: temporary.string, operation: "create")
        } catch {
            throw .io(path: temporary.string, operation: "create", errno: EIO)
        }
        var renamed = false
        defer { if !renamed { _ = unlink(temporary.string) } }
        do {
            try fd.closeAfter {
                _ = try fd.writeAll(bytes)
                guard fsync(fd.rawValue) == 0 else { throw Errno(rawValue: errno) }
            }
        } catch let error as Errno {
            throw .from(error, path: temporary.string, operation: "write")
        } catch {
            throw .io(path: temporary.string, operation: "write", errno: EIO)
        }
        guard rename(temporary.string, path.string) == 0 else {
            throw .from(Errno(rawValue: errno), path: path.string, operation: "rename")
        }
        renamed = true
        try syncDirectory(directory)
    }

    /// Reads a whole file of at most `limit` bytes.
    public static func read(_ path: FilePath, limit: Int) throws(StateFileError) -> [UInt8] {
        let fd: FileDescriptor
        do {
            fd = try FileDescriptor.open(path, .readOnly, options: [.closeOnExec])
        } catch let error as Errno {
            throw .from(error, path: path.string, operation: "open")
        } catch {
            throw .io(path: path.string, operation: "open", errno: EIO)
        }
        do {
            return try fd.closeAfter { () throws(StateFileError) -> [UInt8] in
                var result: [UInt8] = []
                var chunk = [UInt8](repeating: 0, count: 64 * 1024)
                while true {
                    let count: Int
                    do {
                        count = try chunk.withUnsafeMutableBytes { try fd.read(into: $0, retryOnInterrupt: true) }
                    } catch let error as Errno {
                        throw .from(error, path: path.string, operation: "read")
                    } catch {
                        throw .io(path: path.string, operation: "read", errno: EIO)
                    }
                    if count == 0 { return result }
                    guard result.count + count <= limit else { throw .tooLarge(path: path.string, limit: limit) }
                    result.append(contentsOf: chunk[0..<count])
                }
            }
        } catch let error as StateFileError {
            throw error
        } catch {
            throw .io(path: path.string, operation: "close", errno: EIO)
        }
    }

    /// Whether a file exists at `path`.
    public static func exists(_ path: FilePath) -> Bool {
        access(path.string, F_OK) == 0
    }

    /// Removes `path` durably; a missing file is not an error.
    public static func remove(_ path: FilePath) throws(StateFileError) {
        if unlink(path.string) != 0 {
            let error = Errno(rawValue: errno)
            if error == .noSuchFileOrDirectory { return }
            throw .from(error, path: path.string, operation: "unlink")
        }
        try syncDirectory(path.removingLastComponent())
    }

    /// Refuses a file that others can read or write (as ssh does with keys).
    public static func requirePrivate(_ path: FilePath) throws(StateFileError) {
        var info = stat()
        guard stat(path.string, &info) == 0 else {
            throw .from(Errno(rawValue: errno), path: path.string, operation: "stat")
        }
        let mode = UInt16(info.st_mode & 0o777)
        guard mode & 0o077 == 0 else { throw .unsafePermissions(path: path.string, mode: mode) }
    }

    static func syncDirectory(_ directory: FilePath) throws(StateFileError) {
        let target = directory.isEmpty ? FilePath(".") : directory
        let fd = open(target.string, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard fd >= 0 else { throw .from(Errno(rawValue: errno), path: target.string, operation: "open folder") }
        defer { close(fd) }
        guard fsync(fd) == 0 else { throw .from(Errno(rawValue: errno), path: target.string, operation: "fsync folder") }
    }
}
