import CLibUSB
import Synchronization
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// A wand reached over its vendor interface (class 0xFF, bulk OUT 0x01,
/// bulk IN 0x81): the default path, needing no kernel driver and no line
/// settings. See hardware/usb-identity.md.
///
/// Each transport owns its own libusb context and device handle. Blocking
/// libusb calls run on two dedicated threads (one per direction) and wait
/// in slices of at most `transferSlice`, so a close or a cancellation is
/// noticed promptly and no thread of Swift's cooperative pool is ever
/// blocked. The interface is released and the handle closed on every path:
/// `close()`, a failed open, and `deinit`.
public final class USBTransport: WandTransport {
    public struct Configuration: Sendable {
        /// How long `send` waits for the wand to accept each packet.
        public var sendTimeout: Duration

        public init(sendTimeout: Duration = .seconds(2)) {
            self.sendTimeout = sendTimeout
        }
    }

    /// Longest single libusb wait inside a receive.
    static let transferSlice: Duration = .milliseconds(100)
    /// Bytes asked for per bulk IN transfer: whole packets, so a packet is
    /// never split (which usbfs reports as an overflow).
    static let readSize = WandIdentity.maxPacketSize * 8

    /// The wand's USB serial number, as read from the device after opening.
    public let serialNumber: String
    /// Bus number and device address, as in `lsusb`.
    public let busNumber: Int
    public let deviceAddress: Int
    public var peerDescription: String {
        "wand \(serialNumber) on USB " + Self.usbPath(bus: busNumber, address: deviceAddress)
    }

    private let device: ClaimedWand
    private let sendTimeout: Duration
    private let reader: BlockingLane
    private let writer: BlockingLane
    private let closing = Atomic(false)
    /// Set when libusb first reports the device gone (LIBUSB_ERROR_NO_DEVICE).
    private let gone = Atomic(false)

    private init(device: ClaimedWand, serialNumber: String, bus: Int, address: Int, configuration: Configuration) {
        self.device = device
        self.serialNumber = serialNumber
        busNumber = bus
        deviceAddress = address
        sendTimeout = configuration.sendTimeout
        let name = Self.usbPath(bus: bus, address: address)
        reader = BlockingLane(label: "pumpwand.usb.read \(name)")
        writer = BlockingLane(label: "pumpwand.usb.write \(name)")
    }

    // MARK: Opening

    /// Opens the attached wand with this serial number.
    ///
    /// The wand is found through udev (`WandDiscovery`), opened by its bus
    /// and address, and its serial number read back from the device: if
    /// another device took that address in between, the open fails with
    /// `.notFound` instead of talking to the wrong wand.
    public static func open(serialNumber: String, configuration: Configuration = Configuration())
        throws(WandTransportError) -> USBTransport
    {
        let wands: [WandRecord]
        do { wands = try WandDiscovery().wands() } catch {
            throw .io(errno: EIO, operation: "listing wands: \(error.description)")
        }
        guard let record = wands.first(where: { $0.serialNumber == serialNumber }) else {
            throw .notFound(device: "wand \(serialNumber)")
        }
        return try open(
            bus: record.busNumber, address: record.deviceAddress, expectedSerialNumber: serialNumber,
            configuration: configuration)
    }

    /// Opens the wand at a usbfs path such as `/dev/bus/usb/001/002`.
    public static func open(usbPath: String, configuration: Configuration = Configuration())
        throws(WandTransportError) -> USBTransport
    {
        guard let (bus, address) = parseUSBPath(usbPath) else { throw .notFound(device: usbPath) }
        return try open(bus: bus, address: address, expectedSerialNumber: nil, configuration: configuration)
    }

