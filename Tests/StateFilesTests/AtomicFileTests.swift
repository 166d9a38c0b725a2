import Glibc
import SystemPackage
import Testing
@testable import StateFiles

@Suite struct AtomicFileTests {
    let folder: FilePath

    init() throws {
        var template = Array("/tmp/pumpwand-statefiles-XXXXXX".utf8CString)
        let made = template.withUnsafeMutableBufferPointer { $0.baseAddress.flatMap { mkdtemp($0) } }
        folder = FilePath(made.map { String(cString: $0) } ?? "/tmp")
    }

    @Test func writeThenReadReturnsTheBytes() throws {
        let path = folder.appending("state.json")
        try AtomicFile.write(Array("first".utf8), to: path)
        try AtomicFile.write(Array("second, longer".utf8), to: path)
        #expect(try AtomicFile.read(path, limit: 1024) == Array("second, longer".utf8))
    }

    @Test func writeLeavesNoTemporaryFilesBehind() throws {
        let path = folder.appending("clean.json")
        try AtomicFile.write([1, 2, 3], to: path)
        let names = try listing(folder)
        #expect(names == ["clean.json"])
    }

    @Test func writtenFilesArePrivate() throws {
        let path = folder.appending("secret")
        try AtomicFile.write([0], to: path)
        try AtomicFile.requirePrivate(path)
        #expect(chmod(path.string, 0o644) == 0)
        #expect(throws: StateFileError.unsafePermissions(path: path.string, mode: 0o644)) {
            try AtomicFile.requirePrivate(path)
        }
    }

    @Test func readRefusesAFileOverTheLimit() throws {
        let path = folder.appending("big")
        try AtomicFile.write([UInt8](repeating: 7, count: 100), to: path)
        #expect(throws: StateFileError.tooLarge(path: path.string, limit: 99)) {
            try AtomicFile.read(path, limit: 99)
        }
        #expect(try AtomicFile.read(path, limit: 100).count == 100)
    }

    @Test func readOfAMissingFileSaysNotFound() {
        let path = folder.appending("absent")
        #expect(throws: StateFileError.notFound(path: path.string)) { try AtomicFile.read(path, limit: 10) }
        #expect(AtomicFile.exists(path) == false)
    }

    @Test func removeIsDurableAndToleratesAbsence() throws {
        let path = folder.appending("gone")
        try AtomicFile.write([1], to: path)
        try AtomicFile.remove(path)
        #expect(AtomicFile.exists(path) == false)
        try AtomicFile.remove(path)
    }

    @Test func stateDirectoryFollowsXDG() {
        #expect(StateDirectory.defaultPath(environment: ["XDG_STATE_HOME": "/s", "HOME": "/h"]) == "/s/pumpwand")
        #expect(StateDirectory.defaultPath(environment: ["HOME": "/h"]) == "/h/.local/state/pumpwand")
        // A relative XDG_STATE_HOME is invalid per the specification and is ignored.
        #expect(StateDirectory.defaultPath(environment: ["XDG_STATE_HOME": "rel", "HOME": "/h"]) == "/h/.local/state/pumpwand")
        #expect(StateDirectory.defaultPath(environment: [:]) == nil)
    }

    @Test func stateDirectoryIsCreatedPrivate() throws {
        let directory = StateDirectory(path: folder.appending("a/b/pumpwand"))
        try directory.create()
        try directory.create()
        var info = stat()
        #expect(stat(directory.path.string, &info) == 0)
        #expect(info.st_mode & 0o777 == 0o700)
    }

    private func listing(_ path: FilePath) throws -> [String] {
        guard let dir = opendir(path.string) else { return [] }
        defer { closedir(dir) }
        var names: [String] = []
        while let entry = readdir(dir) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
            if name != "." && name != ".." { names.append(name) }
        }
        return names.sorted()
    }
}
