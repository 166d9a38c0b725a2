import Foundation

/// Runs the built `pumpctl` (or any binary from the same build folder) as a
/// child process and collects its output.
enum PumpctlRun {
    struct Result {
        var status: Int32
        /// True when the child was ended by a signal (`status` is then the signal).
        var signalled = false
        var stdout: String
        var stderr: String
    }

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
        environment: [String: String] = [:], stdin: String? = nil
    ) throws -> Result {
        let process = Process()
        let target = binary(executable).path
        if wrapper.isEmpty {
            process.executableURL = URL(fileURLWithPath: target)
            process.arguments = arguments
        } else {
            process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
            process.arguments = wrapper + [target] + arguments
        }
        var env = ProcessInfo.processInfo.environment
        for (key, value) in environment { env[key] = value }
        process.environment = env
        let out = Pipe(), err = Pipe(), input = Pipe()
        process.standardOutput = out
        process.standardError = err
        process.standardInput = input
        try process.run()
        if let stdin { input.fileHandleForWriting.write(Data(stdin.utf8)) }
        try input.fileHandleForWriting.close()
        // Read both pipes fully before waiting so a chatty child never blocks.
        let outData = out.fileHandleForReading.readDataToEndOfFile()
        let errData = err.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return Result(
            status: process.terminationStatus, signalled: process.terminationReason == .uncaughtSignal,
            stdout: String(decoding: outData, as: UTF8.self),
            stderr: String(decoding: errData, as: UTF8.self))
    }
}
