/// What happens after a concentration change. The pump pathway and
/// catheter still hold the old concentration; until that volume has been
/// delivered the patient keeps receiving drug at the old concentration.
/// The bridge runs that volume at the *old* rate, so the old daily dose
/// continues: it lasts line volume x old concentration / daily dose.
public struct BridgePlan: Sendable, Equatable {
    /// Line volume to flush (pump pathway plus catheter).
    public let volume: Volume
    /// How long the old drug keeps flowing at the old daily dose (rounded up).
    public let duration: Duration
    /// The volume rate during the bridge: the daily dose at the old concentration.
    public let rate: VolumeRate
    /// Drug delivered from the line during the bridge (volume x old concentration).
    public let doseDuringBridge: Mass
    /// The rate to program once the line holds the new concentration,
    /// rounded down to the pump's resolution.
    public let rateAfterBridge: RateSetting

    public static func plan(lineVolume: Volume, oldConcentration: Concentration, newConcentration: Concentration,
                            dailyDose: DoseRate, profile: PumpProfile) throws(ArithmeticError) -> BridgePlan {
        guard oldConcentration.baseValue > 0, newConcentration.baseValue > 0 else { throw .zeroConcentration }
        guard dailyDose.baseValue > 0 else { throw .outOfRange("a zero daily dose (the line would never be flushed)") }
        guard let dose = DoseArithmetic.dose(in: lineVolume, at: oldConcentration),
              let rate = DoseArithmetic.volumeRate(for: dailyDose, at: oldConcentration),
              // ng x 86400 s / (ng/day)
              let seconds = Exact.mulDiv(dose.baseValue, 86_400, dailyDose.baseValue, rounding: .up) else {
            throw .outOfRange("the bridge")
        }
        let after = try profile.rateSetting(for: dailyDose, at: newConcentration)
        return BridgePlan(volume: lineVolume, duration: .seconds(seconds), rate: rate, doseDuringBridge: dose, rateAfterBridge: after)
    }
}

/// What the line holds before a priming bolus.
public enum LineContents: Sendable, Equatable {
    /// Just implanted or drained: no drug in the line.
    case empty
    /// Full of drug at a concentration (the previous drug, or the same one).
    case drug(Concentration)
}

/// What a priming bolus delivers to the patient. Pushing fluid into an
/// empty line delivers nothing until the line is full; pushing into a full
/// line delivers the line's contents at priming speed, which can be an
/// overdose, and must be warned of.
public struct PrimingPlan: Sendable, Equatable {
    public let primeVolume: Volume
    /// Drug that reaches the patient.
    public let doseToPatient: Mass
    /// Time the prime takes at the pump's maximum bolus rate (rounded up).
    public let duration: Duration
    /// A finding when drug reaches the patient at priming speed.
    public let finding: Finding?

    public static func plan(primeVolume: Volume, lineVolume: Volume, lineContents: LineContents,
                            newConcentration: Concentration, profile: PumpProfile) throws(ArithmeticError) -> PrimingPlan {
        let line = max(0, lineVolume.baseValue)
        let prime = max(0, primeVolume.baseValue)
        // A dose that cannot be computed is an error, never zero: zero
        // would hide the warning that drug reaches the patient at priming speed.
        // prime and line are both non-negative, so prime - line cannot overflow.
        var beyond: Int64 = 0
        if prime > line {
            guard let drug = DoseArithmetic.dose(in: .nL(prime - line), at: newConcentration) else {
                throw .outOfRange("the drug in \(Volume.nL(prime - line)) at \(newConcentration)")
            }
            beyond = drug.baseValue
        }
        var dose: Int64
        switch lineContents {
        case .empty:
            // The first `line` nL fill the line; only what is pushed beyond it arrives.
            dose = beyond
        case .drug(let old):
            guard let fromLine = DoseArithmetic.dose(in: .nL(min(prime, line)), at: old),
                  let total = Exact.add(fromLine.baseValue, beyond) else {
                throw .outOfRange("the drug the line delivers at \(old)")
            }
            dose = total
        }
        guard profile.maximumBolusRate.baseValue > 0,
              let seconds = Exact.mulDiv(prime, 86_400, profile.maximumBolusRate.baseValue, rounding: .up) else {
            throw .outOfRange("the priming volume")
        }
        let finding: Finding? = dose > 0
            ? Finding(code: .primingDeliversDrug, severity: .soft,
                      message: "priming delivers \(Mass(baseValue: dose)) to the patient in \(Duration(baseValue: seconds)) at priming speed; give it only under supervision")
            : nil
        return PrimingPlan(primeVolume: primeVolume, doseToPatient: Mass(baseValue: dose), duration: .seconds(seconds), finding: finding)
    }
}
