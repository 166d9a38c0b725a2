/// A physical dimension with one integer base unit and the unit spellings a
/// person may write. Dimensions are types so a volume can never be passed
/// where a dose is expected.
public protocol PhysicalDimension: Sendable {
    /// What the dimension is, in words, for messages ("volume", "dose rate").
    static var name: String { get }
    /// Every accepted spelling. The first unit with a given factor is the one
    /// printed for it.
    static var units: [QuantityUnit<Self>] { get }
    /// The unit values are printed in when the caller names none.
    static var defaultUnit: QuantityUnit<Self> { get }
}

/// A unit of one dimension: its symbol and how many base units one of it is.
public struct QuantityUnit<D: PhysicalDimension>: Sendable, Hashable, CustomStringConvertible {
    public let symbol: String
    /// Base units per one of this unit (mL: 1_000_000 nL).
    public let basePerUnit: Int64

    public init(_ symbol: String, basePerUnit: Int64) {
        self.symbol = symbol
        self.basePerUnit = basePerUnit
    }

    public var description: String { symbol }

    /// The unit spelled exactly `symbol`, if the dimension accepts it.
    public static func named(_ symbol: String) -> QuantityUnit<D>? {
        D.units.first { $0.symbol == symbol }
    }
}

/// Volume; base unit nanolitre.
public enum VolumeDimension: PhysicalDimension {
    public static let name = "volume"
    public static let units: [QuantityUnit<Self>] = [
        .init("mL", basePerUnit: 1_000_000), .init("ml", basePerUnit: 1_000_000),
        .init("uL", basePerUnit: 1_000), .init("ul", basePerUnit: 1_000),
        .init("nL", basePerUnit: 1),
    ]
    public static let defaultUnit = QuantityUnit<Self>("mL", basePerUnit: 1_000_000)
}

/// Drug mass; base unit nanogram. `ug` and `µg` are deliberately not
/// accepted: they are misread as mg (ISMP error-prone abbreviations).
public enum MassDimension: PhysicalDimension {
    public static let name = "mass"
    public static let units: [QuantityUnit<Self>] = [
        .init("mg", basePerUnit: 1_000_000), .init("mcg", basePerUnit: 1_000), .init("ng", basePerUnit: 1),
    ]
    public static let defaultUnit = QuantityUnit<Self>("mcg", basePerUnit: 1_000)
}

/// Concentration; base unit nanogram per millilitre.
public enum ConcentrationDimension: PhysicalDimension {
    public static let name = "concentration"
    public static let units: [QuantityUnit<Self>] = [
        .init("mg/mL", basePerUnit: 1_000_000), .init("mg/ml", basePerUnit: 1_000_000),
        .init("mcg/mL", basePerUnit: 1_000), .init("mcg/ml", basePerUnit: 1_000),
        .init("ng/mL", basePerUnit: 1),
    ]
    public static let defaultUnit = QuantityUnit<Self>("mcg/mL", basePerUnit: 1_000)
}

/// Volume flow; base unit nanolitre per day.
public enum VolumeRateDimension: PhysicalDimension {
    public static let name = "volume rate"
    public static let units: [QuantityUnit<Self>] = [
        .init("mL/day", basePerUnit: 1_000_000), .init("ml/day", basePerUnit: 1_000_000),
        .init("mL/h", basePerUnit: 24_000_000), .init("ml/h", basePerUnit: 24_000_000),
        .init("uL/day", basePerUnit: 1_000), .init("uL/h", basePerUnit: 24_000),
        .init("nL/day", basePerUnit: 1),
    ]
    public static let defaultUnit = QuantityUnit<Self>("mL/day", basePerUnit: 1_000_000)
}

/// Dose rate; base unit nanogram per day.
public enum DoseRateDimension: PhysicalDimension {
    public static let name = "dose rate"
    public static let units: [QuantityUnit<Self>] = [
        .init("mg/day", basePerUnit: 1_000_000), .init("mcg/day", basePerUnit: 1_000),
        .init("mg/h", basePerUnit: 24_000_000), .init("mcg/h", basePerUnit: 24_000),
        .init("ng/day", basePerUnit: 1),
    ]
    public static let defaultUnit = QuantityUnit<Self>("mcg/day", basePerUnit: 1_000)
}

/// Duration; base unit second.
public enum DurationDimension: PhysicalDimension {
    public static let name = "duration"
    public static let units: [QuantityUnit<Self>] = [
        .init("d", basePerUnit: 86_400), .init("h", basePerUnit: 3_600),
        .init("min", basePerUnit: 60), .init("s", basePerUnit: 1),
    ]
    public static let defaultUnit = QuantityUnit<Self>("s", basePerUnit: 1)
}

/// Catheter length; base unit micrometre.
public enum LengthDimension: PhysicalDimension {
    public static let name = "length"
    public static let units: [QuantityUnit<Self>] = [
        .init("cm", basePerUnit: 10_000), .init("mm", basePerUnit: 1_000),
    ]
    public static let defaultUnit = QuantityUnit<Self>("cm", basePerUnit: 10_000)
}

/// Catheter volume per length; base unit nanolitre per centimetre.
public enum VolumePerLengthDimension: PhysicalDimension {
    public static let name = "volume per length"
    public static let units: [QuantityUnit<Self>] = [
        .init("mL/cm", basePerUnit: 1_000_000), .init("ml/cm", basePerUnit: 1_000_000),
        .init("uL/cm", basePerUnit: 1_000), .init("nL/cm", basePerUnit: 1),
    ]
    public static let defaultUnit = QuantityUnit<Self>("mL/cm", basePerUnit: 1_000_000)
}

/// Every dimension's units, to tell "mg is a mass" from "no such unit".
let allUnitSymbols: [(symbol: String, dimension: String)] = {
    func list<D: PhysicalDimension>(_: D.Type) -> [(String, String)] { D.units.map { ($0.symbol, D.name) } }
    return list(VolumeDimension.self) + list(MassDimension.self) + list(ConcentrationDimension.self)
        + list(VolumeRateDimension.self) + list(DoseRateDimension.self) + list(DurationDimension.self)
        + list(LengthDimension.self) + list(VolumePerLengthDimension.self)
}()

extension QuantityUnit where D == MassDimension {
    public static var mg: Self { .init("mg", basePerUnit: 1_000_000) }
    public static var mcg: Self { .init("mcg", basePerUnit: 1_000) }
}
extension QuantityUnit where D == DoseRateDimension {
    public static var mgPerDay: Self { .init("mg/day", basePerUnit: 1_000_000) }
    public static var mcgPerDay: Self { .init("mcg/day", basePerUnit: 1_000) }
}
extension QuantityUnit where D == ConcentrationDimension {
    public static var mgPerML: Self { .init("mg/mL", basePerUnit: 1_000_000) }
    public static var mcgPerML: Self { .init("mcg/mL", basePerUnit: 1_000) }
}
extension QuantityUnit where D == VolumeRateDimension {
    public static var mLPerDay: Self { .init("mL/day", basePerUnit: 1_000_000) }
    public static var mLPerHour: Self { .init("mL/h", basePerUnit: 24_000_000) }
}
