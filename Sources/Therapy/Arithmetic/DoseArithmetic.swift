/// Conversions between volume and drug at a concentration. A volume of
/// V nL at C ng/mL holds V x C / 10^6 ng.
public enum DoseArithmetic {
    /// Drug in a volume, rounded down to the nanogram (or up, for a total
    /// checked against a limit).
    public static func dose(in volume: Volume, at concentration: Concentration, roundingUp: Bool = false) -> Mass? {
        Exact.mulDiv(volume.baseValue, concentration.baseValue, 1_000_000, rounding: roundingUp ? .up : .down).map(Mass.init(baseValue:))
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
    /// A rate over a duration of zero or less: nothing runs in no time.
    case nonPositiveDuration(Duration)
    /// A volume or amount below zero where only amounts delivered make sense.
    case negative(String)
    /// The exact answer does not fit in 64 bits, or an input is beyond what
    /// the computation can take; nothing was rounded or clamped to fit.
    case outOfRange(String)

    public var description: String {
        switch self {
        case .zeroConcentration: return "the concentration is zero; no rate delivers a dose from it"
        case .nonPositiveDuration(let duration): return "a duration of \(duration) is not more than zero"
        case .negative(let what): return "\(what) is negative"
        case .outOfRange(let what): return "\(what) is too large to compute exactly"
        }
    }
}

extension Quantity where D == VolumeRateDimension {
    /// The rate that pushes `volume` in `duration`: volume x 86400 / seconds
    /// nL/day, with a 128-bit intermediate (a day's worth of a large volume
    /// overflows 64 bits before the division brings it back).
    ///
    /// Rounded up: a check against a pump's maximum rate then errs toward
    /// refusing, and the pump runs a bolus at the rounded-up rate too (see
    /// `BolusAllowance`). Throws `.nonPositiveDuration`, `.negative`, or
    /// `.outOfRange` when the rate does not fit; never traps.
    public static func of(_ volume: Volume, over duration: Duration) throws(ArithmeticError) -> VolumeRate {
        guard duration.baseValue > 0 else { throw .nonPositiveDuration(duration) }
        guard volume.baseValue >= 0 else { throw .negative("the volume \(volume)") }
        guard let rate = Exact.mulDiv(volume.baseValue, 86_400, duration.baseValue, rounding: .up) else {
            throw .outOfRange("the rate of \(volume) in \(duration)")
        }
        return VolumeRate(baseValue: rate)
    }
}

extension Quantity where D == DoseRateDimension {
    /// The dose rate that delivers `dose` in `duration`: ng x 86400 / seconds
    /// ng/day, rounded up like `VolumeRate.of(_:over:)`, with the same errors.
    public static func of(_ dose: Mass, over duration: Duration) throws(ArithmeticError) -> DoseRate {
        guard duration.baseValue > 0 else { throw .nonPositiveDuration(duration) }
        guard dose.baseValue >= 0 else { throw .negative("the dose \(dose)") }
        guard let rate = Exact.mulDiv(dose.baseValue, 86_400, duration.baseValue, rounding: .up) else {
            throw .outOfRange("the rate of \(dose) in \(duration)")
        }
        return DoseRate(baseValue: rate)
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
