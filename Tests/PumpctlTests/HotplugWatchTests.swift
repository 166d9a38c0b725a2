import Foundation
import Testing
import TestSupport

/// `pumpctl wands --watch --json` sees a wand arrive and leave: the built
/// pumpctl runs inside a umockdev testbed whose uevents reach its real
/// libudev monitor (Tests/Harness/hotplug_watch.py drives the testbed).
@Suite(.serialized, .tags(.process, .hardwareInTheLoop), .hardwareInTheLoopBench) struct HotplugWatchTests {
    static let wandSysPath = "/sys/devices/pci0000:00/0000:00:14.0/usb1/1-2"
    /// Beyond the driver's own 60 s waits, so a stuck watch is reported by
    /// the driver ("timeout: ...") before the run's time limit kills it.
    static let harnessTimeLimit: Duration = .seconds(150)

    @Test func arrivalThenRemovalOfPW1_000123AreStreamedAndSIGTERMEndsWithStatus0() async throws {
        let python = try await UmockdevTools.requireHarness()
        let result = try await PumpctlRun.run(
            ["wands", "--watch", "--json"],
            wrapper: [
                python, UmockdevTools.path("Tests/Harness/hotplug_watch.py"),
                "--fixture", UmockdevTools.path("hardware/umockdev/wand.umockdev"),
                "--syspath", Self.wandSysPath, "--",
            ], timeLimit: Self.harnessTimeLimit)
        let report = result.stdout.split(separator: "\n").map(String.init)
        #expect(result.status == 0, "driver report:\n\(result.stdout)\nstderr:\n\(result.stderr)")
        #expect(!report.contains { $0.hasPrefix("timeout:") }, "\(report)")
        #expect(report.last == "exit: 0", "the watch must end normally on SIGTERM: \(report)")

        let objects = try report.filter { $0.hasPrefix("child: ") }.map { line in
            let data = Data(line.dropFirst("child: ".count).utf8)
            return try #require(JSONSerialization.jsonObject(with: data) as? [String: Any], "not JSON: \(line)")
        }
        // The testbed starts empty: no "present" lines, then the marker,
        // then exactly one arrival and one removal of the wand (the root hub
        // added from the same fixture is not a wand).
        #expect(objects.map { $0["event"] as? String } == ["watching", "arrived", "removed"])
        for event in objects.dropFirst() {
            #expect(event["serial_number"] as? String == "PW1-000123")
            #expect(event["sys_path"] as? String == Self.wandSysPath)
        }
        #expect(objects.dropFirst().first?["usb_path"] as? String == "/dev/bus/usb/001/002")
        #expect(objects.dropFirst().first?["bus_number"] as? Int == 1)
        #expect(objects.dropFirst().first?["device_address"] as? Int == 2)
    }

    @Test func wandsAlreadyAttachedAreListedBeforeWatching() async throws {
        let python = try await UmockdevTools.requireHarness()
        let result = try await PumpctlRun.run(
            ["wands", "--watch", "--json"],
            wrapper: [
                python, UmockdevTools.path("Tests/Harness/hotplug_watch.py"),
                "--present", UmockdevTools.path("hardware/umockdev/two-wands.umockdev"), "--",
            ], timeLimit: Self.harnessTimeLimit)
        let report = result.stdout.split(separator: "\n").map(String.init)
        #expect(result.status == 0, "driver report:\n\(result.stdout)\nstderr:\n\(result.stderr)")
        #expect(report.last == "exit: 0", "\(report)")
        let objects = try report.filter { $0.hasPrefix("child: ") }.map { line in
            let data = Data(line.dropFirst("child: ".count).utf8)
            return try #require(JSONSerialization.jsonObject(with: data) as? [String: Any], "not JSON: \(line)")
        }
        #expect(objects.map { $0["event"] as? String } == ["present", "present", "watching"])
        #expect(objects.prefix(2).map { $0["serial_number"] as? String } == ["PW1-000123", "PW1-000456"])
        #expect(objects.prefix(2).map { $0["tty_path"] as? String } == ["/dev/ttyACM0", "/dev/ttyACM1"])
        #expect(objects.prefix(2).map { $0["usb_path"] as? String } == ["/dev/bus/usb/001/002", "/dev/bus/usb/001/003"])
    }
}
