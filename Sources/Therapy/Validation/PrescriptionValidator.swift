/// What a pending prescription is checked against.
public struct ValidationContext: Sendable, Equatable {
    public var policy: ClinicPolicy
    public var profile: PumpProfile
    /// The prescription the pump runs now, if known. Nil means not known
    /// (`calc validate` without `--current`): the checks against it are
    /// then listed in the report's `notChecked`, never silently skipped.
    public var current: Prescription?
    /// When the current prescription's dose last changed.
    public var lastChange: PumpTime?
    /// The moment of validation (the host clock, checked against the pump's).
    public var now: PumpTime
    /// Earlier dose increases, for limits on how many fall in a window.
    public var recentIncreases: [PumpTime]
    /// The average daily dose the pump delivers now, from its own figures.
    /// When known, a dose change compares it with what the pending
    /// prescription will *deliver* (both rounded to the pump's resolution),
    /// so the same prescription programmed twice is no change. Without it
    /// the prescribed doses are compared.
    public var currentDeliveredDose: DoseRate?
    /// Drug of the boluses (technician's, bridge, priming) the pump's own
    /// event log shows started in the last 24 h, when it was read. Counted
    /// in the cumulative 24 h total with the new basal and the patient
    /// allowance.
    public var recentBoluses: Mass?
    /// False when the pump's record of recent changes could not be read
    /// completely, so `recentIncreases` may miss some.
    public var increaseHistoryComplete: Bool
    /// False when the pump's event log was read and does not cover the
    /// last 24 h (it wrapped, or could not be read): `recentBoluses` may
    /// then miss boluses, and the cumulative rules cannot be trusted to
    /// pass. True where no pump is involved (`calc validate`).
    public var bolusHistoryComplete: Bool
    /// When the pump stopped delivering, if its infusion is stopped now
    /// (it still holds its last delivering prescription). A stop at least
    /// the drug's `restart_as_start_after` ago makes the next prescription
    /// a start as well as a change from that one.
    public var stoppedSince: PumpTime?
    /// For a pump in the stopped mode: the average daily dose its last
    /// delivering prescription delivered, when known. The restart is then
    /// titrated from it as well as held to the start-dose limits.
    public var lastDeliveringDose: DoseRate?

    public init(policy: ClinicPolicy, profile: PumpProfile, current: Prescription? = nil,
                lastChange: PumpTime? = nil, now: PumpTime, recentIncreases: [PumpTime] = [],
                currentDeliveredDose: DoseRate? = nil,
                recentBoluses: Mass? = nil, increaseHistoryComplete: Bool = true,
                bolusHistoryComplete: Bool = true, stoppedSince: PumpTime? = nil, lastDeliveringDose: DoseRate? = nil) {
        self.policy = policy
        self.profile = profile
        self.current = current
        self.lastChange = lastChange
        self.now = now
        self.recentIncreases = recentIncreases
        self.currentDeliveredDose = currentDeliveredDose
        self.recentBoluses = recentBoluses
        self.increaseHistoryComplete = increaseHistoryComplete
        self.bolusHistoryComplete = bolusHistoryComplete
        self.stoppedSince = stoppedSince
        self.lastDeliveringDose = lastDeliveringDose
    }

    /// Whether the pending prescription starts therapy: the pump holds no
    /// dose of this drug now (a first prescription, another drug, the
    /// stopped or the minimum-rate mode), or its infusion has been stopped
    /// for at least the drug's `restart_as_start_after` (the patient's
    /// tolerance of the old dose may be gone). A pump stopped for less is
    /// titrated from its last delivering prescription, which it still
    /// holds. Nil when the current prescription is not known.
    public func isStart(of pending: Prescription) -> Bool? {
        startReason(of: pending).map { $0 != nil }
    }

    /// Why the pending prescription is a start, in words; `.some(nil)`
    /// when it is not one; nil when the current prescription is not known.
    public func startReason(of pending: Prescription) -> String?? {
        guard let current else { return nil }
        let drug = pending.drug.rawValue
        if current.drug != pending.drug { return .some("the pump runs no \(drug) now: this is a start") }
        switch current.mode {
        case .stopped, .minimumRate:  // minimum rate only keeps the catheter open
            return .some("the pump runs no \(drug) now: this is a start")
        case .continuous, .flex:
            break
        }
        if let since = stoppedSince, let words = Self.longStop(since: since, now: now, drug: pending.drug, policy: policy) {
            return .some(words)
        }
        return .some(nil)
    }

