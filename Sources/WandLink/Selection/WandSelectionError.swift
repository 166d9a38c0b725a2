/// Why `--wand` (or its absence) did not lead to an open wand. Selection
/// happens before anything is sent, so in every case nothing reached a pump.
public enum WandSelectionError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The `--wand` value is neither a serial number nor a path.
    case invalidArgument(argument: String, reason: String)
    /// No `--wand`, and no wand is attached.
    case noWandAttached
    /// No `--wand`, and more than one wand is attached: which one is over
    /// the patient's pump is for the technician to say.
    case severalWandsAttached([WandRecord])
    /// No attached wand reports this serial number.
    case wandNotAttached(serialNumber: String, attached: [WandRecord])
    /// More than one attached device reports this serial number, so it
    /// does not name one wand.
    case duplicateSerialNumber(String, [WandRecord])
    /// The wand exposes neither the vendor interface nor a tty.
    case noUsableInterface(WandRecord)
    /// Attached wands could not be listed.
    case discoveryFailed(DiscoveryError)
    /// The chosen wand could not be opened.
    case openFailed(WandTransportError)

    public var description: String {
        switch self {
        case let .invalidArgument(argument, reason):
            return "--wand \(argument) is not understood: \(reason). Nothing was sent. Give a serial number (--wand PW1-000123) or a device path (--wand /dev/ttyACM0); `pumpctl wands` lists the attached wands."
        case .noWandAttached:
            return "No wand is attached. Nothing was sent. Plug the wand in and check it with `pumpctl wands` (or `lsusb -d 1209:0001`); to use a tty or wandsim's pty, name it with --wand PATH. pumpctl never falls back to the simulator on its own."
        case let .severalWandsAttached(wands):
            return "\(wands.count) wands are attached and pumpctl will not guess which one is over the pump. Nothing was sent. Pick one with --wand SERIAL:\n" + Self.listing(wands)
        case let .wandNotAttached(serial, attached):
            let present = attached.isEmpty ? "No wand is attached." : "Attached:\n" + Self.listing(attached)
            return "No attached wand has serial number \(serial). Nothing was sent. Check the serial number on the wand's label. " + present
        case let .duplicateSerialNumber(serial, wands):
            return "\(wands.count) attached devices report serial number \(serial), so it does not name one wand. Nothing was sent. Unplug all but the wand you mean, or pick it by USB node with --wand /dev/bus/usb/BBB/DDD:\n" + Self.listing(wands)
        case let .noUsableInterface(record):
            return "Wand \(record.serialNumber) at \(record.usbPath) has neither the vendor interface nor a tty. Nothing was sent. Check that its firmware is a release build, and that the cdc_acm kernel module is loaded (`lsmod | grep cdc_acm`) for a bring-up build."
        case let .discoveryFailed(error):
            return "Attached wands could not be listed. Nothing was sent. " + error.description
        case let .openFailed(error):
            return error.description
        }
    }

    /// One wand per line: serial number, USB node, tty.
    static func listing(_ wands: [WandRecord]) -> String {
        wands.map { wand in
            let serial = wand.serialNumber.isEmpty ? "(no serial number)" : wand.serialNumber
            return "  \(serial)  \(wand.usbPath)  \(wand.ttyPath ?? "(no tty)")"
        }.joined(separator: "\n")
    }
}
