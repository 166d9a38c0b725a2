@preconcurrency import Crypto

/// The session cipher as pumpwand-bench reaches it: the very functions that
/// `HostSession` and `PumpSessionEndpoint` call, behind an SPI so the
/// benchmark measures the product's sealing rather than a copy of it, and
/// nothing outside the package can seal with chosen counters.
@_spi(Benchmark)
public enum SessionCipherBenchmark {
    /// The keys of one session, from fixed bytes (one key per direction).
    public struct Keys: Sendable {
        let keys: SessionKeys

        /// Nil unless both keys are 32 bytes.
        public init?(hostToPump: [UInt8], pumpToHost: [UInt8]) {
            guard hostToPump.count == 32, pumpToHost.count == 32 else { return nil }
            keys = SessionKeys(hostToPump: SymmetricKey(data: hostToPump), pumpToHost: SymmetricKey(data: pumpToHost),
                               handshakeHash: [])
        }
    }

    /// The sealed payload (counter || ciphertext || tag) of `plaintext`, padded as the product pads it.
    public static func seal(_ plaintext: [UInt8], keys: Keys, direction: SealDirection, counter: UInt64,
                            header: FrameHeader, sessionId: UInt32) -> [UInt8]? {
        SessionCipher.seal(plaintext, keys: keys.keys, direction: direction, counter: counter, header: header,
                           sessionId: sessionId)
    }

    /// The counter and plaintext of a sealed payload; nil when it does not open.
    public static func open(_ payload: [UInt8], keys: Keys, direction: SealDirection, header: FrameHeader,
                            sessionId: UInt32) -> (counter: UInt64, plaintext: [UInt8])? {
        SessionCipher.open(payload, keys: keys.keys, direction: direction, header: header, sessionId: sessionId)
    }
}
