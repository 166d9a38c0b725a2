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
        var codeIndex = 0
        var write = 1
        var code: UInt8 = 1
        let count = input.count
        var index = 0
        while index < count {
            let byte = input[index]
            index += 1
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
                if code == 0xFF && index < count {
                    output[codeIndex] = code
                    codeIndex = write
                    write += 1
                    code = 1
                }
            }
        }
        output[codeIndex] = code
        return write
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
