import Therapy

/// A prescription as JSON output gives it: every quantity `{value, unit}`
/// (the drug library's mass unit for the drug), states as lowercase words.
/// The prescription-file form, whose quantities are text with their unit,
/// is given beside it for `pumpctl program FILE`.
struct PrescriptionRecord: Encodable {
    struct Step: Encodable {
        /// When the step starts in the cycle, as the file writes it (06:00, Mon 06:00).
        var start: String
        var startSeconds: Int64
        var doseRate: QuantityValue
    }

    struct Bolus: Encodable {
        var dose: QuantityValue
        var duration: QuantityValue
        var lockout: QuantityValue
        var maximumPer24h: Int
    }

    var drug: String
    var concentration: QuantityValue
    var indication: String
    var mode: String
    var dailyDose: QuantityValue?
    var cycle: String?
    var steps: [Step]?
    var patientBolus: Bolus?
    var catheterVolume: QuantityValue?
    var opioidTolerance: String?

    enum CodingKeys: String, CodingKey {
        case drug, concentration, indication, mode, dailyDose, cycle, steps, patientBolus, catheterVolume, opioidTolerance
    }

    static let minutes = QuantityUnit<DurationDimension>("min", basePerUnit: 60)

    init(_ prescription: Prescription, massUnit: QuantityUnit<MassDimension>) {
        let doseUnit: QuantityUnit<DoseRateDimension> = massUnit == .mg ? .mgPerDay : .mcgPerDay
        let concentrationUnit: QuantityUnit<ConcentrationDimension> = massUnit == .mg ? .mgPerML : .mcgPerML
        drug = prescription.drug.rawValue
        concentration = prescription.concentration.valueAndUnit(in: concentrationUnit)
        indication = prescription.indication.rawValue
        mode = prescription.mode.name
        switch prescription.mode {
        case .continuous(let dose):
            dailyDose = dose.valueAndUnit(in: doseUnit)
        case .flex(let schedule):
            cycle = schedule.cycle.rawValue
            steps = schedule.steps.map {
                Step(start: $0.startText(cycle: schedule.cycle), startSeconds: $0.start, doseRate: $0.doseRate.valueAndUnit(in: doseUnit))
            }
        case .minimumRate, .stopped:
            break
        }
        patientBolus = prescription.patientBolus.map {
            Bolus(dose: $0.dose.valueAndUnit(in: massUnit), duration: $0.duration.valueAndUnit(in: Self.minutes),
                  lockout: $0.lockout.valueAndUnit(in: Self.minutes), maximumPer24h: $0.maximumPer24h)
        }
        catheterVolume = prescription.catheter?.volume?.valueAndUnit(in: VolumeDimension.defaultUnit)
        opioidTolerance = prescription.opioidTolerance?.rawValue
    }

    func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(drug, forKey: .drug)
        try container.encode(concentration, forKey: .concentration)
        try container.encode(indication, forKey: .indication)
        try container.encode(mode, forKey: .mode)
        try container.encodeIfPresent(dailyDose, forKey: .dailyDose)
        try container.encodeIfPresent(cycle, forKey: .cycle)
        try container.encodeIfPresent(steps, forKey: .steps)
        try container.encode(patientBolus, forKey: .patientBolus)
        try container.encode(catheterVolume, forKey: .catheterVolume)
        try container.encodeIfPresent(opioidTolerance, forKey: .opioidTolerance)
    }
}
