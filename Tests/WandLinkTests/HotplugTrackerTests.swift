import Testing
@testable import WandLink

/// Which uevents are wand arrivals and removals, fed by hand as libudev
/// would report them. The umockdev test (PumpctlTests.HotplugWatchTests)
/// runs the same path through a real libudev monitor.
@Suite struct HotplugTrackerTests {
    static let wandSysPath = "/sys/devices/pci0000:00/0000:00:14.0/usb1/1-2"

    /// The uevent properties of the wand's USB device (as in
    /// hardware/umockdev/wand.umockdev).
    static let wandProperties = [
        "DEVTYPE": "usb_device", "PRODUCT": "1209/1/100", "BUSNUM": "001", "DEVNUM": "002",
        "ID_SERIAL_SHORT": "PW1-000123",
    ]
    static let wandAttributes = ["idVendor": "1209", "idProduct": "0001", "serial": "PW1-000123", "busnum": "1", "devnum": "2"]

    static func observe(
        _ tracker: inout HotplugTracker, _ action: String, sysPath: String = wandSysPath,
        properties: [String: String] = wandProperties, attributes: [String: String] = [:]
    ) -> WandHotplugEvent? {
        tracker.observe(
            action: action, sysPath: sysPath, devNode: "/dev/bus/usb/001/002",
            properties: { properties[$0] }, attribute: { attributes[$0] })
    }

    @Test func anArrivalThenItsRemovalCarryTheSerialNumber() throws {
        var tracker = HotplugTracker()
        let arrived = try #require(Self.observe(&tracker, "add", attributes: Self.wandAttributes))
        #expect(arrived == WandHotplugEvent(
            kind: .arrived, serialNumber: "PW1-000123", sysPath: Self.wandSysPath,
            usbPath: "/dev/bus/usb/001/002", busNumber: 1, deviceAddress: 2))
        // On removal the attributes are gone and the uevent has no serial.
        var removalProperties = Self.wandProperties
        removalProperties["ID_SERIAL_SHORT"] = nil
        let removed = try #require(Self.observe(&tracker, "remove", properties: removalProperties))
        #expect(removed.kind == .removed)
        #expect(removed.serialNumber == "PW1-000123")
        #expect(tracker.present.isEmpty)
    }

    @Test func aWandListedAtTheStartIsNotReportedAgainButItsRemovalIs() throws {
        let listed = WandRecord(
            serialNumber: "PW1-000123", busNumber: 1, deviceAddress: 2, usbPath: "/dev/bus/usb/001/002",
            sysPath: Self.wandSysPath, ttyPath: "/dev/ttyACM0", firmwareVersion: "1.00",
            product: WandIdentity.productString, vendorInterfacePresent: true)
        var tracker = HotplugTracker(initialWands: [listed])
        #expect(Self.observe(&tracker, "add", attributes: Self.wandAttributes) == nil)
        #expect(Self.observe(&tracker, "remove")?.serialNumber == "PW1-000123")
        // Plugged in again: a new arrival.
        #expect(Self.observe(&tracker, "add", attributes: Self.wandAttributes)?.kind == .arrived)
    }

    @Test func aRemovalOfAWandNeverSeenIsRecognisedByItsProductProperty() throws {
        var tracker = HotplugTracker()
        let removed = try #require(Self.observe(&tracker, "remove"))
        #expect(removed.serialNumber == "PW1-000123")
        #expect(removed.busNumber == 1 && removed.deviceAddress == 2)
    }

    @Test func otherDevicesInterfacesAndActionsAreIgnored() {
        var tracker = HotplugTracker()
        // The root hub, 1d6b:0001.
        let hub = ["DEVTYPE": "usb_device", "PRODUCT": "1d6b/1/606"]
        #expect(Self.observe(&tracker, "add", sysPath: "/sys/devices/x/usb1", properties: hub,
                             attributes: ["idVendor": "1d6b", "idProduct": "0001"]) == nil)
        #expect(Self.observe(&tracker, "remove", sysPath: "/sys/devices/x/usb1", properties: hub) == nil)
        // Another pid.codes product (1209:0002).
        #expect(Self.observe(&tracker, "add", properties: ["DEVTYPE": "usb_device", "PRODUCT": "1209/2/100"],
                             attributes: ["idVendor": "1209", "idProduct": "0002"]) == nil)
        // The wand's vendor interface has the same PRODUCT but is not the device.
        var interface = Self.wandProperties
        interface["DEVTYPE"] = "usb_interface"
        #expect(Self.observe(&tracker, "add", sysPath: Self.wandSysPath + "/1-2:1.0", properties: interface) == nil)
        // bind and change are not arrivals.
        #expect(Self.observe(&tracker, "bind", attributes: Self.wandAttributes) == nil)
        #expect(Self.observe(&tracker, "change", attributes: Self.wandAttributes) == nil)
        #expect(tracker.present.isEmpty)
    }

    @Test(arguments: [
        ("1209/1/100", true), ("1209/0001/0100", true), ("1209/1/0", true),
        ("1209/2/100", false), ("1d6b/1/606", false), ("1209/1", false), ("", false), ("12090/1/100", false),
    ])
    func productPropertyMatching(value: String, matches: Bool) {
        #expect(HotplugTracker.productPropertyMatches(value) == matches)
    }
}
