import PropertyBased
import Testing
@testable import WandProtocol

/// The buffer paths of framing (runs copied at once, eight CRC bytes per
/// step, COBS through a scratch buffer) must give exactly what the byte-wise
/// definitions give, whatever the input: these compare the two.
@Suite("Framing fast paths")
struct FramingFastPathTests {
    /// The CRC-32C by its definition, one bit at a time.
    static func bitwiseCRC(_ bytes: [UInt8]) -> UInt32 {
        var crc: UInt32 = 0xFFFF_FFFF
        for byte in bytes {
            crc ^= UInt32(byte)
            for _ in 0..<8 { crc = (crc & 1) != 0 ? (crc >> 1) ^ 0x82F6_3B78 : crc >> 1 }
        }
        return crc ^ 0xFFFF_FFFF
    }

    @Test("Slicing-by-8 CRC-32C equals the bitwise definition at every length and alignment 0...80")
    func crcEveryLength() {
        let data = (0..<96).map { UInt8(truncatingIfNeeded: $0 &* 37 &+ 11) }
        for start in 0..<8 {
            for length in 0...80 where start + length <= data.count {
                let slice = Array(data[start..<(start + length)])
                #expect(CRC32C.checksum(slice) == Self.bitwiseCRC(slice), "start \(start) length \(length)")
            }
        }
    }

    @Test("Property: fed in pieces, the accumulator gives the one-shot CRC")
    func crcIncremental() async {
        await propertyCheck(count: 200, input: Gen.uint8().array(of: 0...300)) { bytes in
            let cut = bytes.count / 3
            var accumulator = CRC32C.Accumulator()
            accumulator.update(bytes[0..<cut])
            accumulator.update(bytes[cut...])
            #expect(accumulator.value == Self.bitwiseCRC(bytes))
        }
    }

    /// COBS encoding by its definition, appending byte by byte.
    static func referenceCOBS(_ input: [UInt8]) -> [UInt8] {
        var output: [UInt8] = [0]
        var codeIndex = 0
        var code: UInt8 = 1
        for (index, byte) in input.enumerated() {
            if byte == 0 {
                output[codeIndex] = code
                codeIndex = output.count
                output.append(0)
                code = 1
            } else {
                output.append(byte)
                code &+= 1
                if code == 0xFF && index + 1 < input.count {
                    output[codeIndex] = code
                    codeIndex = output.count
                    output.append(0)
                    code = 1
                }
            }
        }
        output[codeIndex] = code
        return output
    }

    @Test("Property: COBS through the scratch buffer equals the reference encoding (zeros and 254-byte blocks)")
    func cobsMatchesReference() async {
        // Bytes below 0x40 become zeros, so inputs mix zero runs with long
        // non-zero blocks that cross the 254-byte boundary.
        await propertyCheck(count: 300, input: Gen.uint8().array(of: 0...800)) { raw in
            let input = raw.map { $0 < 0x40 ? 0 : $0 }
            #expect(COBS.encode(input) == Self.referenceCOBS(input))
        }
    }

    /// A stream of valid frames, bare delimiters, noise and over-long runs,
    /// drawn from `seed`.
    static func mixedStream(seed: UInt64) -> [UInt8] {
        var rng = SplitMix(seed: seed)
        var stream: [UInt8] = []
        for _ in 0..<Int.random(in: 1...12, using: &rng) {
            switch Int.random(in: 0..<4, using: &rng) {
            case 0:
                let body = (0..<Int.random(in: 1...200, using: &rng)).map { _ in UInt8.random(in: 0...255, using: &rng) }
                stream += (try? FrameEncoder.encode(body)) ?? []
            case 1: stream += (0..<Int.random(in: 0...40, using: &rng)).map { _ in UInt8.random(in: 0...255, using: &rng) }
            case 2: stream += [UInt8](repeating: 0x5A, count: Int.random(in: 130...400, using: &rng))
            default: stream.append(0)
            }
        }
        return stream
    }

    @Test("Property: the buffer path and byte-by-byte pushing give the same frames and the same counts")
    func bufferPathEqualsPush() async {
        await propertyCheck(count: 300, input: Gen.uint64()) { seed in
            let stream = Self.mixedStream(seed: seed)
            var byBuffer = FrameDecoder(maximumBodyLength: 128)
            var byByte = FrameDecoder(maximumBodyLength: 128)
            let fed = byBuffer.feed(stream)
            var pushed: [[UInt8]] = []
            for byte in stream { if let frame = byByte.push(byte) { pushed.append(frame) } }
            #expect(fed == pushed)
            #expect(byBuffer.statistics == byByte.statistics)
        }
    }
}
