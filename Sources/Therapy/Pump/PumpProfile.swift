/// What a pump model can do, as data: the arithmetic and validation read
/// these figures and never branch on the model's name.
///
/// The two shipped profiles are the figures of the *simulated* reference
/// pump (RP-20, RP-40) that this project's simulator implements. They are not
/// the specification of any commercial device.
public struct PumpProfile: Sendable, Equatable, Codable {
    /// Model name, e.g. `RP-20`.
    public let model: String
    /// Reservoir capacity.
    public let capacity: Volume
    /// Lowest continuous rate the pump delivers when not stopped.
    public let minimumRate: VolumeRate
    /// Highest continuous (or flex step) rate.
    public let maximumContinuousRate: VolumeRate
    /// Highest rate for a bolus (patient, bridge or priming bolus).
    public let maximumBolusRate: VolumeRate
    /// Programmed rates are whole multiples of this; the host rounds down.
    public let rateResolution: VolumeRate
    /// Fluid pathway from reservoir to catheter port, which holds drug that
    /// was in the pump before a concentration change.
    public let internalPathwayVolume: Volume
    /// Range a clinic may set the low-reservoir alarm to, and its default.
    public let lowReservoirAlarmRange: ClosedRange<Volume>
    public let defaultLowReservoirAlarm: Volume
    /// Flex steps in any one day of the cycle.
    public let maximumFlexStepsPerDay: Int

    public init(model: String, capacity: Volume, minimumRate: VolumeRate, maximumContinuousRate: VolumeRate,
                maximumBolusRate: VolumeRate, rateResolution: VolumeRate, internalPathwayVolume: Volume,
                lowReservoirAlarmRange: ClosedRange<Volume>, defaultLowReservoirAlarm: Volume, maximumFlexStepsPerDay: Int) {
        self.model = model
        self.capacity = capacity
        self.minimumRate = minimumRate
        self.maximumContinuousRate = maximumContinuousRate
        self.maximumBolusRate = maximumBolusRate
        self.rateResolution = rateResolution
        self.internalPathwayVolume = internalPathwayVolume
        self.lowReservoirAlarmRange = lowReservoirAlarmRange
        self.defaultLowReservoirAlarm = defaultLowReservoirAlarm
        self.maximumFlexStepsPerDay = maximumFlexStepsPerDay
    }

    /// Simulated reference pump, 20 mL reservoir.
    /// Minimum rate 0.048 mL/day and the 20/40 mL reservoirs follow the
    /// public descriptions in clinical.md; the other figures are the
    /// simulator's own: maximum continuous rate 24 mL/day (1 mL/h), maximum
    /// bolus rate 0.5 mL/min (720 mL/day), rate resolution 0.001 mL/day,
    /// internal pathway 0.2 mL, low-reservoir alarm 1 to 5 mL (default 2 mL),
    /// 13 flex steps per day.
    public static let rp20 = PumpProfile(
        model: "RP-20", capacity: .mL(20),
        minimumRate: .uLPerDay(48), maximumContinuousRate: .nLPerDay(24_000_000),
        maximumBolusRate: .nLPerDay(720_000_000), rateResolution: .uLPerDay(1),
        internalPathwayVolume: .uL(200),
        lowReservoirAlarmRange: Volume.mL(1)...Volume.mL(5), defaultLowReservoirAlarm: .mL(2),
        maximumFlexStepsPerDay: 13)

    /// Simulated reference pump, 40 mL reservoir; otherwise as RP-20.
    public static let rp40 = PumpProfile(
        model: "RP-40", capacity: .mL(40),
        minimumRate: .uLPerDay(48), maximumContinuousRate: .nLPerDay(24_000_000),
        maximumBolusRate: .nLPerDay(720_000_000), rateResolution: .uLPerDay(1),
        internalPathwayVolume: .uL(200),
        lowReservoirAlarmRange: Volume.mL(1)...Volume.mL(5), defaultLowReservoirAlarm: .mL(2),
        maximumFlexStepsPerDay: 13)

    /// The shipped profiles, by model name.
    public static let referencePumps: [PumpProfile] = [rp20, rp40]

    /// The profile for a model name (`RP-20`, case-insensitive).
    public static func named(_ model: String) -> PumpProfile? {
        referencePumps.first { $0.model.lowercased() == model.lowercased() }
    }
}
