import Foundation
import Glibc
import Testing
import TestSupport

/// pumpctl against the pump's refill time limit and the refill's rule for
/// infusion afterwards, on the built binary with the in-process simulator.
@Suite(.serialized, .tags(.process), .childProcesses) struct RefillTimeLimitCommandTests {
    /// Removed when the test ends.
    let temporary = TemporaryDirectory.make(prefix: "pumpwand-refill-limit")
    var stateDir: String { temporary.path }

    static let prescriptions: String = {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("examples/prescriptions").path
    }()

    func pumpctl(_ arguments: [String], environment: [String: String] = [:]) async throws -> PumpctlRun.Result {
        try await PumpctlRun.run(["--simulator", "--state-dir", stateDir, "--operator", "test.tech"] + arguments, environment: environment)
    }

    /// pumpctl killed right after refill begin, and nobody comes back for
    /// 31 minutes: the pump ended the refill itself, and interrogate says
    /// the reservoir is unknown and what to do; a cancel now sends nothing.
    @Test func aRefillLeftOpenIsEndedByThePumpAndShownAsSuch() async throws {
        let refill = ["refill", "--withdrawn", "12mL", "--added", "20mL", "--concentration", "2000mcg/mL", "--yes"]
        let killed = try await pumpctl(refill, environment: ["PUMPWAND_SIMULATOR_CRASH_AT": "after-outcome:1"])
        #expect(killed.signalled && killed.status == SIGKILL, "expected SIGKILL, got \(killed.status): \(killed.stderr)")
        #expect(try await pumpctl(["sim", "advance", "31min"]).status == 0)
        let shown = try await pumpctl(["interrogate"])
        // The pump delivers (0x0008 does not stop delivery), from a
        // reservoir that may be empty: its own exit status, never 79.
        #expect(shown.status == 80, "\(shown.stdout) \(shown.stderr)")
        #expect(shown.stdout.contains("DELIVERING, BUT THE RESERVOIR MAY BE EMPTY"), "\(shown.stdout)")
        #expect(!shown.stdout.contains("NOT DELIVERING"), "\(shown.stdout)")
        #expect(!shown.stdout.contains("(delivery stopped)"), "\(shown.stdout)")
        #expect(!shown.stdout.contains("is not receiving"), "\(shown.stdout)")
        #expect(shown.stdout.contains("Refill now"), "\(shown.stdout)")
        #expect(shown.stdout.contains("UNKNOWN after an abandoned refill"), "\(shown.stdout)")
        #expect(!shown.stdout.contains("within ten years"), "\(shown.stdout)")
        let interrogated = try await pumpctl(["--json", "interrogate"])
        let status = try JSONSerialization.jsonObject(with: Data(interrogated.stdout.utf8)) as? [String: Any]
        #expect(status?["reservoir_contents_unknown"] as? Bool == true)
        #expect(status?["days_to_alarm"] is NSNull)
        #expect(status?["not_delivering"] is NSNull)
        let alarms = status?["alarms"] as? [[String: Any]]
        #expect(alarms?.first?["stops_delivery"] as? Bool == false)
        let log = try await pumpctl(["log"])
        #expect(log.stdout.contains("refill abandoned"), "\(log.stdout)")
        let cancel = try await pumpctl(["refill", "--cancel", "--yes"])
        #expect(cancel.status == 65, "\(cancel.stdout) \(cancel.stderr)")
        #expect((cancel.stdout + cancel.stderr).contains("no refill is in progress"), "\(cancel.stdout) \(cancel.stderr)")
        #expect((cancel.stdout + cancel.stderr).contains("the pump ended the refill left open"), "\(cancel.stdout) \(cancel.stderr)")
        #expect(!(cancel.stdout + cancel.stderr).contains("Cancel the refill in progress"), "\(cancel.stdout) \(cancel.stderr)")
        // The session read the pump; no change went out.
        #expect((cancel.stdout + cancel.stderr).contains("No change was sent to the pump."), "\(cancel.stdout) \(cancel.stderr)")
        // Last: it needs python3 with jsonschema (a reported skip without).
        let problems = try await JSONContractTests.violations(of: interrogated.stdout, schema: "interrogate.json")
        #expect(problems.isEmpty, "\(problems)")
    }

    /// A refill with a prescription on a stopped pump: the review says
    /// before the prompt that infusion remains stopped, and it does.
    @Test func aRefillWithAPrescriptionSaysAStoppedPumpStaysStopped() async throws {
        #expect(try await pumpctl(["stop", "--yes", "--override", "withdrawal.risk=catheter revision this morning"]).status == 0)
        let refill = try await pumpctl(["refill", "--withdrawn", "12mL", "--added", "20mL", "--concentration", "2000mcg/mL",
                                        "--prescription", Self.prescriptions + "/baclofen-continuous-450.json", "--yes",
                                        "--override", "titration.within-24h=restart dose agreed with the physician"])
        #expect(refill.status == 0, "\(refill.stdout) \(refill.stderr)")
        // The review (before the prompt, on stderr) and then the result.
        #expect(refill.stderr.contains("after the refill: infusion remains stopped: resume to start"), "\(refill.stderr)")
        #expect(refill.stdout.contains("NOT DELIVERING (infusion stopped)"), "\(refill.stdout)")
        // The report files the PRESCRIBED dose the refill programmed, marked
        // not delivered, not the stopped pump's delivered 0.
        let path = try #require(refill.stdout.split(separator: "\n").first { $0.hasPrefix("Report: ") && $0.hasSuffix(".md") })
        let markdown = try String(contentsOfFile: String(path.dropFirst("Report: ".count)), encoding: .utf8)
        #expect(markdown.contains("450mcg/day prescribed, NOT DELIVERED (stopped)"), "\(markdown)")
        #expect(!markdown.contains("| Daily dose | 0mcg/day"), "\(markdown)")
        let shown = try await pumpctl(["interrogate"])
        #expect(shown.stdout.contains("NOT DELIVERING (infusion stopped)"), "\(shown.stdout)")
    }
}
