/// How a finding is handled: a hard finding refuses the prescription and
/// has no override; a soft finding needs an explicit override with a reason.
public enum Severity: String, Sendable, Codable, Equatable {
    case hard, soft
}

/// A stable dotted identifier for a kind of finding. Scripts and the audit
/// log match on these; a released code keeps its meaning.
public struct FindingCode: RawRepresentable, Sendable, Hashable, Codable, CustomStringConvertible {
    public let rawValue: String
    public init(rawValue: String) { self.rawValue = rawValue }
    public var description: String { rawValue }

    public static let drugNotInLibrary = FindingCode(rawValue: "drug.not-in-library")
    public static let drugChanged = FindingCode(rawValue: "drug.changed")
    public static let concentrationNotInLibrary = FindingCode(rawValue: "concentration.not-in-library")
    public static let concentrationChanged = FindingCode(rawValue: "concentration.changed")
    public static let doseAboveHardMax = FindingCode(rawValue: "dose.above-hard-max")
    public static let doseAboveSoftMax = FindingCode(rawValue: "dose.above-soft-max")
    public static let doseProbableDecimalError = FindingCode(rawValue: "dose.probable-decimal-error")
    public static let titrationAboveLimit = FindingCode(rawValue: "titration.above-limit")
    public static let titrationWithin24h = FindingCode(rawValue: "titration.within-24h")
    public static let titrationTooManyIncreases = FindingCode(rawValue: "titration.too-many-increases")
    public static let withdrawalRisk = FindingCode(rawValue: "withdrawal.risk")
    public static let rateBelowMinimum = FindingCode(rawValue: "rate.below-minimum")
    public static let rateAboveMaximum = FindingCode(rawValue: "rate.above-maximum")
    public static let scheduleTooManySteps = FindingCode(rawValue: "schedule.too-many-steps")
    public static let bolusAboveHardMax = FindingCode(rawValue: "bolus.above-hard-max")
    public static let bolusAboveSoftMax = FindingCode(rawValue: "bolus.above-soft-max")
    public static let bolusRateAboveMaximum = FindingCode(rawValue: "bolus.rate-above-maximum")
    public static let ptmExceeds24h = FindingCode(rawValue: "ptm.exceeds-24h")
    public static let ptmLockoutShorterThanBolus = FindingCode(rawValue: "ptm.lockout-shorter-than-bolus")
    public static let ptmWorstCaseAboveHardMax = FindingCode(rawValue: "ptm.worst-case-above-hard-max")
    public static let ptmWorstCaseAboveSoftMax = FindingCode(rawValue: "ptm.worst-case-above-soft-max")
    public static let primingDeliversDrug = FindingCode(rawValue: "priming.delivers-drug")
    public static let arithmeticOutOfRange = FindingCode(rawValue: "arithmetic.out-of-range")
    // What the pump's own state allows, checked before anything is asked of the technician.
    public static let pumpAlarmStopsDelivery = FindingCode(rawValue: "pump.alarm-stops-delivery")
    public static let pumpInfusionStopped = FindingCode(rawValue: "pump.infusion-stopped")
    public static let pumpBolusRunning = FindingCode(rawValue: "pump.bolus-running")
    public static let pumpRefillInProgress = FindingCode(rawValue: "pump.refill-in-progress")
    public static let pumpAlreadyInState = FindingCode(rawValue: "pump.already-in-state")
    public static let reservoirInsufficient = FindingCode(rawValue: "reservoir.insufficient")
    public static let refillOverfill = FindingCode(rawValue: "refill.overfill")
    public static let refillResidualDiscrepancy = FindingCode(rawValue: "refill.residual-discrepancy")
    public static let refillNeedsPrescription = FindingCode(rawValue: "refill.needs-prescription")
    public static let refillPrescriptionMismatch = FindingCode(rawValue: "refill.prescription-mismatch")
    public static let alarmThresholdOutOfRange = FindingCode(rawValue: "alarm.threshold-out-of-range")
    public static let bolusDurationOutOfRange = FindingCode(rawValue: "bolus.duration-out-of-range")
    public static let primingLineNotEmpty = FindingCode(rawValue: "priming.line-not-empty")
    // The drug library's limits for every drug (indications, steps, start, cumulative delivery).
    public static let indicationNotAllowed = FindingCode(rawValue: "indication.not-allowed")
    public static let indicationChanged = FindingCode(rawValue: "indication.changed")
    public static let stepRateAboveHardMax = FindingCode(rawValue: "step.rate-above-hard-max")
    public static let stepRateAboveSoftMax = FindingCode(rawValue: "step.rate-above-soft-max")
    public static let stepProbableDecimalError = FindingCode(rawValue: "step.probable-decimal-error")
    public static let startAboveHardMax = FindingCode(rawValue: "start.above-hard-max")
    public static let startAboveSoftMax = FindingCode(rawValue: "start.above-soft-max")
    public static let bolusPer24hAboveHardMax = FindingCode(rawValue: "bolus.per-24h-above-hard-max")
    public static let bolusPer24hAboveSoftMax = FindingCode(rawValue: "bolus.per-24h-above-soft-max")
    public static let bolusCumulativeAboveHardMax = FindingCode(rawValue: "bolus.cumulative-above-hard-max")
    public static let bolusCumulativeAboveSoftMax = FindingCode(rawValue: "bolus.cumulative-above-soft-max")
    public static let bolusHistoryUnknown = FindingCode(rawValue: "bolus.history-unknown")
    public static let doseCumulativeAboveHardMax = FindingCode(rawValue: "dose.cumulative-above-hard-max")
    public static let doseCumulativeAboveSoftMax = FindingCode(rawValue: "dose.cumulative-above-soft-max")
    public static let titrationHistoryUnknown = FindingCode(rawValue: "titration.history-unknown")
    // Plausibility: values that are probably a unit slip.
    public static let doseProbableUnitError = FindingCode(rawValue: "dose.probable-unit-error")
    public static let refillVolumeImplausible = FindingCode(rawValue: "refill.volume-implausible")
    public static let ptmCountOutOfRange = FindingCode(rawValue: "ptm.count-out-of-range")
    // The fluid path the pump reports.
    public static let lineHoldsNoDrug = FindingCode(rawValue: "line.holds-no-drug")
    public static let lineHoldsOtherDrug = FindingCode(rawValue: "line.holds-other-drug")
    public static let lineNothingToBridge = FindingCode(rawValue: "line.nothing-to-bridge")
    public static let catheterMismatch = FindingCode(rawValue: "catheter.mismatch")
    public static let drugChangeWithdrawal = FindingCode(rawValue: "drug-change.withdrawal")
    public static let ptmAllowanceAboveHardMax = FindingCode(rawValue: "ptm.allowance-above-per-24h-hard-max")
    public static let ptmAllowanceAboveSoftMax = FindingCode(rawValue: "ptm.allowance-above-per-24h-soft-max")
    /// The pump's event log does not reach back over the window a rule counts in.
    public static let doseHistoryIncomplete = FindingCode(rawValue: "dose.history-incomplete")

