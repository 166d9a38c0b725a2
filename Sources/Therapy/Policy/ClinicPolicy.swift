import Foundation

/// The clinic's drug library and safety limits: an editable JSON document.
/// The shipped defaults are `ClinicPolicy.shippedDefaultsJSON`; a clinic
/// saves that text, edits it, and loads it with `ClinicPolicy.load(_:)`.
public struct ClinicPolicy: Sendable, Equatable, Codable {
    /// Format tag; only `pumpwand-policy/1` is understood.
    public var format: String
    public var name: String
    public var drugs: [DrugPolicy]
    public var residualTolerance: ResidualTolerance
    /// Changes a second provider must confirm (`--second-operator`); when
    /// the file leaves it out, concentration changes, as clinical practice asks.
    public var secondOperatorRequiredFor: [SecondOperatorRule]?
    public var sources: [String]

    public static let currentFormat = "pumpwand-policy/1"

    enum CodingKeys: String, CodingKey {
        case format, name, drugs, sources
        case residualTolerance = "residual_tolerance"
        case secondOperatorRequiredFor = "second_operator_required_for"
    }

    /// Changes that can be made to need a second provider.
    public enum SecondOperatorRule: String, Sendable, Equatable, Codable, CaseIterable {
        /// A refill with another drug or concentration.
        case concentrationChange = "concentration-change"
        /// A prescription that raises the daily dose.
        case doseIncrease = "dose-increase"
        /// Any change of prescription.
        case anyPrescriptionChange = "any-prescription-change"
    }

    /// Whether `rule` needs a second provider under this policy.
    public func requiresSecondOperator(_ rule: SecondOperatorRule) -> Bool {
        (secondOperatorRequiredFor ?? [.concentrationChange]).contains(rule)
    }

    /// The library entry for a drug, if the clinic stocks it.
    public func policy(for drug: Drug) -> DrugPolicy? {
        drugs.first { $0.drug == drug }
    }

    /// The limits in force for `drug` given for `indication` (and, for an
    /// opioid, `tolerance`), each capped at the shipped library's ceiling
    /// however this policy was made (a file is refused when it loosens
    /// one; a policy built in code is capped here). Nil when the drug is
    /// not in this library or the shipped one.
    public func limits(for drug: Drug, indication: Indication, tolerance: OpioidTolerance?) -> DrugLimits? {
        let tolerance = drug.isOpioid ? (tolerance ?? .naive) : nil
        guard let own = policy(for: drug)?.limits(indication: indication, tolerance: tolerance),
              let ceiling = Self.shippedCeiling?.policy(for: drug)?.limits(indication: indication, tolerance: tolerance) else { return nil }
        return own.capped(by: ceiling)
    }

    /// The titration rule in force for `drug`: the policy's, each field no
    /// looser than the shipped library's (a field the policy leaves out is
    /// the shipped one). Nil when the drug is in neither library.
    public func titration(for drug: Drug) -> TitrationRule? {
        let own = policy(for: drug)?.titration
        guard let ceiling = Self.shippedCeiling?.policy(for: drug)?.titration else { return nil }
        return (own ?? ceiling).capped(by: ceiling)
    }

    /// Whether the library, and the shipped one, stock `concentration` of `drug`.
    public func stocks(_ concentration: Concentration, of drug: Drug) -> Bool {
        (policy(for: drug)?.concentrations.contains(concentration) ?? false)
            && (Self.shippedCeiling?.policy(for: drug)?.concentrations.contains(concentration) ?? false)
    }

    /// Whether the library, and the shipped one, allow `drug` for `indication`.
    public func allows(_ drug: Drug, for indication: Indication) -> Bool {
        (policy(for: drug)?.allows(indication) ?? false) && (Self.shippedCeiling?.policy(for: drug)?.allows(indication) ?? false)
    }
}

/// One drug in the library.
public struct DrugPolicy: Sendable, Equatable, Codable {
    public var drug: Drug
    /// The mass unit doses of this drug are written in (`mcg` or `mg`), so
    /// output never switches unit under the reader.
    public var doseUnit: String
    /// Concentrations the clinic stocks; any other is refused.
    public var concentrations: [Concentration]
    /// What the drug may be prescribed for; nil (left out of a clinic
    /// file) means the shipped library's list.
    public var indications: [Indication]?
    public var dailyDose: Limits<DoseRateDimension>
    /// Single bolus limits (a technician's bolus and each patient bolus).
    public var bolus: Limits<MassDimension>?
    /// Every bolus the pump started in any 24 h, this one included.
    public var bolusPer24h: Limits<MassDimension>?
    /// The dose rate of any one flex step.
    public var stepRate: Limits<DoseRateDimension>?
    /// The daily dose of a first prescription, a new drug, or a start from stopped.
    public var startDose: Limits<DoseRateDimension>?
    /// Limits for one indication (`{"cerebral": {...}}`), on top of the drug's own.
    public var byIndication: [String: LimitSet]?
    /// Limits for one opioid tolerance (`{"naive": {...}}`), on top of the drug's own.
    public var byOpioidTolerance: [String: LimitSet]?
    public var titration: TitrationRule
    public var sources: [String]

