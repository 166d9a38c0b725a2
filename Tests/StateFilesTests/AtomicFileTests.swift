import Glibc
import SystemPackage
import Testing
import TestSupport
@testable import StateFiles

@Suite struct AtomicFileTests {
    /// Removed when the test ends.
    let temporary: TemporaryDirectory
    var folder: FilePath { FilePath(temporary.path) }

    init() throws {
        temporary = try TemporaryDirectory(prefix: "pumpwand-statefiles")
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

    @Test func readRefusesASymbolicLinkUnlessAskedToFollow() throws {
        let target = folder.appending("target")
        try AtomicFile.write(Array("record".utf8), to: target)
        let link = folder.appending("link")
        #expect(symlink(target.string, link.string) == 0)
        #expect(throws: StateFileError.notRegularFile(path: link.string, kind: .symbolicLink)) {
            try AtomicFile.read(link, limit: 100)
        }
        #expect(try AtomicFile.read(link, limit: 100, followingSymlinks: true) == Array("record".utf8))
        // A dangling link still exists: it is never taken for "no file".
        #expect(unlink(target.string) == 0)
        #expect(AtomicFile.exists(link))
        #expect(AtomicFile.kind(of: link) == .symbolicLink)
        #expect(throws: StateFileError.notRegularFile(path: link.string, kind: .symbolicLink)) {
            try AtomicFile.read(link, limit: 100)
        }
    }

    @Test(.timeLimit(.minutes(1)))
    func readRefusesAFIFOWithoutWaitingForAWriter() throws {
        let path = folder.appending("fifo")
        #expect(mkfifo(path.string, 0o600) == 0)
        #expect(throws: StateFileError.notRegularFile(path: path.string, kind: .fifo)) {
            try AtomicFile.read(path, limit: 100)
        }
        // Followed or not, a FIFO is never read.
        #expect(throws: StateFileError.notRegularFile(path: path.string, kind: .fifo)) {
            try AtomicFile.read(path, limit: 100, followingSymlinks: true)
        }
    }

    @Test func readRefusesAFolder() throws {
        let path = folder.appending("sub")
        #expect(mkdir(path.string, 0o700) == 0)
        #expect(throws: StateFileError.notRegularFile(path: path.string, kind: .directory)) {
            try AtomicFile.read(path, limit: 100)
        }
    }

    @Test func createNeverReplacesAnExistingFile() throws {
        let path = folder.appending("record.json")
        try AtomicFile.create(Array("first".utf8), at: path)
        #expect(throws: StateFileError.alreadyExists(path: path.string)) {
            try AtomicFile.create(Array("second".utf8), at: path)
        }
        #expect(try AtomicFile.read(path, limit: 100) == Array("first".utf8))
        // Not over a symbolic link either, whether or not it dangles.
        let link = folder.appending("link.json")
        #expect(symlink(folder.appending("nowhere").string, link.string) == 0)
        #expect(throws: StateFileError.alreadyExists(path: link.string)) {
            try AtomicFile.create(Array("x".utf8), at: link)
        }
        #expect(AtomicFile.exists(folder.appending("nowhere")) == false)
        #expect(try listing(folder) == ["link.json", "record.json"])
        var info = stat()
        #expect(stat(path.string, &info) == 0 && info.st_mode & 0o777 == 0o600)
    }

    @Test func writeReplacesASymbolicLinkItselfNotItsTarget() throws {
        let target = folder.appending("target")
        try AtomicFile.write(Array("kept".utf8), to: target)
        let link = folder.appending("link")
        #expect(symlink(target.string, link.string) == 0)
        try AtomicFile.write(Array("new".utf8), to: link)
        #expect(try AtomicFile.read(target, limit: 100) == Array("kept".utf8))
        #expect(AtomicFile.kind(of: link) == .regular)
    }

    @Test func subdirectoryIsCreatedPrivateAndRefusesALink() throws {
        let directory = StateDirectory(path: folder.appending("state"))
        #expect(try directory.subdirectory("pending", creating: false) == nil)
        let made = try directory.subdirectory("pending", creating: true)
        #expect(made == folder.appending("state/pending"))
        var info = stat()
        #expect(stat(folder.appending("state/pending").string, &info) == 0 && info.st_mode & 0o777 == 0o700)
        let other = StateDirectory(path: folder.appending("other"))
        try other.create()
        let link = folder.appending("other/pending")
        #expect(symlink(folder.appending("state/pending").string, link.string) == 0)
        #expect(throws: StateFileError.notDirectory(path: link.string, kind: .symbolicLink)) {
            try other.subdirectory("pending", creating: false)
        }
        #expect(throws: StateFileError.notDirectory(path: link.string, kind: .symbolicLink)) {
            try other.subdirectory("pending", creating: true)
        }
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
