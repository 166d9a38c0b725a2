/// The radio link between the wand and the pump, as the simulated wand sees
/// it: how long a frame takes, and what can happen to it on the way.
///
/// Loss, corruption and duplication are drawn from a seeded generator, so
/// the same seed replays the same link exactly.
public struct LinkModel: Codable, Sendable, Equatable {
    /// One-way latency per frame, milliseconds.
    public var latencyMilliseconds: Int
    /// Link byte rate, bytes per second; 0 means unlimited.
    public var bytesPerSecond: Int
    /// Per-frame probabilities, per mille (0...1000).
    public var lossPerMille: Int
    public var corruptionPerMille: Int
    public var duplicationPerMille: Int
    /// When false the pump does not answer at all (the wand reports the
    /// pump out of range).
    public var pumpInRange: Bool

    public init(
        latencyMilliseconds: Int = 0, bytesPerSecond: Int = 0, lossPerMille: Int = 0,
        corruptionPerMille: Int = 0, duplicationPerMille: Int = 0, pumpInRange: Bool = true
    ) {
        self.latencyMilliseconds = max(0, latencyMilliseconds)
        self.bytesPerSecond = max(0, bytesPerSecond)
        self.lossPerMille = Self.clamp(lossPerMille)
        self.corruptionPerMille = Self.clamp(corruptionPerMille)
        self.duplicationPerMille = Self.clamp(duplicationPerMille)
        self.pumpInRange = pumpInRange
    }

    /// A perfect link: what tests of the workflows use unless they test the link.
    public static let perfect = LinkModel()

    private static func clamp(_ value: Int) -> Int { min(1000, max(0, value)) }

    /// The time a frame of `size` bytes spends on the link, milliseconds.
    public func transitMilliseconds(size: Int) -> Int {
        latencyMilliseconds + (bytesPerSecond > 0 ? size * 1000 / bytesPerSecond : 0)
    }

    /// What the link does to one frame.
    public enum Fate: Equatable, Sendable {
        case delivered
        case lost
        /// Delivered with one bit flipped at `bit` (counted from the first byte).
        case corrupted(bit: Int)
        case duplicated
    }

    public func fate(of size: Int, using generator: inout SeededGenerator) -> Fate {
        guard pumpInRange else { return .lost }
        if generator.chance(perMille: lossPerMille) { return .lost }
        if generator.chance(perMille: corruptionPerMille), size > 0 {
            return .corrupted(bit: Int(generator.next() % UInt64(size * 8)))
        }
        if generator.chance(perMille: duplicationPerMille) { return .duplicated }
        return .delivered
    }
}
