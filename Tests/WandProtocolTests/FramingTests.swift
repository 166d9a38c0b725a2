import PropertyBased
import Testing
@testable import WandProtocol

@Suite("Framing: CRC-32C, COBS and the streaming decoder")
struct FramingTests {
    @Test("CRC-32C matches the independent check value for \"123456789\"")
    func crcCheckValue() {
        // Check value from the CRC catalogue (reveng, CRC-32/ISCSI) and
        // hil-testing.md: 0xE3069283.
        #expect(CRC32C.checksum(Array("123456789".utf8)) == 0xE306_9283)
        // Incremental feeding gives the same answer as one pass.
        var accumulator = CRC32C.Accumulator()
        accumulator.update(Array("1234".utf8))
        accumulator.update(Array("56789".utf8))
        #expect(accumulator.value == 0xE306_9283)
        // Empty input: initial 0xFFFFFFFF xor final 0xFFFFFFFF = 0.
        #expect(CRC32C.checksum([UInt8]()) == 0)
    }

    @Test("COBS vectors from Cheshire and Baker and the canonical 254-byte block")
    func cobsVectors() {
        #expect(COBS.encode([0x11, 0x22, 0x00, 0x33]) == [0x03, 0x11, 0x22, 0x02, 0x33])
        #expect(COBS.encode([0x00]) == [0x01, 0x01])
        #expect(COBS.encode([0x00, 0x00]) == [0x01, 0x01, 0x01])
        #expect(COBS.encode([0x11, 0x00, 0x00]) == [0x02, 0x11, 0x01, 0x01])
        // 254 non-zero bytes: one full block FF + 254 bytes, no trailing 01.
        let full = (1...254).map { UInt8($0) }
        #expect(COBS.encode(full) == [0xFF] + full)
        // 255 non-zero bytes 01..FF: FF + 01..FE, then 02 FF.
        let overFull = (1...255).map { UInt8($0) }
        #expect(COBS.encode(overFull) == [0xFF] + full + [0x02, 0xFF])
        #expect(COBS.decode([0x03, 0x11, 0x22, 0x02, 0x33]) == [0x11, 0x22, 0x00, 0x33])
        #expect(COBS.decode([0xFF] + full + [0x02, 0xFF]) == overFull)
        // A code pointing past the end is not COBS.
        #expect(COBS.decode([0x05, 0x11]) == nil)
        // A zero inside is not COBS.
        #expect(COBS.decode([0x03, 0x11, 0x00]) == nil)
    }

    @Test("A frame's wire bytes: delimiter, COBS of body and CRC LE, delimiter")
    func frameVector() throws {
        // Body 11 22 00 33. CRC-32C computed here independently of the
        // encoder's path, then laid out little-endian after the body.
        let body: [UInt8] = [0x11, 0x22, 0x00, 0x33]
        let crc = CRC32C.checksum(body)
        let raw = body + [UInt8(crc & 0xFF), UInt8(crc >> 8 & 0xFF), UInt8(crc >> 16 & 0xFF), UInt8(crc >> 24)]
        let wire = try FrameEncoder.encode(body)
        #expect(wire == [0x00] + COBS.encode(raw) + [0x00])
        #expect(wire.dropFirst().dropLast().allSatisfy { $0 != 0 })
        var decoder = FrameDecoder()
        #expect(decoder.feed(wire) == [body])
    }

