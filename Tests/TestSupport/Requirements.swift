import Foundation
import Testing

/// Tools some tests need (umockdev-run, tshark, script(1), setpriv, a
/// Python with gi). A test whose tool is missing is reported as skipped
/// with the reason (`Test.cancel`), never passed silently; with
/// PUMPWAND_TESTS_REQUIRE_TOOLS=1 (CI, which installs them all) a missing
/// tool is a failure instead.
public enum Requirements {
    public static let toolsAreRequired = ProcessInfo.processInfo.environment["PUMPWAND_TESTS_REQUIRE_TOOLS"] == "1"

    /// Ends the running test as skipped because of `reason`, or fails it
    /// when tools are required.
    public static func skip(_ reason: String, sourceLocation: SourceLocation = #_sourceLocation) throws -> Never {
        if toolsAreRequired { throw MissingTool(reason: reason) }
        try Test.cancel(Comment(rawValue: "skipped: \(reason)"), sourceLocation: sourceLocation)
    }

    /// `value`, or the test is skipped with `reason`.
    public static func require<T>(_ value: T?, _ reason: @autoclosure () -> String,
                                  sourceLocation: SourceLocation = #_sourceLocation) throws -> T {
        guard let value else { try skip(reason(), sourceLocation: sourceLocation) }
        return value
    }

    /// The first `name` on PATH (then in `extraFolders`), or nil.
    public static func onPath(_ name: String, extraFolders: [String] = []) -> String? {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"
        return (path.split(separator: ":").map(String.init) + extraFolders).map { "\($0)/\(name)" }
            .first { FileManager.default.isExecutableFile(atPath: $0) }
    }

    /// The path of the tool `name` on PATH, or the test is skipped with `hint`
    /// (how to install it).
    public static func tool(_ name: String, _ hint: String, sourceLocation: SourceLocation = #_sourceLocation) throws -> String {
        try require(onPath(name), "\(name) is not on PATH (\(hint))", sourceLocation: sourceLocation)
    }

    struct MissingTool: Error, CustomStringConvertible {
        var reason: String
        var description: String { "PUMPWAND_TESTS_REQUIRE_TOOLS=1 but \(reason)" }
    }
}
