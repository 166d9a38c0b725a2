import Foundation
import Testing

/// `pumpctl wands --json` against fake wands: umockdev gives the child a
/// fake sysfs and /dev, so the real libudev and libusb code paths run.
@Suite struct DiscoveryUnderUmockdevTests {
    static let repositoryRoot = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    static func fixture(_ name: String) -> String {
        repositoryRoot.appendingPathComponent("hardware/umockdev/\(name)").path
    }

    /// `umockdev-run` on PATH, or nil with the reason printed. CI installs
    /// umockdev, so the tests run there.
    static var umockdevRun: String? {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"
        for folder in path.split(separator: ":") {
            let candidate = "\(folder)/umockdev-run"
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
        }
        print("skipping umockdev discovery tests: umockdev-run is not on PATH (apt-get install umockdev)")
        return nil
    }

    struct Listed: Equatable {
        var serial: String, usbPath: String, ttyPath: String?, firmware: String, product: String
        var vendorInterfacePresent: Bool?
    }

    /// Runs `pumpctl wands --json` under umockdev and decodes the documented
    /// snake_case keys by hand, so the test pins the JSON contract itself.
    static func listWands(device: String?) throws -> [Listed]? {
        guard umockdevRun != nil else { return nil }
        let wrapper = ["umockdev-run"] + (device.map { ["-d", fixture($0)] } ?? []) + ["--"]
        let result = try PumpctlRun.run(["wands", "--json"], wrapper: wrapper)
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

    @Test func oneWandIsReportedWithItsSerialTtyAndFirmware() throws {
        guard let wands = try Self.listWands(device: "wand.umockdev") else { return }
        // bcdDevice 0x0100 in the fixture reads as firmware "1.00"; the root
        // hub (1d6b:0001) in the same fixture must not be listed.
        #expect(wands == [
            Listed(serial: "PW1-000123", usbPath: "/dev/bus/usb/001/002", ttyPath: "/dev/ttyACM0",
                   firmware: "1.00", product: "PumpWand Programmer Wand", vendorInterfacePresent: true),
        ])
    }

    @Test func twoWandsAreBothReportedInSerialOrder() throws {
        guard let wands = try Self.listWands(device: "two-wands.umockdev") else { return }
        #expect(wands.map(\.serial) == ["PW1-000123", "PW1-000456"])
        #expect(wands.map(\.usbPath) == ["/dev/bus/usb/001/002", "/dev/bus/usb/001/003"])
        #expect(wands.map(\.ttyPath) == ["/dev/ttyACM0", "/dev/ttyACM1"])
        #expect(wands.allSatisfy { $0.vendorInterfacePresent == true })
    }

    @Test func noDeviceGivesAnEmptyListAndSuccess() throws {
        guard let wands = try Self.listWands(device: nil) else { return }
        #expect(wands.isEmpty)
    }
}