    enum CodingKeys: String, CodingKey {
        case drug, concentrations, indications, bolus, titration, sources
        case doseUnit = "dose_unit"
        case dailyDose = "daily_dose"
        case bolusPer24h = "bolus_per_24h"
        case stepRate = "step_rate"
        case startDose = "start_dose"
        case byIndication = "by_indication"
        case byOpioidTolerance = "by_opioid_tolerance"
    }

    /// Whether the library allows the drug for `indication`.
    public func allows(_ indication: Indication) -> Bool {
        (indications ?? Indication.allCases).contains(indication)
    }

    /// The limits that apply to a prescription for `indication` (and, for an
    /// opioid, `tolerance`): for each limit the tightest of the drug's own
    /// and those of the indication and the tolerance.
    public func limits(indication: Indication, tolerance: OpioidTolerance?) -> DrugLimits {
        var limits = DrugLimits(dailyDose: dailyDose, bolus: bolus, bolusPer24h: bolusPer24h, stepRate: stepRate,
                                startDose: startDose, variants: [])
        if let set = byIndication?[indication.rawValue] {
            limits.tighten(by: set)
            limits.variants.append(indication.rawValue)
        }
        if let tolerance, let set = byOpioidTolerance?[tolerance.rawValue] {
            limits.tighten(by: set)
            limits.variants.append(tolerance.words)
        }
        return limits
    }

    /// `doseUnit` as a mass unit; mcg when the text is not one.
    public var massUnit: QuantityUnit<MassDimension> { doseUnit == "mg" ? .mg : .mcg }
    /// The matching dose-rate unit.
    public var doseRateUnit: QuantityUnit<DoseRateDimension> { doseUnit == "mg" ? .mgPerDay : .mcgPerDay }
    /// The matching concentration unit.
    public var concentrationUnit: QuantityUnit<ConcentrationDimension> { doseUnit == "mg" ? .mgPerML : .mcgPerML }
}

/// A soft limit warns and needs an override with a reason; a hard limit
/// refuses and has no override.
public struct Limits<D: PhysicalDimension>: Sendable, Equatable, Codable {
    public var softMax: Quantity<D>?
    public var hardMax: Quantity<D>

    public init(softMax: Quantity<D>?, hardMax: Quantity<D>) {
        self.softMax = softMax
        self.hardMax = hardMax
    }

    enum CodingKeys: String, CodingKey {
        case softMax = "soft_max"
        case hardMax = "hard_max"
    }
}

/// Limits of one indication or one opioid tolerance. Each tightens the
/// drug's own limit of the same name; none can loosen it.
public struct LimitSet: Sendable, Equatable, Codable {
    public var dailyDose: Limits<DoseRateDimension>?
    public var bolus: Limits<MassDimension>?
    public var bolusPer24h: Limits<MassDimension>?
    public var stepRate: Limits<DoseRateDimension>?
    public var startDose: Limits<DoseRateDimension>?

    public init(dailyDose: Limits<DoseRateDimension>? = nil, bolus: Limits<MassDimension>? = nil,
                bolusPer24h: Limits<MassDimension>? = nil, stepRate: Limits<DoseRateDimension>? = nil,
                startDose: Limits<DoseRateDimension>? = nil) {
        self.dailyDose = dailyDose
        self.bolus = bolus
        self.bolusPer24h = bolusPer24h
        self.stepRate = stepRate
        self.startDose = startDose
    }

    enum CodingKeys: String, CodingKey {
        case bolus
        case dailyDose = "daily_dose"
        case bolusPer24h = "bolus_per_24h"
        case stepRate = "step_rate"
        case startDose = "start_dose"
    }
}

/// The limits in force for one prescription or bolus: the tightest of the
/// drug's, its indication's and its opioid tolerance's, and never looser
/// than the shipped library's (`ClinicPolicy.limits(for:indication:tolerance:)`).
public struct DrugLimits: Sendable, Equatable {
    public var dailyDose: Limits<DoseRateDimension>
    public var bolus: Limits<MassDimension>?
    public var bolusPer24h: Limits<MassDimension>?
    public var stepRate: Limits<DoseRateDimension>?
    public var startDose: Limits<DoseRateDimension>?
    /// Which limit sets applied beyond the drug's own ("cerebral", "opioid-naive"), for messages.
    public var variants: [String]

