/// Conversions between volume and drug at a concentration. A volume of
/// V nL at C ng/mL holds V x C / 10^6 ng.
public enum DoseArithmetic {
    /// Drug in a volume, rounded down to the nanogram.
    public static func dose(in volume: Volume, at concentration: Concentration) -> Mass? {
        Exact.mulDiv(volume.baseValue, concentration.baseValue, 1_000_000, rounding: .down).map(Mass.init(baseValue:))
    }

    /// Dose rate a volume rate delivers, rounded down to the ng/day.
    public static func doseRate(of rate: VolumeRate, at concentration: Concentration) -> DoseRate? {
        Exact.mulDiv(rate.baseValue, concentration.baseValue, 1_000_000, rounding: .down).map(DoseRate.init(baseValue:))
    }

    /// Volume rate that delivers at most `dose`, rounded down to the nL/day.
    public static func volumeRate(for dose: DoseRate, at concentration: Concentration) -> VolumeRate? {
        guard concentration.baseValue > 0 else { return nil }
        return Exact.mulDiv(dose.baseValue, 1_000_000, concentration.baseValue, rounding: .down).map(VolumeRate.init(baseValue:))
    }

    /// Volume that holds `dose`, rounded as asked.
    public static func volume(holding dose: Mass, at concentration: Concentration, roundingUp: Bool = false) -> Volume? {
        guard concentration.baseValue > 0 else { return nil }
        return Exact.mulDiv(dose.baseValue, 1_000_000, concentration.baseValue, rounding: roundingUp ? .up : .down)
            .map(Volume.init(baseValue:))
    }
}

/// A dose rate as the pump will run it. The programmed volume rate is the
/// exact rate rounded *down* to the pump's resolution, so the delivered
/// dose never exceeds the prescribed one.
public struct RateSetting: Sendable, Equatable, Codable {
    public let prescribed: DoseRate
    public let programmed: VolumeRate
    public let delivered: DoseRate

    enum CodingKeys: String, CodingKey { case prescribed, programmed = "rate", delivered }
}

/// Why an arithmetic request could not be answered. Nothing was programmed.
public enum ArithmeticError: Error, Sendable, Equatable, CustomStringConvertible {
    case zeroConcentration
    case outOfRange(String)

    public var description: String {
        switch self {
        case .zeroConcentration: return "the concentration is zero; no rate delivers a dose from it"
        case .outOfRange(let what): return "\(what) is too large to compute exactly"
        }
    }
}

extension PumpProfile {
    /// The rate setting for a prescribed dose rate at a concentration.
    public func rateSetting(for dose: DoseRate, at concentration: Concentration) throws(ArithmeticError) -> RateSetting {
        guard concentration.baseValue > 0 else { throw .zeroConcentration }
        guard let exact = DoseArithmetic.volumeRate(for: dose, at: concentration) else { throw .outOfRange("the rate for \(dose)") }
        let resolution = max(1, rateResolution.baseValue)
        let programmed = VolumeRate(baseValue: exact.baseValue / resolution * resolution)
        guard let delivered = DoseArithmetic.doseRate(of: programmed, at: concentration) else { throw .outOfRange("the dose at \(programmed)") }
        return RateSetting(prescribed: dose, programmed: programmed, delivered: delivered)
    }

    /// The setting for running a volume rate directly (minimum-rate mode, or
    /// `calc daily-dose --rate`).
    public func rateSetting(running rate: VolumeRate, at concentration: Concentration) throws(ArithmeticError) -> RateSetting {
        guard let delivered = DoseArithmetic.doseRate(of: rate, at: concentration) else { throw .outOfRange("the dose at \(rate)") }
        return RateSetting(prescribed: delivered, programmed: rate, delivered: delivered)
    }
}
