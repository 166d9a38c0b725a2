import CBenchBaseline
@_spi(Benchmark) import WandProtocol

/// Sealing and opening of one pump message against the C baseline: Swift
/// through the product's session cipher (the functions HostSession and
/// PumpSessionEndpoint call), C through OpenSSL's libcrypto doing the same
/// padding, nonce and associated data. Both produce the same bytes (checked
/// before timing), so the ratio compares equal work.
///
/// The ratio is against C with a fresh EVP context per message: swift-crypto
/// builds its AEAD context from the key on every call and offers no context
/// to keep, so that is the state Swift may keep (the key, not a context).
/// C keeping one context per session is printed beside it, for information.
enum SealingBaseline {
    enum SealingError: Error { case setup(String) }

    static let hostToPump = (0..<32).map { UInt8(truncatingIfNeeded: $0 &* 13 &+ 5) }
    static let pumpToHost = (0..<32).map { UInt8(truncatingIfNeeded: $0 &* 29 &+ 3) }
    static let sessionId: UInt32 = 0x1234_5678
    static let header = FrameHeader(kind: .pumpMessage, sequence: 0x0102, flags: .sealed)

    static func run() throws {
        guard let keys = SessionCipherBenchmark.Keys(hostToPump: hostToPump, pumpToHost: pumpToHost) else {
            throw SealingError.setup("keys")
        }
        // The request sizes of the protocol section's two stage requests
        // (2 and 21 flex steps): padded to 64 and 256 bytes.
        guard let sealing = pw_c_kept_context_new(pumpToHost, 1), let opening = pw_c_kept_context_new(pumpToHost, 0) else {
            throw SealingError.setup("C contexts")
        }
        defer {
            pw_c_kept_context_free(sealing)
            pw_c_kept_context_free(opening)
        }
        for (padded, plaintextSize) in [(64, 59), (256, 249)] {
            let plaintext = (0..<plaintextSize).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ 7) }
            try crossCheck(plaintext, keys: keys, sealing: sealing, opening: opening)
            var swiftSeal = Int.max, cSeal = Int.max, keptSeal = Int.max
            var swiftOpen = Int.max, cOpen = Int.max, keptOpen = Int.max
            for _ in 0..<BaselineBench.rounds {
                swiftSeal = min(swiftSeal, try swiftSealing(plaintext, keys: keys))
                cSeal = min(cSeal, try cSealing(plaintext, kept: nil))
                keptSeal = min(keptSeal, try cSealing(plaintext, kept: sealing))
                swiftOpen = min(swiftOpen, try swiftOpening(plaintext, keys: keys))
                cOpen = min(cOpen, try cOpening(plaintext, kept: nil))
                keptOpen = min(keptOpen, try cOpening(plaintext, kept: opening))
            }
            print("  seal \(padded) B: Swift \(swiftSeal) ns, C \(cSeal) ns, ratio \(BaselineBench.ratio(swiftSeal, cSeal)) (target <= 2.00)")
            print("    (C keeping one EVP context per session, which Swift cannot: \(keptSeal) ns, ratio \(BaselineBench.ratio(swiftSeal, keptSeal)))")
            print("  open \(padded) B: Swift \(swiftOpen) ns, C \(cOpen) ns, ratio \(BaselineBench.ratio(swiftOpen, cOpen)) (target <= 2.00)")
            print("    (C keeping one EVP context per session, which Swift cannot: \(keptOpen) ns, ratio \(BaselineBench.ratio(swiftOpen, keptOpen)))")
        }
    }

    /// C's sealed payload, or nil.
    static func cSeal(_ plaintext: [UInt8], counter: UInt64, kept: UnsafeMutableRawPointer?, into out: inout [UInt8]) -> Int? {
        let headerBytes = header.encoded
        let length = plaintext.withUnsafeBufferPointer { input in
            pw_c_seal_message(kept, pumpToHost, SealDirection.pumpToHost.rawValue, counter, headerBytes, sessionId,
                              input.baseAddress, input.count, &out)
        }
        return length < 0 ? nil : length
    }

    /// The same bytes from both sides, and each opens the other's: the C
    /// baseline does the product's work, not less.
    static func crossCheck(_ plaintext: [UInt8], keys: SessionCipherBenchmark.Keys, sealing: UnsafeMutableRawPointer,
                           opening: UnsafeMutableRawPointer) throws {
        guard let swift = SessionCipherBenchmark.seal(plaintext, keys: keys, direction: .pumpToHost, counter: 7,
                                                      header: header, sessionId: sessionId)
        else { throw SealingError.setup("Swift sealing failed") }
        for kept in [nil, sealing] {
            var out = [UInt8](repeating: 0, count: 8 + 2016 + 16)
            guard let length = cSeal(plaintext, counter: 7, kept: kept, into: &out), Array(out[..<length]) == swift
            else { throw SealingError.setup("Swift and C sealed different bytes") }
        }
        guard SessionCipherBenchmark.open(swift, keys: keys, direction: .pumpToHost, header: header,
                                          sessionId: sessionId)?.plaintext == plaintext
        else { throw SealingError.setup("Swift did not open its own message") }
        let headerBytes = header.encoded
        for kept in [nil, opening] {
            var opened = [UInt8](repeating: 0, count: swift.count)
            let openedLength = pw_c_open_message(kept, pumpToHost, SealDirection.pumpToHost.rawValue, headerBytes, sessionId,
                                                 swift, swift.count, &opened)
            guard openedLength == plaintext.count, Array(opened[..<openedLength]) == plaintext
            else { throw SealingError.setup("C did not open Swift's message") }
        }
    }

    /// One new counter per message, as a session seals; each payload is a
    /// new array, as the product returns it.
    static func swiftSealing(_ plaintext: [UInt8], keys: SessionCipherBenchmark.Keys) throws -> Int {
        var written = 0
        let time = ContinuousClock().measure {
            for counter in 1...UInt64(BaselineBench.iterations) {
                written += SessionCipherBenchmark.seal(plaintext, keys: keys, direction: .pumpToHost, counter: counter,
                                                       header: header, sessionId: sessionId)?.count ?? 0
            }
        }
        guard written > 0 else { throw SealingError.setup("Swift sealing failed") }
        return ProtocolBench.nanoseconds(time) / BaselineBench.iterations
    }

    static func cSealing(_ plaintext: [UInt8], kept: UnsafeMutableRawPointer?) throws -> Int {
        var out = [UInt8](repeating: 0, count: 8 + 2016 + 16)
        var written = 0
        let time = ContinuousClock().measure {
            for counter in 1...UInt64(BaselineBench.iterations) {
                written += cSeal(plaintext, counter: counter, kept: kept, into: &out) ?? 0
            }
        }
        guard written > 0 else { throw SealingError.setup("C sealing failed") }
        return ProtocolBench.nanoseconds(time) / BaselineBench.iterations
    }

    /// Opens one sealed payload over and over (the cipher keeps no replay
    /// state; the session's replay check is a comparison on top of this).
    static func swiftOpening(_ plaintext: [UInt8], keys: SessionCipherBenchmark.Keys) throws -> Int {
        guard let payload = SessionCipherBenchmark.seal(plaintext, keys: keys, direction: .pumpToHost, counter: 9,
                                                        header: header, sessionId: sessionId)
        else { throw SealingError.setup("seal") }
        var opened = 0
        let time = ContinuousClock().measure {
            for _ in 0..<BaselineBench.iterations {
                opened += SessionCipherBenchmark.open(payload, keys: keys, direction: .pumpToHost, header: header,
                                                      sessionId: sessionId)?.plaintext.count ?? 0
            }
        }
        guard opened == plaintext.count * BaselineBench.iterations else { throw SealingError.setup("Swift opening failed") }
        return ProtocolBench.nanoseconds(time) / BaselineBench.iterations
    }

    static func cOpening(_ plaintext: [UInt8], kept: UnsafeMutableRawPointer?) throws -> Int {
        var payload = [UInt8](repeating: 0, count: 8 + 2016 + 16)
        guard let length = cSeal(plaintext, counter: 9, kept: nil, into: &payload) else { throw SealingError.setup("seal") }
        var out = [UInt8](repeating: 0, count: length)
        let headerBytes = header.encoded
        var opened = 0
        let time = ContinuousClock().measure {
            for _ in 0..<BaselineBench.iterations {
                opened += pw_c_open_message(kept, pumpToHost, SealDirection.pumpToHost.rawValue, headerBytes, sessionId,
                                            payload, length, &out)
            }
        }
        guard opened == plaintext.count * BaselineBench.iterations else { throw SealingError.setup("C opening failed") }
        return ProtocolBench.nanoseconds(time) / BaselineBench.iterations
    }
}
