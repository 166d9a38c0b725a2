import WandProtocol

/// Cost of the version 2 handshake: the pump's answer (two X25519
/// operations, the key schedule, one seal), the host's completion, and how
/// the host's key lookup grows with the keyring (one HMAC per key held,
/// the matching key placed last).
enum HandshakeBench {
    static let iterations = 500

    static func run() throws {
        guard let key = PumpKey(bytes: [UInt8](repeating: 0x42, count: 32)) else { throw ProtocolBench.BenchError.setup("key") }
        for keyringSize in [1, 100, 500] {
            var keyring: [PumpKeyCandidate] = (1..<keyringSize).compactMap { index in
                PumpKey(bytes: [UInt8(truncatingIfNeeded: index), UInt8(truncatingIfNeeded: index >> 8)] + [UInt8](repeating: 0x17, count: 30))
                    .map { PumpKeyCandidate(serial: "BENCH-\(index)", key: $0) }
            }
            keyring.append(PumpKeyCandidate(serial: "BENCH-1", key: key))
            var pump = PumpSessionEndpoint(serial: "BENCH-1", key: key)
            var outcomes = CommandOutcomeStore()
            let handshakes = (0..<iterations).map { _ in SessionHandshake() }
            var replies: [[UInt8]] = []
            replies.reserveCapacity(iterations)
            let clock = ContinuousClock()
            let pumpTime = clock.measure {
                for (index, handshake) in handshakes.enumerated() {
                    let body = FrameHeader(kind: .pumpMessage, sequence: UInt16(truncatingIfNeeded: index + 1)).encoded + handshake.request.encoded
                    if let reply = pump.handle(frameBody: body, now: .zero, utcSeconds: 1_700_000_000, outcomes: &outcomes,
                                               execute: { _ in .sessionClosed }),
                       let frame = try? Frame(body: reply) {
                        replies.append(frame.payload)
                    }
                }
            }
            guard replies.count == iterations else { throw ProtocolBench.BenchError.setup("handshake replies") }
            var opened = 0
            let hostTime = clock.measure {
                for (handshake, reply) in zip(handshakes, replies)
                where (try? handshake.complete(replyPayload: reply, candidates: keyring)) != nil {
                    opened += 1
                }
            }
            guard opened == iterations else { throw ProtocolBench.BenchError.setup("handshake completion") }
            print("  keyring of \(keyringSize) key(s), \(iterations) handshakes")
            print("    pump answers a handshake: \(ProtocolBench.nanoseconds(pumpTime) / iterations / 1000) us")
            print("    host completes it (key id lookup + schedule): \(ProtocolBench.nanoseconds(hostTime) / iterations / 1000) us")
        }
    }
}
