import Foundation
import Testing
import TestSupport

/// `pumpctl link loopback` and `link status` on the built binary, against
/// the simulated wand in process. The same commands take `--wand PATH` for
/// a wandsim pty or a real wand.
@Suite(.serialized, .tags(.process), .childProcesses) struct BringupLinkTests {
    /// Holds every folder the test makes; removed when the test ends.
    let temporary = TemporaryDirectory.make(prefix: "pumpwand-link")

    func stateDir() -> String { Self.stateDir(in: temporary) }

    /// A new state directory in `temporary` (the calling suite's), so it
    /// goes when that suite's test ends.
    static func stateDir(in temporary: TemporaryDirectory) -> String {
        let path = temporary.file("link-" + UUID().uuidString)
        try? FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }

    static func object(_ text: String) -> [String: Any]? {
        (try? JSONSerialization.jsonObject(with: Data(text.utf8))) as? [String: Any]
    }

    @Test func loopbackThroughTheSimulatedWandLosesNothingAndReportsEveryFigure() async throws {
        let dir = stateDir()
        let run = try await PumpctlRun.run(["--simulator", "--state-dir", dir, "--json", "link", "loopback", "--count", "25", "--size", "200"])
        #expect(run.status == 0, "\(run.stderr)")
        let report = try #require(Self.object(run.stdout))
        #expect(report["simulated"] as? Bool == true)
        #expect(report["count"] as? Int == 25)
        #expect(report["size"] as? Int == 200)
        #expect(report["sent"] as? Int == 25)
        #expect(report["received"] as? Int == 25)
        #expect(report["lost"] as? Int == 0)
        #expect(report["corrupted"] as? Int == 0)
        #expect(report["refused"] as? Int == 0)
        #expect((report["wand"] as? [String: Any])?["serial"] as? String == "PW1-900001")
        let latency = try #require(report["latency_ms"] as? [String: Double])
        let p50 = try #require(latency["p50"]), p95 = try #require(latency["p95"])
        let p99 = try #require(latency["p99"]), top = try #require(latency["max"])
        // Percentiles of one sample set are ordered, whatever the machine's speed.
        #expect(p50 > 0 && p50 <= p95 && p95 <= p99 && p99 <= top)
        // 25 intact echoes of 200 bytes went through in a positive time.
        #expect((report["throughput_bytes_per_s"] as? Double ?? 0) > 0)
        #expect(run.stderr.contains("SIMULATED"))
    }

    @Test func emptyEchoesAreAllowedAndTheTextReportNamesTheCounts() async throws {
        let dir = stateDir()
        let run = try await PumpctlRun.run(["--simulator", "--state-dir", dir, "link", "loopback", "--count", "3", "--size", "0"])
        #expect(run.status == 0, "\(run.stderr)")
        #expect(run.stdout.contains("SIMULATED WAND"))
        #expect(run.stdout.contains("sent 3  received 3  lost 0  corrupted 0"))
        #expect(run.stdout.contains("Wand PW1-900001, firmware 1.0.0"))
    }

    @Test func sizesBeyondTheWandsLoopbackLimitAreUsageErrors() async throws {
        let dir = stateDir()
        let tooBig = try await PumpctlRun.run(["--simulator", "--state-dir", dir, "link", "loopback", "--size", "257"])
        #expect(tooBig.status == 64)
        #expect(tooBig.stderr.contains("--size must be 0 ... 256"))
        let none = try await PumpctlRun.run(["--simulator", "--state-dir", dir, "link", "loopback", "--count", "0"])
        #expect(none.status == 64)
    }

    @Test func linkStatusReportsTheWandsCounters() async throws {
        let dir = stateDir()
        let run = try await PumpctlRun.run(["--simulator", "--state-dir", dir, "--json", "link", "status"])
        #expect(run.status == 0, "\(run.stderr)")
        let report = try #require(Self.object(run.stdout))
        #expect(report["pump_in_range"] as? Bool == true)
        let quality = try #require(report["signal_quality_percent"] as? Int)
        #expect((0...100).contains(quality))
        for key in ["crc_errors", "retries", "frames_relayed"] { #expect(report[key] is Int, "\(key)") }
        #expect((report["wand"] as? [String: Any])?["firmware"] as? String == "1.0.0")

        let text = try await PumpctlRun.run(["--simulator", "--state-dir", dir, "link", "status"])
        #expect(text.status == 0)
        #expect(text.stdout.contains("pump in range: yes"))
    }

    @Test func simulatorAndWandExcludeEachOther() async throws {
        let run = try await PumpctlRun.run(["--simulator", "--wand", "/dev/null", "--state-dir", stateDir(), "link", "status"])
        #expect(run.status == 64)
    }
}
