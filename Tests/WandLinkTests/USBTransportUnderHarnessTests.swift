import Foundation
import Synchronization
import Testing
import TestSupport
@testable import WandLink

/// Runs `USBTransportLiveTests` under the umockdev harness, one harness
/// mode at a time.
///
/// Disabled inside a harness child (PUMPWAND_USB_HARNESS set): a child that
/// started harnesses of its own would recurse without end. That
/// `.enabled(if:)` is the harness's mode switch; a missing tool is a skip
/// reported by each test (`requireHarness`).
@Suite(.enabled(if: USBTransportLiveTests.harnessMode == nil),
       .serialized, .tags(.process, .pty, .hardwareInTheLoop), .hardwareInTheLoopBench)
struct USBTransportUnderHarnessTests {
    /// A Python with the gi module (the system one; a pyenv shim may not
    /// have it), or nil; probed once, within a time limit.
    static var python: String? {
        get async { await pythonProbe.value }
    }

    private static let pythonProbe = Task<String?, Never> {
        for candidate in ["/usr/bin/python3", RepositoryFiles.executable("python3")].compactMap({ $0 }) {
            let probe = try? await ChildProcess.run(candidate, ["-c", "import gi; gi.require_version('UMockdev', '1.0')"],
                                                    timeLimit: .seconds(30))
            if probe?.status == 0 && probe?.signalled == false { return candidate }
        }
        return nil
    }

    /// The harness's Python, or the running test is reported as skipped with the reason.
    static func requireHarness(sourceLocation: SourceLocation = #_sourceLocation) async throws -> String {
        _ = try Requirements.tool("umockdev-wrapper", "apt-get install umockdev", sourceLocation: sourceLocation)
        return try Requirements.require(
            await python, "no python3 with gi and UMockdev (apt-get install python3-gi gir1.2-umockdev-1.0)",
            sourceLocation: sourceLocation)
    }

    struct Run { var status: Int32; var output: String }

    /// Runs this test binary under the harness, stdout and stderr merged; a
    /// hung child is killed after two minutes and fails the test as timed out.
    static func runLiveTests(mode: String, harnessArguments: [String],
                             sourceLocation: SourceLocation = #_sourceLocation) async throws -> Run {
        let python = try await requireHarness(sourceLocation: sourceLocation)
        let result = try await ChildProcess.run(
            python,
            [RepositoryFiles.path("Tests/Harness/usb_wand.py")] + harnessArguments + [
                "--", CommandLine.arguments[0], "--testing-library", "swift-testing", "--filter", "WandLinkTests.USBTransportLiveTests/",
            ],
            environment: ["PUMPWAND_USB_HARNESS": mode], mergingStandardError: true, timeLimit: .seconds(120))
        return Run(status: result.status, output: result.stdout)
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

    @Test func echoThroughRealLibusb() async throws {
        let run = try await Self.runLiveTests(mode: "echo", harnessArguments: ["--mode", "echo"])
        Self.expectPassed(run, [
            "aMessageSpanningSeveralPacketsIsEchoedWhole", "aMessageOfWholePacketsIsEchoedWhole",
            "aSecondOpenIsBusyUntilTheFirstCloses",
        ])
    }

    /// The relay mode, as wandsim on a pty will use it: the harness relays
    /// the wand's bulk endpoints to a pty, and this test echoes on its master.
    @Test func echoRelayedThroughAPty() async throws {
        _ = try await Self.requireHarness()
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
        let run = try await Self.runLiveTests(
            mode: "echo", harnessArguments: ["--mode", "relay", "--relay", "path:\(pty.slavePath)"])
        Self.expectPassed(run, ["aMessageSpanningSeveralPacketsIsEchoedWhole", "aMessageOfWholePacketsIsEchoedWhole"])
    }

    @Test func timeoutThroughRealLibusb() async throws {
        let run = try await Self.runLiveTests(mode: "silent", harnessArguments: ["--mode", "silent"])
        Self.expectPassed(run, ["aWandThatNeverAnswersTimesOut"])
    }

    @Test func unplugThroughRealLibusb() async throws {
        let run = try await Self.runLiveTests(
            mode: "unplug-after-10", harnessArguments: ["--mode", "echo", "--unplug-after-bytes", "10"])
        Self.expectPassed(run, ["anUnpluggedWandIsReportedAsUnplugged"])
    }
}
