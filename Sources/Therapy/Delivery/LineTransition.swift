/// What reaches the patient before the reservoir's drug does, and when
/// that ends: after a concentration change the pump delivers the old
/// concentration by dose at the catheter tip (PROTOCOL.md 5), after a drug
/// change the old drug at its own prescription, and after an implant or a
/// catheter replacement nothing until the line is primed.
///
/// Durations assume the running prescriptions' average daily doses; a flex
/// schedule makes the end a little earlier or later, so screens say "about".
public struct LineTransition: Sendable, Equatable {
    public struct Stretch: Sendable, Equatable {
        public var contents: FluidPath.Contents
        public var volume: Volume
        /// How long it takes to leave the tip; nil while nothing is delivered.
        public var duration: Duration?
    }

    /// Tip first.
    public var stretches: [Stretch]
    /// When the reservoir's drug reaches the catheter tip; nil when it
    /// never does at the running prescription (stopped, or a zero rate).
    public var reservoirDrugArrives: PumpTime?

    public init(stretches: [Stretch], reservoirDrugArrives: PumpTime?) {
        self.stretches = stretches
        self.reservoirDrugArrives = reservoirDrugArrives
    }

    /// The line's stretches ahead of `reservoir`, pushed out at `dose` for
    /// the reservoir's drug and `outgoingDose` for another drug, with no
    /// drug at `volumeRate`, from `time`.
    public static func figure(ahead: [FluidPath.Segment], reservoir: FluidPath.Contents, dose: DoseRate,
                              outgoingDose: DoseRate?, volumeRate: VolumeRate, from time: PumpTime) -> LineTransition {
        var stretches: [Stretch] = []
        var total: Int64? = 0
        for segment in ahead {
            var seconds: Int64?
            switch segment.contents {
            case .noDrug:
                if volumeRate.baseValue > 0 {
                    seconds = Exact.mulDiv(segment.volume.baseValue, 86_400, volumeRate.baseValue, rounding: .up)
                }
            case .drug(let drug, let concentration):
                let rate = drug == reservoir.drug ? dose : outgoingDose
                if let rate, rate.baseValue > 0, let mass = DoseArithmetic.dose(in: segment.volume, at: concentration) {
                    seconds = Exact.mulDiv(mass.baseValue, 86_400, rate.baseValue, rounding: .up)
                }
            }
            stretches.append(Stretch(contents: segment.contents, volume: segment.volume, duration: seconds.map(Duration.seconds)))
            total = total.flatMap { sum in seconds.flatMap { Exact.add(sum, $0) } }
        }
        let arrives = total.flatMap { try? PumpTime(checkedUTCSeconds: time.utcSeconds.saturatingAdd($0), offsetMinutes: time.offsetMinutes) }
        return LineTransition(stretches: stretches, reservoirDrugArrives: arrives)
    }

    /// What leaving the line drains from the reservoir beyond `volumeRate`
    /// over the same time (never negative per stretch, so the reservoir is
    /// never projected fuller than it will be): each stretch of volume V
    /// pumped out in T is V, where the schedule alone pumps rate x T.
    public func extraDrain(volumeRate: VolumeRate) -> Int64 {
        var extra: Int64 = 0
        for stretch in stretches {
            guard let duration = stretch.duration,
                  let scheduled = Exact.mulDiv(volumeRate.baseValue, duration.baseValue, 86_400, rounding: .down) else { continue }
            extra = extra.saturatingAdd(max(0, stretch.volume.baseValue - scheduled))
        }
        return extra
    }
}