    @Test("Bodies that are empty or over the limit are refused before sending")
    func encoderLimits() {
        #expect(throws: FramingError.emptyBody) { try FrameEncoder.encode([]) }
        let tooLong = [UInt8](repeating: 1, count: FrameFormat.maximumBodyLength + 1)
        #expect(throws: FramingError.bodyTooLong(length: 2049, maximum: 2048)) {
            try FrameEncoder.encode(tooLong)
        }
        #expect((try? FrameEncoder.encode([UInt8](repeating: 0, count: 2048))) != nil)
    }

    /// Several frames of varied content (zeros, 0xFF runs, block boundaries).
    static func sampleBodies() -> [[UInt8]] {
        [
            [0x01],
            [0x00, 0x00, 0x00],
            Array(repeating: 0xFF, count: 300),
            (0..<254).map { UInt8($0 % 255 + 1) },
            (0..<1024).map { UInt8(truncatingIfNeeded: $0 &* 7) },
            [0x01, 0x02, 0x00, 0x05, 0x00],
        ]
    }

    @Test("The decoder yields the same frames whole, byte by byte and in random chunkings")
    func chunkings() throws {
        let bodies = Self.sampleBodies()
        var stream: [UInt8] = []
        for body in bodies { stream += try FrameEncoder.encode(body) }

        var whole = FrameDecoder()
        #expect(whole.feed(stream) == bodies)

        var byteByByte = FrameDecoder()
        var collected: [[UInt8]] = []
        for byte in stream { if let frame = byteByByte.push(byte) { collected.append(frame) } }
        #expect(collected == bodies)

        for seed in UInt64(1)...50 {
            var rng = SplitMix(seed: seed)
            var decoder = FrameDecoder()
            var frames: [[UInt8]] = []
            var index = 0
            while index < stream.count {
                let size = Int.random(in: 1...97, using: &rng)
                let end = min(stream.count, index + size)
                frames += decoder.feed(stream[index..<end])
                index = end
            }
            #expect(frames == bodies, "seed \(seed)")
            #expect(decoder.statistics.droppedFrames == 0)
        }
    }

    @Test("Shuffled frames arrive in the order they were fed, each intact")
    func shuffledFrames() throws {
        var rng = SplitMix(seed: 7)
        let bodies = Self.sampleBodies().shuffled(using: &rng)
        var stream: [UInt8] = []
        for body in bodies { stream += try FrameEncoder.encode(body) }
        var decoder = FrameDecoder()
        #expect(decoder.feed(stream) == bodies)
    }

    @Test("Garbage before, between and after frames is dropped and counted; frames survive")
    func resynchronisation() throws {
        let first: [UInt8] = [0x10, 0x20, 0x30]
        let second: [UInt8] = [0x40, 0x00, 0x50]
        var stream: [UInt8] = [0x13, 0x37, 0xAB]  // noise before any delimiter
        stream += try FrameEncoder.encode(first)
        stream += [0x99, 0x98, 0x97, 0x96, 0x95, 0x94]  // noise between frames
        stream += try FrameEncoder.encode(second)
        var decoder = FrameDecoder()
        #expect(decoder.feed(stream) == [first, second])
        // Two noise runs each ended by a delimiter: both counted as dropped.
        #expect(decoder.statistics.droppedFrames == 2)
        #expect(decoder.statistics.framesDelivered == 2)
    }

    @Test("An over-long run is dropped in bounded memory and the next frame still decodes")
    func overLong() throws {
        var decoder = FrameDecoder(maximumBodyLength: 64)
        let noise = [UInt8](repeating: 0x5A, count: 100_000)
        #expect(decoder.feed(noise).isEmpty)
        let next: [UInt8] = [1, 2, 3]
        #expect(decoder.feed(try FrameEncoder.encode(next)) == [next])
        #expect(decoder.statistics.oversizedFrames == 1)

        // A well-formed frame whose body is over the decoder's limit is also
        // refused (65 bytes against a 64-byte limit).
        var small = FrameDecoder(maximumBodyLength: 64)
        let big = [UInt8](repeating: 7, count: 65)
        #expect(small.feed(try FrameEncoder.encode(big)).isEmpty)
        #expect(small.statistics.droppedFrames == 1)
    }

    @Test("Every truncation and every single-bit flip of a valid frame is rejected")
    func truncationsAndBitFlips() throws {
        let body: [UInt8] = [0x01, 0x03, 0x34, 0x12, 0x00, 0x02, 0x00, 0xFF, 0x7E]
        let wire = try FrameEncoder.encode(body)
        // Truncations: cut the frame at every point, then close it with a
        // delimiter (what a receiver sees when bytes were lost).
        for cut in 1..<(wire.count - 1) {
            var decoder = FrameDecoder()
            let frames = decoder.feed(Array(wire[0..<cut]) + [0x00])
            #expect(frames.isEmpty, "truncation at \(cut)")
        }
        // Bit flips inside the frame (between the delimiters).
        for index in 1..<(wire.count - 1) {
            for bit in 0..<8 {
                var corrupted = wire
                corrupted[index] ^= UInt8(1) << UInt8(bit)
                var decoder = FrameDecoder()
                let frames = decoder.feed(corrupted)
                #expect(frames.isEmpty, "flip byte \(index) bit \(bit)")
                #expect(decoder.statistics.droppedFrames >= 1)
            }
        }
    }

    @Test("Property: any body within the limit survives encode and decode")
    func roundTripProperty() async {
        await propertyCheck(count: 300, input: Gen.uint8().array(of: 1...600)) { body in
            let wire = try FrameEncoder.encode(body)
            #expect(wire.count <= FrameFormat.maximumEncodedLength(bodyLength: body.count) + 2)
            var decoder = FrameDecoder()
            #expect(decoder.feed(wire) == [body])
        }
    }

    @Test("Property: arbitrary bytes never crash the decoder and never exceed its bound")
    func arbitraryBytes() async {
        await propertyCheck(count: 300, input: Gen.uint8().array(of: 0...3000)) { bytes in
            var decoder = FrameDecoder(maximumBodyLength: 128)
            for frame in decoder.feed(bytes) { #expect(frame.count <= 128) }
        }
    }
}
