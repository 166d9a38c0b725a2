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

    /// Creates (or truncates) the file at `path`, mode 0600 because a trace
    /// names the pump and the wand, and writes the section header and one
    /// interface description.
    public init(creating path: FilePath, application: String, interfaceName: String,
                interfaceDescription: String?) throws(TraceError) {
        self.path = path
        let opened: FileDescriptor
        do {
            opened = try FileDescriptor.open(path, .writeOnly, options: [.create, .truncate, .closeOnExec],
                                             permissions: [.ownerReadWrite])
        } catch {
            throw .cannotCreate(path: path.string, errno: Self.code(error))
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
    /// Writing or flushing the trace failed (disk full, I/O error).
    case writeFailed(path: String, errno: Int32)
    /// The trace was already finished.
    case closed(path: String)

    public var description: String {
        switch self {
        case let .cannotCreate(path, code):
            return "Cannot create the trace file \(path): \(Errno(rawValue: code)). Nothing was sent; choose a writable path for --trace."
        case let .writeFailed(path, code):
            return "Writing the trace file \(path) failed: \(Errno(rawValue: code)). The trace stops at the last complete frame; the session itself was not affected."
        case let .closed(path):
            return "The trace file \(path) was already closed; later frames were not recorded."
        }
    }
}
