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
}
