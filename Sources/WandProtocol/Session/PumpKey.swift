@preconcurrency import Crypto

/// A pump's 32-byte secret, shared by the pump and the clinic's host. It
/// never leaves memory: its description is redacted so it cannot reach a log.
public struct PumpKey: Sendable, CustomStringConvertible, CustomDebugStringConvertible {
    /// Key length in bytes.
    public static let length = 32

    let symmetricKey: SymmetricKey

    /// A key from exactly 32 bytes; nil for any other length.
    public init?(bytes: [UInt8]) {
        guard bytes.count == Self.length else { return nil }
        symmetricKey = SymmetricKey(data: bytes)
    }

    /// The raw key, for the key schedule only (the psk step).
    var bytes: [UInt8] { symmetricKey.withUnsafeBytes { Array($0) } }

    public var description: String { "PumpKey(redacted)" }
    public var debugDescription: String { "PumpKey(redacted)" }
}

/// Where fresh nonces and session ids come from. The default is the system's
/// cryptographic generator; tests inject fixed bytes to check vectors.
public struct NonceSource: Sendable {
    let produce: @Sendable (Int) -> [UInt8]

    /// A source that returns `produce(count)` for each request of `count` bytes.
    public init(_ produce: @escaping @Sendable (Int) -> [UInt8]) { self.produce = produce }

    /// The system's cryptographically secure generator.
    public static let system = NonceSource { count in
        var generator = SystemRandomNumberGenerator()
        return (0..<count).map { _ in UInt8.random(in: .min ... .max, using: &generator) }
    }

    func bytes(_ count: Int) -> [UInt8] {
        let produced = produce(count)
        // A short source must never yield a short nonce: pad is not possible
        // safely, so fall back to the system generator for the whole value.
        return produced.count == count ? produced : NonceSource.system.produce(count)
    }
}
