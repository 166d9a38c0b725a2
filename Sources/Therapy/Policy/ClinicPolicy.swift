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
}

/// One drug in the library.
public struct DrugPolicy: Sendable, Equatable, Codable {
    public var drug: Drug
    /// The mass unit doses of this drug are written in (`mcg` or `mg`), so
    /// output never switches unit under the reader.
    public var doseUnit: String
    /// Concentrations the clinic stocks; any other is refused.
    public var concentrations: [Concentration]
    public var dailyDose: Limits<DoseRateDimension>
    /// Single (patient) bolus limits, when the library sets them.
    public var bolus: Limits<MassDimension>?
    public var titration: TitrationRule
    public var sources: [String]

    enum CodingKeys: String, CodingKey {
        case drug, concentrations, bolus, titration, sources
        case doseUnit = "dose_unit"
        case dailyDose = "daily_dose"
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

    enum CodingKeys: String, CodingKey {
        case maxIncreasePercent = "max_increase_percent"
        case maxIncrease = "max_increase"
        case maxIncreasesPerWindow = "max_increases_per_window"
        case increaseWindow = "increase_window"
        case minimumInterval = "minimum_interval"
        case withdrawalReductionPercent = "withdrawal_reduction_percent"
    }

    /// The percent limit for an indication.
    public func increasePercent(for indication: Indication) -> Int? {
        guard let table = maxIncreasePercent else { return nil }
        return table[indication.rawValue] ?? table.values.min()
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
        }
    }
}

extension ClinicPolicy {
    /// Largest policy or prescription file read (1 MiB): these are small
    /// hand-edited documents, and a bound keeps a wrong path harmless.
    public static let maximumFileBytes = 1 << 20

    /// Decodes and checks a policy document.
    public static func load(_ data: Data) throws(PolicyFileError) -> ClinicPolicy {
        guard data.count <= maximumFileBytes else { throw .tooLarge(bytes: data.count, limit: maximumFileBytes) }
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
        try load(Data(shippedDefaultsJSON.utf8))
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
