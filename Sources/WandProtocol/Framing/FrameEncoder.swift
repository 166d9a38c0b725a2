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
        let check: (UInt8, UInt8, UInt8, UInt8) = (
            UInt8(truncatingIfNeeded: crc), UInt8(truncatingIfNeeded: crc >> 8),
            UInt8(truncatingIfNeeded: crc >> 16), UInt8(truncatingIfNeeded: crc >> 24))
        // COBS runs over the body and then the CRC as one string, written
        // into a stack buffer and appended to `output` in one copy.
        let capacity = COBS.maximumEncodedLength(body.count + FrameFormat.checksumLength) + 2
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: capacity) { scratch in
            withUnsafeBytes(of: check) { checkBytes in
                body.withUnsafeBufferPointer { bodyBuffer in
                    scratch[0] = FrameFormat.delimiter
                    let encoded = COBS.encode(bodyBuffer, checkBytes.bindMemory(to: UInt8.self),
                                              into: UnsafeMutableBufferPointer(rebasing: scratch[1...]))
                    scratch[encoded + 1] = FrameFormat.delimiter
                    output.append(contentsOf: UnsafeBufferPointer(rebasing: scratch[0..<(encoded + 2)]))
                }
            }
        }
    }
}
