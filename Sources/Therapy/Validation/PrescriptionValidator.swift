/// What a pending prescription is checked against.
public struct ValidationContext: Sendable, Equatable {
    public var policy: ClinicPolicy
    public var profile: PumpProfile
    /// The prescription the pump runs now, if known.
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

    public init(policy: ClinicPolicy, profile: PumpProfile, current: Prescription? = nil,
                lastChange: PumpTime? = nil, now: PumpTime, recentIncreases: [PumpTime] = [],
                currentDeliveredDose: DoseRate? = nil) {
        self.policy = policy
        self.profile = profile
        self.current = current
        self.lastChange = lastChange
        self.now = now
        self.recentIncreases = recentIncreases
        self.currentDeliveredDose = currentDeliveredDose
    }
}

/// Checks a pending prescription against the clinic policy, the pump
/// profile and the current prescription. Pure: the same inputs always give
/// the same findings, in the same order.
public enum PrescriptionValidator {
    public static func validate(_ pending: Prescription, in context: ValidationContext) -> ValidationReport {
        var findings: [Finding] = []
        func add(_ code: FindingCode, _ severity: Severity, _ message: String) {
            findings.append(Finding(code: code, severity: severity, message: message))
        }
        let drug = pending.drug.rawValue
        guard let library = context.policy.policy(for: pending.drug) else {
            add(.drugNotInLibrary, .hard, "\(drug) is not in the clinic's drug library")
            return ValidationReport(findings: findings)
        }
        let doseUnit = library.doseRateUnit, massUnit = library.massUnit, concUnit = library.concentrationUnit
        func dose(_ value: DoseRate) -> String { value.formatted(in: doseUnit) }
        func mass(_ value: Mass) -> String { value.formatted(in: massUnit) }

        if !library.concentrations.contains(pending.concentration) {
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
                let at = plan.steps.count > 1 ? " (step at \(FlexStep(start: step.start, doseRate: .zero).startText(cycle: plan.cycle)))" : ""
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
            add(.scheduleTooManySteps, .hard, "a day of the schedule has \(busiest) steps; the \(profile.model) holds at most \(profile.maximumFlexStepsPerDay)")
        }

        let largestDay = plan.largestDailyPrescribedDose
        if largestDay > library.dailyDose.hardMax {
            add(.doseAboveHardMax, .hard, "\(dose(largestDay)) of \(drug) is above the hard maximum of \(dose(library.dailyDose.hardMax))")
        } else if let soft = library.dailyDose.softMax, largestDay > soft {
            add(.doseAboveSoftMax, .soft, "\(dose(largestDay)) of \(drug) is above the soft maximum of \(dose(soft))")
        }

        if let current = context.current {
            compare(pending, plan: plan, with: current, library: library, context: context, add: add, dose: dose)
        }

        if let bolus = pending.patientBolus {
            if let limits = library.bolus {
                if bolus.dose > limits.hardMax {
                    add(.bolusAboveHardMax, .hard, "a patient bolus of \(mass(bolus.dose)) is above the hard maximum of \(mass(limits.hardMax))")
                } else if let soft = limits.softMax, bolus.dose > soft {
                    add(.bolusAboveSoftMax, .soft, "a patient bolus of \(mass(bolus.dose)) is above the soft maximum of \(mass(soft))")
                }
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
            // Worst case: the busiest day plus every allotted bolus.
            let bolusPerDay = bolus.dose.baseValue.saturatingMultiply(Int64(bolus.maximumPer24h))
            let worst = DoseRate(baseValue: largestDay.baseValue.saturatingAdd(bolusPerDay))
            if worst > library.dailyDose.hardMax {
                add(.ptmWorstCaseAboveHardMax, .hard,
                    "with all \(bolus.maximumPer24h) patient boluses the day's total is \(dose(worst)), above the hard maximum of \(dose(library.dailyDose.hardMax))")
            } else if let soft = library.dailyDose.softMax, worst > soft {
                add(.ptmWorstCaseAboveSoftMax, .soft,
                    "with all \(bolus.maximumPer24h) patient boluses the day's total is \(dose(worst)), above the soft maximum of \(dose(soft))")
            }
        }
        return ValidationReport(findings: findings)
    }

    /// Findings that depend on the change from the current prescription.
    private static func compare(_ pending: Prescription, plan: DosePlan, with current: Prescription, library: DrugPolicy,
                                context: ValidationContext, add: (FindingCode, Severity, String) -> Void,
                                dose: (DoseRate) -> String) {
        guard current.drug == pending.drug else {
            add(.drugChanged, .soft,
                "the pump holds \(current.drug.rawValue) and this prescription is for \(pending.drug.rawValue); the reservoir and line must be emptied and the line primed under supervision")
            return
        }
        if current.concentration != pending.concentration {
            add(.concentrationChanged, .soft,
                "the concentration changes from \(current.concentration.formatted(in: library.concentrationUnit)) to \(pending.concentration.formatted(in: library.concentrationUnit)); the line still holds the old concentration, plan the bridge (pumpctl calc bridge)")
        }
        let old: Int64
        let new: Int64
        if let delivered = context.currentDeliveredDose {
            old = delivered.baseValue
            new = plan.averageDailyDose.baseValue
        } else {
            guard let currentPlan = try? current.dosePlan(on: context.profile) else { return }
            old = currentPlan.averagePrescribedDose.baseValue
            new = plan.averagePrescribedDose.baseValue
        }
        let rule = library.titration
        if new > old {
            if old > 0, new >= old.saturatingMultiply(10) {
                add(.doseProbableDecimalError, .soft, decimalMessage(new: new, old: old, dose: dose))
            }
            if old > 0, let percent = rule.increasePercent(for: pending.indication),
               new.saturatingMultiply(100) > old.saturatingMultiply(Int64(100).saturatingAdd(Int64(percent))) {
                add(.titrationAboveLimit, .soft,
                    "\(dose(DoseRate(baseValue: old))) to \(dose(DoseRate(baseValue: new))) is an increase of more than \(percent)% (the \(pending.indication.rawValue) limit per change)")
            }
            // Saturating: an increase that does not fit in 64 bits is beyond any limit.
            if let limit = rule.maxIncrease, new.saturatingSubtract(old) > limit.baseValue {
                add(.titrationAboveLimit, .soft,
                    "\(dose(DoseRate(baseValue: old))) to \(dose(DoseRate(baseValue: new))) is an increase of \(dose(DoseRate(baseValue: new.saturatingSubtract(old)))), more than \(dose(limit)) per change")
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
            }
        } else if new < old {
            if pending.mode != .stopped, new.saturatingMultiply(10) <= old {
                add(.doseProbableDecimalError, .soft, decimalMessage(new: new, old: old, dose: dose))
            }
            if let percent = rule.withdrawalReductionPercent,
               pending.mode == .stopped || new.saturatingMultiply(100) < old.saturatingMultiply(Int64(100).saturatingSubtract(Int64(percent))) {
                add(.withdrawalRisk, .soft,
                    pending.mode == .stopped
                        ? "stopping \(current.drug.rawValue) abruptly risks withdrawal (high fever, rigidity, rhabdomyolysis, death); taper instead unless the patient is supervised"
                        : "\(dose(DoseRate(baseValue: old))) to \(dose(DoseRate(baseValue: new))) is a reduction of more than \(percent)%, which risks \(current.drug.rawValue) withdrawal")
            }
        }
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