    public init(dailyDose: Limits<DoseRateDimension>, bolus: Limits<MassDimension>?, bolusPer24h: Limits<MassDimension>?,
                stepRate: Limits<DoseRateDimension>?, startDose: Limits<DoseRateDimension>?, variants: [String]) {
        self.dailyDose = dailyDose
        self.bolus = bolus
        self.bolusPer24h = bolusPer24h
        self.stepRate = stepRate
        self.startDose = startDose
        self.variants = variants
    }

    mutating func tighten(by set: LimitSet) {
        dailyDose = dailyDose.tightened(by: set.dailyDose)
        bolus = Limits.tightest(bolus, set.bolus)
        bolusPer24h = Limits.tightest(bolusPer24h, set.bolusPer24h)
        stepRate = Limits.tightest(stepRate, set.stepRate)
        startDose = Limits.tightest(startDose, set.startDose)
    }

    /// Each limit no looser than the same limit of `ceiling`.
    public func capped(by ceiling: DrugLimits) -> DrugLimits {
        var capped = self
        capped.dailyDose = dailyDose.tightened(by: ceiling.dailyDose)
        capped.bolus = Limits.tightest(bolus, ceiling.bolus)
        capped.bolusPer24h = Limits.tightest(bolusPer24h, ceiling.bolusPer24h)
        capped.stepRate = Limits.tightest(stepRate, ceiling.stepRate)
        capped.startDose = Limits.tightest(startDose, ceiling.startDose)
        return capped
    }

    /// ` (cerebral limit)`, or nothing when only the drug's own limits apply.
    public var variantNote: String {
        variants.isEmpty ? "" : " (\(variants.joined(separator: ", ")) limit)"
    }
}

extension Limits {
    /// The lower hard maximum and the lower soft maximum (never above the
    /// hard one) of the two.
    public func tightened(by other: Limits?) -> Limits {
        guard let other else { return self }
        let hard = Swift.min(hardMax, other.hardMax)
        let soft = [softMax, other.softMax].compactMap { $0 }.min().map { Swift.min($0, hard) }
        return Limits(softMax: soft, hardMax: hard)
    }

    /// The tighter of two optional limits: one alone holds as it is.
    public static func tightest(_ first: Limits?, _ second: Limits?) -> Limits? {
        guard let first else { return second }
        return first.tightened(by: second)
    }
}

/// How fast a dose may change. All limits are soft (they need an override).
public struct TitrationRule: Sendable, Equatable, Codable {
    /// Largest increase per change, in percent of the current daily dose,
    /// by indication (`{"spinal": 30, "cerebral": 15}`). An indication not
    /// listed gets the smallest listed figure.
    public var maxIncreasePercent: [String: Int]?
    /// Largest increase per change as an absolute dose rate (ziconotide).
    public var maxIncrease: DoseRate?
    /// At most this many increases inside `increaseWindow` (ziconotide).
    public var maxIncreasesPerWindow: Int?
    public var increaseWindow: Duration?
    /// No increase sooner than this after the previous change.
    public var minimumInterval: Duration?
    /// A reduction by more than this percent, or a stop, risks withdrawal.
    public var withdrawalReductionPercent: Int?
    /// A pump stopped for at least this long restarts like a start: the
    /// start-dose limits apply to whatever it restarts at (resume, or a new
    /// prescription), because the patient's tolerance of the old dose may
    /// be gone.
    public var restartAsStartAfter: Duration?

    public init(maxIncreasePercent: [String: Int]? = nil, maxIncrease: DoseRate? = nil, maxIncreasesPerWindow: Int? = nil,
                increaseWindow: Duration? = nil, minimumInterval: Duration? = nil, withdrawalReductionPercent: Int? = nil,
                restartAsStartAfter: Duration? = nil) {
        self.maxIncreasePercent = maxIncreasePercent
        self.maxIncrease = maxIncrease
        self.maxIncreasesPerWindow = maxIncreasesPerWindow
        self.increaseWindow = increaseWindow
        self.minimumInterval = minimumInterval
        self.withdrawalReductionPercent = withdrawalReductionPercent
        self.restartAsStartAfter = restartAsStartAfter
    }

