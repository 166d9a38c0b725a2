import Testing
import TestSupport
@testable import WandLink

/// The selection rules, applied to lists of wands: no hardware involved.
@Suite(.serialized, .tags(.pty)) struct WandSelectionTests {
    static func wand(
        _ serial: String, address: Int, tty: String? = nil, vendorInterface: Bool? = true
    ) -> WandRecord {
        WandRecord(
            serialNumber: serial, busNumber: 1, deviceAddress: address,
            usbPath: USBTransport.usbPath(bus: 1, address: address),
            sysPath: "/sys/devices/pci0000:00/0000:00:14.0/usb1/1-\(address)", ttyPath: tty,
            firmwareVersion: "1.00", product: WandIdentity.productString, vendorInterfacePresent: vendorInterface)
    }

    static let first = wand("PW1-000123", address: 2, tty: "/dev/ttyACM0")
    static let second = wand("PW1-000456", address: 3, tty: "/dev/ttyACM1")

    /// No link resolution: paths stay as written.
    static func request(_ argument: String?) throws(WandSelectionError) -> WandRequest {
        try WandRequest(argument: argument, resolvingLinks: { _ in nil })
    }

    // MARK: Reading --wand

    @Test(arguments: [
        (String?.none, WandRequest.onlyAttachedWand),
        ("PW1-000123", .serialNumber("PW1-000123")),
        ("/dev/bus/usb/001/002", .usbPath("/dev/bus/usb/001/002")),
        ("/dev/ttyACM0", .ttyPath("/dev/ttyACM0")),
        ("/dev/pts/7", .ttyPath("/dev/pts/7")),
        ("/dev/pumpwand/by-serial/PW1-000123", .ttyPath("/dev/pumpwand/by-serial/PW1-000123")),
        ("./bring-up-uart", .ttyPath("./bring-up-uart")),
    ])
    func argumentsAreReadAsSerialNumbersOrPaths(argument: String?, expected: WandRequest) throws {
        #expect(try Self.request(argument) == expected)
    }

    @Test func aLinkToAUSBNodeIsOpenedAsUSB() throws {
        // udev's /dev/pumpwand/usb/by-serial/... link points at the usbfs node.
        let request = try WandRequest(argument: "/dev/pumpwand/usb/by-serial/PW1-000123") { path in
            path == "/dev/pumpwand/usb/by-serial/PW1-000123" ? "/dev/bus/usb/001/002" : nil
        }
        #expect(request == .usbPath("/dev/bus/usb/001/002"))
    }

    @Test func aLinkToATtyKeepsTheNameTheTechnicianGave() throws {
        let request = try WandRequest(argument: "/dev/pumpwand/by-serial/PW1-000123") { _ in "/dev/ttyACM0" }
        #expect(request == .ttyPath("/dev/pumpwand/by-serial/PW1-000123"))
    }

    @Test(arguments: [
        ("", "it is empty"),
        ("pw1-000123", "serial numbers are written in capitals: PW1-000123"),
        ("PW1-00012", "neither a wand serial number"),
        ("ttyACM0", "neither a wand serial number"),
        ("/dev/bus/usb/001", "/dev/bus/usb/001 is not a USB device node"),
        ("/dev/bus/usb/001/999", "/dev/bus/usb/001/999 is not a USB device node"),
        ("/dev/tty\u{0}ACM0", "NUL byte"),
    ])
    func unreadableArgumentsAreRefusedWithTheReason(argument: String, reason: String) {
        #expect {
            try Self.request(argument)
        } throws: { error in
            guard case let .invalidArgument(_, text)? = error as? WandSelectionError else { return false }
            return text.contains(reason)
        }
    }

    @Test func anOverlongArgumentIsRefused() {
        let argument = "/" + String(repeating: "a", count: WandRequest.maximumArgumentLength)
        #expect(throws: WandSelectionError.self) { try Self.request(argument) }
    }

    // MARK: Routes

    @Test func withoutWandTheOnlyAttachedWandIsOpenedOnItsVendorInterface() throws {
        #expect(try WandRoute.route(for: .onlyAttachedWand, attached: [Self.first]) == .vendorInterface(Self.first))
    }

    @Test func withoutWandAndNoWandAttachedTheErrorSaysSoAndNamesNoSimulator() {
        #expect(throws: WandSelectionError.noWandAttached) {
            try WandRoute.route(for: .onlyAttachedWand, attached: [])
        }
        let message = WandSelectionError.noWandAttached.description
        #expect(message.contains("No wand is attached"))
        #expect(message.contains("never falls back to the simulator"))
    }

    @Test func withoutWandAndSeveralAttachedTheErrorListsEachWand() {
        let attached = [Self.first, Self.second]
        #expect(throws: WandSelectionError.severalWandsAttached(attached)) {
            try WandRoute.route(for: .onlyAttachedWand, attached: attached)
        }
        let lines = WandSelectionError.severalWandsAttached(attached).description.split(separator: "\n")
        #expect(lines.first?.hasPrefix("2 wands are attached") == true)
        #expect(lines.dropFirst() == [
            "  PW1-000123  /dev/bus/usb/001/002  /dev/ttyACM0",
            "  PW1-000456  /dev/bus/usb/001/003  /dev/ttyACM1",
        ])
    }

    @Test func aSerialNumberPicksThatWandAmongSeveral() throws {
        let route = try WandRoute.route(for: .serialNumber("PW1-000456"), attached: [Self.first, Self.second])
        #expect(route == .vendorInterface(Self.second))
    }

    @Test func anAbsentSerialNumberIsNotFoundAndTheAttachedWandsAreListed() {
        let error = WandSelectionError.wandNotAttached(serialNumber: "PW1-000999", attached: [Self.first])
        #expect(throws: error) {
            try WandRoute.route(for: .serialNumber("PW1-000999"), attached: [Self.first])
        }
        #expect(error.description.contains("No attached wand has serial number PW1-000999"))
        #expect(error.description.hasSuffix("Attached:\n  PW1-000123  /dev/bus/usb/001/002  /dev/ttyACM0"))
    }

    @Test func aSerialNumberTwoDevicesReportNamesNoWand() {
        let twin = Self.wand("PW1-000123", address: 5)
        #expect(throws: WandSelectionError.duplicateSerialNumber("PW1-000123", [Self.first, twin])) {
            try WandRoute.route(for: .serialNumber("PW1-000123"), attached: [Self.first, Self.second, twin])
        }
    }

    @Test func withoutAVendorInterfaceTheBringUpTtyIsUsed() throws {
        let bringUp = Self.wand("PW1-000777", address: 4, tty: "/dev/ttyACM2", vendorInterface: false)
        #expect(try WandRoute.route(for: .serialNumber("PW1-000777"), attached: [bringUp])
            == .bringUpTTY(bringUp, ttyPath: "/dev/ttyACM2"))
        #expect(try WandRoute.route(for: .onlyAttachedWand, attached: [bringUp])
            == .bringUpTTY(bringUp, ttyPath: "/dev/ttyACM2"))
    }

    @Test func whenLibusbCouldNotBeAskedTheVendorInterfaceIsStillTried() throws {
        // nil: the descriptors were not read. Opening USB reports the real
        // problem; the tty is not guessed at.
        let unknown = Self.wand("PW1-000888", address: 4, tty: "/dev/ttyACM3", vendorInterface: nil)
        #expect(try WandRoute.route(for: .onlyAttachedWand, attached: [unknown]) == .vendorInterface(unknown))
    }

    @Test func aWandWithNeitherInterfaceIsRefused() {
        let bare = Self.wand("PW1-000999", address: 4, tty: nil, vendorInterface: false)
        #expect(throws: WandSelectionError.noUsableInterface(bare)) {
            try WandRoute.route(for: .onlyAttachedWand, attached: [bare])
        }
    }

    @Test func pathsAreRoutedWithoutLookingAtAttachedWands() throws {
        #expect(try WandRoute.route(for: .ttyPath("/dev/pts/3"), attached: [Self.first, Self.second])
            == .ttyPath("/dev/pts/3"))
        #expect(try WandRoute.route(for: .usbPath("/dev/bus/usb/002/007"), attached: [])
            == .usbPath("/dev/bus/usb/002/007"))
    }

    // MARK: WandSelection end to end (discovery injected, real opens)

    @Test func aPathRequestDoesNotListWands() throws {
        let selection = WandSelection(attachedWands: { () throws(DiscoveryError) in throw .udevUnavailable })
        #expect(try selection.route(argument: "/dev/ttyACM0") == .ttyPath("/dev/ttyACM0"))
        // A serial number needs the list, so the listing failure shows.
        #expect(throws: WandSelectionError.discoveryFailed(.udevUnavailable)) {
            try selection.route(argument: "PW1-000123")
        }
    }

    @Test func aPtyNamedWithWandIsOpenedThroughTheSerialTransport() async throws {
        let pty = try PseudoTerminal()
        let selection = WandSelection(attachedWands: { () throws(DiscoveryError) in [] })
        let transport = try selection.open(argument: pty.slavePath)
        #expect(transport is SerialTransport)
        #expect(transport.peerDescription == pty.slavePath)
        try await transport.send([0x7E, 0x00, 0x11])
        #expect(try pty.read(3) == [0x7E, 0x00, 0x11])
        await transport.close()
    }

    @Test func aMissingTtyIsNotFound() {
        let selection = WandSelection(attachedWands: { () throws(DiscoveryError) in [] })
        #expect(throws: WandSelectionError.openFailed(.notFound(device: "/dev/pumpwand/by-serial/PW1-000404"))) {
            _ = try selection.open(argument: "/dev/pumpwand/by-serial/PW1-000404")
        }
    }
}
