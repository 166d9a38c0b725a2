import Foundation
import Testing
import TestSupport

/// `--wand` selection through the real libudev and libusb: the test program
/// `wand-selection-probe` (Tests/Probes/WandSelectionProbe) opens a wand
/// with `WandSelection` inside a umockdev testbed, static (`umockdev-run`)
/// or with a live wand answering on its bulk endpoints (usb_wand.py).
@Suite(.serialized, .tags(.process, .hardwareInTheLoop), .hardwareInTheLoopBench) struct WandSelectionUnderUmockdevTests {
    static func probe(_ arguments: [String], device: String?) async throws -> PumpctlRun.Result {
        let wrapper = ["umockdev-run"] + (device.map { ["-d", UmockdevTools.path("hardware/umockdev/\($0)")] } ?? []) + ["--"]
        return try await PumpctlRun.run(arguments, executable: "wand-selection-probe", wrapper: wrapper)
    }

    static func probeWithLiveWand(_ arguments: [String], harness: [String] = []) async throws -> PumpctlRun.Result {
        let python = try await UmockdevTools.requireHarness()
        return try await PumpctlRun.run(
            arguments, executable: "wand-selection-probe",
            wrapper: [python, UmockdevTools.path("Tests/Harness/usb_wand.py"), "--mode", "echo"] + harness + ["--"])
    }

    @Test func withNoWandAttachedSelectionFailsAndSaysSo() async throws {
        try UmockdevTools.requireUmockdevRun()
        let result = try await Self.probe([], device: nil)
        #expect(result.status == 69)
        #expect(result.stdout.contains("failure: noWandAttached"), "stdout: \(result.stdout)")
        #expect(result.stderr.contains("No wand is attached. Nothing was sent."))
        #expect(!result.stdout.contains("peer:"))
    }

    @Test func withTwoWandsAttachedSelectionFailsAndListsBoth() async throws {
        try UmockdevTools.requireUmockdevRun()
        let result = try await Self.probe([], device: "two-wands.umockdev")
        #expect(result.status == 69)
        #expect(result.stdout.contains("failure: severalWandsAttached"), "stdout: \(result.stdout)")
        #expect(result.stderr.contains("2 wands are attached"))
        #expect(result.stderr.contains("  PW1-000123  /dev/bus/usb/001/002  /dev/ttyACM0\n"))
        #expect(result.stderr.contains("  PW1-000456  /dev/bus/usb/001/003  /dev/ttyACM1\n"))
    }

    @Test func anUnknownSerialNumberAmongTwoWandsIsNotFound() async throws {
        try UmockdevTools.requireUmockdevRun()
        let result = try await Self.probe(["--wand", "PW1-000999"], device: "two-wands.umockdev")
        #expect(result.status == 69)
        #expect(result.stdout.contains("failure: wandNotAttached"), "stdout: \(result.stdout)")
        #expect(result.stderr.contains("No attached wand has serial number PW1-000999"))
        #expect(result.stderr.contains("PW1-000456  /dev/bus/usb/001/003"))
    }

    @Test(arguments: [[], ["--wand", "PW1-000123"], ["--wand", "/dev/bus/usb/001/002"]])
    func theOneLiveWandIsOpenedOnItsVendorInterfaceAndEchoes(selection: [String]) async throws {
        let result = try await Self.probeWithLiveWand(selection + ["--echo", "hello wand"])
        #expect(result.status == 0, "stdout: \(result.stdout)\nstderr: \(result.stderr)")
        let lines = result.stdout.split(separator: "\n").map(String.init)
        let expectedRoute = selection.last == "/dev/bus/usb/001/002"
            ? "route: USB /dev/bus/usb/001/002"
            : "route: wand PW1-000123 on USB /dev/bus/usb/001/002 (vendor interface)"
        #expect(lines == [
            expectedRoute,
            "peer: wand PW1-000123 on USB /dev/bus/usb/001/002",
            "echo: hello wand",
        ])
    }

    @Test func aSelectedWandThatIsUnpluggedReportsUnplugged() async throws {
        // The harness unplugs the wand once 4 bytes have arrived: the
        // 10-byte write lands, the read that follows finds the wand gone.
        let result = try await Self.probeWithLiveWand(
            ["--wand", "PW1-000123", "--echo", "hello wand"], harness: ["--unplug-after-bytes", "4"])
        #expect(result.status == 74, "stdout: \(result.stdout)\nstderr: \(result.stderr)")
        #expect(result.stdout.contains("peer: wand PW1-000123"))
        #expect(result.stdout.contains("failure: transport.unplugged"), "stdout: \(result.stdout)")
        #expect(result.stderr.contains("The wand was disconnected."))
    }
}
