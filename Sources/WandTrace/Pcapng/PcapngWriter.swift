import SystemPackage
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// Writes a pcapng file block by block, straight to the kernel.
///
/// Each block goes out in one `write(2)` with no buffering in this process,
/// so if pumpctl crashes every frame recorded before the crash is already in
/// the file; at most a block being written at that instant is cut short,
/// and readers (Wireshark, tshark) stop cleanly at a truncated last block.
/// `finish()` also `fsync`s so the trace survives a power cut after a clean
/// exit.
///
/// A value owns its file descriptor: keep one copy and call `finish()` on it
/// (TracingTransport does both).
public struct PcapngWriter: Sendable {
    private var descriptor: FileDescriptor?
    /// The file written to.
    public let path: FilePath
    /// Enhanced Packet Blocks written so far.
    public private(set) var packetsWritten = 0

    /// Creates the file at `path`, mode 0600 because a trace names the pump
    /// and the wand, and writes the section header and one interface
    /// description.
    ///
    /// A trace never follows a symbolic link and never replaces an existing
    /// file unless `overwrite` is true (`--trace-overwrite`): a trace path
    /// is typed by hand, and a wrong one (or a link planted in a shared
    /// folder) must not destroy the file it names. With `overwrite`, only a
    /// regular file of this user's with no other name is truncated (and made
    /// 0600); a link, a hard-linked file, a FIFO or a device is refused
    /// without blocking.
    public init(creating path: FilePath, application: String, interfaceName: String,
                interfaceDescription: String?, overwrite: Bool = false) throws(TraceError) {
        self.path = path
        let opened: FileDescriptor
        do {
            if overwrite {
                opened = try FileDescriptor.open(path, .writeOnly, options: [.create, .noFollow, .nonBlocking, .closeOnExec],
                                                 permissions: [.ownerReadWrite])
            } else {
                opened = try FileDescriptor.open(path, .writeOnly, options: [.create, .exclusiveCreate, .noFollow, .closeOnExec],
                                                 permissions: [.ownerReadWrite])
            }
        } catch {
            let code = Self.code(error)
            // Say what is in the way (O_EXCL reports a link as EEXIST, a
            // FIFO with no reader fails with ENXIO), without following it.
            var found = stat()
            if code != ENOENT, lstat(path.string, &found) == 0 {
                if found.st_mode & S_IFMT == S_IFLNK { throw .notRegularFile(path: path.string, kind: "symbolic link") }
                if found.st_mode & S_IFMT != S_IFREG { throw .notRegularFile(path: path.string, kind: Self.kindName(found.st_mode)) }
            }
            if code == EEXIST { throw .alreadyExists(path: path.string) }
            throw .cannotCreate(path: path.string, errno: code)
        }
        if overwrite {
            var info = stat()
            let checked: TraceError? =
                if fstat(opened.rawValue, &info) != 0 { .cannotCreate(path: path.string, errno: errno) }
                else if info.st_mode & S_IFMT != S_IFREG { .notRegularFile(path: path.string, kind: Self.kindName(info.st_mode)) }
                else if info.st_uid != geteuid() { .notRegularFile(path: path.string, kind: "file of user \(info.st_uid)") }
                // A second name for the file (a hard link, which needs no
                // permission on the target for root) would be overwritten
                // through this one: refused, as a link is.
                else if info.st_nlink > 1 { .notRegularFile(path: path.string, kind: "file with \(info.st_nlink) names (a hard link)") }
                else if ftruncate(opened.rawValue, 0) != 0 { .cannotCreate(path: path.string, errno: errno) }
                // The replaced trace is private like a new one, whatever mode the old file had.
                else if fchmod(opened.rawValue, 0o600) != 0 { .cannotCreate(path: path.string, errno: errno) }
                else { nil }
            if let checked {
                try? opened.close()
                throw checked
            }
        }
        descriptor = opened
        let header = PcapngBlock.sectionHeader(application: application)
            + PcapngBlock.interfaceDescription(linkType: PcapngBlock.linkTypeUser0, snapLength: 0,
                                               name: interfaceName, description: interfaceDescription)
        do {
            try write(header)
        } catch {
            try? opened.close()
            descriptor = nil
            throw error
        }
    }

    /// Appends one Enhanced Packet Block on interface 0.
    public mutating func record(_ data: [UInt8], timestampMicroseconds: UInt64, direction: TraceDirection,
                                comment: String? = nil) throws(TraceError) {
        try write(PcapngBlock.enhancedPacket(interface: 0, timestampMicroseconds: timestampMicroseconds, data: data,
                                             direction: direction, comment: comment))
        packetsWritten += 1
    }

    /// Flushes to stable storage and closes. Idempotent.
    public mutating func finish() throws(TraceError) {
        guard let descriptor else { return }
        self.descriptor = nil
        var failure: TraceError?
        if fsync(descriptor.rawValue) != 0 { failure = .writeFailed(path: path.string, errno: errno) }
        do { try descriptor.close() } catch { failure = failure ?? .writeFailed(path: path.string, errno: Self.code(error)) }
        if let failure { throw failure }
    }

    private static func kindName(_ mode: mode_t) -> String {
        switch mode & S_IFMT {
        case S_IFDIR: return "folder"
        case S_IFIFO: return "FIFO"
        case S_IFCHR: return "character device"
        case S_IFBLK: return "block device"
        case S_IFSOCK: return "socket"
        default: return "not a regular file"
        }
    }

    /// The errno behind a swift-system error (EIO when there is none).
    private static func code(_ error: any Error) -> Int32 {
        (error as? Errno)?.rawValue ?? EIO
    }

    private func write(_ bytes: [UInt8]) throws(TraceError) {
        guard let descriptor else { throw .closed(path: path.string) }
        do {
            _ = try descriptor.writeAll(bytes)
        } catch {
            throw .writeFailed(path: path.string, errno: Self.code(error))
        }
    }
}

/// Why a trace could not be written. The wand session itself is not
/// affected by a trace failure; the trace simply ends there.
public enum TraceError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The trace file could not be created (errno from open(2)).
    case cannotCreate(path: String, errno: Int32)
    /// Something is already at the trace path and `--trace-overwrite` was
    /// not given; it was left as it was.
    case alreadyExists(path: String)
    /// The trace path names a symbolic link, a FIFO, a device, a folder or
    /// another user's file; it was not followed, opened for writing or changed.
    case notRegularFile(path: String, kind: String)
    /// Writing or flushing the trace failed (disk full, I/O error).
    case writeFailed(path: String, errno: Int32)
    /// The trace was already finished.
    case closed(path: String)

    public var description: String {
        switch self {
        case let .cannotCreate(path, code):
            return "Cannot create the trace file \(path): \(Errno(rawValue: code)). Nothing was sent; choose a writable path for --trace."
        case let .alreadyExists(path):
            return "The trace file \(path) already exists; it was left as it was and nothing was sent. Choose a new name, or give --trace-overwrite to replace it."
        case let .notRegularFile(path, kind):
            return "The trace path \(path) is a \(kind); it was not followed or written and nothing was sent. Choose a new file name for --trace."
        case let .writeFailed(path, code):
            return "Writing the trace file \(path) failed: \(Errno(rawValue: code)). The trace stops at the last complete frame; the session itself was not affected."
        case let .closed(path):
            return "The trace file \(path) was already closed; later frames were not recorded."
        }
    }
}
