/// A seeded pseudo-random generator (SplitMix64), so a link model with loss
/// and corruption replays the same way for the same seed: a failing test or
/// a training scenario can be run again exactly.
public struct SeededGenerator: RandomNumberGenerator, Codable, Sendable, Equatable {
    private var state: UInt64

    public init(seed: UInt64) {
        state = seed
    }

    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// True with probability `perMille`/1000.
    public mutating func chance(perMille: Int) -> Bool {
        perMille > 0 && Int(next() % 1000) < perMille
    }
}
