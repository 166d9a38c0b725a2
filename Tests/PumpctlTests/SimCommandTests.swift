import Foundation
import Testing
import TestSupport

/// `pumpctl --simulator sim ...` on the built binary.
@Suite(.serialized, .tags(.process), .childProcesses) struct SimCommandTests {
    /// Holds every folder the test makes; removed when the test ends.
    let temporary = TemporaryDirectory.make(prefix: "pumpwand-sim")

    func stateDirectory() throws -> String {
        let url = URL(fileURLWithPath: temporary.file("pumpctl-sim-\(UUID().uuidString)"))
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url.path
    }

    func sim(_ directory: String, _ arguments: [String], json: Bool = false) async throws -> PumpctlRun.Result {
        try await PumpctlRun.run(["--simulator", "--state-dir", directory] + (json ? ["--json"] : []) + ["sim"] + arguments)
    }

    func status(_ directory: String) async throws -> [String: Any] {
        let result = try await sim(directory, ["status"], json: true)
        #expect(result.status == 0, "\(result.stderr)")
        let object = try JSONSerialization.jsonObject(with: Data(result.stdout.utf8))
        return object as? [String: Any] ?? [:]
    }

    func figure(_ object: [String: Any], _ key: String) -> (value: Double, unit: String)? {
        guard let quantity = object[key] as? [String: Any], let value = quantity["value"] as? Double,
              let unit = quantity["unit"] as? String else { return nil }
        return (value, unit)
    }

    @Test func refusedWithoutTheSimulatorFlag() async throws {
        let directory = try stateDirectory()
        let result = try await PumpctlRun.run(["--state-dir", directory, "sim", "status"])
        #expect(result.status == 64)
        #expect(result.stderr.contains("--simulator"))
        #expect(!FileManager.default.fileExists(atPath: directory + "/simulator.json"))
    }

    @Test func aFreshPumpOnFirstUse() async throws {
        let directory = try stateDirectory()
        let report = try await status(directory)
        #expect(report["simulated"] as? Bool == true)
        #expect(report["model"] as? String == "RP-20")
        #expect(figure(report, "reservoir_volume")?.unit == "mL")
        // 12 mL, less what a second or two of 0.2 mL/day delivers (2.3 nL a second).
        #expect(figure(report, "reservoir_volume").map { $0.value > 11.999 && $0.value <= 12 } == true)
        #expect(figure(report, "total_delivered")?.unit == "mcg")
        #expect(report["boluses_delivered"] as? Int == 0)
        #expect((report["alarms"] as? [Any])?.isEmpty == true)
        let rejected = report["rejected"] as? [String: Any]
        #expect(rejected?["authentication_failures"] as? Int == 0)
        #expect(rejected?["bad_frames"] as? Int == 0)
        #expect((report["clock"] as? String)?.hasSuffix("Z") == true)
        #expect(FileManager.default.fileExists(atPath: directory + "/simulator.json"))
    }

    @Test func advanceDeliversAsThePumpWould() async throws {
        let directory = try stateDirectory()
        _ = try await status(directory)
        let advanced = try await sim(directory, ["advance", "30d"])
        #expect(advanced.status == 0, "\(advanced.stderr)")
        // 30 days x 0.2 mL/day = 6 mL of 2000 mcg/mL = 12,000 mcg; 12 - 6 = 6 mL left
        // (less the few seconds of wall-clock time between the commands).
        let report = try await status(directory)
        #expect(figure(report, "reservoir_volume").map { $0.value > 5.999 && $0.value <= 6 } == true)
        #expect(figure(report, "total_delivered").map { $0.value >= 12_000 && $0.value < 12_001 } == true)
        // 40 days more: 8 mL more would take it to -2 mL; at 2 mL left (day 50 from the
        // start) the low-reservoir alarm, at 0 mL (day 60) empty.
        #expect(try await sim(directory, ["advance", "40d"]).status == 0)
        let names = (try await status(directory)["alarms"] as? [[String: Any]])?.compactMap { $0["name"] as? String }
        #expect(names == ["low-reservoir", "empty-reservoir"])
        #expect(try await sim(directory, ["advance", "30"]).status == 64) // no unit
        #expect(try await sim(directory, ["advance", "0d"]).status == 64)
    }

    @Test func faultsShowAsAlarmsAndStopDelivery() async throws {
        let directory = try stateDirectory()
        let injected = try await sim(directory, ["fault", "motor-stall"])
        #expect(injected.status == 0)
        #expect(injected.stdout.contains("SIMULATED"))
        let before = figure(try await status(directory), "total_delivered")?.value
        #expect(try await sim(directory, ["advance", "2d"]).status == 0)
        let report = try await status(directory)
        #expect(figure(report, "total_delivered")?.value == before)
        let alarms = report["alarms"] as? [[String: Any]]
        #expect(alarms?.first?["name"] as? String == "motor-stall")
        #expect(alarms?.first?["code"] as? Int != nil)
        #expect(try await sim(directory, ["fault", "clock-drift"]).status == 64) // needs --minutes
        #expect(try await sim(directory, ["fault", "clock-drift", "--minutes=-5"]).status == 0)
        #expect(try await sim(directory, ["fault", "no-such-fault"]).status == 64)
    }

    @Test func aHandshakeReplyCorruptedPastItsCRCIsOpenedAgainNotADeviceFault() async throws {
        let directory = try stateDirectory()
        #expect(try await sim(directory, ["fault", "corrupt-next-handshake-reply"]).status == 0)
        let read = try await PumpctlRun.run(["--simulator", "--state-dir", directory, "--json", "interrogate"])
        #expect(read.status == 0, "\(read.stderr)")
        #expect(!read.stdout.isEmpty)
    }

    @Test func aCorruptStateIsRefusedAndResetReplacesIt() async throws {
        let directory = try stateDirectory()
        let path = directory + "/simulator.json"
        let garbage = Data("{\"format_version\": 1, \"identity\"".utf8)
        try garbage.write(to: URL(fileURLWithPath: path))
        let refused = try await sim(directory, ["status"])
        #expect(refused.status == 70)
        #expect(refused.stderr.contains("corrupt"))
        #expect(try Data(contentsOf: URL(fileURLWithPath: path)) == garbage)
        let reset = try await sim(directory, ["reset", "--profile", "RP-40"])
        #expect(reset.status == 0)
        #expect(try await status(directory)["model"] as? String == "RP-40")
    }

    @Test func everyTextLineSaysSimulated() async throws {
        let directory = try stateDirectory()
        for arguments in [["status"], ["advance", "90min"], ["fault", "battery-eri"], ["status"], ["reset"]] {
            let result = try await sim(directory, arguments)
            #expect(result.status == 0)
            let lines = result.stdout.split(separator: "\n")
            #expect(!lines.isEmpty)
            #expect(lines.allSatisfy { $0.contains("SIMULATED") }, "\(arguments): \(result.stdout)")
        }
    }

    /// The pump's event log reads in words and units: volumes in mL (a
    /// bolus to 0.001 mL), the alarm by name, the clock change as a
    /// duration; JSON gives the same as typed values beside the raw detail.
    @Test func theEventLogDecodesEachDetail() async throws {
        let directory = try stateDirectory()
        let base = ["--simulator", "--state-dir", directory, "--operator", "test.tech"]
        #expect(try await PumpctlRun.run(base + ["--yes", "bolus", "--dose", "50mcg"]).status == 0)
        #expect(try await PumpctlRun.run(base + ["--yes", "refill", "--withdrawn", "12mL", "--added", "18mL",
                                                 "--concentration", "2000mcg/mL"]).status == 0)
        #expect(try await sim(directory, ["fault", "clock-drift", "--minutes=-5"]).status == 0)
        #expect(try await PumpctlRun.run(base + ["--yes", "clock", "--sync"]).status == 0)
        #expect(try await sim(directory, ["fault", "motor-stall"]).status == 0)
        let log = try await PumpctlRun.run(base + ["log"], environment: ["NO_COLOR": "1", "COLUMNS": "200"])
        #expect(log.status == 0, "\(log.stderr)")
        let lines = log.stdout.split(separator: "\n").map(String.init)
        func line(_ event: String) -> String? { lines.first { $0.contains(event) } }
        #expect(line("bolus started")?.hasSuffix("0.025mL") == true, "\(log.stdout)")
        #expect(line("refill begun")?.hasSuffix("expected residual 12mL") == true, "\(log.stdout)")
        #expect(line("refill completed")?.hasSuffix("18mL added") == true, "\(log.stdout)")
        #expect(line("refill volume withdrawn")?.hasSuffix("12mL withdrawn") == true, "\(log.stdout)")
        #expect(line("clock set")?.hasSuffix("moved 5 min ahead") == true, "\(log.stdout)")
        #expect(line("alarm raised")?.hasSuffix("motor stall") == true, "\(log.stdout)")
        // No raw nanolitre counts on the screen.
        #expect(!log.stdout.contains("25000") && !log.stdout.contains("18000000"), "\(log.stdout)")
        // Times in the clinic's zone with the offset, and --since takes them back as printed.
        let local = try await PumpctlRun.run(base + ["--tz", "America/Los_Angeles", "log"], environment: ["NO_COLOR": "1", "COLUMNS": "200"])
        let printed = try #require(local.stdout.firstMatch(of: /\d{4}-\d\d-\d\d \d\d:\d\d -0[78]:00( \(P[SD]T\))?/).map { String($0.0) },
                                   "\(local.stdout)")
        let since = try await PumpctlRun.run(base + ["log", "--since", printed], environment: ["NO_COLOR": "1", "COLUMNS": "200"])
        #expect(since.status == 0, "\(since.stderr)")
        #expect(since.stdout.contains("alarm raised"), "\(since.stdout)")

        let json = try await PumpctlRun.run(base + ["--json", "log"])
        let object = try #require(try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any])
        let events = try #require(object["events"] as? [[String: Any]])
        let refill = try #require(events.first { $0["event"] as? String == "refill completed" })
        // The detail once, typed: no wire integer (18000000 nL) beside it.
        #expect(refill["detail"] == nil)
        let volume = try #require((refill["decoded"] as? [String: Any])?["volume"] as? [String: Any])
        #expect(volume["unit"] as? String == "mL")
        #expect((volume["value"] as? NSNumber)?.intValue == 18)
    }
}

