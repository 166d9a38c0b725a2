/// The drugs the pump and its wire protocol know. The wire codes are fixed
/// (1 baclofen, 2 morphine, 3 ziconotide); everything clinical about a drug
/// lives in the editable drug library, not here.
public enum Drug: String, Sendable, Codable, CaseIterable, Hashable {
    case baclofen, morphine, ziconotide

    /// Code on the wire.
    public var wireCode: UInt8 {
        switch self {
        case .baclofen: return 1
        case .morphine: return 2
        case .ziconotide: return 3
        }
    }

    public init?(wireCode: UInt8) {
        guard let drug = Drug.allCases.first(where: { $0.wireCode == wireCode }) else { return nil }
        self = drug
    }
}

/// Why the drug is given; baclofen titration limits depend on it.
public enum Indication: String, Sendable, Codable, CaseIterable, Hashable {
    /// Spasticity of spinal origin.
    case spinal
    /// Spasticity of cerebral origin.
    case cerebral
    /// Chronic pain.
    case pain
}

extension Drug {
    /// Whether the drug is an opioid, whose limits depend on the patient's
    /// opioid tolerance (morphine).
    public var isOpioid: Bool { self == .morphine }

    /// The mass unit a drug is shown in when no drug library says otherwise
    /// (morphine in mg, the others in mcg).
    public var defaultDoseUnit: QuantityUnit<MassDimension> { self == .morphine ? .mg : .mcg }
}

/// Whether a patient is used to opioids: an opioid-naive patient gets the
/// far lower intrathecal limits (Infumorph labelling: naive 0.2 to 1 mg/day,
/// tolerant 1 to 10 mg/day). A prescription that does not say is taken as
/// opioid-naive, the safe side.
public enum OpioidTolerance: String, Sendable, Codable, CaseIterable, Hashable {
    case naive, tolerant

    /// The words used in messages.
    public var words: String { self == .naive ? "opioid-naive" : "opioid-tolerant" }
}

/// The units one drug's doses, dose rates and concentrations are shown in
/// on every screen and report (the drug library's `dose_unit`: morphine in
/// mg, baclofen and ziconotide in mcg), so no figure of one drug switches
/// unit under the reader.
public struct DisplayUnits: Sendable, Equatable {
    public let mass: QuantityUnit<MassDimension>

    public init(mass: QuantityUnit<MassDimension>) {
        self.mass = mass == .mg ? .mg : .mcg
    }

    /// The library's unit for `drug`, or the drug's own when the library has none.
    public static func of(_ drug: Drug, policy: ClinicPolicy?) -> DisplayUnits {
        DisplayUnits(mass: policy?.policy(for: drug)?.massUnit ?? drug.defaultDoseUnit)
    }

    public var doseRate: QuantityUnit<DoseRateDimension> { mass == .mg ? .mgPerDay : .mcgPerDay }
    public var concentration: QuantityUnit<ConcentrationDimension> { mass == .mg ? .mgPerML : .mcgPerML }

    public func text(_ value: Mass) -> String { value.formatted(in: mass) }
    public func text(_ value: DoseRate) -> String { value.formatted(in: doseRate) }
    public func text(_ value: Concentration) -> String { value.formatted(in: concentration) }
}
