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
