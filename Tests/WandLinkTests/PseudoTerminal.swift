import CTerminal
import SystemPackage
@testable import WandLink
#if canImport(Glibc)
import Glibc
#endif

/// A pty standing in for a wand's tty: the transport opens the slave path,
/// the test plays the wand on the master.
///
/// The master is deliberately left as the kernel creates it. A fresh slave
/// is cooked (it would eat XON/XOFF and turn CR into LF), and putting it in
/// raw mode is the transport's job under test. On Linux, termios ioctls on
/// a pty master act on the slave's settings, so a raw-mode call here would
/// do that job for the transport and hide a missing one. The master's own
/// side needs nothing: the kernel creates it without input or output
/// processing.
final class PseudoTerminal: @unchecked Sendable {
    // @unchecked: the master descriptor is only used by one task at a time
    // in each test, and closed once.
    let master: FileDescriptor
    let slavePath: String
    private var closed = false

    init() throws {
        var name = [CChar](repeating: 0, count: 128)
        let fd = pumpwand_open_pseudoterminal(&name, name.count)
        guard fd >= 0 else { throw Errno(rawValue: -fd) }
        master = FileDescriptor(rawValue: fd)
        slavePath = String(decoding: name.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    deinit { if !closed { try? master.close() } }

    /// Hangs up: the slave side sees EIO / zero reads from now on.
    func closeMaster() throws {
        guard !closed else { return }
        closed = true
        try master.close()
    }

    /// Writes everything (the master is blocking: this waits for room).
    func write(_ bytes: [UInt8]) throws {
        var offset = 0
        while offset < bytes.count {
            offset += try bytes[offset...].withUnsafeBytes { try master.write($0) }
        }
    }

    /// Reads until `count` bytes arrived or `seconds` passed.
    func read(_ count: Int, seconds: Int = 10) throws -> [UInt8] {
        let deadline = ContinuousClock.now + .seconds(seconds)
        var received: [UInt8] = []
        while received.count < count, ContinuousClock.now < deadline {
            let ready = try master.poll(for: .readable, timeoutMilliseconds: 100)
            guard !ready.isEmpty else { continue }
            var buffer = [UInt8](repeating: 0, count: 8192)
            let got = try buffer.withUnsafeMutableBytes { try master.read(into: $0) }
            received += buffer.prefix(got)
        }
        return received
    }
}

/// `setfsuid` is not exported by Swift's Glibc module; look it up at run time.
enum FilesystemIdentity {
    private typealias SetFSUID = @convention(c) (UInt32) -> Int32

    private static func setfsuid(_ uid: UInt32) -> Int32? {
        guard let handle = dlopen(nil, RTLD_NOW), let symbol = dlsym(handle, "setfsuid") else { return nil }
        return unsafeBitCast(symbol, to: SetFSUID.self)(uid)
    }

    /// Runs `body` on this thread with file-access checks made as `uid`.
    /// Dropping the filesystem uid from 0 also drops CAP_DAC_OVERRIDE for
    /// this thread, so root is refused by file modes like anyone else.
    /// Returns nil when the identity could not be changed.
    static func asUser<T>(_ uid: UInt32, _ body: () -> T) -> T? {
        guard let previous = setfsuid(uid) else { return nil }
        // setfsuid returns the previous value; asking with an invalid id
        // (-1) changes nothing and reports the current one.
        let current = setfsuid(UInt32.max)
        defer { _ = setfsuid(UInt32(bitPattern: previous)) }
        guard current.map(UInt32.init(bitPattern:)) == uid else { return nil }
        return body()
    }
}
