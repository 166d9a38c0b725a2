import Foundation
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// A private folder (mode 0700, made by mkdtemp) in the temporary
/// directory (`TMPDIR`, as NSTemporaryDirectory reads it) that is removed
/// with everything in it when this object ends: what a test leaves there
/// (audit logs, keys, simulated patient records) never outlives it.
///
/// Keep one as a stored property of a suite (Swift Testing makes a new
/// suite instance per test, and releases it when the test ends, pass or
/// fail), or use `withTemporaryDirectory(prefix:_:)` around one test's
/// body. A local `let` needs `defer { folder.remove() }`: Swift may
/// release an object after its last use, before the end of its scope.
///
/// Removal never follows a symbolic link out of the folder (tests plant
/// links to files elsewhere): a link is removed, not what it points at.
public final class TemporaryDirectory: Sendable {
    /// The folder's absolute path, without a trailing slash.
    public let path: String

    public struct CreationFailed: Error, CustomStringConvertible {
        public var template: String
        public var errno: Int32
        public var description: String { "mkdtemp(\(template)) failed: \(String(cString: strerror(errno)))" }
    }

    /// Makes `<TMPDIR>/<prefix>-XXXXXX`.
    public init(prefix: String) throws {
        var base = NSTemporaryDirectory()
        while base.count > 1 && base.hasSuffix("/") { base.removeLast() }
        let template = base + "/" + prefix + "-XXXXXX"
        var bytes = Array(template.utf8CString)
        let made = bytes.withUnsafeMutableBufferPointer { buffer in
            buffer.baseAddress.flatMap { mkdtemp($0) }.map { String(cString: $0) }
        }
        guard let made else { throw CreationFailed(template: template, errno: Glibc.errno) }
        path = made
    }

    private init(madePath: String) { path = madePath }

    /// The same, where a test cannot throw (a suite's stored property, a
    /// non-throwing fixture): when mkdtemp fails the running test fails
    /// with the reason, and the object stands for an unused path in the
    /// temporary directory, removed like the folder if the test makes it.
    public static func make(prefix: String, sourceLocation: SourceLocation = #_sourceLocation) -> TemporaryDirectory {
        do {
            return try TemporaryDirectory(prefix: prefix)
        } catch {
            Issue.record(error, sourceLocation: sourceLocation)
            var base = NSTemporaryDirectory()
            while base.count > 1 && base.hasSuffix("/") { base.removeLast() }
            return TemporaryDirectory(madePath: base + "/" + prefix + "-unavailable-" + UUID().uuidString)
        }
    }

    /// A new private folder (0700) inside this one, for a test that needs
    /// several (another laptop's state directory).
    public func subfolder(_ name: String) throws -> String {
        let made = file(name)
        guard mkdir(made, 0o700) == 0 else { throw CreationFailed(template: made, errno: Glibc.errno) }
        return made
    }

    /// A path inside the folder.
    public func file(_ name: String) -> String { path + "/" + name }

    /// Removes the folder and everything in it now (also called when the
    /// object ends; removing twice is harmless). Folders a test made
    /// unreadable or unwritable are given back their owner's rights first.
    public func remove() {
        Self.removeTree(path)
    }

    deinit { remove() }

    /// Removes `path` and what is under it, never following a symbolic
    /// link (FileManager removes a link, not its target). Returns whether
    /// nothing is left at `path`.
    @discardableResult
    public static func removeTree(_ path: String) -> Bool {
        var info = stat()
        guard lstat(path, &info) == 0 else { return true }
        if (try? FileManager.default.removeItem(atPath: path)) != nil { return true }
        // A folder the test made 0500 or 0000 (an attack or a full-disk
        // test): give the owner its rights back, then try again.
        restoreOwnerRights(path)
        try? FileManager.default.removeItem(atPath: path)
        return lstat(path, &info) != 0
    }

    /// u+rwx on every real folder at or under `path`; symbolic links are
    /// neither followed nor changed (lstat).
    private static func restoreOwnerRights(_ path: String) {
        var info = stat()
        guard lstat(path, &info) == 0, (info.st_mode & S_IFMT) == S_IFDIR else { return }
        _ = chmod(path, (info.st_mode & 0o7777) | 0o700)
        for name in (try? FileManager.default.contentsOfDirectory(atPath: path)) ?? [] {
            restoreOwnerRights(path + "/" + name)
        }
    }
}

/// Runs `body` with a fresh private folder (`TemporaryDirectory`), and
/// removes the folder afterwards, also when `body` throws.
public func withTemporaryDirectory<Value>(
    prefix: String, _ body: (String) throws -> Value
) throws -> Value {
    let folder = try TemporaryDirectory(prefix: prefix)
    defer { folder.remove() }
    return try body(folder.path)
}

/// Runs `body` with a fresh private folder (`TemporaryDirectory`), and
/// removes the folder afterwards, also when `body` throws.
public func withTemporaryDirectory<Value>(
    prefix: String, isolation: isolated (any Actor)? = #isolation, _ body: (String) async throws -> Value
) async throws -> Value {
    let folder = try TemporaryDirectory(prefix: prefix)
    defer { folder.remove() }
    return try await body(folder.path)
}
