import Foundation

/// An exact amount of one dimension, held as an integer count of the
/// dimension's base unit (nL, ng, ng/mL, nL/day, ng/day, s, um, nL/cm).
///
/// Printing never shows trailing zeros, and parsing refuses unitless numbers
/// and decimal forms that are misread (`.5`, `5.`, `5.0`).
public struct Quantity<D: PhysicalDimension>: Sendable, Hashable, Comparable {
    /// The value in base units.
    public let baseValue: Int64

    public init(baseValue: Int64) {
        self.baseValue = baseValue
    }

    /// A value given in a unit, when it is a whole number of base units.
    public init?(_ value: Int64, _ unit: QuantityUnit<D>) {
        guard let base = Exact.multiply(value, unit.basePerUnit) else { return nil }
        self.baseValue = base
    }

    public static var zero: Quantity { Quantity(baseValue: 0) }

    public static func < (lhs: Quantity, rhs: Quantity) -> Bool { lhs.baseValue < rhs.baseValue }

    /// Sum, or nil on overflow.
    public func adding(_ other: Quantity) -> Quantity? {
        Exact.add(baseValue, other.baseValue).map(Quantity.init(baseValue:))
    }

    /// Difference, or nil on overflow (`other` may be any value, even
    /// `Int64.min` base units, whose negation does not exist).
    public func subtracting(_ other: Quantity) -> Quantity? {
        Exact.subtract(baseValue, other.baseValue).map(Quantity.init(baseValue:))
    }

    /// The exact value in `unit` when it has a finite decimal expansion
    /// (always so for the power-of-ten units); otherwise the value rounded
    /// toward zero at nine decimal places.
    public func decimalValue(in unit: QuantityUnit<D> = D.defaultUnit) -> Decimal {
        Decimal(string: DecimalText.format(baseValue, per: unit.basePerUnit).text) ?? Decimal(baseValue)
    }

    /// Whether the value is exact when printed in `unit`.
    public func isExact(in unit: QuantityUnit<D>) -> Bool {
        DecimalText.format(baseValue, per: unit.basePerUnit).exact
    }

    /// The value with its unit and no space, no trailing zeros: `0.2mL/day`.
    /// A value that is not exact in `unit` is prefixed with `~`.
    public func formatted(in unit: QuantityUnit<D> = D.defaultUnit) -> String {
        let result = DecimalText.format(baseValue, per: unit.basePerUnit)
        return (result.exact ? "" : "~") + result.text + unit.symbol
    }
}

extension Quantity: CustomStringConvertible {
    /// Printed in the dimension's default unit; durations in the largest
    /// unit that holds them exactly (`90min`, `30d`).
    public var description: String { formatted(in: preferredUnit) }

    /// The unit `description` uses.
    public var preferredUnit: QuantityUnit<D> {
        if D.self == DurationDimension.self {
            for unit in D.units where baseValue % unit.basePerUnit == 0 { return unit }
        }
        return D.defaultUnit
    }
}

/// Quantities encode as `{"value": N, "unit": "..."}` with N an exact JSON
/// number in the preferred unit. They decode from that form or from a unit
/// string (`"400mcg/day"`), which is what prescription and policy files use.
extension Quantity: Codable {
    private enum CodingKeys: String, CodingKey { case value, unit }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        let unit = preferredUnit
        try container.encode(decimalValue(in: unit), forKey: .value)
        try container.encode(unit.symbol, forKey: .unit)
    }

    public init(from decoder: any Decoder) throws {
        if let single = try? decoder.singleValueContainer(), let text = try? single.decode(String.self) {
            do {
                self = try Quantity(parsing: text)
            } catch {
                throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: error.description))
            }
            return
        }
        let container = try decoder.container(keyedBy: CodingKeys.self)
        let value = try container.decode(Decimal.self, forKey: .value)
        let unit = try container.decode(String.self, forKey: .unit)
        // Round-trip through text so the same decimal hygiene applies.
        var text = "\(value)"
        if text.hasPrefix(".") { text = "0" + text }
        do {
            self = try Quantity(parsing: text + unit)
        } catch {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: error.description))
        }
    }
}

public typealias Volume = Quantity<VolumeDimension>
public typealias Mass = Quantity<MassDimension>
public typealias Concentration = Quantity<ConcentrationDimension>
public typealias VolumeRate = Quantity<VolumeRateDimension>
public typealias DoseRate = Quantity<DoseRateDimension>
public typealias Duration = Quantity<DurationDimension>
public typealias Length = Quantity<LengthDimension>
public typealias VolumePerLength = Quantity<VolumePerLengthDimension>

// The unit constructors below (`.mL(20)`, `.hours(1)`) are for constants
// written in the source, like integer literals: they trap on overflow as
// literal arithmetic would, which a test catches. A value that comes from
// input goes through `init(_:_:)` or `init(parsing:)`, which return nil or
// throw instead.
extension Quantity where D == VolumeDimension {
    public static func mL(_ value: Int64) -> Volume { Volume(baseValue: value * 1_000_000) }
    public static func uL(_ value: Int64) -> Volume { Volume(baseValue: value * 1_000) }
    public static func nL(_ value: Int64) -> Volume { Volume(baseValue: value) }
}
extension Quantity where D == MassDimension {
    public static func mg(_ value: Int64) -> Mass { Mass(baseValue: value * 1_000_000) }
    public static func mcg(_ value: Int64) -> Mass { Mass(baseValue: value * 1_000) }
    public static func ng(_ value: Int64) -> Mass { Mass(baseValue: value) }
}
extension Quantity where D == ConcentrationDimension {
    public static func mgPerML(_ value: Int64) -> Concentration { Concentration(baseValue: value * 1_000_000) }
    public static func mcgPerML(_ value: Int64) -> Concentration { Concentration(baseValue: value * 1_000) }
}
extension Quantity where D == VolumeRateDimension {
    public static func uLPerDay(_ value: Int64) -> VolumeRate { VolumeRate(baseValue: value * 1_000) }
    public static func nLPerDay(_ value: Int64) -> VolumeRate { VolumeRate(baseValue: value) }
}
extension Quantity where D == DoseRateDimension {
    public static func mgPerDay(_ value: Int64) -> DoseRate { DoseRate(baseValue: value * 1_000_000) }
    public static func mcgPerDay(_ value: Int64) -> DoseRate { DoseRate(baseValue: value * 1_000) }
    public static func ngPerDay(_ value: Int64) -> DoseRate { DoseRate(baseValue: value) }
}
extension Quantity where D == DurationDimension {
    public static func seconds(_ value: Int64) -> Duration { Duration(baseValue: value) }
    public static func minutes(_ value: Int64) -> Duration { Duration(baseValue: value * 60) }
    public static func hours(_ value: Int64) -> Duration { Duration(baseValue: value * 3_600) }
    public static func days(_ value: Int64) -> Duration { Duration(baseValue: value * 86_400) }
}

/// A quantity as JSON output shows it, in a unit the caller chose (the drug
/// library's unit, so a morphine dose stays in mg): `{"value": 2, "unit": "mg/day"}`.
public struct QuantityValue: Sendable, Equatable, Encodable {
    public let value: Decimal
    public let unit: String
}

extension Quantity {
    /// The `{value, unit}` form in `unit`, or in the preferred unit when nil.
    public func valueAndUnit(in unit: QuantityUnit<D>? = nil) -> QuantityValue {
        let chosen = unit ?? preferredUnit
        return QuantityValue(value: decimalValue(in: chosen), unit: chosen.symbol)
    }
}
