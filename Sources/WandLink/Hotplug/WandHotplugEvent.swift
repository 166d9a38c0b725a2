/// A wand arriving on or leaving this machine's USB, seen by `WandMonitor`.
///
/// Named apart from the wire protocol's `WandEvent` (messages from the
/// wand): this is about the USB device, not about anything it said.
public struct WandHotplugEvent: Sendable, Equatable {
    public enum Kind: String, Sendable, Equatable, Codable {
        case arrived
        case removed
    }

    public var kind: Kind
    /// The wand's serial number. On removal the device's attributes are
    /// gone; it comes from the arrival (or initial listing) of the same
    /// sysfs path, else from the uevent's ID_SERIAL_SHORT, else nil.
    public var serialNumber: String?
    /// The USB device's sysfs path, which ties a removal to its arrival.
    public var sysPath: String
    /// The usbfs node (`/dev/bus/usb/001/002`), when the event names it.
    public var usbPath: String?
    public var busNumber: Int?
    public var deviceAddress: Int?

    public init(
        kind: Kind, serialNumber: String?, sysPath: String, usbPath: String?, busNumber: Int?, deviceAddress: Int?
    ) {
        self.kind = kind
        self.serialNumber = serialNumber
        self.sysPath = sysPath
        self.usbPath = usbPath
        self.busNumber = busNumber
        self.deviceAddress = deviceAddress
    }
}
