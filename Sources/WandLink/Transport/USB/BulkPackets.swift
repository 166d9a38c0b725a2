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
}