    enum CodingKeys: String, CodingKey {
        case maxIncreasePercent = "max_increase_percent"
        case maxIncrease = "max_increase"
        case maxIncreasesPerWindow = "max_increases_per_window"
        case increaseWindow = "increase_window"
        case minimumInterval = "minimum_interval"
        case withdrawalReductionPercent = "withdrawal_reduction_percent"
        case restartAsStartAfter = "restart_as_start_after"
    }

    /// Each rule no looser than `ceiling`'s: the smaller increase, the
    /// fewer increases in the longer window, the longer interval, the
    /// smaller cut before withdrawal is warned of, the shorter stop before
    /// a restart is a start. A field left out is the ceiling's.
    public func capped(by ceiling: TitrationRule) -> TitrationRule {
        func smaller<T: Comparable>(_ a: T?, _ b: T?) -> T? { [a, b].compactMap { $0 }.min() }
        func larger<T: Comparable>(_ a: T?, _ b: T?) -> T? { [a, b].compactMap { $0 }.max() }
        var capped = TitrationRule()
        if maxIncreasePercent != nil || ceiling.maxIncreasePercent != nil {
            var table: [String: Int] = [:]
            for indication in Indication.allCases {
                if let percent = smaller(increasePercent(for: indication), ceiling.increasePercent(for: indication)) {
                    table[indication.rawValue] = percent
                }
            }
            capped.maxIncreasePercent = table
        }
        capped.maxIncrease = smaller(maxIncrease, ceiling.maxIncrease)
        if let count = ceiling.maxIncreasesPerWindow, let window = ceiling.increaseWindow {
            capped.maxIncreasesPerWindow = smaller(maxIncreasesPerWindow, count)
            capped.increaseWindow = larger(increaseWindow, window)
        } else {
            capped.maxIncreasesPerWindow = maxIncreasesPerWindow
            capped.increaseWindow = increaseWindow
        }
        capped.minimumInterval = larger(minimumInterval, ceiling.minimumInterval)
        capped.withdrawalReductionPercent = smaller(withdrawalReductionPercent, ceiling.withdrawalReductionPercent)
        capped.restartAsStartAfter = smaller(restartAsStartAfter, ceiling.restartAsStartAfter)
        return capped
    }

    /// The percent limit for an indication.
    public func increasePercent(for indication: Indication) -> Int? {
        guard let table = maxIncreasePercent else { return nil }
        return table[indication.rawValue] ?? table.values.min()
    }
}

extension TitrationRule {
    /// Refuses a rule looser than `ceiling` in any field it sets, naming
    /// the field (`titration.max_increase_percent.spinal`).
    func checkNotLooser(than ceiling: TitrationRule, drug: Drug, rateUnit: QuantityUnit<DoseRateDimension>) throws(PolicyFileError) {
        func refuse(_ field: String, _ value: String, _ top: String) -> PolicyFileError {
            .loosensShippedCeiling(drug: drug, field: "titration." + field, value: value, ceiling: top)
        }
        if maxIncreasePercent != nil {
            for indication in Indication.allCases {
                guard let top = ceiling.increasePercent(for: indication) else { continue }
                if let own = increasePercent(for: indication), own > top {
                    throw refuse("max_increase_percent.\(indication.rawValue)", "\(own)%", "\(top)%")
                }
            }
        }
        if let own = maxIncrease, let top = ceiling.maxIncrease, own > top {
            throw refuse("max_increase", own.formatted(in: rateUnit), top.formatted(in: rateUnit))
        }
        if let own = maxIncreasesPerWindow, let top = ceiling.maxIncreasesPerWindow, own > top {
            throw refuse("max_increases_per_window", "\(own)", "\(top)")
        }
        if let own = increaseWindow, let top = ceiling.increaseWindow, own < top {
            throw refuse("increase_window", own.description, top.description)
        }
        if let own = minimumInterval, let top = ceiling.minimumInterval, own < top {
            throw refuse("minimum_interval", own.description, top.description)
        }
        if let own = withdrawalReductionPercent, let top = ceiling.withdrawalReductionPercent, own > top {
            throw refuse("withdrawal_reduction_percent", "\(own)%", "\(top)%")
        }
        if let own = restartAsStartAfter, let top = ceiling.restartAsStartAfter, own > top {
            throw refuse("restart_as_start_after", own.description, top.description)
        }
    }
}

/// When a withdrawn residual differs from the expected one by more than
/// the larger of `minimum` and `percentOfExpected` of the expected volume,
/// the refill is flagged as a discrepancy.
public struct ResidualTolerance: Sendable, Equatable, Codable {
    public var minimum: Volume
    public var percentOfExpected: Int

    enum CodingKeys: String, CodingKey {
        case minimum
        case percentOfExpected = "percent_of_expected"
    }
}