    /// Words for a stop long enough that a restart is a start, or nil. A
    /// stop time after `now` (a clock set back) counts as long: the safe side.
    static func longStop(since: PumpTime, now: PumpTime, drug: Drug, policy: ClinicPolicy) -> String? {
        let rule = policy.titration(for: drug)?.restartAsStartAfter
        let stopped = now.utcSeconds.saturatingSubtract(since.utcSeconds)
        guard stopped < 0 || rule.map({ stopped >= $0.baseValue }) ?? true else { return nil }
        let limit = rule.map { " (\($0) or more)" } ?? ""
        return "the pump has been stopped since \(since)\(limit): the restart is a start"
    }
}

extension PrescriptionValidator {
    /// What withdrawal of `drug` looks like, in the words of clinical.md.
    static func withdrawalSigns(_ drug: Drug) -> String {
        switch drug {
        case .baclofen: "high fever, altered mental status, rebound spasticity, rigidity, rhabdomyolysis, death"
        case .morphine: "opioid withdrawal: agitation, pain, sweating, diarrhoea; cover with another opioid"
        case .ziconotide: "no withdrawal syndrome is known"
        }
    }
}

/// Checks a pending prescription against the clinic policy, the pump
/// profile and the current prescription. Pure: the same inputs always give
/// the same findings, in the same order.
///
/// Every dose limit comes from `ClinicPolicy.limits(for:indication:tolerance:)`:
/// the tightest of the drug's, its indication's and (for an opioid) its
/// tolerance's limits.
public enum PrescriptionValidator {
    public static func validate(_ pending: Prescription, in context: ValidationContext) -> ValidationReport {
        var findings: [Finding] = []
        var skipped: [SkippedCheck] = []
        func add(_ code: FindingCode, _ severity: Severity, _ message: String) {
            findings.append(Finding(code: code, severity: severity, message: message))
        }
        let drug = pending.drug.rawValue
        let tolerance = pending.effectiveOpioidTolerance
        guard let library = context.policy.policy(for: pending.drug),
              let limits = context.policy.limits(for: pending.drug, indication: pending.indication, tolerance: tolerance) else {
            add(.drugNotInLibrary, .hard, "\(drug) is not in the clinic's drug library")
            return ValidationReport(findings: findings)
        }
        let doseUnit = library.doseRateUnit, massUnit = library.massUnit, concUnit = library.concentrationUnit
        func dose(_ value: DoseRate) -> String { value.formatted(in: doseUnit) }
        func mass(_ value: Mass) -> String { value.formatted(in: massUnit) }
        let note = limits.variantNote
        // For an opioid without a declared tolerance, say how to declare one.
        let toleranceHint = pending.drug.isOpioid && pending.opioidTolerance == nil
            ? "; the prescription does not declare opioid_tolerance, so the opioid-naive limits apply (declare \"opioid_tolerance\": \"tolerant\" for an opioid-tolerant patient)"
            : ""

        if !context.policy.allows(pending.drug, for: pending.indication) {
            let allowed = Indication.allCases.filter { context.policy.allows(pending.drug, for: $0) }.map(\.rawValue)
            add(.indicationNotAllowed, .hard,
                "\(pending.indication.rawValue) is not an indication for \(drug) in the drug library (allowed: \(allowed.isEmpty ? "none" : allowed.joined(separator: ", ")))")
        }
        if !context.policy.stocks(pending.concentration, of: pending.drug) {
            add(.concentrationNotInLibrary, .hard,
                "\(pending.concentration.formatted(in: concUnit)) \(drug) is not in the library (stocked: \(library.concentrations.map { $0.formatted(in: concUnit) }.joined(separator: ", ")))")
        }
        let plan: DosePlan
        do {
            plan = try pending.dosePlan(on: context.profile)
        } catch {
            add(.arithmeticOutOfRange, .hard, error.description)
            return ValidationReport(findings: findings)
        }

        // The pump's rate limits apply to every step it would run.
        let profile = context.profile
        if pending.mode != .stopped {
            for step in plan.steps {
                let at = plan.steps.count > 1 ? " (step at \(startText(step.start, plan.cycle)))" : ""
                if step.setting.programmed < profile.minimumRate {
                    add(.rateBelowMinimum, .hard,
                        "\(dose(step.setting.prescribed)) at \(pending.concentration.formatted(in: concUnit)) needs \(step.setting.programmed), below the \(profile.model) minimum of \(profile.minimumRate)\(at); use a lower concentration or minimum-rate mode")
                } else if step.setting.programmed > profile.maximumContinuousRate {
                    add(.rateAboveMaximum, .hard,
                        "\(dose(step.setting.prescribed)) at \(pending.concentration.formatted(in: concUnit)) needs \(step.setting.programmed), above the \(profile.model) maximum of \(profile.maximumContinuousRate)\(at); use a higher concentration")
                }
            }
        }
        if let busiest = plan.stepsPerDay.max(), busiest > profile.maximumFlexStepsPerDay {
            add(.scheduleTooManySteps, .hard,
                "steps: a day of the schedule has \(busiest) steps; the \(profile.model) holds 1 to \(profile.maximumFlexStepsPerDay) a day (a step running over midnight counts in both days)")
        }

        let largestDay = plan.largestDailyPrescribedDose
        if largestDay > limits.dailyDose.hardMax {
            add(.doseAboveHardMax, .hard,
                "\(dose(largestDay)) of \(drug) is above the hard maximum of \(dose(limits.dailyDose.hardMax))\(note)\(toleranceHint)")
        } else if let soft = limits.dailyDose.softMax, largestDay > soft {
            add(.doseAboveSoftMax, .soft, "\(dose(largestDay)) of \(drug) is above the soft maximum of \(dose(soft))\(note)")
        }

        // Each flex step's own rate: a short step far above the daily limits
        // leaves the daily total near normal.
        if case .flex(let schedule) = pending.mode, let stepLimits = limits.stepRate {
            for step in schedule.steps {
                let at = startText(step.start, schedule.cycle)
                if step.doseRate > stepLimits.hardMax {
                    add(.stepRateAboveHardMax, .hard,
                        "the step at \(at) runs \(dose(step.doseRate)), above the hard maximum step rate of \(dose(stepLimits.hardMax))\(note)\(toleranceHint)")
                } else if let soft = stepLimits.softMax, step.doseRate > soft {
                    add(.stepRateAboveSoftMax, .soft,
                        "the step at \(at) runs \(dose(step.doseRate)), above the soft maximum step rate of \(dose(soft))\(note)")
                }
            }
        }

        // A start (first prescription, new drug, from stopped, or a restart
        // after a long stop).
        switch context.startReason(of: pending) {
        case nil:
            skipped.append(.startDose)
        case let reason??:
            if pending.mode != .stopped, let start = limits.startDose {
                if largestDay > start.hardMax {
                    add(.startAboveHardMax, .hard,
                        "\(dose(largestDay)) is above the hard maximum starting dose of \(dose(start.hardMax))\(note) (\(reason))\(toleranceHint)")
                } else if let soft = start.softMax, largestDay > soft {
                    add(.startAboveSoftMax, .soft,
                        "\(dose(largestDay)) is above the usual starting dose of \(dose(soft))\(note) (\(reason))")
                }
            }
        case .some(nil):
            break
        }

        if let current = context.current {
            compare(pending, plan: plan, with: current, library: library, context: context, add: add, dose: dose)
            if context.lastChange == nil { skipped.append(.minimumInterval) }
        } else {
            skipped.append(.againstCurrent)
            skipped.append(.minimumInterval)
        }

        let worstBasal = plan.largestPrescribedIn24h
        let recent = context.recentBoluses ?? .zero
        let recentNote = recent.baseValue > 0 ? " and the \(mass(recent)) of boluses the pump gave in the last 24 h" : ""
        if let bolus = pending.patientBolus {
            if let single = limits.bolus {
                if bolus.dose > single.hardMax {
                    add(.bolusAboveHardMax, .hard, "a patient bolus of \(mass(bolus.dose)) is above the hard maximum of \(mass(single.hardMax))\(note)")
                } else if let soft = single.softMax, bolus.dose > soft {
                    add(.bolusAboveSoftMax, .soft, "a patient bolus of \(mass(bolus.dose)) is above the soft maximum of \(mass(soft))\(note)")
                }
            }
            let allowed = PatientBolus.allowedPerDay
            if !allowed.contains(bolus.maximumPer24h) {
                add(.ptmCountOutOfRange, .hard,
                    "patient_bolus.max_per_24h is \(bolus.maximumPer24h); the pump holds \(allowed.lowerBound) to \(allowed.upperBound) boluses per 24 h")
            }
            let lockoutTotal = bolus.lockout.baseValue.saturatingMultiply(Int64(bolus.maximumPer24h))
            if lockoutTotal > 86_400 {
                add(.ptmExceeds24h, .hard,
                    "\(bolus.maximumPer24h) boluses with a \(bolus.lockout) lockout take \(Duration(baseValue: lockoutTotal)), more than 24h; lower the count or the lockout")
            }
            if bolus.lockout < bolus.duration {
                add(.ptmLockoutShorterThanBolus, .hard, "the lockout \(bolus.lockout) is shorter than the bolus itself (\(bolus.duration))")
            }
            if let volume = DoseArithmetic.volume(holding: bolus.dose, at: pending.concentration, roundingUp: true),
               let rate = Exact.mulDiv(volume.baseValue, 86_400, max(1, bolus.duration.baseValue), rounding: .up) {
                if rate > profile.maximumBolusRate.baseValue {
                    add(.bolusRateAboveMaximum, .hard,
                        "\(mass(bolus.dose)) (\(volume)) over \(bolus.duration) needs \(VolumeRate(baseValue: rate)), above the \(profile.model) bolus maximum of \(profile.maximumBolusRate); lengthen the bolus")
                }
            }
            // Every allotted bolus in one 24 h, with the boluses the pump
            // already gave, is held to the drug's boluses-in-24 h limit:
            // the allowance is boluses all the same.
            let bolusPerDay = bolus.dose.baseValue.saturatingMultiply(Int64(bolus.maximumPer24h))
            if let day = limits.bolusPer24h {
                let allotted = Mass(baseValue: bolusPerDay.saturatingAdd(recent.baseValue))
                let words = "\(bolus.maximumPer24h) patient boluses of \(mass(bolus.dose))\(recentNote) make \(mass(allotted)) of boluses in 24 h"
                if allotted > day.hardMax {
                    add(.ptmAllowanceAboveHardMax, .hard, "\(words), above the hard maximum of \(mass(day.hardMax))\(note)\(toleranceHint)")
                } else if let soft = day.softMax, allotted > soft {
                    add(.ptmAllowanceAboveSoftMax, .soft, "\(words), above the soft maximum of \(mass(soft))\(note)")
                }
            }
            // Worst case in any 24 h: the busiest window of basal, every
            // allotted bolus, and the boluses the pump already gave.
            let worst = DoseRate(baseValue: worstBasal.baseValue.saturatingAdd(bolusPerDay).saturatingAdd(recent.baseValue))
            if worst > limits.dailyDose.hardMax {
                add(.ptmWorstCaseAboveHardMax, .hard,
                    "with all \(bolus.maximumPer24h) patient boluses\(recentNote) the 24 h total is \(dose(worst)), above the hard maximum of \(dose(limits.dailyDose.hardMax))\(note)")
            } else if let soft = limits.dailyDose.softMax, worst > soft {
                add(.ptmWorstCaseAboveSoftMax, .soft,
                    "with all \(bolus.maximumPer24h) patient boluses\(recentNote) the 24 h total is \(dose(worst)), above the soft maximum of \(dose(soft))\(note)")
            }
        } else if recent.baseValue > 0, pending.mode != .stopped {
            let total = DoseRate(baseValue: worstBasal.baseValue.saturatingAdd(recent.baseValue))
            if total > limits.dailyDose.hardMax {
                add(.doseCumulativeAboveHardMax, .hard,
                    "the new basal (\(dose(worstBasal)) in the busiest 24 h)\(recentNote) make \(dose(total)), above the hard maximum of \(dose(limits.dailyDose.hardMax))\(note)")
            } else if let soft = limits.dailyDose.softMax, total > soft {
                add(.doseCumulativeAboveSoftMax, .soft,
                    "the new basal (\(dose(worstBasal)) in the busiest 24 h)\(recentNote) make \(dose(total)), above the soft maximum of \(dose(soft))\(note)")
            }
        }
        // The 24 h totals above counted only the boluses the pump's log
        // shows; a log that does not cover the 24 h may hide some, so the
        // totals cannot be said to pass.
        if !context.bolusHistoryComplete, pending.mode != .stopped {
            add(.doseHistoryIncomplete, .soft,
                "the pump's event log does not cover the last 24 h (it wrapped and lost older entries, or could not be read), so boluses it gave may be missing from the 24 h totals; a second provider must confirm this change")
        }
        return ValidationReport(findings: findings, notChecked: skipped)
    }

