/// Consistent Overhead Byte Stuffing (Cheshire and Baker, 1999): removes
/// every 0x00 from a byte string at a cost of at most one byte per 254, so
/// 0x00 can delimit frames. `11 22 00 33` encodes as `03 11 22 02 33`.
///
/// This is the canonical form: a block of 254 non-zero bytes that ends the
/// input is not followed by an extra `01` code byte.
public enum COBS {
    /// Appends the COBS encoding of `input` to `output` (no delimiter).
    /// The encoding is written into a stack buffer and appended in one copy;
    /// with enough reserved capacity in `output` it does not allocate.
    public static func encode(_ input: UnsafeBufferPointer<UInt8>, appendingTo output: inout [UInt8]) {
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: maximumEncodedLength(input.count)) { scratch in
            let written = encode(input, into: scratch)
            output.append(contentsOf: UnsafeBufferPointer(rebasing: scratch[0..<written]))
        }
    }

    /// The longest encoding of `count` bytes: one code byte per started
    /// block of 254.
    static func maximumEncodedLength(_ count: Int) -> Int { count + count / 254 + 1 }

    /// Encodes `input` into `output`, which holds at least
    /// `maximumEncodedLength(input.count)` bytes; returns the length written.
    static func encode(_ input: UnsafeBufferPointer<UInt8>, into output: UnsafeMutableBufferPointer<UInt8>) -> Int {
        var encoder = Encoder(output: output)
        for index in 0..<input.count { encoder.add(input[index], more: index + 1 < input.count) }
        return encoder.finish()
    }

    /// Encodes `head` followed by `tail` as one string, without first
    /// copying them together (a frame body and its CRC).
    static func encode(_ head: UnsafeBufferPointer<UInt8>, _ tail: UnsafeBufferPointer<UInt8>,
                       into output: UnsafeMutableBufferPointer<UInt8>) -> Int {
        var encoder = Encoder(output: output)
        for index in 0..<head.count { encoder.add(head[index], more: index + 1 < head.count || !tail.isEmpty) }
        for index in 0..<tail.count { encoder.add(tail[index], more: index + 1 < tail.count) }
        return encoder.finish()
    }

    /// The encoder's state: where the current block's code byte goes, the
    /// next write position and the block's code so far.
    struct Encoder {
        let output: UnsafeMutableBufferPointer<UInt8>
        var codeIndex = 0
        var write = 1
        var code: UInt8 = 1

        init(output: UnsafeMutableBufferPointer<UInt8>) { self.output = output }

        /// Adds one input byte; `more` says whether input follows it.
        @inline(__always)
        mutating func add(_ byte: UInt8, more: Bool) {
            if byte == 0 {
                output[codeIndex] = code
                codeIndex = write
                write += 1
                code = 1
            } else {
                output[write] = byte
                write += 1
                code &+= 1
                // A full block ends without an implied zero; start a new one
                // only if input remains, which keeps the encoding canonical.
                if code == 0xFF && more {
                    output[codeIndex] = code
                    codeIndex = write
                    write += 1
                    code = 1
                }
            }
        }

        /// Closes the last block; returns the encoded length.
        mutating func finish() -> Int {
            output[codeIndex] = code
            return write
        }
    }

    /// The COBS encoding of `input` (no delimiter).
    public static func encode(_ input: [UInt8]) -> [UInt8] {
        var output: [UInt8] = []
        output.reserveCapacity(input.count + input.count / 254 + 1)
        input.withUnsafeBufferPointer { encode($0, appendingTo: &output) }
        return output
    }

    /// Decodes `count` bytes of `buffer` in place and returns the decoded
    /// length, or nil when the bytes are not valid COBS (a zero byte, or a
    /// code that points past the end). Decoding never grows the data, so the
    /// output overwrites the input from the front without extra memory.
    public static func decodeInPlace(_ buffer: UnsafeMutableBufferPointer<UInt8>, count: Int) -> Int? {
        var read = 0
        var write = 0
        while read < count {
            let code = Int(buffer[read])
            read += 1
            guard code != 0, read + code - 1 <= count else { return nil }
            for _ in 1..<code {
                let byte = buffer[read]
                guard byte != 0 else { return nil }
                buffer[write] = byte
                read += 1
                write += 1
            }
            if code != 0xFF && read < count {
                buffer[write] = 0
                write += 1
            }
        }
        return write
    }

    /// Decodes a COBS string (no delimiter); nil when it is not valid COBS.
    public static func decode(_ input: [UInt8]) -> [UInt8]? {
        var copy = input
        let length = copy.withUnsafeMutableBufferPointer { decodeInPlace($0, count: input.count) }
        guard let length else { return nil }
        return Array(copy[0..<length])
    }
}
