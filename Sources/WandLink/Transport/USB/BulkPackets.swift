import CLibUSB
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// How a write to the wand's bulk OUT endpoint is cut into USB packets.
///
/// Each transfer carries exactly one packet of at most `maxPacketSize`
/// bytes, so when a write fails part-way the transport knows exactly which
/// bytes left the host. A write whose length is a non-zero multiple of the
/// packet size ends with a zero-length packet: the wand treats a short
/// packet as "end of this write", and without the empty one it would wait
/// for more bytes that are not coming.
enum BulkPackets {
    /// The byte ranges of `count` bytes, one per packet, in order; an empty
    /// range is the zero-length packet. No packets for an empty write.
    static func ranges(count: Int, maxPacketSize: Int) -> [Range<Int>] {
        guard count > 0, maxPacketSize > 0 else { return [] }
        var ranges = stride(from: 0, to: count, by: maxPacketSize).map {
            $0..<min($0 + maxPacketSize, count)
        }
        if count % maxPacketSize == 0 { ranges.append(count..<count) }
        return ranges
    }

    /// libusb statuses that `libusb_bulk_transfer` returns only when the
    /// transfer could not be submitted at all, so none of its packet went
    /// out. Every other failure (a timeout, a stall, an I/O error, the
    /// device vanishing) can come after the host controller started moving
    /// the packet, and the device may have taken some or all of it even
    /// when libusb reports fewer bytes transferred (its acknowledgement can
    /// be what was lost).
    static let refusedBeforeSubmission: Set<Int32> = [
        LIBUSB_ERROR_INVALID_PARAM.rawValue, LIBUSB_ERROR_NO_MEM.rawValue,
        LIBUSB_ERROR_NOT_SUPPORTED.rawValue, LIBUSB_ERROR_BUSY.rawValue,
        LIBUSB_ERROR_ACCESS.rawValue,
    ]

    /// The result of one bulk transfer: libusb's status and the bytes it
    /// says were transferred.
    struct Transfer: Equatable {
        var status: Int32
        var transferred: Int
    }

    /// Writes `bytes` packet by packet through `transfer` and, when a packet
    /// fails, says how many bytes may have left the host.
    ///
    /// The count is conservative: packets that completed count whole, and
    /// a failed packet counts whole too unless libusb refused it before
    /// submission (then only what it reports transferred, which is 0).
    /// - Parameters:
    ///   - shouldStop: checked before each packet; a non-nil failure stops
    ///     the write there (closing, or the device already known gone).
    ///   - failure: the transport error for a failed transfer's status.
    ///   - peer: how the wand is named in messages.
    static func write(
        _ bytes: [UInt8], maxPacketSize: Int, peer: String, shouldStop: () -> WandTransportError?,
        failure: (Int32) -> WandTransportError, transfer: (ArraySlice<UInt8>) -> Transfer
    ) throws(WandSendError) {
        var sent = 0
        for range in ranges(count: bytes.count, maxPacketSize: maxPacketSize) {
            if let stop = shouldStop() { throw WandSendError(failure: stop, bytesSent: sent) }
            let result = transfer(bytes[range])
            if result.status == 0 && result.transferred == range.count {
                sent = range.upperBound
                continue
            }
            let reported = min(max(0, result.transferred), range.count)
            let possiblyLeft = refusedBeforeSubmission.contains(result.status) ? reported : range.count
            let error: WandTransportError = result.status != 0 ? failure(result.status)
                // usbfs completes a bulk OUT packet whole or not at all; a
                // short count with success is a fault of the stack.
                : .io(errno: EIO, operation: "bulk OUT to \(peer) (sent \(result.transferred) of \(range.count) bytes)")
            throw WandSendError(failure: error, bytesSent: range.lowerBound + possiblyLeft)
        }
    }
}
