import CLibUSB
import Testing
@testable import WandLink
#if canImport(Glibc)
import Glibc
#endif

/// The pure parts of the USB transport: packet plan, status mapping, paths.
@Suite struct USBTransportUnitTests {
    @Test(arguments: [
        // (bytes, expected packet lengths): 200 = 64 + 64 + 64 + 8, a short
        // last packet ends the write; 128 = 64 + 64 needs a zero-length
        // packet to end it; 64 likewise; 1 is one short packet; 0 sends nothing.
        (200, [64, 64, 64, 8]), (128, [64, 64, 0]), (64, [64, 0]), (1, [1]), (0, []), (65, [64, 1]),
    ])
    func writesAreCutIntoPacketsWithAZeroLengthPacketAfterAFullOne(count: Int, lengths: [Int]) {
        let ranges = BulkPackets.ranges(count: count, maxPacketSize: 64)
        #expect(ranges.map(\.count) == lengths)
        // The packets cover the bytes once each, in order.
        #expect(ranges.flatMap { Array($0) } == Array(0..<count))
    }

    @Test(arguments: [
        (LIBUSB_ERROR_NO_DEVICE.rawValue, false, WandTransportError.unplugged),
        (LIBUSB_ERROR_NO_DEVICE.rawValue, true, .notFound(device: "wand")),
        (LIBUSB_ERROR_TIMEOUT.rawValue, false, .timedOut),
        (LIBUSB_ERROR_ACCESS.rawValue, true, .permissionDenied(device: "wand")),
        (LIBUSB_ERROR_BUSY.rawValue, true, .busy(device: "wand")),
        (LIBUSB_ERROR_NOT_FOUND.rawValue, true, .notFound(device: "wand")),
        (LIBUSB_ERROR_PIPE.rawValue, false, .io(errno: EPIPE, operation: "bulk IN (LIBUSB_ERROR_PIPE)")),
        (LIBUSB_ERROR_IO.rawValue, false, .io(errno: EIO, operation: "bulk IN (LIBUSB_ERROR_IO)")),
    ])
    func libusbStatusesMapToTransportErrors(status: Int32, opening: Bool, expected: WandTransportError) {
        #expect(LibUSBStatus.transportError(status, operation: "bulk IN", device: "wand", opening: opening) == expected)
    }

    @Test func usbPathsParseOnlyInTheirCanonicalForm() {
        #expect(USBTransport.parseUSBPath("/dev/bus/usb/001/002").map { [$0.0, $0.1] } == [1, 2])
        #expect(USBTransport.parseUSBPath("/dev/bus/usb/003/127").map { [$0.0, $0.1] } == [3, 127])
        for bad in ["/dev/bus/usb/001", "/dev/bus/usb/000/002", "/dev/bus/usb/001/128", "/dev/ttyACM0",
                    "/dev/bus/usb/0001/002", "/dev/bus/usb/x/002", "", "/dev/bus/usb/001/002/3"] {
            #expect(USBTransport.parseUSBPath(bad) == nil, "\(bad)")
        }
        #expect(USBTransport.usbPath(bus: 1, address: 2) == "/dev/bus/usb/001/002")
    }