/// Why a policy file was refused. The built-in defaults stay in force.
public enum PolicyFileError: Error, Sendable, Equatable, CustomStringConvertible {
    case tooLarge(bytes: Int, limit: Int)
    case unreadable(detail: String)
    case unsupportedFormat(String)
    case invalid(detail: String)
    /// The policy loosens a hard limit beyond the shipped library's ceiling
    /// (or allows an indication the shipped library does not): `field` is
    /// the path in the file, `value` what it says, `ceiling` the shipped figure.
    case loosensShippedCeiling(drug: Drug, field: String, value: String, ceiling: String)
    /// A key written twice in one object (its path): which one a parser
    /// keeps is not defined, so neither is used.
    case duplicateKey(String)
    /// A field this program does not know (its path): a misspelt limit
    /// would otherwise be ignored and the clinic believe it in force.
    case unknownField(String)
    /// A field that must be the shipped library's (the unit a drug is shown
    /// in): `value` is what the policy says, `shipped` the shipped figure.
    case differsFromShipped(drug: Drug, field: String, value: String, shipped: String)
    /// A clinic-wide rule looser than the shipped one (the residual
    /// tolerance, the changes a second provider confirms).
    case loosensShippedRule(field: String, value: String, ceiling: String)

    public var description: String {
        let keep = " The policy was not loaded; nothing was changed."
        switch self {
        case .tooLarge(let bytes, let limit):
            return "the policy file is \(bytes) bytes; the limit is \(limit) bytes." + keep
        case .unreadable(let detail):
            return "the policy file is not valid policy JSON: \(detail)." + keep
                + " Start from `pumpctl calc policy` output."
        case .unsupportedFormat(let format):
            return "the policy file has format '\(format)'; this program reads '\(ClinicPolicy.currentFormat)'." + keep
        case .invalid(let detail):
            return "the policy file is inconsistent: \(detail)." + keep
        case .loosensShippedCeiling(let drug, let field, let value, let ceiling):
            return "the policy loosens \(drug.rawValue) \(field) to \(value), beyond the shipped library's ceiling of \(ceiling): a clinic policy may tighten any limit (hard, soft or titration) but never loosen a hard one or any other." + keep
        case .loosensShippedRule(let field, let value, let ceiling):
            return "the policy sets \(field) to \(value), looser than the shipped \(ceiling): a clinic policy may only tighten it." + keep
        case .duplicateKey(let path):
            return "the policy file has '\(path)' twice; write each field once." + keep
        case .unknownField(let path):
            return "the policy file has a field '\(path)' this program does not know; check its spelling against `pumpctl calc policy`." + keep
        case .differsFromShipped(let drug, let field, let value, let shipped):
            return "the policy sets \(drug.rawValue) \(field) to \(value); it must be the shipped library's \(shipped), so no screen shows this drug in another unit." + keep
        }
    }
}

extension ClinicPolicy {
    /// Largest policy or prescription file read (1 MiB): these are small
    /// hand-edited documents, and a bound keeps a wrong path harmless.
    public static let maximumFileBytes = 1 << 20

    /// Decodes and checks a policy document: consistent, and never looser
    /// than the shipped library (`checkCeilings`).
    public static func load(_ data: Data) throws(PolicyFileError) -> ClinicPolicy {
        let policy = try decodeAndCheck(data)
        guard let ceiling = shippedCeiling else {
            throw .invalid(detail: "the shipped drug library cannot be read, so no policy can be checked against it")
        }
        try policy.checkCeilings(against: ceiling)
        return policy
    }

    /// The shipped library, the ceiling of every clinic policy. Nil only if
    /// the embedded document were broken (a test proves it is not); every
    /// limit then refuses.
    public static let shippedCeiling: ClinicPolicy? = try? decodeAndCheck(Data(shippedDefaultsJSON.utf8))

    static func decodeAndCheck(_ data: Data) throws(PolicyFileError) -> ClinicPolicy {
        guard data.count <= maximumFileBytes else { throw .tooLarge(bytes: data.count, limit: maximumFileBytes) }
        if let duplicate = JSONDuplicateKeys.first(in: data) { throw .duplicateKey(duplicate) }
        if let root = try? JSONSerialization.jsonObject(with: data), let unknown = PolicyFields.firstUnknown(in: root) {
            throw .unknownField(unknown)
        }
        let policy: ClinicPolicy
        do {
            policy = try JSONDecoder().decode(ClinicPolicy.self, from: data)
        } catch let error as DecodingError {
            throw .unreadable(detail: error.plainDescription)
        } catch {
            throw .unreadable(detail: String(describing: error))
        }
        guard policy.format == currentFormat else { throw .unsupportedFormat(policy.format) }
        try policy.check()
        return policy
    }

