/// A bolus as the pump will run it, with every finding the drug library,
/// the pump's limits and the reservoir raise about it.
///
/// This is where bolus rules live, so that every caller (the programmer,
/// a script using the library, a test) gets the same limits: a therapeutic
/// bolus is checked against the drug's single-bolus limits; a bridge or
/// priming bolus is checked by what the line holds, because pushing a full
/// line at priming speed delivers its drug at once; every bolus is checked
/// against the pump's maximum bolus rate and what the reservoir holds.
/// Every bolus also counts in 24 h totals (`Delivery`, from the pump's own
/// event log): a therapeutic bolus with the boluses of the last 24 h
/// against the library's boluses-in-24 h limit, and any bolus with the
/// basal, those boluses and the patient-bolus allowance against the daily
/// maximum. Limits are the tightest of the drug's, its indication's and its
/// opioid tolerance's, capped at the shipped library.
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
        /// Volume to push, for a bridge or priming bolus (default: for a
        /// prime, the stretch of the line that holds no drug; for a bridge,
        /// the line ahead of the reservoir's fluid).
        public var volume: Volume?
        public var duration: Duration

        /// For an opioid: the patient's tolerance, as the technician states
        /// it. Nil is opioid-naive, the safe side.
        public var opioidTolerance: OpioidTolerance?

        public init(kind: Kind, dose: Mass? = nil, volume: Volume? = nil, duration: Duration,
                    opioidTolerance: OpioidTolerance? = nil) {
            self.kind = kind
            self.dose = dose
            self.volume = volume
            self.duration = duration
            self.opioidTolerance = opioidTolerance
        }
    }

    /// What the pump delivered and will deliver around the bolus, from its
    /// own state and its own event log: the inputs of the cumulative limits.
    public struct Delivery: Sendable, Equatable {
        /// Why the running prescription is given (its indication's limits apply).
        public var indication: Indication
        /// The running basal: its prescribed total in the busiest 24 h.
        public var basal: DoseRate
        /// Drug of every bolus (technician's, bridge, priming) the pump's
        /// event log shows started in the last 24 h of pump time, and how
        /// many. Nil when the log could not be read: then no bolus is planned.
        public var bolusesLast24h: Mass?
        public var bolusCountLast24h: Int
        /// What the patient may take in any 24 h by the prescription's
        /// allowance (dose x maximum per 24 h); zero without one.
        public var patientAllowance: Mass
        /// For an opioid: the tolerance the prescription in the pump was
        /// declared with, as recorded when it was programmed. Nil (not
        /// recorded) is opioid-naive. A bolus request can only make it
        /// stricter, never looser.
        public var declaredTolerance: OpioidTolerance?

        public init(indication: Indication, basal: DoseRate, bolusesLast24h: Mass?, bolusCountLast24h: Int, patientAllowance: Mass,
                    declaredTolerance: OpioidTolerance? = nil) {
            self.indication = indication
            self.basal = basal
            self.bolusesLast24h = bolusesLast24h
            self.bolusCountLast24h = bolusCountLast24h
            self.patientAllowance = patientAllowance
            self.declaredTolerance = declaredTolerance
        }
    }

    /// What the pump holds, as far as the bolus is concerned.
    public struct PumpContents: Sendable, Equatable {
        public var drug: Drug
        public var concentration: Concentration
        public var reservoir: Volume
        /// What the pump pathway and the catheter hold, as the pump reports it.
        public var line: FluidPath

        public init(drug: Drug, concentration: Concentration, reservoir: Volume, line: FluidPath) {
            self.drug = drug
            self.concentration = concentration
            self.reservoir = reservoir
            self.line = line
        }

        var reservoirContents: FluidPath.Contents { .drug(drug, concentration) }
    }

    /// The opioid tolerance a bolus of `drug` is limited by: the stricter of
    /// what the technician states and what the prescription was declared
    /// with, so opioid-tolerant only when both say so. Nil for a drug that
    /// is not an opioid.
    public static func effectiveTolerance(of drug: Drug, requested: OpioidTolerance?, declared: OpioidTolerance?) -> OpioidTolerance? {
        guard drug.isOpioid else { return nil }
        return requested == .tolerant && declared == .tolerant ? .tolerant : .naive
    }

    /// Plans `request`. Throws only for a request that cannot describe a
    /// bolus at all (no dose for a therapeutic bolus, a zero duration);
    /// everything else is a finding, so the whole list is shown at once.
    public static func plan(_ request: Request, pump: PumpContents, delivery: Delivery, policy: ClinicPolicy,
                            profile: PumpProfile) throws(BolusRequestError) -> BolusPlan {
        guard request.duration.baseValue > 0 else { throw .durationNotPositive }
        var findings: [Finding] = []
        let tolerance = effectiveTolerance(of: pump.drug, requested: request.opioidTolerance, declared: delivery.declaredTolerance)
        let limits = policy.limits(for: pump.drug, indication: delivery.indication, tolerance: tolerance)
        let massUnit = policy.policy(for: pump.drug)?.massUnit ?? pump.drug.defaultDoseUnit
        let rateUnit: QuantityUnit<DoseRateDimension> = massUnit == .mg ? .mgPerDay : .mcgPerDay
        func mass(_ value: Mass) -> String { value.formatted(in: massUnit) }
        func rate(_ value: DoseRate) -> String { value.formatted(in: rateUnit) }
        let note = limits?.variantNote ?? ""
        let toleranceHint: String
        if !pump.drug.isOpioid || tolerance == .tolerant {
            toleranceHint = ""
        } else if request.opioidTolerance == .tolerant {
            toleranceHint = "; the opioid-naive limits apply: --opioid-tolerance tolerant was given, but the prescription in the pump is not recorded as declared opioid-tolerant (a bolus can only make the declaration stricter; program the prescription with \"opioid_tolerance\": \"tolerant\")"
        } else if request.opioidTolerance == nil {
            toleranceHint = "; the opioid-naive limits apply because no opioid tolerance was given (--opioid-tolerance tolerant for an opioid-tolerant patient)"
        } else {
            toleranceHint = ""
        }
        let volume: Volume
        let dose: Mass
        func unplannable(_ message: String, volume: Volume = .zero) -> BolusPlan {
            findings.append(Finding(code: .arithmeticOutOfRange, severity: .hard, message: message))
            return BolusPlan(kind: request.kind, volume: volume, doseToPatient: request.dose ?? .zero, duration: request.duration,
                             rate: nil, findings: findings)
        }
        let line = pump.line
        if line.tipHoldsNoDrug, request.kind != .prime {
            findings.append(Finding(code: .lineHoldsNoDrug, severity: .hard,
                                    message: "the pump reports that the catheter tip holds no drug (after an implant or a catheter replacement): prime the line first (pumpctl bolus --kind prime)"))
        }
        switch request.kind {
        case .therapeutic:
            guard let asked = request.dose else { throw .doseMissing }
            guard asked.baseValue > 0 else { throw .doseNotPositive }
            // The volume that puts the asked dose into the patient from what
            // the line holds (after a concentration change, the old one).
            if line.tipHoldsNoDrug {
                volume = DoseArithmetic.volume(holding: asked, at: pump.concentration) ?? .zero
            } else if let needed = line.volume(delivering: asked, of: pump.drug, reservoir: pump.reservoirContents) {
                volume = needed
            } else if line.tip?.drug != nil, line.tip?.drug != pump.drug {
                findings.append(Finding(code: .lineHoldsOtherDrug, severity: .hard,
                                        message: "the line still holds \(line.tip?.drug?.rawValue ?? "another drug") from before the drug change: a \(pump.drug.rawValue) bolus would push it into the patient; wait until the \(pump.drug.rawValue) has reached the catheter tip"))
                volume = DoseArithmetic.volume(holding: asked, at: pump.concentration) ?? .zero
            } else {
                return unplannable("a bolus of \(asked) from what the line holds is outside what any pump can deliver")
            }
            guard volume.baseValue > 0, let delivered = line.delivered(pushing: volume, reservoir: pump.reservoirContents) else {
                return unplannable("a bolus of \(asked) at \(pump.concentration) is outside what any pump can deliver")
            }
            dose = delivered[pump.drug] ?? .zero
        case .bridge, .prime:
            let defaultVolume = request.kind == .prime ? line.primeVolume
                : .nL(line.ahead(of: pump.reservoirContents).reduce(0) { $0.saturatingAdd($1.volume.baseValue) })
            let pushed = request.volume ?? defaultVolume
            if request.volume == nil, pushed.baseValue == 0 {
                findings.append(Finding(code: .lineNothingToBridge, severity: .hard,
                                        message: request.kind == .prime
                                            ? "the pump reports drug all along the line: there is nothing to prime (a prime would push the line's drug at bolus speed)"
                                            : "the pump reports that the line holds the reservoir's drug and concentration throughout: there is nothing to bridge"))
                return BolusPlan(kind: request.kind, volume: .zero, doseToPatient: .zero, duration: request.duration, rate: nil,
                                 findings: findings)
            }
            guard pushed.baseValue > 0 else { throw .volumeNotPositive }
            volume = pushed
            guard let delivered = line.delivered(pushing: pushed, reservoir: pump.reservoirContents) else {
                return unplannable("a \(request.kind.rawValue) bolus of \(pushed) is outside what any pump can deliver", volume: pushed)
            }
            dose = delivered[pump.drug] ?? .zero
            for (other, mass) in delivered where other != pump.drug && mass.baseValue > 0 {
                findings.append(Finding(code: .lineHoldsOtherDrug, severity: .hard,
                                        message: "pushing \(pushed) puts \(mass) of \(other.rawValue) still in the line into the patient at bolus speed"))
            }
            if dose.baseValue > 0 {
                // Worded for this bolus: its own kind, volume, duration and
                // speed (a bridge runs at the speed asked, not at priming speed).
                let speed = Exact.mulDiv(pushed.baseValue, 86_400, request.duration.baseValue, rounding: .up)
                    .map { " (\(VolumeRate(baseValue: $0)))" } ?? ""
                let what = request.kind == .bridge ? "the bridge bolus" : "priming"
                findings.append(Finding(code: .primingDeliversDrug, severity: .soft,
                                        message: "\(what) pushes \(pushed) in \(request.duration)\(speed) and puts \(mass(dose)) of \(pump.drug.rawValue) into the patient at that speed; give it only under supervision"))
            }
        }
        // The single-bolus limits hold for whatever reaches the patient, of
        // any kind: a bridge or prime that pushes a full line delivers its
        // drug at bolus speed all the same.
        if let single = limits?.bolus {
            if dose > single.hardMax {
                findings.append(Finding(code: .bolusAboveHardMax, severity: .hard,
                                        message: "\(mass(dose)) reaches the patient, above the hard maximum single bolus of \(mass(single.hardMax))\(note)\(toleranceHint)"))
            } else if let soft = single.softMax, dose > soft {
                findings.append(Finding(code: .bolusAboveSoftMax, severity: .soft,
                                        message: "\(mass(dose)) reaches the patient, above the usual maximum single bolus of \(mass(soft))\(note)"))
            }
        }
        // Every bolus counts toward the 24 h totals, whatever its kind: the
        // drug reaches the patient all the same.
        if limits == nil {
            findings.append(Finding(code: .drugNotInLibrary, severity: .hard,
                                    message: "\(pump.drug.rawValue) is not in the clinic's drug library"))
        }
        if let limits {
            if let earlier = delivery.bolusesLast24h {
                let given = earlier.baseValue.saturatingAdd(dose.baseValue)
                // The patient's allowance is boluses too: all of it may be
                // taken in the same 24 h as this one.
                let boluses = given.saturatingAdd(delivery.patientAllowance.baseValue)
                let allowanceWords = delivery.patientAllowance.baseValue > 0
                    ? " and the patient-bolus allowance of \(mass(delivery.patientAllowance))" : ""
                let earlierWords = delivery.bolusCountLast24h == 0 ? "no earlier bolus in the last 24 h"
                    : "\(delivery.bolusCountLast24h) earlier \(delivery.bolusCountLast24h == 1 ? "bolus" : "boluses") of \(mass(earlier)) in the last 24 h"
                // The boluses-in-24 h limit is the therapeutic one; a bridge
                // or priming bolus is limited by what the line holds, and
                // counts in the daily total below.
                if let day = limits.bolusPer24h {
                    if boluses > day.hardMax.baseValue {
                        findings.append(Finding(code: .bolusPer24hAboveHardMax, severity: .hard,
                                                message: "\(mass(dose)) now with \(earlierWords) (the pump's event log)\(allowanceWords) is \(mass(Mass(baseValue: boluses))), above the hard maximum of \(mass(day.hardMax)) of boluses in 24 h\(note)\(toleranceHint)"))
                    } else if let soft = day.softMax, boluses > soft.baseValue {
                        findings.append(Finding(code: .bolusPer24hAboveSoftMax, severity: .soft,
                                                message: "\(mass(dose)) now with \(earlierWords) (the pump's event log)\(allowanceWords) is \(mass(Mass(baseValue: boluses))), above the usual maximum of \(mass(soft)) of boluses in 24 h\(note)"))
                    }
                }
                // Any 24 h window around now: the busiest 24 h of basal, the
                // boluses of the last 24 h, this one, and every bolus the
                // patient may take.
                let total = delivery.basal.baseValue.saturatingAdd(given).saturatingAdd(delivery.patientAllowance.baseValue)
                let words = "the basal \(rate(delivery.basal)), \(mass(dose)) now, \(earlierWords)"
                    + (delivery.patientAllowance.baseValue > 0 ? " and the patient-bolus allowance of \(mass(delivery.patientAllowance))" : "")
                    + " make \(mass(Mass(baseValue: total))) in 24 h"
                if total > limits.dailyDose.hardMax.baseValue {
                    findings.append(Finding(code: .bolusCumulativeAboveHardMax, severity: .hard,
                                            message: "\(words), above the daily hard maximum of \(rate(limits.dailyDose.hardMax))\(note)\(toleranceHint)"))
                } else if let soft = limits.dailyDose.softMax, total > soft.baseValue {
                    findings.append(Finding(code: .bolusCumulativeAboveSoftMax, severity: .soft,
                                            message: "\(words), above the daily soft maximum of \(rate(soft))\(note)"))
                }
            } else {
                findings.append(Finding(code: .bolusHistoryUnknown, severity: .hard,
                                        message: "the pump's event log does not cover the last 24 h (it could not be read, or it wrapped and lost older entries), so the boluses of the last 24 h are not known; no bolus is given without them (read it with pumpctl log)"))
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