    /// Findings for resuming `held` (the prescription a stopped pump
    /// holds) after a stop since `stoppedSince`: a stop of at least the
    /// drug's `restart_as_start_after` makes the restart a start, and the
    /// held dose is held to the start-dose limits. Nothing after a short stop.
    public static func restartFindings(_ held: Prescription, stoppedSince: PumpTime, now: PumpTime, policy: ClinicPolicy,
                                       profile: PumpProfile) -> [Finding] {
        guard held.mode != .stopped,
              let reason = ValidationContext.longStop(since: stoppedSince, now: now, drug: held.drug, policy: policy) else { return [] }
        guard let library = policy.policy(for: held.drug),
              let limits = policy.limits(for: held.drug, indication: held.indication, tolerance: held.effectiveOpioidTolerance) else {
            return [Finding(code: .drugNotInLibrary, severity: .hard, message: "\(held.drug.rawValue) is not in the clinic's drug library")]
        }
        guard let start = limits.startDose else { return [] }
        let largest: DoseRate
        do {
            largest = try held.dosePlan(on: profile).largestDailyPrescribedDose
        } catch {
            return [Finding(code: .arithmeticOutOfRange, severity: .hard, message: error.description)]
        }
        let unit = library.doseRateUnit
        let words = "resuming restarts \(largest.formatted(in: unit)) of \(held.drug.rawValue)"
        let instead = "; program a starting dose instead (pumpctl program) and titrate from it"
        if largest > start.hardMax {
            return [Finding(code: .startAboveHardMax, severity: .hard,
                            message: "\(words), above the hard maximum starting dose of \(start.hardMax.formatted(in: unit))\(limits.variantNote) (\(reason))\(instead)")]
        }
        if let soft = start.softMax, largest > soft {
            return [Finding(code: .startAboveSoftMax, severity: .soft,
                            message: "\(words), above the usual starting dose of \(soft.formatted(in: unit))\(limits.variantNote) (\(reason))")]
        }
        return []
    }