    /// The shipped defaults, decoded from the embedded document.
    public static func shippedDefaults() throws(PolicyFileError) -> ClinicPolicy {
        try decodeAndCheck(Data(shippedDefaultsJSON.utf8))
    }

    /// Refuses a policy that loosens any limit of `ceiling` (the shipped
    /// library): a hard or soft maximum above the shipped one, a titration
    /// rule looser than the shipped one, an indication or a concentration
    /// the shipped library does not allow, or another display unit. A
    /// limit or rule the policy leaves out is the ceiling's.
    public func checkCeilings(against ceiling: ClinicPolicy) throws(PolicyFileError) {
        // The residual check catches a pocket fill or a missing drug: a
        // wider tolerance would let them pass silently.
        if residualTolerance.minimum > ceiling.residualTolerance.minimum
            || residualTolerance.percentOfExpected > ceiling.residualTolerance.percentOfExpected {
            throw .loosensShippedRule(
                field: "residual_tolerance", value: "\(residualTolerance.minimum) or \(residualTolerance.percentOfExpected)%",
                ceiling: "\(ceiling.residualTolerance.minimum) or \(ceiling.residualTolerance.percentOfExpected)%")
        }
        // A second provider for every change the shipped policy asks one for.
        for rule in SecondOperatorRule.allCases where ceiling.requiresSecondOperator(rule) && !requiresSecondOperator(rule) {
            throw .loosensShippedRule(field: "second_operator_required_for", value: "without \(rule.rawValue)",
                                      ceiling: "list, which includes it")
        }
        for entry in drugs {
            guard let shipped = ceiling.policy(for: entry.drug) else { continue }
            let drug = entry.drug
            for indication in entry.indications ?? [] where !shipped.allows(indication) {
                throw .loosensShippedCeiling(drug: drug, field: "indications", value: "include \(indication.rawValue)",
                                             ceiling: (shipped.indications ?? []).map(\.rawValue).joined(separator: ", "))
            }
            let massUnit = shipped.massUnit, rateUnit = shipped.doseRateUnit
            // The unit a drug is shown in is part of its safety (morphine in
            // mg, never mcg): a policy cannot change it.
            guard entry.doseUnit == shipped.doseUnit else {
                throw .differsFromShipped(drug: drug, field: "dose_unit", value: entry.doseUnit, shipped: shipped.doseUnit)
            }
            for concentration in entry.concentrations where !shipped.concentrations.contains(concentration) {
                throw .loosensShippedCeiling(drug: drug, field: "concentrations",
                                             value: "include \(concentration.formatted(in: shipped.concentrationUnit))",
                                             ceiling: shipped.concentrations.map { $0.formatted(in: shipped.concentrationUnit) }.joined(separator: ", "))
            }
            func over<D>(_ own: Limits<D>?, _ top: Limits<D>?, _ field: String, _ unit: QuantityUnit<D>) throws(PolicyFileError) {
                guard let own, let top else { return }
                if own.hardMax > top.hardMax {
                    throw .loosensShippedCeiling(drug: drug, field: field + ".hard_max", value: own.hardMax.formatted(in: unit),
                                                 ceiling: top.hardMax.formatted(in: unit))
                }
                // A soft limit warns before the hard one refuses; raising it
                // silences the warning the shipped library gives.
                if let soft = own.softMax, let topSoft = top.softMax, soft > topSoft {
                    throw .loosensShippedCeiling(drug: drug, field: field + ".soft_max", value: soft.formatted(in: unit),
                                                 ceiling: topSoft.formatted(in: unit))
                }
            }
            func set(_ own: LimitSet, _ top: DrugLimits, _ prefix: String) throws(PolicyFileError) {
                try over(own.dailyDose, top.dailyDose, prefix + "daily_dose", rateUnit)
                try over(own.bolus, top.bolus, prefix + "bolus", massUnit)
                try over(own.bolusPer24h, top.bolusPer24h, prefix + "bolus_per_24h", massUnit)
                try over(own.stepRate, top.stepRate, prefix + "step_rate", rateUnit)
                try over(own.startDose, top.startDose, prefix + "start_dose", rateUnit)
            }
            // The drug's own limits against the shipped drug's own.
            try set(LimitSet(dailyDose: entry.dailyDose, bolus: entry.bolus, bolusPer24h: entry.bolusPer24h,
                             stepRate: entry.stepRate, startDose: entry.startDose),
                    DrugLimits(dailyDose: shipped.dailyDose, bolus: shipped.bolus, bolusPer24h: shipped.bolusPer24h,
                               stepRate: shipped.stepRate, startDose: shipped.startDose, variants: []), "")
            // Each variant against the shipped limits for the same case.
            let loosest: OpioidTolerance? = drug.isOpioid ? .tolerant : nil
            for (key, own) in entry.byIndication ?? [:] {
                guard let indication = Indication(rawValue: key) else { continue }
                try set(own, shipped.limits(indication: indication, tolerance: loosest), "by_indication.\(key).")
            }
            let anyIndication = shipped.indications?.first ?? .pain
            for (key, own) in entry.byOpioidTolerance ?? [:] {
                guard let tolerance = OpioidTolerance(rawValue: key) else { continue }
                try set(own, shipped.limits(indication: anyIndication, tolerance: tolerance), "by_opioid_tolerance.\(key).")
            }
            try entry.titration.checkNotLooser(than: shipped.titration, drug: drug, rateUnit: rateUnit)
        }
    }

