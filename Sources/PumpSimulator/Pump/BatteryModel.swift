/// A battery that drains with time and with pumping, and raises the
/// elective replacement indicator (ERI, replace within 90 days) and then end
/// of service (EOS, delivery stops).
///
/// Figures are the simulated reference pump's: 7 years of service at a
/// typical 0.5 mL/day, ERI 90 days before the projected end at that rate.
public struct BatteryModel: Codable, Sendable, Equatable {
    /// Charge units: one per second of standby, plus `pumpingCost` per mL pumped.
    public static let standbyPerSecond: Int64 = 1
    public static let pumpingCostPerMillilitre: Int64 = 86_400
    /// 7 years at 0.5 mL/day: 7 x 365 x 86400 x (1 + 0.5).
    public static let fullCharge: Int64 = 7 * 365 * 86_400 * 3 / 2
    /// 90 days of the same typical use.
    public static let replacementReserve: Int64 = 90 * 86_400 * 3 / 2

    public var remaining: Int64

    public init(remaining: Int64 = BatteryModel.fullCharge) {
        self.remaining = remaining
    }

    public var electiveReplacement: Bool { remaining <= Self.replacementReserve }
    public var endOfService: Bool { remaining <= 0 }

    /// Remaining charge in per mille of full.
    public var perMille: Int {
        Int(max(0, min(1000, remaining * 1000 / Self.fullCharge)))
    }

    public mutating func drain(seconds: Int64, pumped: FineVolume) {
        let pumpedCost = pumped.units / (FineVolume.perNanolitre * 1_000_000 / Self.pumpingCostPerMillilitre)
        remaining -= seconds * Self.standbyPerSecond + pumpedCost
    }
}
