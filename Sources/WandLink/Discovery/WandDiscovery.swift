import CLibUSB
import Foundation

/// Finds PumpWand wands through libudev, and confirms each one's vendor
/// interface through libusb.
///
/// libudev gives the names a person and the transports need (serial number,
/// usbfs node, the tty of the CDC-ACM interface); libusb reads the
/// configuration descriptor the way the USB transport will, so a wand whose
/// vendor interface is missing shows up as such instead of failing later.
public struct WandDiscovery: Sendable {
    public init() {}

    /// Every attached wand, sorted by serial number. An empty list is not an
    /// error: it means no wand is plugged in.
    public func wands() throws(DiscoveryError) -> [WandRecord] {
        let udev = try UdevContext()
        let vendor = String(format: "%04x", WandIdentity.vendorID)
        let product = String(format: "%04x", WandIdentity.productID)
        let usbPaths = try udev.sysPaths(
            subsystem: "usb", matching: [("idVendor", vendor), ("idProduct", product)])

        // One tty per wand at most: the CDC-ACM interface's node, found by
        // walking each tty up to its USB device.
        var ttyBySysPath: [String: String] = [:]
        for ttyPath in try udev.sysPaths(subsystem: "tty") {
            guard let tty = udev.device(sysPath: ttyPath), let node = tty.devNode,
                  let usb = tty.parent(subsystem: "usb", devType: "usb_device"),
                  let usbSysPath = usb.sysPath
            else { continue }
            // Keep the first node in sorted order so the answer is stable.
            if let existing = ttyBySysPath[usbSysPath], existing < node { continue }
            ttyBySysPath[usbSysPath] = node
        }

        let vendorInterfaces = USBDescriptorProbe.vendorInterfaces()
        var records: [WandRecord] = []
        for sysPath in usbPaths {
            guard let device = udev.device(sysPath: sysPath),
                  device.property("DEVTYPE") == "usb_device" || device.attribute("idVendor") != nil,
                  let bus = device.attribute("busnum").flatMap(Int.init),
                  let address = device.attribute("devnum").flatMap(Int.init)
            else { continue }
            let bcd = device.attribute("bcdDevice").flatMap { UInt16($0, radix: 16) } ?? 0
            records.append(WandRecord(
                serialNumber: device.attribute("serial") ?? "",
                busNumber: bus,
                deviceAddress: address,
                usbPath: device.devNode ?? String(format: "/dev/bus/usb/%03d/%03d", bus, address),
                sysPath: sysPath,
                ttyPath: ttyBySysPath[sysPath],
                firmwareVersion: WandRecord.firmwareVersion(bcdDevice: bcd),
                product: device.attribute("product") ?? "",
                vendorInterfacePresent: vendorInterfaces?[USBDescriptorProbe.Location(bus: bus, address: address)]
            ))
        }
        return records.sorted { ($0.serialNumber, $0.busNumber, $0.deviceAddress) < ($1.serialNumber, $1.busNumber, $1.deviceAddress) }
    }
}

/// Reads wand configuration descriptors through libusb.
enum USBDescriptorProbe {
    struct Location: Hashable { var bus: Int; var address: Int }

    /// For each attached device with the wand's ids: does its active
    /// configuration have the vendor interface with a bulk OUT and a bulk IN
    /// endpoint? `nil` when libusb cannot be initialised (no usbfs, say):
    /// discovery still works from udev alone.
    static func vendorInterfaces() -> [Location: Bool]? {
        var context: OpaquePointer?
        guard libusb_init(&context) == 0, let context else { return nil }
        defer { libusb_exit(context) }
        var list: UnsafeMutablePointer<OpaquePointer?>?
        let count = libusb_get_device_list(context, &list)
        guard count >= 0, let list else { return nil }
        defer { libusb_free_device_list(list, 1) }

        var result: [Location: Bool] = [:]
        for index in 0..<Int(count) {
            guard let device = list[index] else { continue }
            var descriptor = libusb_device_descriptor()
            guard libusb_get_device_descriptor(device, &descriptor) == 0,
                  descriptor.idVendor == WandIdentity.vendorID,
                  descriptor.idProduct == WandIdentity.productID
            else { continue }
            let location = Location(
                bus: Int(libusb_get_bus_number(device)), address: Int(libusb_get_device_address(device)))
            result[location] = hasVendorBulkInterface(device)
        }
        return result
    }

    private static func hasVendorBulkInterface(_ device: OpaquePointer) -> Bool {
        var config: UnsafeMutablePointer<libusb_config_descriptor>?
        // The first configuration: the wand has exactly one.
        guard libusb_get_config_descriptor(device, 0, &config) == 0, let config else { return false }
        defer { libusb_free_config_descriptor(config) }
        let interfaces = UnsafeBufferPointer(start: config.pointee.interface, count: Int(config.pointee.bNumInterfaces))
        for interface in interfaces {
            let settings = UnsafeBufferPointer(start: interface.altsetting, count: Int(interface.num_altsetting))
            for setting in settings where setting.bInterfaceClass == WandIdentity.vendorInterfaceClass {
                let endpoints = UnsafeBufferPointer(start: setting.endpoint, count: Int(setting.bNumEndpoints))
                let bulk = endpoints.filter {
                    $0.bmAttributes & 0x03 == UInt8(LIBUSB_TRANSFER_TYPE_BULK.rawValue)
                }
                let hasOut = bulk.contains { $0.bEndpointAddress == WandIdentity.bulkOutEndpoint }
                let hasIn = bulk.contains { $0.bEndpointAddress == WandIdentity.bulkInEndpoint }
                if hasOut && hasIn { return true }
            }
        }
        return false
    }
}
