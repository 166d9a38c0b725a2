import CBenchBaseline
@_spi(Benchmark) import WandProtocol

/// Framing and sealing against the C baseline (Sources/CBenchBaseline): the
/// same CRC-32C, COBS and delimiters for one frame, encoded and decoded, and
/// the same sealed message (padding, nonce, associated data,
/// ChaCha20-Poly1305) sealed and opened, at the two message sizes speed is
/// judged at. The figure that matters is the ratio; the target is at most 2.
enum BaselineBench {
    static let iterations = 20_000
    /// Rounds alternate Swift and C and the best of each is kept, so a
    /// busy machine (another build, a second core's load) slows both sides
    /// alike and the ratio stays meaningful.
    static let rounds = 15

    static func run() throws {
        for size in [64, 256] {
            let body = (0..<size).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ 7) }
            var swift = Int.max
            var c = Int.max
            for _ in 0..<rounds {
                swift = min(swift, swiftFraming(body))
                c = min(c, cFraming(body))
            }
            print("  framing \(size) B body: Swift \(swift) ns, C \(c) ns, ratio \(ratio(swift, c)) (target <= 2.00)")
        }
        try SealingBaseline.run()
    }

    /// Encode then decode through the product's types, reusing one output
    /// buffer and one decoder as the transports do.
    static func swiftFraming(_ body: [UInt8]) -> Int {
        var output: [UInt8] = []
        output.reserveCapacity(FrameFormat.maximumEncodedLength(bodyLength: body.count) + 2)
        var decoder = FrameDecoder()
        var delivered = 0
        var frames: [[UInt8]] = []
        frames.reserveCapacity(4)
        let time = ContinuousClock().measure {
            for _ in 0..<iterations {
                output.removeAll(keepingCapacity: true)
                try? FrameEncoder.encode(body, appendingTo: &output)
                frames.removeAll(keepingCapacity: true)
                output.withUnsafeBufferPointer { decoder.feed(buffer: $0, appendingTo: &frames) }
                delivered += frames.count
            }
        }
        precondition(delivered == iterations, "the Swift decoder lost frames")
        return ProtocolBench.nanoseconds(time) / iterations
    }

    static func cFraming(_ body: [UInt8]) -> Int {
        var wire = [UInt8](repeating: 0, count: body.count * 2 + 16)
        var out = [UInt8](repeating: 0, count: body.count + 16)
        var delivered = 0
        let time = ContinuousClock().measure {
            for _ in 0..<iterations {
                let length = body.withUnsafeBufferPointer { pw_c_frame_encode($0.baseAddress, body.count, &wire) }
                if pw_c_frame_decode(&wire, length, &out) == body.count { delivered += 1 }
            }
        }
        precondition(delivered == iterations, "the C decoder lost frames")
        return ProtocolBench.nanoseconds(time) / iterations
    }

    static func ratio(_ measured: Int, _ baseline: Int) -> String {
        guard baseline > 0 else { return "n/a" }
        let hundredths = (measured * 100 + baseline / 2) / baseline
        return "\(hundredths / 100).\(hundredths % 100 < 10 ? "0" : "")\(hundredths % 100)"
    }
}
