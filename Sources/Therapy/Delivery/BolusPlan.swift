/// A bolus as the pump will run it, with every finding the drug library,
/// the pump's limits and the reservoir raise about it.
///
/// This is where bolus rules live, so that every caller (the programmer,
/// a script using the library, a test) gets the same limits: a therapeutic
/// bolus is checked against the drug's single-bolus limits; a bridge or
/// priming bolus is checked by what the line holds, because pushing a full
/// line at priming speed delivers its drug at once; every bolus is checked
/// against the pump's maximum bolus rate and what the reservoir holds.
/// All arithmetic is checked: a value no pump could run is a hard finding,
/// never a trap.
public struct BolusPlan: Sendable, Equatable {
    public enum Kind: String, Sendable, CaseIterable, Codable {
        case therapeutic, bridge, prime
    }

    public let kind: Kind
    /// Volume the pump pushes.
    public let volume: Volume
    /// Drug that reaches the patient, from what the line holds.
    public let doseToPatient: Mass
    public let duration: Duration
    /// Volume rate while it runs (volume / duration, rounded up).
    public let rate: VolumeRate?
    public let findings: [Finding]

    /// What the technician asked for.
    public struct Request: Sendable, Equatable {
        public var kind: Kind
        /// Drug to the patient, for a therapeutic bolus.
        public var dose: Mass?
        /// Volume to push, for a bridge or priming bolus (default: the line volume).
        public var volume: Volume?
        public var duration: Duration
        /// What the line holds before a bridge or priming bolus; nil means
        /// the drug now in the reservoir.
        public var lineContents: LineContents?

        public init(kind: Kind, dose: Mass? = nil, volume: Volume? = nil, duration: Duration, lineContents: LineContents? = nil) {
            self.kind = kind
            self.dose = dose
            self.volume = volume
            self.duration = duration
            self.lineContents = lineContents
        }
    }

    /// What the pump holds, as far as the bolus is concerned.
    public struct PumpContents: Sendable, Equatable {
        public var drug: Drug
        public var concentration: Concentration
        public var reservoir: Volume
        /// The pump pathway plus the catheter.
        public var lineVolume: Volume

        public init(drug: Drug, concentration: Concentration, reservoir: Volume, lineVolume: Volume) {
            self.drug = drug
            self.concentration = concentration
            self.reservoir = reservoir
            self.lineVolume = lineVolume
        }
    }

    /// Plans `request`. Throws only for a request that cannot describe a
    /// bolus at all (no dose for a therapeutic bolus, a zero duration);
    /// everything else is a finding, so the whole list is shown at once.
    public static func plan(_ request: Request, pump: PumpContents, policy: ClinicPolicy,
                            profile: PumpProfile) throws(BolusRequestError) -> BolusPlan {
        guard request.duration.baseValue > 0 else { throw .durationNotPositive }
        var findings: [Finding] = []
        let volume: Volume
        let dose: Mass
        switch request.kind {
        case .therapeutic:
            guard let asked = request.dose else { throw .doseMissing }
            guard asked.baseValue > 0 else { throw .doseNotPositive }
            guard let exact = DoseArithmetic.volume(holding: asked, at: pump.concentration),
                  let delivered = DoseArithmetic.dose(in: exact, at: pump.concentration), exact.baseValue > 0 else {
                findings.append(Finding(code: .arithmeticOutOfRange, severity: .hard,
                                        message: "a bolus of \(asked) at \(pump.concentration) is outside what any pump can deliver"))
                return BolusPlan(kind: request.kind, volume: .zero, doseToPatient: asked, duration: request.duration, rate: nil,
                                 findings: findings)
            }
            volume = exact
            dose = delivered
            if let limits = policy.policy(for: pump.drug)?.bolus {
                if delivered > limits.hardMax {
                    findings.append(Finding(code: .bolusAboveHardMax, severity: .hard,
                                            message: "\(delivered) is above the hard maximum single bolus of \(limits.hardMax)"))
                } else if let soft = limits.softMax, delivered > soft {
                    findings.append(Finding(code: .bolusAboveSoftMax, severity: .soft,
                                            message: "\(delivered) is above the usual maximum single bolus of \(soft)"))
                }
            }
        case .bridge, .prime:
            let pushed = request.volume ?? pump.lineVolume
            guard pushed.baseValue > 0 else { throw .volumeNotPositive }
            volume = pushed
            do {
                let priming = try PrimingPlan.plan(primeVolume: pushed, lineVolume: pump.lineVolume,
                                                   lineContents: request.lineContents ?? .drug(pump.concentration),
                                                   newConcentration: pump.concentration, profile: profile)
                dose = priming.doseToPatient
                if let finding = priming.finding { findings.append(finding) }
            } catch {
                findings.append(Finding(code: .arithmeticOutOfRange, severity: .hard,
                                        message: "a \(request.kind.rawValue) bolus of \(pushed): \(error.description)"))
                return BolusPlan(kind: request.kind, volume: pushed, doseToPatient: .zero, duration: request.duration, rate: nil,
                                 findings: findings)
            }
        }
        // nL x 86400 s/day / s = nL/day, rounded up so the check errs on the safe side.
        let rate = Exact.mulDiv(volume.baseValue, 86_400, request.duration.baseValue, rounding: .up).map(VolumeRate.init(baseValue:))
        if let rate {
            if rate > profile.maximumBolusRate {
                findings.append(Finding(code: .bolusRateAboveMaximum, severity: .hard,
                                        message: "\(volume) in \(request.duration) is faster than the \(profile.model) maximum bolus rate \(profile.maximumBolusRate)"))
            }
        } else {
            findings.append(Finding(code: .arithmeticOutOfRange, severity: .hard,
                                    message: "\(volume) in \(request.duration) is outside what any pump can deliver"))
        }
        if volume > pump.reservoir {
            findings.append(Finding(code: .reservoirInsufficient, severity: .hard,
                                    message: "the bolus needs \(volume) but the reservoir holds \(pump.reservoir)"))
        }
        if UInt32(exactly: volume.baseValue) == nil || UInt32(exactly: dose.baseValue) == nil
            || UInt32(exactly: request.duration.baseValue) == nil {
            findings.append(Finding(code: .arithmeticOutOfRange, severity: .hard,
                                    message: "\(volume), \(dose) over \(request.duration) is outside what the pump can hold"))
        }
        return BolusPlan(kind: request.kind, volume: volume, doseToPatient: dose, duration: request.duration, rate: rate,
                         findings: findings)
    }
}

/// A bolus request that describes no bolus. Nothing was sent.
public enum BolusRequestError: Error, Sendable, Equatable, CustomStringConvertible {
    case doseMissing
    case doseNotPositive
    case volumeNotPositive
    case durationNotPositive

    public var description: String {
        switch self {
        case .doseMissing: return "A therapeutic bolus needs a dose with a unit, e.g. 50mcg."
        case .doseNotPositive: return "The bolus dose must be more than zero."
        case .volumeNotPositive: return "The bolus volume must be more than zero."
        case .durationNotPositive: return "The bolus duration must be more than zero."
        }
    }
}
