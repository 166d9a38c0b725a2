/// How a PumpWand programmer wand identifies itself on USB.
/// The authoritative description is `hardware/usb-identity.md`; a test keeps
/// this type and that document in agreement.
public enum WandIdentity {
    /// pid.codes, the open-source vendor id.
    public static let vendorID: UInt16 = 0x1209
    /// pid.codes test product id: a placeholder until a product id is assigned.
    public static let productID: UInt16 = 0x0001
    /// The vendor-specific interface that carries the framed byte stream.
    public static let vendorInterfaceClass: UInt8 = 0xFF
    /// That interface's number (bInterfaceNumber), which the USB transport claims.
    public static let vendorInterfaceNumber = 0
    /// Bulk OUT (host to wand) and bulk IN (wand to host) endpoint addresses.
    public static let bulkOutEndpoint: UInt8 = 0x01
    public static let bulkInEndpoint: UInt8 = 0x81
    /// Full speed bulk packets.
    public static let maxPacketSize = 64
    public static let productString = "PumpWand Programmer Wand"
    public static let manufacturerString = "PumpWand"

    /// Serial numbers are `PW` + hardware generation digit + `-` + six digits,
    /// for example `PW1-000123`.
    public static func isValidSerialNumber(_ serial: String) -> Bool {
        let bytes = Array(serial.utf8)
        guard bytes.count == 10, bytes[0] == UInt8(ascii: "P"), bytes[1] == UInt8(ascii: "W"),
              bytes[3] == UInt8(ascii: "-") else { return false }
        let digits = [bytes[2]] + bytes[4...]
        return digits.allSatisfy { $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }
    }
}