    /// Opens the wand at this bus and address. With `expectedSerialNumber`,
    /// a device reporting another serial number is refused as not found.
    public static func open(
        bus: Int, address: Int, expectedSerialNumber: String? = nil, configuration: Configuration = Configuration()
    ) throws(WandTransportError) -> USBTransport {
        let name = expectedSerialNumber.map { "wand \($0) at " } ?? ""
        let claimed = try ClaimedWand(bus: bus, address: address, name: name + usbPath(bus: bus, address: address))
        if let expectedSerialNumber, claimed.serialNumber != expectedSerialNumber {
            throw .notFound(device: "wand \(expectedSerialNumber) (\(usbPath(bus: bus, address: address)) now reports \(claimed.serialNumber))")
        }
        return USBTransport(
            device: claimed, serialNumber: claimed.serialNumber, bus: bus, address: address,
            configuration: configuration)
    }

    static func usbPath(bus: Int, address: Int) -> String {
        let digits = { (value: Int) -> String in
            let text = String(value)
            return String(repeating: "0", count: max(0, 3 - text.count)) + text
        }
        return "/dev/bus/usb/\(digits(bus))/\(digits(address))"
    }

    /// `/dev/bus/usb/BBB/DDD` as (bus, address), or nil.
    static func parseUSBPath(_ path: String) -> (Int, Int)? {
        let parts = path.split(separator: "/")
        guard parts.count == 5, parts[0] == "dev", parts[1] == "bus", parts[2] == "usb",
              parts[3].count <= 3, parts[4].count <= 3,
              let bus = Int(parts[3]), let address = Int(parts[4]),
              (1...255).contains(bus), (1...127).contains(address)
        else { return nil }
        return (bus, address)
    }

    // MARK: WandTransport

    public func send(_ bytes: [UInt8]) async throws(WandSendError) {
        guard !bytes.isEmpty else { return }
        let deadline = ContinuousClock.now + sendTimeout
        try await writer.run { _ in
            // Not cancellable half-way: a frame cut short is worse than one
            // that completes or times out.
            Result { () throws(WandSendError) in try self.writePackets(bytes, deadline: deadline) }
        }
    }

    public func receive(deadline: ContinuousClock.Instant) async throws(WandTransportError) -> [UInt8] {
        try await reader.run { cancellation in
            Result { () throws(WandTransportError) in try self.readAvailable(deadline: deadline, cancellation: cancellation) }
        }
    }

    public func close() async {
        guard !closing.exchange(true, ordering: .acquiringAndReleasing) else { return }
        // Running transfers end within one slice; after both lanes are
        // drained nothing uses the handle.
        await reader.drain()
        await writer.drain()
        device.release()
    }

    // MARK: Blocking work (runs on the lanes)

    private var isClosing: Bool { closing.load(ordering: .acquiring) }

    private static func milliseconds(until deadline: ContinuousClock.Instant, atMost slice: Duration) -> UInt32 {
        let remaining = min(max(deadline - .now, .zero), slice)
        let (seconds, attoseconds) = remaining.components
        // At least 1 ms: libusb reads a timeout of 0 as "wait forever".
        let milliseconds = seconds * 1000 + (attoseconds + 999_999_999_999_999) / 1_000_000_000_000_000
        return UInt32(clamping: max(1, milliseconds))
    }

    /// Once libusb has said the device is gone, nothing more can reach it
    /// through this handle: a later send fails before submitting anything,
    /// and so certainly sent nothing.
    private var knownGone: Bool { gone.load(ordering: .acquiring) }

    private func noteStatus(_ status: Int32) {
        if status == LIBUSB_ERROR_NO_DEVICE.rawValue { gone.store(true, ordering: .releasing) }
    }

