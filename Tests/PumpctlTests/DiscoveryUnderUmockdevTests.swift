import Foundation
import Testing
import TestSupport

/// `pumpctl wands --json` against fake wands: umockdev gives the child a
/// fake sysfs and /dev, so the real libudev and libusb code paths run.
@Suite(.serialized, .tags(.process, .hardwareInTheLoop), .childProcesses) struct DiscoveryUnderUmockdevTests {
    static let repositoryRoot = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    static func fixture(_ name: String) -> String {
        repositoryRoot.appendingPathComponent("hardware/umockdev/\(name)").path
    }


    struct Listed: Equatable {
        var serial: String, usbPath: String, ttyPath: String?, firmware: String, product: String
        var vendorInterfacePresent: Bool?
    }

    /// Runs `pumpctl wands --json` under umockdev and decodes the documented
    /// snake_case keys by hand, so the test pins the JSON contract itself.
    /// Without `umockdev-run` on PATH the test is reported as skipped. CI
    /// installs umockdev, so the tests run there.
    static func listWands(device: String?, sourceLocation: SourceLocation = #_sourceLocation) async throws -> [Listed] {
        try UmockdevTools.requireUmockdevRun(sourceLocation: sourceLocation)
        let wrapper = ["umockdev-run"] + (device.map { ["-d", fixture($0)] } ?? []) + ["--"]
        let result = try await PumpctlRun.run(["wands", "--json"], wrapper: wrapper)
        #expect(result.status == 0, "stderr: \(result.stderr)")
        let object = try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any]
        let wands = try #require(object?["wands"] as? [[String: Any]], "stdout: \(result.stdout)")
        return wands.map {
            Listed(
                serial: $0["serial_number"] as? String ?? "<missing>",
                usbPath: $0["usb_path"] as? String ?? "<missing>",
                ttyPath: $0["tty_path"] as? String,
                firmware: $0["firmware_version"] as? String ?? "<missing>",
                product: $0["product"] as? String ?? "<missing>",
                vendorInterfacePresent: $0["vendor_interface_present"] as? Bool)
        }
    }

    @Test func oneWandIsReportedWithItsSerialTtyAndFirmware() async throws {
        let wands = try await Self.listWands(device: "wand.umockdev")
        // bcdDevice 0x0100 in the fixture reads as firmware "1.00"; the root
        // hub (1d6b:0001) in the same fixture must not be listed.
        #expect(wands == [
            Listed(serial: "PW1-000123", usbPath: "/dev/bus/usb/001/002", ttyPath: "/dev/ttyACM0",
                   firmware: "1.00", product: "PumpWand Programmer Wand", vendorInterfacePresent: true),
        ])
    }

    @Test func twoWandsAreBothReportedInSerialOrder() async throws {
        let wands = try await Self.listWands(device: "two-wands.umockdev")
        #expect(wands.map(\.serial) == ["PW1-000123", "PW1-000456"])
        #expect(wands.map(\.usbPath) == ["/dev/bus/usb/001/002", "/dev/bus/usb/001/003"])
        #expect(wands.map(\.ttyPath) == ["/dev/ttyACM0", "/dev/ttyACM1"])
        #expect(wands.allSatisfy { $0.vendorInterfacePresent == true })
    }

    @Test func noDeviceGivesAnEmptyListAndSuccess() async throws {
        let wands = try await Self.listWands(device: nil)
        #expect(wands.isEmpty)
    }
}
