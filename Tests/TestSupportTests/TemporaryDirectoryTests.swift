import Foundation
import Testing
import TestSupport

#if canImport(Glibc)
import Glibc
#endif

/// The temporary folders every suite uses: private, removed when the test
/// ends whether it passed or threw, and never by following a link out.
@Suite struct TemporaryDirectoryTests {
    struct Planned: Error, Equatable {}

    func exists(_ path: String) -> Bool {
        var info = stat()
        return lstat(path, &info) == 0
    }

    @Test func theFolderIsPrivateAndInTheTemporaryDirectory() throws {
        try withTemporaryDirectory(prefix: "pumpwand-temporary-test") { path in
            var info = stat()
            #expect(lstat(path, &info) == 0)
            #expect(info.st_mode & S_IFMT == S_IFDIR)
            #expect(info.st_mode & 0o777 == 0o700)
            #expect(info.st_uid == getuid())
            #expect(path.hasPrefix(NSTemporaryDirectory()))
            #expect(URL(fileURLWithPath: path).lastPathComponent.hasPrefix("pumpwand-temporary-test-"))
        }
    }

    /// A body that throws still has its folder, and everything in it
    /// (nested folders, one made unwritable), removed; the error is the
    /// body's own.
    @Test func aBodyThatThrowsLeavesNothingBehind() throws {
        var seen: String?
        #expect(throws: Planned()) {
            try withTemporaryDirectory(prefix: "pumpwand-temporary-test") { path in
                seen = path
                try FileManager.default.createDirectory(atPath: path + "/a/b", withIntermediateDirectories: true)
                try Data("audit".utf8).write(to: URL(fileURLWithPath: path + "/a/b/audit.sqlite"))
                #expect(chmod(path + "/a", 0o500) == 0)
                throw Planned()
            }
        }
        let path = try #require(seen)
        #expect(!exists(path))
    }

    @Test func anAsyncBodyThatThrowsLeavesNothingBehind() async throws {
        var seen: String?
        await #expect(throws: Planned()) {
            try await withTemporaryDirectory(prefix: "pumpwand-temporary-test") { path in
                seen = path
                try Data("key".utf8).write(to: URL(fileURLWithPath: path + "/audit.key"))
                await Task.yield()
                throw Planned()
            }
        }
        let path = try #require(seen)
        #expect(!exists(path))
    }

    /// A link inside the folder to a folder outside it: the link goes, the
    /// outside folder and its file stay (removal does not follow links).
    @Test func removalDoesNotFollowALinkOutOfTheFolder() throws {
        let outside = try TemporaryDirectory(prefix: "pumpwand-temporary-outside")
        defer { outside.remove() }
        try Data("keep me".utf8).write(to: URL(fileURLWithPath: outside.file("victim")))
        var seen: String?
        try withTemporaryDirectory(prefix: "pumpwand-temporary-test") { path in
            seen = path
            #expect(symlink(outside.path, path + "/link-to-folder") == 0)
            #expect(symlink(outside.file("victim"), path + "/link-to-file") == 0)
        }
        let path = try #require(seen)
        #expect(!exists(path))
        #expect(try String(contentsOfFile: outside.file("victim"), encoding: .utf8) == "keep me")
    }

    /// The class form, as a suite keeps it: removed when the last
    /// reference ends.
    @Test func theFolderGoesWhenTheObjectEnds() throws {
        var folder: TemporaryDirectory? = try TemporaryDirectory(prefix: "pumpwand-temporary-test")
        let path = try #require(folder?.path)
        try Data("record".utf8).write(to: URL(fileURLWithPath: path + "/patient.json"))
        #expect(exists(path))
        folder = nil
        #expect(!exists(path))
    }
}