    static func startText(_ start: Int64, _ cycle: ScheduleCycle) -> String {
        FlexStep(start: start, doseRate: .zero).startText(cycle: cycle)
    }

    /// Findings that depend on the change from the current prescription.
    private static func compare(_ pending: Prescription, plan: DosePlan, with current: Prescription, library: DrugPolicy,
                                context: ValidationContext, add: (FindingCode, Severity, String) -> Void,
                                dose: (DoseRate) -> String) {
        guard current.drug == pending.drug else {
            add(.drugChanged, .soft,
                "the pump holds \(current.drug.rawValue) and this prescription is for \(pending.drug.rawValue); the pump delivers the old drug still in its line at the old drug's prescription until it has reached the patient, then the new one (the refill screen says when)")
            return
        }
        if current.concentration != pending.concentration {
            add(.concentrationChanged, .soft,
                "the concentration changes from \(current.concentration.formatted(in: library.concentrationUnit)) to \(pending.concentration.formatted(in: library.concentrationUnit)); the line still holds the old concentration, which the pump delivers at the prescribed dose (by dose at the catheter tip) before the new one arrives: no bridge is to be programmed")
        }
        // The titration rule capped at the shipped library's, however the
        // policy was made.
        let rule = context.policy.titration(for: pending.drug) ?? library.titration
        // A change of indication never loosens the titration of this change:
        // the tighter of the two indications' limits applies.
        var percent = rule.increasePercent(for: pending.indication)
        if current.indication != pending.indication {
            let old = rule.increasePercent(for: current.indication)
            if let old, let new = percent { percent = min(old, new) } else { percent = percent ?? old }
            let detail = { () -> String in
                guard let was = rule.increasePercent(for: current.indication), let now = rule.increasePercent(for: pending.indication),
                      was != now else { return "" }
                return "; its titration limit per change goes from \(was)% to \(now)%, and this change is held to \(min(was, now))%"
            }()
            add(.indicationChanged, .soft,
                "the indication changes from \(current.indication.rawValue) to \(pending.indication.rawValue)\(detail); confirm the diagnosis")
        }
        let currentPlan = try? current.dosePlan(on: context.profile)
        let old: Int64
        let new: Int64
        // A restart from the stopped mode is titrated from the last dose
        // the pump delivered, when that is known.
        let restart = current.mode == .stopped ? context.lastDeliveringDose : nil
        let from = restart == nil ? "" : " (from the last delivering prescription, before the stop)"
        if let restart {
            old = restart.baseValue
            new = plan.averageDailyDose.baseValue
        } else if let delivered = context.currentDeliveredDose {
            old = delivered.baseValue
            new = plan.averageDailyDose.baseValue
        } else {
            guard let currentPlan else { return }
            old = currentPlan.averagePrescribedDose.baseValue
            new = plan.averagePrescribedDose.baseValue
        }
        if new > old {
            if old > 0, new >= old.saturatingMultiply(1000) {
                add(.doseProbableUnitError, .soft, unitMessage(new: new, old: old, dose: dose))
            } else if old > 0, new >= old.saturatingMultiply(10) {
                add(.doseProbableDecimalError, .soft, decimalMessage(new: new, old: old, dose: dose))
            }
            if old > 0, let percent,
               new.saturatingMultiply(100) > old.saturatingMultiply(Int64(100).saturatingAdd(Int64(percent))) {
                add(.titrationAboveLimit, .soft,
                    "\(dose(DoseRate(baseValue: old))) to \(dose(DoseRate(baseValue: new))) is an increase of more than \(percent)% (the \(pending.indication.rawValue) limit per change)\(from)")
            }
            // Saturating: an increase that does not fit in 64 bits is beyond any limit.
            if let limit = rule.maxIncrease, new.saturatingSubtract(old) > limit.baseValue {
                add(.titrationAboveLimit, .soft,
                    "\(dose(DoseRate(baseValue: old))) to \(dose(DoseRate(baseValue: new))) is an increase of \(dose(DoseRate(baseValue: new.saturatingSubtract(old)))), more than \(dose(limit)) per change\(from)")
            }
            if let interval = rule.minimumInterval, let last = context.lastChange,
               // The last change comes from the pump and may be any value: a
               // time far in the past saturates to "long ago", one in the
               // future to "just now" (and is flagged), never an overflow.
               context.now.utcSeconds.saturatingSubtract(last.utcSeconds) < interval.baseValue {
                add(.titrationWithin24h, .soft,
                    "the dose last changed at \(last), less than \(interval) ago; an increase this soon needs a reason")
            }
            if let count = rule.maxIncreasesPerWindow, let window = rule.increaseWindow {
                let inWindow = context.recentIncreases.filter {
                    $0.utcSeconds <= context.now.utcSeconds && context.now.utcSeconds.saturatingSubtract($0.utcSeconds) < window.baseValue
                }.count
                if inWindow + 1 > count {
                    add(.titrationTooManyIncreases, .soft,
                        "this would be increase \(inWindow + 1) within \(window); the library allows \(count)")
                }
                if !context.increaseHistoryComplete {
                    add(.titrationHistoryUnknown, .soft,
                        "the pump's record of changes in the last \(window) could not be read completely (its event log wrapped and lost older entries, or could not be read), so earlier increases may be missing from the count of \(inWindow); a second provider must confirm this change")
                }
            }
        } else if new < old {
            if pending.mode != .stopped, new.saturatingMultiply(1000) <= old {
                add(.doseProbableUnitError, .soft, unitMessage(new: new, old: old, dose: dose))
            } else if pending.mode != .stopped, new.saturatingMultiply(10) <= old {
                add(.doseProbableDecimalError, .soft, decimalMessage(new: new, old: old, dose: dose))
            }
            // A restart below the old dose is no interruption: the pump is stopped now.
            if restart == nil, let percent = rule.withdrawalReductionPercent,
               pending.mode == .stopped || new.saturatingMultiply(100) < old.saturatingMultiply(Int64(100).saturatingSubtract(Int64(percent))) {
                add(.withdrawalRisk, .soft,
                    pending.mode == .stopped
                        ? "stopping \(current.drug.rawValue) abruptly risks withdrawal (\(Self.withdrawalSigns(current.drug))); taper instead unless the patient is supervised"
                        : "\(dose(DoseRate(baseValue: old))) to \(dose(DoseRate(baseValue: new))) is a reduction of more than \(percent)%, which risks \(current.drug.rawValue) withdrawal")
            }
        }

        // Step by step, against the step in force at the same time of day
        // (or week): a change confined to one step hides in the average.
        guard let currentPlan, pending.mode != .stopped, current.mode != .stopped,
              isFlex(pending) || isFlex(current) else { return }
        var decimal: [String] = []
        var titration: [String] = []
        let cycle: ScheduleCycle = plan.cycle == .weekly || currentPlan.cycle == .weekly ? .weekly : .daily
        for piece in DosePlan.aligned(plan, currentPlan) {
            let was = piece.second.setting.delivered.baseValue, now = piece.first.setting.delivered.baseValue
            guard was > 0, now != was else { continue }
            let words = "at \(startText(piece.start, cycle)) \(dose(DoseRate(baseValue: was))) becomes \(dose(DoseRate(baseValue: now)))"
            if now >= was.saturatingMultiply(10) || now.saturatingMultiply(10) <= was {
                decimal.append(words)
            }
            if let percent, now.saturatingMultiply(100) > was.saturatingMultiply(Int64(100).saturatingAdd(Int64(percent))) {
                titration.append(words)
            }
        }
        if !decimal.isEmpty {
            add(.stepProbableDecimalError, .soft,
                "probable decimal error in a step: \(summary(decimal)) (10 or more times, or a tenth or less of, the rate in force at that time now)")
        }
        if !titration.isEmpty {
            add(.titrationAboveLimit, .soft,
                "a step rises by more than \(percent ?? 0)% against the rate in force at that time now (the \(pending.indication.rawValue) limit per change): \(summary(titration))")
        }
    }

