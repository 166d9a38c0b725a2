import WandProtocol

#if canImport(Glibc)
import Glibc
#endif

/// Per-frame cost of the host's encode+seal+frame and the pump's
/// deframe+open+decode, for a small and a large pump request.
enum ProtocolBench {
    enum BenchError: Error { case setup(String) }

    static let iterations = 20_000

    /// A stage request whose plaintext is near `target` bytes: flex steps
    /// add 10 bytes each to a 47-byte base (opcode 1, command id 16, expiry 8,
    /// 22-byte prescription frame). The exact size is printed.
    static func stageRequest(steps: Int, id: CommandID) -> PumpRequest {
        let cycle: WirePrescription.Cycle = steps > 13 ? .weekly : .daily
        let spacing = cycle.minutes / steps
        let prescription = WirePrescription(
            drug: .baclofen, concentrationNanogramsPerMillilitre: 2_000_000, indication: .spasticitySpinal, mode: .flex,
            cycle: cycle,
            steps: (0..<steps).map { index in
                .init(startMinute: UInt16(index * spacing), volumeRateNanolitresPerDay: 200_000, doseRateNanogramsPerDay: 400_000)
            },
            catheterVolumeNanolitres: 150_000)
        return .stagePrescription(StagePrescription(commandId: id, expiry: RequestExpiry(utcSeconds: 1_800_000_010), prescription: prescription))
    }

    static func run() throws {
        // 1 step -> 57-byte plaintext, 20 steps -> 247 bytes: sealed padded to 64 and 256 bytes
        // (PROTOCOL.md 7.2: the plaintext, 0x80, zeros). The exact sizes are printed.
        for (label, steps) in [("64-byte class", 1), ("256-byte class", 20)] {
            // Distinct command ids, so the pump executes each one rather than
            // answering from its outcome store.
            let requests = (0..<iterations).map { _ in stageRequest(steps: steps, id: CommandID.random()) }
            try measure(label: label, requests: requests)
        }
        measureFramingOnly()
    }

    static func measure(label: String, requests: [PumpRequest]) throws {
        guard let key = PumpKey(bytes: [UInt8](repeating: 0x42, count: 32)) else { throw BenchError.setup("key") }
        var pump = PumpSessionEndpoint(serial: "BENCH-1", key: key, idleTimeout: .seconds(1_000_000))
        var outcomes = CommandOutcomeStore()
        let handshake = SessionHandshake()
        let openBody = FrameHeader(kind: .pumpMessage, sequence: 1).encoded + handshake.request.encoded
        guard let openReply = pump.handle(frameBody: openBody, now: .zero, utcSeconds: 0, outcomes: &outcomes, execute: { _ in .sessionClosed }),
              let openFrame = try? Frame(body: openReply)
        else { throw BenchError.setup("handshake") }
        var host = try handshake.complete(replyPayload: openFrame.payload, candidates: [PumpKeyCandidate(serial: nil, key: key)])

        // Host: encode + seal + frame, one new counter per frame.
        let plaintextSize = requests[0].encoded.count
        var wires: [[UInt8]] = []
        wires.reserveCapacity(iterations)
        let clock = ContinuousClock()
        let sealTime = try clock.measure {
            for (index, request) in requests.enumerated() {
                let sealed = try host.seal(request, sequence: UInt16(truncatingIfNeeded: index + 2))
                wires.append(try FrameEncoder.encode(sealed.frameBody))
            }
        }

        // Pump: deframe + open + decode. The handler answers with a 2-byte
        // refusal so the reply it seals is the smallest possible. The cost
        // includes recording each command id in the outcome store.
        var decoder = FrameDecoder()
        var opened = 0
        let openTime = clock.measure {
            for wire in wires {
                for body in decoder.feed(wire) {
                    if pump.handle(frameBody: body, now: .seconds(1), utcSeconds: 0, outcomes: &outcomes,
                                   execute: { .refused($0.opcode, .internalFault) }) != nil { opened += 1 }
                }
            }
        }
        guard opened == iterations else { throw BenchError.setup("pump opened \(opened) of \(iterations)") }
        report("\(label): \(plaintextSize) B plaintext, \(wires[0].count) B on the wire", sealTime: sealTime, openTime: openTime)
    }

    static func measureFramingOnly() {
        for size in [64, 256] {
            let body = (0..<size).map { UInt8(truncatingIfNeeded: $0 &* 31) }
            var output: [UInt8] = []
            output.reserveCapacity(FrameFormat.maximumEncodedLength(bodyLength: size) + 2)
            var decoder = FrameDecoder()
            var delivered = 0
            let clock = ContinuousClock()
            let time = clock.measure {
                for _ in 0..<iterations {
                    output.removeAll(keepingCapacity: true)
                    try? FrameEncoder.encode(body, appendingTo: &output)
                    delivered += decoder.feed(output).count
                }
            }
            print("  framing only, \(size) B body: encode+decode \(nanoseconds(time) / iterations) ns/frame (\(delivered) frames)")
        }
    }

    static func nanoseconds(_ duration: Duration) -> Int {
        let (seconds, attoseconds) = duration.components
        return Int(seconds) * 1_000_000_000 + Int(attoseconds / 1_000_000_000)
    }

    static func report(_ label: String, sealTime: Duration, openTime: Duration) {
        let seal = nanoseconds(sealTime) / iterations
        let open = nanoseconds(openTime) / iterations
        print("  \(label)")
        print("    host encode+seal+frame: \(seal) ns/frame (\(seal > 0 ? 1_000_000_000 / seal : 0) frames/s)")
        print("    pump deframe+open+decode (+ seal of a 2-byte reply): \(open) ns/frame (\(open > 0 ? 1_000_000_000 / open : 0) frames/s)")
    }
}
