import Foundation
import Testing
import TestSupport

/// Finds what the umockdev tests need, or skips the test with the reason
/// (`Requirements.skip`: reported as skipped, a failure under
/// PUMPWAND_TESTS_REQUIRE_TOOLS=1). CI installs umockdev, gir1.2-umockdev-1.0
/// and python3-gi, so nothing is skipped there.
enum UmockdevTools {
    static let repositoryRoot = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    static func path(_ relative: String) -> String {
        repositoryRoot.appendingPathComponent(relative).path
    }

    static func onPath(_ name: String) -> String? {
        Requirements.onPath(name)
    }

    /// The system Python, when it can load umockdev's GObject bindings
    /// (probed once per test run, within a time limit).
    static var systemPython: String? {
        get async { await pythonProbe.value }
    }

    private static let pythonProbe = Task<String?, Never> {
        let python = "/usr/bin/python3"
        guard FileManager.default.isExecutableFile(atPath: python) else { return nil }
        let result = try? await ChildProcess.run(
            python, ["-c", "import gi; gi.require_version('UMockdev', '1.0'); from gi.repository import UMockdev"],
            timeLimit: .seconds(30))
        return result?.status == 0 && result?.signalled == false ? python : nil
    }

    /// `umockdev-run`'s path; otherwise skips the running test.
    @discardableResult
    static func requireUmockdevRun(sourceLocation: SourceLocation = #_sourceLocation) throws -> String {
        try Requirements.tool("umockdev-run", "apt-get install umockdev", sourceLocation: sourceLocation)
    }

    /// The system Python that can drive the Python harness; otherwise skips the running test.
    @discardableResult
    static func requireHarness(sourceLocation: SourceLocation = #_sourceLocation) async throws -> String {
        try requireUmockdevRun(sourceLocation: sourceLocation)
        _ = try Requirements.tool("umockdev-wrapper", "apt-get install umockdev", sourceLocation: sourceLocation)
        return try Requirements.require(
            await systemPython, "/usr/bin/python3 cannot import gi's UMockdev (apt-get install python3-gi gir1.2-umockdev-1.0)",
            sourceLocation: sourceLocation)
    }
}
