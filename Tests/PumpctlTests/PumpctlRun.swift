import Foundation
import TestSupport

/// Runs the built `pumpctl` (or any binary from the same build folder) as a
/// child process and collects its output, within a time limit
/// (`ChildProcess`: a child still running at the limit is killed and the
/// test fails with `ChildProcess.TimedOut`).
enum PumpctlRun {
    typealias Result = ChildProcess.Result

    /// The folder holding the test bundle also holds the products.
    static var productsDirectory: URL {
        URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
            .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    }

    static func binary(_ name: String) -> URL {
        let candidates = [
            productsDirectory.appendingPathComponent(name),
            Bundle.main.bundleURL.appendingPathComponent(name),
        ]
        return candidates.first { FileManager.default.isExecutableFile(atPath: $0.path) } ?? candidates[0]
    }

    static func run(
        _ arguments: [String], executable: String = "pumpctl", wrapper: [String] = [],
        environment: [String: String] = [:], stdin: String? = nil, timeLimit: Duration = ChildProcess.defaultTimeLimit
    ) async throws -> Result {
        let target = binary(executable).path
        // Standard input is a pipe closed after `stdin` (at once without it).
        let input: ChildProcess.Input = stdin.map { .text($0) } ?? .closed
        if wrapper.isEmpty {
            return try await ChildProcess.run(target, arguments, environment: environment, input: input, timeLimit: timeLimit)
        }
        return try await ChildProcess.run("/usr/bin/env", wrapper + [target] + arguments, environment: environment,
                                          input: input, timeLimit: timeLimit)
    }
}
