/// One wand found on this machine.
public struct WandRecord: Sendable, Equatable, Codable {
    /// The wand's USB serial number (`iSerialNumber`), the stable name to
    /// pick it by (`--wand PW1-000123`).
    public var serialNumber: String
    /// USB bus number and device address, as in `lsusb`.
    public var busNumber: Int
    public var deviceAddress: Int
    /// The usbfs node libusb opens, e.g. `/dev/bus/usb/001/002`.
    public var usbPath: String
    /// The sysfs path of the USB device, which ties its tty to it.
    public var sysPath: String
    /// The CDC-ACM bring-up interface's tty node, when the wand exposes one.
    public var ttyPath: String?
    /// Firmware version from bcdDevice, written `major.minor` (0x0102 is "1.02").
    public var firmwareVersion: String
    /// The USB product string.
    public var product: String
    /// Whether libusb sees the vendor interface with its two bulk endpoints,
    /// which the USB transport needs. `nil` when libusb could not be asked.
    public var vendorInterfacePresent: Bool?

    public init(
        serialNumber: String, busNumber: Int, deviceAddress: Int, usbPath: String, sysPath: String,
        ttyPath: String?, firmwareVersion: String, product: String, vendorInterfacePresent: Bool?
    ) {
        self.serialNumber = serialNumber
        self.busNumber = busNumber
        self.deviceAddress = deviceAddress
        self.usbPath = usbPath
        self.sysPath = sysPath
        self.ttyPath = ttyPath
        self.firmwareVersion = firmwareVersion
        self.product = product
        self.vendorInterfacePresent = vendorInterfacePresent
    }

    /// bcdDevice as text: binary-coded decimal, so 0x0102 is "1.02".
    public static func firmwareVersion(bcdDevice: UInt16) -> String {
        let major = Int((bcdDevice >> 12) & 0xF) * 10 + Int((bcdDevice >> 8) & 0xF)
        let minor = Int((bcdDevice >> 4) & 0xF) * 10 + Int(bcdDevice & 0xF)
        return "\(major)." + (minor < 10 ? "0\(minor)" : "\(minor)")
    }
}