    /// Every code this module can produce, with its severity, for docs and tests.
    public static let catalog: [(code: FindingCode, severity: Severity)] = [
        (.drugNotInLibrary, .hard), (.drugChanged, .soft),
        (.concentrationNotInLibrary, .hard), (.concentrationChanged, .soft),
        (.doseAboveHardMax, .hard), (.doseAboveSoftMax, .soft), (.doseProbableDecimalError, .soft),
        (.titrationAboveLimit, .soft), (.titrationWithin24h, .soft), (.titrationTooManyIncreases, .soft),
        (.withdrawalRisk, .soft),
        (.rateBelowMinimum, .hard), (.rateAboveMaximum, .hard), (.scheduleTooManySteps, .hard),
        (.bolusAboveHardMax, .hard), (.bolusAboveSoftMax, .soft), (.bolusRateAboveMaximum, .hard),
        (.ptmExceeds24h, .hard), (.ptmLockoutShorterThanBolus, .hard),
        (.ptmWorstCaseAboveHardMax, .hard), (.ptmWorstCaseAboveSoftMax, .soft),
        (.primingDeliversDrug, .soft), (.arithmeticOutOfRange, .hard),
        (.pumpAlarmStopsDelivery, .hard), (.pumpInfusionStopped, .hard), (.pumpBolusRunning, .hard),
        (.pumpRefillInProgress, .hard), (.pumpAlreadyInState, .hard), (.reservoirInsufficient, .hard),
        (.refillOverfill, .hard), (.refillResidualDiscrepancy, .soft), (.refillNeedsPrescription, .hard),
        (.refillPrescriptionMismatch, .hard), (.alarmThresholdOutOfRange, .hard),
        (.bolusDurationOutOfRange, .hard), (.primingLineNotEmpty, .hard),
        (.indicationNotAllowed, .hard), (.indicationChanged, .soft),
        (.stepRateAboveHardMax, .hard), (.stepRateAboveSoftMax, .soft), (.stepProbableDecimalError, .soft),
        (.startAboveHardMax, .hard), (.startAboveSoftMax, .soft),
        (.bolusPer24hAboveHardMax, .hard), (.bolusPer24hAboveSoftMax, .soft),
        (.bolusCumulativeAboveHardMax, .hard), (.bolusCumulativeAboveSoftMax, .soft), (.bolusHistoryUnknown, .hard),
        (.doseCumulativeAboveHardMax, .hard), (.doseCumulativeAboveSoftMax, .soft), (.titrationHistoryUnknown, .soft),
        (.doseProbableUnitError, .soft), (.refillVolumeImplausible, .soft), (.ptmCountOutOfRange, .hard),
        (.lineHoldsNoDrug, .hard), (.lineHoldsOtherDrug, .hard), (.lineNothingToBridge, .hard),
        (.catheterMismatch, .hard), (.drugChangeWithdrawal, .soft),
        (.ptmAllowanceAboveHardMax, .hard), (.ptmAllowanceAboveSoftMax, .soft), (.doseHistoryIncomplete, .soft),
    ]
}