    private static func isFlex(_ prescription: Prescription) -> Bool {
        if case .flex = prescription.mode { return true }
        return false
    }

    /// The first few entries, and how many more.
    private static func summary(_ items: [String]) -> String {
        let shown = items.prefix(4).joined(separator: "; ")
        return items.count > 4 ? shown + "; and \(items.count - 4) more" : shown
    }

    private static func unitMessage(new: Int64, old: Int64, dose: (DoseRate) -> String) -> String {
        "probable unit error: \(dose(DoseRate(baseValue: new))) is \(new > old ? "1000 or more times" : "a thousandth or less of") the current \(dose(DoseRate(baseValue: old))); check mg against mcg"
    }

    private static func decimalMessage(new: Int64, old: Int64, dose: (DoseRate) -> String) -> String {
        let newText = dose(DoseRate(baseValue: new)), oldText = dose(DoseRate(baseValue: old))
        let shifted = significantDigits(newText) == significantDigits(oldText)
        return "probable decimal error: \(newText) is \(new > old ? "10 or more times" : "a tenth or less of") the current \(oldText)"
            + (shifted ? " (the same digits with the decimal point moved)" : "")
    }

    /// `0.0125mg/day` -> `125`: digits without the point or leading and trailing zeros.
    static func significantDigits(_ text: String) -> String {
        var digits = String(text.filter(\.isASCIIDigitCharacter))
        while digits.hasPrefix("0") { digits.removeFirst() }
        while digits.hasSuffix("0") { digits.removeLast() }
        return digits
    }
}
