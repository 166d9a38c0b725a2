import Foundation
import Testing
import TestSupport
@testable import WandLink

/// The USB transport through real libusb against a live fake wand.
///
/// `USBTransportUnderHarnessTests` runs this test binary again as the child
/// of Tests/Harness/usb_wand.py, with PUMPWAND_USB_HARNESS naming the
/// harness mode; each test here is enabled only in its own mode (the
/// `.enabled(if:)` traits are that mode switch, not a missing tool). In a
/// plain test run they show as skipped, and the outer tests assert that they
/// ran and passed under the harness. Serialized: like a real one, the fake
/// wand is a single device that one test at a time may hold.
@Suite(.serialized, .tags(.hardwareInTheLoop)) struct USBTransportLiveTests {
    static let harnessMode = ProcessInfo.processInfo.environment["PUMPWAND_USB_HARNESS"]
    static let serial = "PW1-000123"

    static func receive(_ count: Int, from transport: USBTransport) async throws -> [UInt8] {
        var bytes: [UInt8] = []
        while bytes.count < count { bytes += try await transport.receive(deadline: .now + .seconds(20)) }
        return bytes
    }

    @Test(.enabled(if: harnessMode == "echo", "runs only as the child of USBTransportUnderHarnessTests, in harness mode echo"))
    func aMessageSpanningSeveralPacketsIsEchoedWhole() async throws {
        let transport = try USBTransport.open(serialNumber: Self.serial)
        #expect(transport.serialNumber == Self.serial)
        #expect(transport.peerDescription == "wand PW1-000123 on USB /dev/bus/usb/001/002")
        // 200 bytes = packets of 64, 64, 64 and 8.
        let message = (0..<200).map { UInt8(truncatingIfNeeded: $0 &* 13 &+ 1) }
        try await transport.send(message)
        #expect(try await Self.receive(message.count, from: transport) == message)
        await transport.close()
    }

    @Test(.enabled(if: harnessMode == "echo", "runs only as the child of USBTransportUnderHarnessTests, in harness mode echo"))
    func aMessageOfWholePacketsIsEchoedWhole() async throws {
        let transport = try USBTransport.open(usbPath: "/dev/bus/usb/001/002")
        #expect(transport.serialNumber == Self.serial)
        // 128 bytes = two full packets and a zero-length packet.
        let message = (0..<128).map { UInt8(255 - $0) }
        try await transport.send(message)
        #expect(try await Self.receive(message.count, from: transport) == message)
        await transport.close()
    }

    @Test(.enabled(if: harnessMode == "echo", "runs only as the child of USBTransportUnderHarnessTests, in harness mode echo"))
    func aSecondOpenIsBusyUntilTheFirstCloses() async throws {
        let first = try USBTransport.open(serialNumber: Self.serial)
        #expect(throws: WandTransportError.busy(device: "wand PW1-000123 at /dev/bus/usb/001/002")) {
            _ = try USBTransport.open(serialNumber: Self.serial)
        }
        await first.close()
        let second = try USBTransport.open(serialNumber: Self.serial)
        try await second.send([1, 2, 3])
        #expect(try await Self.receive(3, from: second) == [1, 2, 3])
        await second.close()
    }

    @Test(.enabled(if: harnessMode == "silent", "runs only as the child of USBTransportUnderHarnessTests, in harness mode silent"))
    func aWandThatNeverAnswersTimesOut() async throws {
        let transport = try USBTransport.open(serialNumber: Self.serial)
        try await transport.send(Array(repeating: 0x5A, count: 10))
        await #expect(throws: WandTransportError.timedOut) {
            _ = try await transport.receive(deadline: .now + .milliseconds(300))
        }
        await transport.close()
    }

    @Test(.enabled(if: harnessMode == "unplug-after-10", "runs only as the child of USBTransportUnderHarnessTests, in harness mode unplug-after-10"))
    func anUnpluggedWandIsReportedAsUnplugged() async throws {
        let transport = try USBTransport.open(serialNumber: Self.serial)
        // The harness unplugs the wand once these 10 bytes have arrived.
        try await transport.send(Array(repeating: 0xA5, count: 10))
        await #expect(throws: WandTransportError.unplugged) {
            _ = try await transport.receive(deadline: .now + .seconds(20))
        }
        // libusb already said the device is gone: the send submits nothing,
        // so it certainly left no byte.
        await #expect(throws: WandSendError(failure: .unplugged, bytesSent: 0)) { try await transport.send([1]) }
        await transport.close()
    }
}
