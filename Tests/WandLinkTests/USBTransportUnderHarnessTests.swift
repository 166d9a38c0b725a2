import Foundation
import Synchronization
import Testing
@testable import WandLink

/// Runs `USBTransportLiveTests` under the umockdev harness, one harness
/// mode at a time.
///
/// Disabled inside a harness child (PUMPWAND_USB_HARNESS set): a child that
/// started harnesses of its own would recurse without end.
@Suite(.enabled(if: USBTransportLiveTests.harnessMode == nil))
struct USBTransportUnderHarnessTests {
    /// A Python with the gi module (the system one; a pyenv shim may not
    /// have it), or nil with the reason printed.
    static let python: String? = {
        guard RepositoryFiles.executable("umockdev-wrapper") != nil else {
            print("skipping USB harness tests: umockdev-wrapper is not on PATH (apt-get install umockdev)")
            return nil
        }
        for candidate in ["/usr/bin/python3", RepositoryFiles.executable("python3")].compactMap({ $0 }) {
            let probe = Process()
            probe.executableURL = URL(fileURLWithPath: candidate)
            probe.arguments = ["-c", "import gi; gi.require_version('UMockdev', '1.0')"]
            probe.standardError = FileHandle.nullDevice
            guard (try? probe.run()) != nil else { continue }
            probe.waitUntilExit()
            if probe.terminationStatus == 0 { return candidate }
        }
        print("skipping USB harness tests: no python3 with gi and UMockdev (apt-get install python3-gi gir1.2-umockdev-1.0)")
        return nil
    }()

    struct Run { var status: Int32; var output: String }

    static func runLiveTests(mode: String, harnessArguments: [String]) throws -> Run? {
        guard let python else { return nil }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: python)
        process.arguments = [RepositoryFiles.path("Tests/Harness/usb_wand.py")] + harnessArguments + [
            "--", CommandLine.arguments[0], "--testing-library", "swift-testing", "--filter", "WandLinkTests.USBTransportLiveTests/",
        ]
        var environment = ProcessInfo.processInfo.environment
        environment["PUMPWAND_USB_HARNESS"] = mode
        process.environment = environment
        let output = Pipe()
        process.standardOutput = output
        process.standardError = output
        try process.run()
        // A hung child must not hang the suite: stop it after two minutes.
        let watchdog = DispatchWorkItem { if process.isRunning { process.terminate() } }
        DispatchQueue.global().asyncAfter(deadline: .now() + 120, execute: watchdog)
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        watchdog.cancel()
        return Run(status: process.terminationStatus, output: String(decoding: data, as: UTF8.self))
    }

    /// Each named test ran and passed in the child.
    static func expectPassed(_ run: Run, _ tests: [String]) {
        #expect(run.status == 0, "harness run failed:\n\(run.output)")
        let lines = run.output.split(separator: "\n")
        for test in tests {
            #expect(lines.contains { $0.contains("Test \(test)()") && $0.contains("passed") },
                    "\(test) did not pass under the harness:\n\(run.output)")
        }
    }

    @Test func echoThroughRealLibusb() throws {
        guard let run = try Self.runLiveTests(mode: "echo", harnessArguments: ["--mode", "echo"]) else { return }
        Self.expectPassed(run, [
            "aMessageSpanningSeveralPacketsIsEchoedWhole", "aMessageOfWholePacketsIsEchoedWhole",
            "aSecondOpenIsBusyUntilTheFirstCloses",
        ])
    }

    /// The relay mode, as wandsim on a pty will use it: the harness relays
    /// the wand's bulk endpoints to a pty, and this test echoes on its master.
    @Test func echoRelayedThroughAPty() throws {
        guard Self.python != nil else { return }
        let pty = try PseudoTerminal()
        let stop = Atomic(false)
        let echo = Thread {
            var buffer = [UInt8](repeating: 0, count: 4096)
            while !stop.load(ordering: .acquiring) {
                guard let ready = try? pty.master.poll(for: .readable, timeoutMilliseconds: 50), !ready.isEmpty,
                      let count = try? buffer.withUnsafeMutableBytes({ try pty.master.read(into: $0) }), count > 0
                else { continue }
                try? pty.write(Array(buffer.prefix(count)))
            }
        }
        echo.start()
        defer { stop.store(true, ordering: .releasing) }
        guard let run = try Self.runLiveTests(
            mode: "echo", harnessArguments: ["--mode", "relay", "--relay", "path:\(pty.slavePath)"])
        else { return }
        Self.expectPassed(run, ["aMessageSpanningSeveralPacketsIsEchoedWhole", "aMessageOfWholePacketsIsEchoedWhole"])
    }

    @Test func timeoutThroughRealLibusb() throws {
        guard let run = try Self.runLiveTests(mode: "silent", harnessArguments: ["--mode", "silent"]) else { return }
        Self.expectPassed(run, ["aWandThatNeverAnswersTimesOut"])
    }

    @Test func unplugThroughRealLibusb() throws {
        guard let run = try Self.runLiveTests(
            mode: "unplug-after-10", harnessArguments: ["--mode", "echo", "--unplug-after-bytes", "10"])
        else { return }
        Self.expectPassed(run, ["anUnpluggedWandIsReportedAsUnplugged"])
    }
}
