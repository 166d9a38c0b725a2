import Foundation

/// Finds what the umockdev tests need, or says why a test is skipped. CI
/// installs umockdev, gir1.2-umockdev-1.0 and python3-gi, so nothing is
/// skipped there.
enum UmockdevTools {
    static let repositoryRoot = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    static func path(_ relative: String) -> String {
        repositoryRoot.appendingPathComponent(relative).path
    }

    static func onPath(_ name: String) -> String? {
        let folders = (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin").split(separator: ":")
        return folders.map { "\($0)/\(name)" }.first { FileManager.default.isExecutableFile(atPath: $0) }
    }

    /// The system Python, when it can load umockdev's GObject bindings.
    static let systemPython: String? = {
        let python = "/usr/bin/python3"
        guard FileManager.default.isExecutableFile(atPath: python) else { return nil }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: python)
        process.arguments = ["-c", "import gi; gi.require_version('UMockdev', '1.0'); from gi.repository import UMockdev"]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        guard (try? process.run()) != nil else { return nil }
        process.waitUntilExit()
        return process.terminationStatus == 0 ? python : nil
    }()

    /// True when `umockdev-run` is available; otherwise prints why `test` is skipped.
    static func canRun(_ test: String) -> Bool {
        if onPath("umockdev-run") != nil { return true }
        print("skipping \(test): umockdev-run is not on PATH (apt-get install umockdev)")
        return false
    }

    /// True when the Python harness can run; otherwise prints why `test` is skipped.
    static func canRunHarness(_ test: String) -> Bool {
        guard canRun(test) else { return false }
        if onPath("umockdev-wrapper") == nil {
            print("skipping \(test): umockdev-wrapper is not on PATH (apt-get install umockdev)")
            return false
        }
        if systemPython == nil {
            print("skipping \(test): /usr/bin/python3 cannot import gi's UMockdev (apt-get install python3-gi gir1.2-umockdev-1.0)")
            return false
        }
        return true
    }
}
