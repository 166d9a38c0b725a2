/// The simulator's exact volume unit: 1/86400 nL.
///
/// A rate in nL/day times a duration in seconds is exactly a number of these
/// units, so delivery between events needs no rounding at all, and the time
/// a reservoir crosses a threshold is exact to the second.
public struct FineVolume: Codable, Sendable, Hashable, Comparable, AdditiveArithmetic {
    public static let perNanolitre: Int64 = 86_400
    public var units: Int64

    public init(units: Int64) { self.units = units }
    public init(nanolitres: Int64) { units = nanolitres * Self.perNanolitre }

    /// Whole nanolitres, rounded down.
    public var nanolitres: Int64 { units / Self.perNanolitre }

    /// The volume a rate delivers in `seconds`.
    public static func delivered(rate nanolitresPerDay: Int64, seconds: Int64) -> FineVolume {
        FineVolume(units: nanolitresPerDay * seconds)
    }

    public static let zero = FineVolume(units: 0)
    public static func + (a: FineVolume, b: FineVolume) -> FineVolume { FineVolume(units: a.units + b.units) }
    public static func - (a: FineVolume, b: FineVolume) -> FineVolume { FineVolume(units: a.units - b.units) }
    public static func < (a: FineVolume, b: FineVolume) -> Bool { a.units < b.units }
}
