/// Turns frame bodies into delimited, checksummed, COBS-encoded bytes.
public enum FrameEncoder {
    /// The wire bytes of one frame: `00 | COBS(body || CRC-32C LE) | 00`.
    public static func encode(_ body: [UInt8]) throws(FramingError) -> [UInt8] {
        var output: [UInt8] = []
        output.reserveCapacity(FrameFormat.maximumEncodedLength(bodyLength: body.count) + 2)
        try encode(body, appendingTo: &output)
        return output
    }

    /// Appends the wire bytes of one frame to `output`. Reusing one output
    /// buffer with reserved capacity makes framing allocation-free.
    public static func encode(_ body: [UInt8], appendingTo output: inout [UInt8]) throws(FramingError) {
        guard !body.isEmpty else { throw .emptyBody }
        guard body.count <= FrameFormat.maximumBodyLength else {
            throw .bodyTooLong(length: body.count, maximum: FrameFormat.maximumBodyLength)
        }
        let crc = CRC32C.checksum(body)
        // Body and CRC are staged in a temporary (stack) buffer so COBS runs
        // over one contiguous run without a heap-allocated concatenation.
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: body.count + 4) { raw in
            var index = 0
            for byte in body { raw[index] = byte; index += 1 }
            raw[index] = UInt8(truncatingIfNeeded: crc)
            raw[index + 1] = UInt8(truncatingIfNeeded: crc >> 8)
            raw[index + 2] = UInt8(truncatingIfNeeded: crc >> 16)
            raw[index + 3] = UInt8(truncatingIfNeeded: crc >> 24)
            output.append(FrameFormat.delimiter)
            COBS.encode(UnsafeBufferPointer(raw), appendingTo: &output)
            output.append(FrameFormat.delimiter)
        }
    }
}