/// One thing validation found: a stable code, its severity, and a plain
/// message naming the values involved.
public struct Finding: Sendable, Equatable, Codable {
    public let code: FindingCode
    public let severity: Severity
    public let message: String

    public init(code: FindingCode, severity: Severity, message: String) {
        self.code = code
        self.severity = severity
        self.message = message
    }
}

/// A person's decision to proceed despite a soft finding, with the reason
/// that goes into the audit log.
public struct Override: Sendable, Equatable, Codable {
    public let code: FindingCode
    public let reason: String

    public init(code: FindingCode, reason: String) {
        self.code = code
        self.reason = reason
    }

    /// Fewest characters a reason may have, once trimmed.
    public static let minimumReasonLength = 10
    /// Fewest distinct words a reason may have.
    public static let minimumReasonWords = 2
    /// Fewest letters a word must have to count.
    public static let minimumWordLetters = 3

    /// Whether `reason` says something a later reader can act on: at least
    /// `minimumReasonLength` characters and `minimumReasonWords` distinct
    /// words (runs of `minimumWordLetters` or more letters that are not one
    /// letter repeated), so whitespace, punctuation ("."), one word, a
    /// word repeated ("order order") or filler ("aa aa aa aa", "xxx yyy")
    /// are refused.
    public static func reasonCarriesWords(_ reason: String) -> Bool {
        let trimmed = reason.trimmingWhitespace()
        guard trimmed.count >= minimumReasonLength else { return false }
        // A reason is one line of plain text: control characters (a newline,
        // an escape sequence) could forge lines in the audit display, and
        // invisible format characters hide what was written.
        guard !trimmed.unicodeScalars.contains(where: {
            $0.properties.generalCategory == .control || $0.properties.generalCategory == .format
        }) else { return false }
        var words = Set<String>()
        var run = ""
        func finish() {
            let lowered = run.lowercased()
            if lowered.count >= minimumWordLetters, Set(lowered).count >= 2 { words.insert(lowered) }
            run = ""
        }
        for character in trimmed {
            if character.isLetter { run.append(character) } else { finish() }
        }
        finish()
        return words.count >= minimumReasonWords
    }
}