    /// Consistency a hand edit can break.
    func check() throws(PolicyFileError) {
        var seen = Set<Drug>()
        for entry in drugs {
            let name = entry.drug.rawValue
            guard seen.insert(entry.drug).inserted else { throw .invalid(detail: "\(name) is listed twice") }
            guard entry.doseUnit == "mcg" || entry.doseUnit == "mg" else {
                throw .invalid(detail: "\(name): dose_unit must be mcg or mg, not '\(entry.doseUnit)'")
            }
            guard !entry.concentrations.isEmpty, entry.concentrations.allSatisfy({ $0.baseValue > 0 }) else {
                throw .invalid(detail: "\(name): concentrations must list at least one positive concentration")
            }
            guard entry.dailyDose.hardMax.baseValue > 0 else { throw .invalid(detail: "\(name): daily_dose.hard_max must be positive") }
            if let soft = entry.dailyDose.softMax, soft > entry.dailyDose.hardMax {
                throw .invalid(detail: "\(name): daily_dose.soft_max is above hard_max")
            }
            if let bolus = entry.bolus, let soft = bolus.softMax, soft > bolus.hardMax {
                throw .invalid(detail: "\(name): bolus.soft_max is above hard_max")
            }
            try Self.checkLimitSet(LimitSet(bolus: nil, bolusPer24h: entry.bolusPer24h, stepRate: entry.stepRate,
                                            startDose: entry.startDose), field: "\(name): ")
            if let bolus = entry.bolus, bolus.hardMax.baseValue <= 0 { throw .invalid(detail: "\(name): bolus.hard_max must be positive") }
            if let list = entry.indications {
                guard !list.isEmpty, Set(list).count == list.count else {
                    throw .invalid(detail: "\(name): indications must list each allowed indication once")
                }
            }
            for (key, set) in entry.byIndication ?? [:] {
                guard Indication(rawValue: key) != nil else { throw .invalid(detail: "\(name): unknown indication '\(key)' in by_indication") }
                try Self.checkLimitSet(set, field: "\(name): by_indication.\(key).")
            }
            for (key, set) in entry.byOpioidTolerance ?? [:] {
                guard entry.drug.isOpioid else { throw .invalid(detail: "\(name): by_opioid_tolerance is only for an opioid") }
                guard OpioidTolerance(rawValue: key) != nil else {
                    throw .invalid(detail: "\(name): unknown tolerance '\(key)' in by_opioid_tolerance (naive or tolerant)")
                }
                try Self.checkLimitSet(set, field: "\(name): by_opioid_tolerance.\(key).")
            }
            let rule = entry.titration
            for (key, percent) in rule.maxIncreasePercent ?? [:] {
                guard Indication(rawValue: key) != nil else { throw .invalid(detail: "\(name): unknown indication '\(key)' in max_increase_percent") }
                guard (0...1000).contains(percent) else { throw .invalid(detail: "\(name): max_increase_percent \(percent) is not 0 to 1000") }
            }
            if let percent = rule.withdrawalReductionPercent, !(0...100).contains(percent) {
                throw .invalid(detail: "\(name): withdrawal_reduction_percent \(percent) is not 0 to 100")
            }
            if let count = rule.maxIncreasesPerWindow {
                guard count >= 0, rule.increaseWindow != nil else {
                    throw .invalid(detail: "\(name): max_increases_per_window needs a non-negative count and an increase_window")
                }
            }
        }
        guard (0...100).contains(residualTolerance.percentOfExpected), residualTolerance.minimum.baseValue >= 0 else {
            throw .invalid(detail: "residual_tolerance needs a non-negative minimum and a percent from 0 to 100")
        }
    }
}

