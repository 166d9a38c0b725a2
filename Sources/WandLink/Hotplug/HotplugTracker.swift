import Foundation

/// Decides which uevents are wand arrivals and removals, and remembers
/// arrivals so a removal (whose device attributes are already gone) can
/// still say which wand left. Pure: fed by `WandMonitor`, tested directly.
struct HotplugTracker {
    /// What is remembered about each wand present, by sysfs path.
    private(set) var present: [String: WandHotplugEvent] = [:]

    init(initialWands: [WandRecord] = []) {
        for wand in initialWands {
            present[wand.sysPath] = WandHotplugEvent(
                kind: .arrived, serialNumber: wand.serialNumber.isEmpty ? nil : wand.serialNumber,
                sysPath: wand.sysPath, usbPath: wand.usbPath, busNumber: wand.busNumber,
                deviceAddress: wand.deviceAddress)
        }
    }

    /// The event a uevent means for wands, if any.
    ///
    /// - Parameters:
    ///   - action: the uevent's ACTION ("add", "remove", "bind", ...).
    ///   - properties: the uevent's properties (PRODUCT, DEVTYPE, BUSNUM...).
    ///   - attribute: the device's sysfs attributes, still readable on "add".
    ///   - devNode: the device node libudev reports (`/dev/bus/usb/001/002`).
    mutating func observe(
        action: String, sysPath: String, devNode: String?, properties: (String) -> String?,
        attribute: (String) -> String?
    ) -> WandHotplugEvent? {
        // Interfaces carry the same PRODUCT; only the device itself counts.
        guard properties("DEVTYPE") == "usb_device" else { return nil }
        switch action {
        case "add":
            guard Self.isWand(properties: properties, attribute: attribute) else { return nil }
            // Already listed when watching began (its add was still queued
            // in the monitor then), or a repeated add: report it once.
            guard present[sysPath] == nil else { return nil }
            let serial = (attribute("serial") ?? properties("ID_SERIAL_SHORT")).flatMap { $0.isEmpty ? nil : $0 }
            let event = WandHotplugEvent(
                kind: .arrived, serialNumber: serial, sysPath: sysPath, usbPath: devNode,
                busNumber: Self.number(attribute("busnum") ?? properties("BUSNUM")),
                deviceAddress: Self.number(attribute("devnum") ?? properties("DEVNUM")))
            present[sysPath] = event
            return event
        case "remove":
            if var known = present.removeValue(forKey: sysPath) {
                known.kind = .removed
                return known
            }
            // A wand that arrived before anything was listed (or whose
            // listing failed): the uevent still names the ids.
            guard Self.productPropertyMatches(properties("PRODUCT")) else { return nil }
            return WandHotplugEvent(
                kind: .removed, serialNumber: properties("ID_SERIAL_SHORT").flatMap { $0.isEmpty ? nil : $0 },
                sysPath: sysPath, usbPath: devNode,
                busNumber: Self.number(properties("BUSNUM")), deviceAddress: Self.number(properties("DEVNUM")))
        default:
            return nil
        }
    }

    private static func isWand(properties: (String) -> String?, attribute: (String) -> String?) -> Bool {
        if let vendor = attribute("idVendor"), let product = attribute("idProduct") {
            return UInt16(vendor, radix: 16) == WandIdentity.vendorID
                && UInt16(product, radix: 16) == WandIdentity.productID
        }
        return productPropertyMatches(properties("PRODUCT"))
    }

    /// The kernel's PRODUCT property is `idVendor/idProduct/bcdDevice` in
    /// hex without leading zeros: the wand's is `1209/1/100`.
    static func productPropertyMatches(_ value: String?) -> Bool {
        guard let parts = value?.split(separator: "/", omittingEmptySubsequences: false), parts.count == 3,
              parts[0].count <= 4, parts[1].count <= 4
        else { return false }
        return UInt16(parts[0], radix: 16) == WandIdentity.vendorID
            && UInt16(parts[1], radix: 16) == WandIdentity.productID
    }

    private static func number(_ text: String?) -> Int? {
        text.flatMap { Int($0.trimmingCharacters(in: .whitespaces)) }
    }
}