    private func writePackets(_ bytes: [UInt8], deadline: ContinuousClock.Instant) throws(WandSendError) {
        var packet = [UInt8](repeating: 0, count: WandIdentity.maxPacketSize)
        let peer = peerDescription
        try BulkPackets.write(
            bytes, maxPacketSize: WandIdentity.maxPacketSize, peer: peer,
            shouldStop: { self.isClosing ? .closed : self.knownGone ? .unplugged : nil },
            failure: { LibUSBStatus.transportError($0, operation: "bulk OUT to \(peer)", device: peer) },
            transfer: { slice in
                packet.replaceSubrange(0..<slice.count, with: slice)
                let timeout = Self.milliseconds(until: deadline, atMost: .seconds(3600))
                let (status, sent) = device.bulkTransfer(
                    endpoint: WandIdentity.bulkOutEndpoint, buffer: &packet, length: slice.count, timeoutMilliseconds: timeout)
                noteStatus(status)
                return BulkPackets.Transfer(status: status, transferred: sent)
            })
    }

    private func readAvailable(deadline: ContinuousClock.Instant, cancellation: CancellationFlag)
        throws(WandTransportError) -> [UInt8]
    {
        var buffer = [UInt8](repeating: 0, count: Self.readSize)
        while true {
            if isClosing { throw .closed }
            if cancellation.isCancelled { throw .cancelled }
            let timeout = Self.milliseconds(until: deadline, atMost: Self.transferSlice)
            let (status, received) = device.bulkTransfer(
                endpoint: WandIdentity.bulkInEndpoint, buffer: &buffer, length: buffer.count, timeoutMilliseconds: timeout)
            noteStatus(status)
            // Bytes that arrived before a timeout are kept, never dropped.
            if received > 0 { return Array(buffer.prefix(received)) }
            switch status {
            case 0:
                continue  // a zero-length packet: the end of a write, no bytes
            case LIBUSB_ERROR_TIMEOUT.rawValue:
                if ContinuousClock.now >= deadline { throw .timedOut }
            case LIBUSB_ERROR_INTERRUPTED.rawValue:
                continue
            default:
                throw LibUSBStatus.transportError(status, operation: "bulk IN from \(peerDescription)", device: peerDescription)
            }
        }
    }
}

/// A libusb context and device handle with the wand's vendor interface
/// claimed. Released exactly once: by `release()` or, failing that, deinit.
///
/// `@unchecked Sendable`: libusb's synchronous transfer calls are
/// thread-safe on one handle, and `USBTransport` only calls `release()`
/// after draining both lanes, so no transfer can run on a released handle.
final class ClaimedWand: @unchecked Sendable {
    let serialNumber: String
    private let context: OpaquePointer
    private let handle: OpaquePointer
    private let released = Atomic(false)
    private let interface = Int32(WandIdentity.vendorInterfaceNumber)

    init(bus: Int, address: Int, name: String) throws(WandTransportError) {
        var context: OpaquePointer?
        let initStatus = libusb_init(&context)
        guard initStatus == 0, let context else {
            throw LibUSBStatus.transportError(initStatus, operation: "libusb_init", device: name, opening: true)
        }
        // From here every failure path unwinds what was set up before it.
        var handle: OpaquePointer?
        let serial: String
        do throws(WandTransportError) {
            let opened = try Self.openDevice(context: context, bus: bus, address: address, name: name)
            handle = opened
            serial = try Self.verifiedSerialNumber(opened, name: name)
            try Self.claimVendorInterface(opened, interface: Int32(WandIdentity.vendorInterfaceNumber), name: name)
        } catch {
            if let handle { libusb_close(handle) }
            libusb_exit(context)
            throw error
        }
        guard let handle else {
            libusb_exit(context)
            throw .notFound(device: name)
        }
        self.context = context
        self.handle = handle
        serialNumber = serial
    }

    deinit { release() }

    /// Releases the interface, closes the handle and the context. Idempotent.
    func release() {
        guard !released.exchange(true, ordering: .acquiringAndReleasing) else { return }
        // Failure to release (the wand is gone) changes nothing: closing the
        // handle frees the claim either way.
        _ = libusb_release_interface(handle, interface)
        libusb_close(handle)
        libusb_exit(context)
    }

