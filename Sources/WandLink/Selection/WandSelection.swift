/// Turns `--wand SERIAL_OR_PATH` (or its absence) into an open transport.
///
/// Three steps, each usable alone: `WandRequest(argument:)` reads the value,
/// `WandRoute.route(for:attached:)` applies the rules to the attached wands
/// (pure; see there for the rules), and `open(_:)` opens the route. Only
/// requests that need it (a serial number, or no `--wand`) list the wands.
///
/// ```swift
/// let transport = try WandSelection().open(argument: options.wand)
/// ```
public struct WandSelection: Sendable {
    public var usbConfiguration: USBTransport.Configuration
    public var serialConfiguration: SerialTransport.Configuration
    private let listAttached: @Sendable () throws(DiscoveryError) -> [WandRecord]

    /// - Parameter attachedWands: lists the attached wands; udev and libusb
    ///   by default (`WandDiscovery`).
    public init(
        usbConfiguration: USBTransport.Configuration = .init(),
        serialConfiguration: SerialTransport.Configuration = .init(),
        attachedWands: @escaping @Sendable () throws(DiscoveryError) -> [WandRecord] = {
            () throws(DiscoveryError) in try WandDiscovery().wands()
        }
    ) {
        self.usbConfiguration = usbConfiguration
        self.serialConfiguration = serialConfiguration
        listAttached = attachedWands
    }

    /// The route `--wand argument` leads to, without opening anything.
    public func route(argument: String?) throws(WandSelectionError) -> WandRoute {
        let request = try WandRequest(argument: argument)
        let attached: [WandRecord]
        switch request {
        case .usbPath, .ttyPath:
            attached = []
        case .serialNumber, .onlyAttachedWand:
            do { attached = try listAttached() } catch { throw .discoveryFailed(error) }
        }
        return try WandRoute.route(for: request, attached: attached)
    }

    /// Opens the wand `--wand argument` names (nil: the only one attached).
    public func open(argument: String?) throws(WandSelectionError) -> any WandTransport {
        try open(try route(argument: argument))
    }

    /// Opens a route. Failures are `.openFailed` with the transport's own
    /// error (not found, permission denied, busy...).
    public func open(_ route: WandRoute) throws(WandSelectionError) -> any WandTransport {
        do {
            switch route {
            case let .vendorInterface(record):
                // The serial number is read back from the device after
                // opening, so a different device that took the address since
                // discovery is refused. A record without a valid serial
                // number (only reachable without --wand) is still checked by
                // the transport, which refuses non-wand serial numbers.
                let expected = WandIdentity.isValidSerialNumber(record.serialNumber) ? record.serialNumber : nil
                return try USBTransport.open(
                    bus: record.busNumber, address: record.deviceAddress, expectedSerialNumber: expected,
                    configuration: usbConfiguration)
            case let .usbPath(path):
                return try USBTransport.open(usbPath: path, configuration: usbConfiguration)
            case let .bringUpTTY(_, ttyPath):
                return try SerialTransport(path: ttyPath, configuration: serialConfiguration)
            case let .ttyPath(path):
                return try SerialTransport(path: path, configuration: serialConfiguration)
            }
        } catch {
            throw .openFailed(error)
        }
    }
}
