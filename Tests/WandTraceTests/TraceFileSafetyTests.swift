import Foundation
import Glibc
import SystemPackage
import Testing
import TestSupport
@testable import WandTrace

/// `--trace FILE` used to follow a symbolic link and truncate whatever it
/// named. A trace now never follows a link and never replaces a file
/// unless the technician asks (`--trace-overwrite`), and then only a
/// regular file of their own.
@Suite struct TraceFileSafetyTests {
    /// Removed, links and all, when the test ends.
    let temporary: TemporaryDirectory
    var folder: String { temporary.path }

    init() throws {
        temporary = try TemporaryDirectory(prefix: "pumpwand-trace")
    }

    func contents(_ path: String) throws -> String {
        try String(contentsOfFile: path, encoding: .utf8)
    }

    func writer(_ path: String, overwrite: Bool = false) throws(TraceError) -> PcapngWriter {
        try PcapngWriter(creating: FilePath(path), application: "test", interfaceName: "pw", interfaceDescription: nil,
                         overwrite: overwrite)
    }

    @Test(arguments: [false, true])
    func aTraceOntoASymbolicLinkIsRefusedAndItsTargetUntouched(overwrite: Bool) throws {
        let target = folder + "/clinic-notes.txt"
        try "the target".write(toFile: target, atomically: false, encoding: .utf8)
        let link = folder + "/trace.pcapng"
        #expect(symlink(target, link) == 0)
        #expect(throws: TraceError.notRegularFile(path: link, kind: "symbolic link")) { _ = try writer(link, overwrite: overwrite) }
        #expect(try contents(target) == "the target")
    }

    @Test func aHardLinkedFileIsNotOverwrittenThroughItsSecondName() throws {
        let target = folder + "/clinic-notes.txt"
        try "the target".write(toFile: target, atomically: false, encoding: .utf8)
        let second = folder + "/trace.pcapng"
        #expect(link(target, second) == 0)
        #expect(throws: TraceError.notRegularFile(path: second, kind: "file with 2 names (a hard link)")) {
            _ = try writer(second, overwrite: true)
        }
        #expect(try contents(target) == "the target")
    }

    @Test func anOverwrittenTraceIsPrivateWhateverModeTheOldFileHad() throws {
        let path = folder + "/trace.pcapng"
        try "an earlier trace".write(toFile: path, atomically: false, encoding: .utf8)
        #expect(chmod(path, 0o644) == 0)
        var replaced = try writer(path, overwrite: true)
        try replaced.finish()
        var info = stat()
        #expect(stat(path, &info) == 0)
        #expect(info.st_mode & 0o777 == 0o600)
    }

    @Test func aDanglingLinkIsNotFollowedToCreateItsTarget() throws {
        let target = folder + "/created-through-the-link"
        let link = folder + "/trace.pcapng"
        #expect(symlink(target, link) == 0)
        #expect(throws: TraceError.notRegularFile(path: link, kind: "symbolic link")) { _ = try writer(link) }
        #expect(!FileManager.default.fileExists(atPath: target))
    }

    @Test func anExistingFileIsKeptUnlessOverwriteIsAsked() throws {
        let path = folder + "/trace.pcapng"
        try "an earlier trace".write(toFile: path, atomically: false, encoding: .utf8)
        #expect(throws: TraceError.alreadyExists(path: path)) { _ = try writer(path) }
        #expect(try contents(path) == "an earlier trace")
        var replaced = try writer(path, overwrite: true)
        try replaced.finish()
        let bytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: path)))
        #expect(bytes.starts(with: [0x0A, 0x0D, 0x0D, 0x0A]))
        #expect(!bytes.starts(with: Array("an earlier".utf8)))
    }

    @Test(.timeLimit(.minutes(1)))
    func aFIFOIsRefusedWithoutBlockingEvenWithOverwrite() throws {
        let path = folder + "/trace.pcapng"
        #expect(mkfifo(path, 0o600) == 0)
        #expect(throws: TraceError.notRegularFile(path: path, kind: "FIFO")) { _ = try writer(path) }
        #expect(throws: TraceError.notRegularFile(path: path, kind: "FIFO")) { _ = try writer(path, overwrite: true) }
    }

    @Test func aNewTraceIsPrivate() throws {
        let path = folder + "/new.pcapng"
        var created = try writer(path)
        try created.finish()
        var info = stat()
        #expect(lstat(path, &info) == 0)
        #expect(info.st_mode & 0o777 == 0o600)
    }
}