    /// One synchronous bulk transfer: (libusb status, bytes transferred).
    func bulkTransfer(endpoint: UInt8, buffer: inout [UInt8], length: Int, timeoutMilliseconds: UInt32) -> (Int32, Int) {
        var transferred: Int32 = 0
        let status = buffer.withUnsafeMutableBufferPointer { pointer in
            libusb_bulk_transfer(
                handle, endpoint, pointer.baseAddress, Int32(min(length, pointer.count)), &transferred,
                timeoutMilliseconds)
        }
        return (status, Int(transferred))
    }

    private static func openDevice(context: OpaquePointer, bus: Int, address: Int, name: String)
        throws(WandTransportError) -> OpaquePointer
    {
        var list: UnsafeMutablePointer<OpaquePointer?>?
        let count = libusb_get_device_list(context, &list)
        guard count >= 0, let list else {
            throw LibUSBStatus.transportError(Int32(clamping: count), operation: "listing USB devices", device: name, opening: true)
        }
        defer { libusb_free_device_list(list, 1) }
        for index in 0..<count {
            guard let device = list[index],
                  Int(libusb_get_bus_number(device)) == bus, Int(libusb_get_device_address(device)) == address
            else { continue }
            var descriptor = libusb_device_descriptor()
            guard libusb_get_device_descriptor(device, &descriptor) == 0,
                  descriptor.idVendor == WandIdentity.vendorID, descriptor.idProduct == WandIdentity.productID
            else {
                // Something is there, but it is not a wand: never talk to it.
                throw .notFound(device: "\(name) (not a PumpWand wand)")
            }
            var handle: OpaquePointer?
            let status = libusb_open(device, &handle)
            guard status == 0, let handle else {
                throw LibUSBStatus.transportError(status, operation: "libusb_open", device: name, opening: true)
            }
            return handle
        }
        throw .notFound(device: name)
    }

    /// Reads the serial number string from the device itself.
    private static func verifiedSerialNumber(_ handle: OpaquePointer, name: String) throws(WandTransportError) -> String {
        guard let device = libusb_get_device(handle) else { throw .notFound(device: name) }
        var descriptor = libusb_device_descriptor()
        let status = libusb_get_device_descriptor(device, &descriptor)
        guard status == 0 else {
            throw LibUSBStatus.transportError(status, operation: "reading the device descriptor", device: name, opening: true)
        }
        guard descriptor.iSerialNumber != 0 else {
            throw .io(errno: EPROTO, operation: "reading the serial number of \(name) (the device has none)")
        }
        var text = [UInt8](repeating: 0, count: 128)
        let length = text.withUnsafeMutableBufferPointer {
            libusb_get_string_descriptor_ascii(handle, descriptor.iSerialNumber, $0.baseAddress, Int32($0.count))
        }
        guard length >= 0 else {
            throw LibUSBStatus.transportError(length, operation: "reading the serial number", device: name, opening: true)
        }
        let serial = String(decoding: text.prefix(Int(length)), as: UTF8.self)
        guard WandIdentity.isValidSerialNumber(serial) else {
            throw .io(errno: EPROTO, operation: "reading the serial number of \(name) (\"\(serial)\" is not a wand serial number)")
        }
        return serial
    }

    private static func claimVendorInterface(_ handle: OpaquePointer, interface: Int32, name: String)
        throws(WandTransportError)
    {
        // No kernel driver binds class 0xFF by default; if one did (a
        // generic driver, or usbfs held by another program's detach), take
        // the interface back from it.
        if libusb_kernel_driver_active(handle, interface) == 1 {
            let status = libusb_detach_kernel_driver(handle, interface)
            if status != 0 && status != LIBUSB_ERROR_NOT_FOUND.rawValue {
                throw LibUSBStatus.transportError(status, operation: "detaching the kernel driver", device: name, opening: true)
            }
        }
        let status = libusb_claim_interface(handle, interface)
        if status != 0 {
            throw LibUSBStatus.transportError(status, operation: "claiming the vendor interface", device: name, opening: true)
        }
    }
}
