import Foundation
import Testing
import TestSupport

/// The Python validators from PyPI that Debian does not package
/// (cyclonedx-python-lib, fhir.resources), in the virtual environment
/// scripts/install-deps.sh makes: $PUMPWAND_PYTHON_TOOLS, else
/// .build/python-tools. A missing one is a reported skip, or a failure
/// under PUMPWAND_TESTS_REQUIRE_TOOLS=1 (TestSupport's Requirements).
enum PythonTools {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    static var environmentFolder: String {
        ProcessInfo.processInfo.environment["PUMPWAND_PYTHON_TOOLS"] ?? root.appendingPathComponent(".build/python-tools").path
    }

    /// The environment's python3 when it can import `module`, else a skip
    /// naming the package and how to install it.
    static func python(importing module: String, package: String) async throws -> String {
        let python = environmentFolder + "/bin/python3"
        guard FileManager.default.isExecutableFile(atPath: python) else {
            try Requirements.skip("\(package) is not installed: \(python) is missing (bash scripts/install-deps.sh makes it)")
        }
        let probe = try await ChildProcess.run(python, ["-c", "import \(module)"], mergingStandardError: true, timeLimit: .seconds(60))
        guard probe.status == 0 else {
            try Requirements.skip("\(package) is not installed in \(environmentFolder) (bash scripts/install-deps.sh): \(probe.stdout)")
        }
        return python
    }

    /// The system's python3 for the project's own scripts (standard library only).
    static func systemPython() throws -> String {
        try Requirements.require(
            ["/usr/bin/python3"].first { FileManager.default.isExecutableFile(atPath: $0) } ?? Requirements.onPath("python3"),
            "python3 is not installed (scripts/install-deps.sh)")
    }
}