/// A rule validation could not apply for want of an input, so that a
/// report without findings never hides that it skipped something.
public enum SkippedCheck: String, Sendable, Codable, Equatable, CaseIterable {
    /// No time of the last change: the minimum interval between increases.
    case minimumInterval = "titration.minimum-interval"
    /// No current prescription: titration, decimal-error and withdrawal checks.
    case againstCurrent = "titration.against-current"
    /// No current prescription: whether this is a start, and the start-dose limit.
    case startDose = "start.dose"

    public var sentence: String {
        switch self {
        case .minimumInterval: return "the 24 h rule (minimum interval between increases) was not checked: give --last-change"
        case .againstCurrent: return "titration, decimal-error and withdrawal checks against the current prescription were not made: give --current"
        case .startDose: return "the start-dose limit was not checked (a first prescription or a start from stopped): give --current"
        }
    }
}

/// Everything validation found about one pending prescription.
public struct ValidationReport: Sendable, Equatable, Codable {
    public let findings: [Finding]
    /// Rules that were not applied because an input was missing.
    public let notChecked: [SkippedCheck]

    public init(findings: [Finding], notChecked: [SkippedCheck] = []) {
        self.findings = findings
        self.notChecked = notChecked
    }

    /// Hard findings: the prescription is refused.
    public var errors: [Finding] { findings.filter { $0.severity == .hard } }
    /// Soft findings: each needs an override with a reason.
    public var warnings: [Finding] { findings.filter { $0.severity == .soft } }

    /// The one rule for proceeding, shared by the session layer and scripts:
    /// no hard finding; every soft finding overridden with a reason that
    /// carries words (`Override.reasonCarriesWords`); no override for a finding that is not there (a stale or
    /// mistyped override is a sign the person is not looking at this report).
    public func accepting(overrides: [Override]) throws(ValidationRefusal) -> AcceptedPrescription {
        let hard = errors
        guard hard.isEmpty else { throw .hardFindings(hard) }
        let soft = warnings
        for override in overrides {
            guard soft.contains(where: { $0.code == override.code }) else { throw .overrideWithoutFinding(override.code) }
            guard !override.reason.trimmingWhitespace().isEmpty else { throw .overrideWithoutReason(override.code) }
            guard Override.reasonCarriesWords(override.reason) else { throw .reasonWithoutWords(override.code) }
        }
        let missing = soft.filter { finding in !overrides.contains { $0.code == finding.code } }
        guard missing.isEmpty else { throw .softFindingsNotOverridden(missing) }
        return AcceptedPrescription(
            overridden: soft.map { finding in
                AcceptedPrescription.OverriddenFinding(
                    finding: finding, reason: overrides.first { $0.code == finding.code }?.reason.trimmingWhitespace() ?? "")
            })
    }
}

/// Proof that a report was accepted, with every override and its reason
/// for the audit log.
public struct AcceptedPrescription: Sendable, Equatable, Codable {
    public struct OverriddenFinding: Sendable, Equatable, Codable {
        public let finding: Finding
        public let reason: String
    }

    public let overridden: [OverriddenFinding]
}

/// Why a validated prescription may not proceed. Nothing was sent to the pump.
public enum ValidationRefusal: Error, Sendable, Equatable, CustomStringConvertible {
    case hardFindings([Finding])
    case softFindingsNotOverridden([Finding])
    case overrideWithoutReason(FindingCode)
    case overrideWithoutFinding(FindingCode)
    /// The reason is not blank but says nothing (".", "ok", one word).
    case reasonWithoutWords(FindingCode)

    public var description: String {
        switch self {
        case .hardFindings(let findings):
            return "refused by a hard limit (no override possible): " + findings.map { "\($0.code): \($0.message)" }.joined(separator: "; ")
        case .softFindingsNotOverridden(let findings):
            return "needs an override with a reason for: " + findings.map { "\($0.code): \($0.message)" }.joined(separator: "; ")
        case .overrideWithoutReason(let code):
            return "the override for \(code) has no reason; an override must say why"
        case .reasonWithoutWords(let code):
            return "the reason given for \(code) says too little: write at least \(Override.minimumReasonLength) characters and \(Override.minimumReasonWords) different words of \(Override.minimumWordLetters) or more letters saying why (who ordered it, what was checked)"
        case .overrideWithoutFinding(let code):
            return "an override was given for \(code), but this prescription has no such finding; check it is the right prescription"
        }
    }
}
