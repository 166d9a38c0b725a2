/// How a selected wand will be opened: the outcome of applying the
/// selection rules to a `WandRequest` and the wands attached.
public enum WandRoute: Equatable, Sendable {
    /// This discovered wand's vendor interface through libusb, by bus and
    /// address, with its serial number read back and checked after opening.
    case vendorInterface(WandRecord)
    /// This discovered wand's CDC-ACM tty, because its firmware exposes no
    /// vendor interface (bring-up firmware).
    case bringUpTTY(WandRecord, ttyPath: String)
    /// The wand at an explicit usbfs node.
    case usbPath(String)
    /// An explicit tty path.
    case ttyPath(String)

    /// Applies the selection rules. Pure: no device is looked at or opened.
    ///
    /// - A serial number picks the one attached wand reporting it; none is
    ///   `.wandNotAttached`, more than one is `.duplicateSerialNumber`.
    /// - No request picks the only attached wand; none is `.noWandAttached`
    ///   and several is `.severalWandsAttached`. There is never a fall-back
    ///   to a simulator: wandsim's pty must be named with `--wand`.
    /// - A discovered wand is opened on its vendor interface. Its tty is used
    ///   only when libusb read the descriptors and found no vendor interface.
    ///   A failed open of the vendor interface never falls back to the tty:
    ///   busy means another program is talking to this wand, and a second
    ///   path to the same pump would let two programs interleave commands;
    ///   permission denied means the udev rules are missing, and they grant
    ///   both nodes alike.
    /// - Paths are taken as given.
    public static func route(for request: WandRequest, attached: [WandRecord])
        throws(WandSelectionError) -> WandRoute
    {
        switch request {
        case let .usbPath(path):
            return .usbPath(path)
        case let .ttyPath(path):
            return .ttyPath(path)
        case let .serialNumber(serial):
            let matches = attached.filter { $0.serialNumber == serial }
            guard let record = matches.first else {
                throw .wandNotAttached(serialNumber: serial, attached: attached)
            }
            guard matches.count == 1 else { throw .duplicateSerialNumber(serial, matches) }
            return try interfaceRoute(for: record)
        case .onlyAttachedWand:
            guard let record = attached.first else { throw .noWandAttached }
            guard attached.count == 1 else { throw .severalWandsAttached(attached) }
            return try interfaceRoute(for: record)
        }
    }

    private static func interfaceRoute(for record: WandRecord) throws(WandSelectionError) -> WandRoute {
        // `nil` (libusb could not be asked) is tried as USB: opening reports
        // what is actually wrong, where guessing the tty would hide it.
        guard record.vendorInterfacePresent == false else { return .vendorInterface(record) }
        guard let tty = record.ttyPath else { throw .noUsableInterface(record) }
        return .bringUpTTY(record, ttyPath: tty)
    }

    /// For messages and the audit trail.
    public var summary: String {
        switch self {
        case let .vendorInterface(record):
            return "wand \(record.serialNumber) on USB \(record.usbPath) (vendor interface)"
        case let .bringUpTTY(record, tty):
            return "wand \(record.serialNumber) on its bring-up tty \(tty) (no vendor interface)"
        case let .usbPath(path):
            return "USB \(path)"
        case let .ttyPath(path):
            return "tty \(path)"
        }
    }
}