    @Test func anUnknownSerialNumberIsNotFound() {
        // No wand with this serial number is attached (the fake wands use
        // PW1-000123 and PW1-000456).
        #expect(throws: WandTransportError.notFound(device: "wand PW9-999999")) {
            _ = try USBTransport.open(serialNumber: "PW9-999999")
        }
    }

    @Test func aMalformedUSBPathIsNotFound() {
        #expect(throws: WandTransportError.notFound(device: "/dev/ttyACM0")) {
            _ = try USBTransport.open(usbPath: "/dev/ttyACM0")
        }
    }

    // MARK: What a failed bulk OUT write says left the host

    /// Runs `BulkPackets.write` over 200 bytes (packets 64, 64, 64, 8) with
    /// transfers answered by `answer(packetIndex, packet)`.
    static func write(
        _ count: Int = 200, stopBefore: Int? = nil,
        answer: @escaping (Int, ArraySlice<UInt8>) -> BulkPackets.Transfer
    ) -> (error: WandSendError?, packets: [[UInt8]]) {
        let bytes = (0..<count).map { UInt8(truncatingIfNeeded: $0) }
        var packets: [[UInt8]] = []
        do {
            try BulkPackets.write(
                bytes, maxPacketSize: 64, peer: "wand",
                shouldStop: { packets.count == stopBefore ? .closed : nil },
                failure: { LibUSBStatus.transportError($0, operation: "bulk OUT", device: "wand") },
                transfer: { slice in
                    packets.append(Array(slice))
                    return answer(packets.count - 1, slice)
                })
            return (nil, packets)
        } catch {
            return (error, packets)
        }
    }

    static func ok(_ slice: ArraySlice<UInt8>) -> BulkPackets.Transfer { .init(status: 0, transferred: slice.count) }

    @Test func aWriteThatCompletesSendsEachPacketOnceInOrder() {
        let (error, packets) = Self.write { _, slice in Self.ok(slice) }
        #expect(error == nil)
        #expect(packets.flatMap { $0 } == (0..<200).map { UInt8($0) })
        #expect(packets.map(\.count) == [64, 64, 64, 8])
    }

    @Test func aFirstPacketRefusedBeforeSubmissionLeavesNoByte() {
        let (error, packets) = Self.write { _, _ in .init(status: LIBUSB_ERROR_NO_MEM.rawValue, transferred: 0) }
        #expect(packets.count == 1)
        #expect(error == WandSendError(failure: .io(errno: ENOMEM, operation: "bulk OUT (LIBUSB_ERROR_NO_MEM)"), bytesSent: 0))
        #expect(error?.anyByteLeft == false)
    }

    /// A timeout may come after the wand took the packet and its
    /// acknowledgement was lost: the whole packet counts as possibly sent.
    @Test func aFirstPacketThatTimesOutMayHaveLeftWhole() {
        let (error, _) = Self.write { _, _ in .init(status: LIBUSB_ERROR_TIMEOUT.rawValue, transferred: 0) }
        #expect(error == WandSendError(failure: .timedOut, bytesSent: 64))
        #expect(error?.anyByteLeft == true)
    }

    @Test func theDeviceVanishingDuringAPacketCountsThatPacketAndTheOnesBefore() {
        let (error, packets) = Self.write { index, slice in
            index < 2 ? Self.ok(slice) : .init(status: LIBUSB_ERROR_NO_DEVICE.rawValue, transferred: 0)
        }
        #expect(packets.count == 3)
        #expect(error == WandSendError(failure: .unplugged, bytesSent: 192))
    }

    @Test func stoppingBeforeAPacketCountsOnlyThePacketsBefore() {
        let (none, nothing) = Self.write(stopBefore: 0) { _, slice in Self.ok(slice) }
        #expect(nothing.isEmpty)
        #expect(none == WandSendError(failure: .closed, bytesSent: 0))
        let (some, two) = Self.write(stopBefore: 2) { _, slice in Self.ok(slice) }
        #expect(two.count == 2)
        #expect(some == WandSendError(failure: .closed, bytesSent: 128))
    }

    @Test func aFailedZeroLengthPacketStillCountsEveryDataByte() {
        let (error, packets) = Self.write(128) { index, slice in
            index < 2 ? Self.ok(slice) : .init(status: LIBUSB_ERROR_PIPE.rawValue, transferred: 0)
        }
        #expect(packets.map(\.count) == [64, 64, 0])
        #expect(error == WandSendError(failure: .io(errno: EPIPE, operation: "bulk OUT (LIBUSB_ERROR_PIPE)"), bytesSent: 128))
    }

    @Test func aShortPacketReportedAsSuccessIsAFaultThatMayHaveSentThePacket() {
        let (error, _) = Self.write { _, _ in .init(status: 0, transferred: 10) }
        #expect(error == WandSendError(failure: .io(errno: EIO, operation: "bulk OUT to wand (sent 10 of 64 bytes)"), bytesSent: 64))
    }
}