extension ClinicPolicy {
    /// Each limit of a set: a positive hard maximum, the soft one not above it.
    static func checkLimitSet(_ set: LimitSet, field: String) throws(PolicyFileError) {
        func check<D>(_ limits: Limits<D>?, _ name: String) throws(PolicyFileError) {
            guard let limits else { return }
            guard limits.hardMax.baseValue > 0 else { throw .invalid(detail: "\(field)\(name).hard_max must be positive") }
            if let soft = limits.softMax, soft > limits.hardMax { throw .invalid(detail: "\(field)\(name).soft_max is above hard_max") }
        }
        try check(set.dailyDose, "daily_dose")
        try check(set.bolus, "bolus")
        try check(set.bolusPer24h, "bolus_per_24h")
        try check(set.stepRate, "step_rate")
        try check(set.startDose, "start_dose")
    }
}

/// The fields a policy document may hold, object by object: any other is
/// refused by name, since `Codable` would ignore it (a misspelt
/// `minimum_interal` would leave the clinic believing a rule in force).
enum PolicyFields {
    static let top: Set<String> = ["format", "name", "drugs", "residual_tolerance", "second_operator_required_for", "sources"]
    static let drug: Set<String> = ["drug", "dose_unit", "concentrations", "indications", "daily_dose", "bolus", "bolus_per_24h",
                                    "step_rate", "start_dose", "by_indication", "by_opioid_tolerance", "titration", "sources"]
    static let limitSet: Set<String> = ["daily_dose", "bolus", "bolus_per_24h", "step_rate", "start_dose"]
    static let limits: Set<String> = ["soft_max", "hard_max"]
    static let titration: Set<String> = ["max_increase_percent", "max_increase", "max_increases_per_window", "increase_window",
                                         "minimum_interval", "withdrawal_reduction_percent", "restart_as_start_after"]
    static let residual: Set<String> = ["minimum", "percent_of_expected"]

    /// The path of the first field not in the format, or nil. Shapes that
    /// are wrong in other ways are left to the decoder's messages.
    static func firstUnknown(in root: Any) -> String? {
        guard let top = root as? [String: Any] else { return nil }
        if let key = unknown(top, self.top, "") { return key }
        if let residual = top["residual_tolerance"] as? [String: Any], let key = unknown(residual, self.residual, "residual_tolerance.") {
            return key
        }
        for (index, element) in ((top["drugs"] as? [Any]) ?? []).enumerated() {
            guard let entry = element as? [String: Any] else { continue }
            let path = "drugs[\(index)]."
            if let key = unknown(entry, drug, path) { return key }
            if let key = limitObjects(entry, path) { return key }
            if let rule = entry["titration"] as? [String: Any], let key = unknown(rule, titration, path + "titration.") { return key }
            for variants in ["by_indication", "by_opioid_tolerance"] {
                for (name, value) in ((entry[variants] as? [String: Any]) ?? [:]).sorted(by: { $0.key < $1.key }) {
                    guard let set = value as? [String: Any] else { continue }
                    let prefix = "\(path)\(variants).\(name)."
                    if let key = unknown(set, limitSet, prefix) ?? limitObjects(set, prefix) { return key }
                }
            }
        }
        return nil
    }

    private static func limitObjects(_ object: [String: Any], _ path: String) -> String? {
        for name in limitSet.sorted() {
            guard let limit = object[name] as? [String: Any] else { continue }
            if let key = unknown(limit, limits, path + name + ".") { return key }
        }
        return nil
    }

    private static func unknown(_ object: [String: Any], _ known: Set<String>, _ path: String) -> String? {
        object.keys.sorted().first { !known.contains($0) }.map { path + $0 }
    }
}

extension DecodingError {
    /// Where in the document the problem is, in the document's own key names.
    public var plainDescription: String {
        func path(_ keys: [any CodingKey]) -> String {
            let text = keys.map { $0.intValue.map { "[\($0)]" } ?? ".\($0.stringValue)" }.joined()
            return text.isEmpty ? "the top level" : String(text.drop { $0 == "." })
        }
        switch self {
        case .keyNotFound(let key, let context):
            return "'\(path(context.codingPath + [key]))' is missing"
        case .typeMismatch(_, let context), .valueNotFound(_, let context):
            return "'\(path(context.codingPath))' has the wrong type (\(context.debugDescription))"
        case .dataCorrupted(let context):
            return context.codingPath.isEmpty ? "not JSON (\(context.debugDescription))" : "'\(path(context.codingPath))': \(context.debugDescription)"
        @unknown default:
            return "unreadable"
        }
    }
}
