import ArgumentParser
import Therapy

struct DailyDose: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "daily-dose",
        abstract: "Daily dose and pump rate for a prescription, or for a concentration with a rate or a dose.",
        discussion: """
            With --dose the rate is rounded down to the pump's resolution and the daily dose shown is what
            that rate delivers (never more than asked). With --rate the daily dose is what the rate delivers.
            """
    )

    @OptionGroup(visibility: .hidden) var global: GlobalOptions
    @Option(help: "Prescription file (JSON).") var prescription: String?
    @Option(help: "Concentration, e.g. 2000mcg/mL.") var concentration: String?
    @Option(help: "Volume rate, e.g. 0.2mL/day.") var rate: String?
    @Option(help: "Daily dose, e.g. 400mcg/day.") var dose: String?
    @Option(help: "Pump model: RP-20 or RP-40 (simulated reference pumps).") var pump = "RP-20"

    func validate() throws {
        if prescription != nil {
            guard concentration == nil, rate == nil, dose == nil else {
                throw ValidationError("Give either --prescription, or --concentration with --rate or --dose, not both.")
            }
        } else {
            guard concentration != nil, (rate == nil) != (dose == nil) else {
                throw ValidationError("Give --prescription FILE, or --concentration C with exactly one of --rate R or --dose D.")
            }
        }
    }

    struct Step: Encodable {
        var start: String
        var prescribedDose: QuantityValue
        var rate: QuantityValue
        var dailyDose: QuantityValue
    }

    struct Result: Encodable {
        var dailyDose: QuantityValue
        var rate: QuantityValue
        var prescribedDose: QuantityValue
        var steps: [Step]
    }

    func run() async throws {
        let profile = try CalcInput.profile(pump)
        let plan: DosePlan
        let massUnit: QuantityUnit<MassDimension>
        do {
            if let prescription {
                let value = try CalcInput.prescription(prescription)
                massUnit = CalcInput.massUnit(for: value.drug, policy: try? ClinicPolicy.shippedDefaults())
                plan = try value.dosePlan(on: profile)
            } else {
                let (concentration, unit): (Concentration, QuantityUnit<ConcentrationDimension>) =
                    try CalcInput.quantityWithUnit(concentration ?? "", option: "--concentration")
                massUnit = CalcInput.massUnit(for: unit)
                let setting: RateSetting
                if let rate {
                    setting = try profile.rateSetting(running: try CalcInput.quantity(rate, option: "--rate"), at: concentration)
                } else {
                    setting = try profile.rateSetting(for: try CalcInput.quantity(dose ?? "", option: "--dose"), at: concentration)
                }
                plan = .continuous(setting)
            }
        } catch let error as ArithmeticError {
            throw CalcInput.usage(error.description)
        }
        let doseUnit = CalcInput.doseRateUnit(for: massUnit)
        let steps = plan.steps.map {
            Step(start: FlexStep(start: $0.start, doseRate: .zero).startText(cycle: plan.cycle),
                 prescribedDose: $0.setting.prescribed.valueAndUnit(in: doseUnit),
                 rate: $0.setting.programmed.valueAndUnit(in: .mLPerDay),
                 dailyDose: $0.setting.delivered.valueAndUnit(in: doseUnit))
        }
        let result = Result(dailyDose: plan.averageDailyDose.valueAndUnit(in: doseUnit),
                            rate: plan.averageVolumeRate.valueAndUnit(in: .mLPerDay),
                            prescribedDose: plan.averagePrescribedDose.valueAndUnit(in: doseUnit), steps: steps)
        if global.json {
            try Output.json(result)
            return
        }
        var rows = [
            ["daily dose", plan.averageDailyDose.formatted(in: doseUnit)],
            ["rate", plan.averageVolumeRate.formatted(in: .mLPerDay)],
        ]
        if plan.averageDailyDose != plan.averagePrescribedDose {
            rows.append(["prescribed", plan.averagePrescribedDose.formatted(in: doseUnit) + " (rate rounded down to the pump's resolution)"])
        }
        Output.line(Output.table(header: ["", ""], rows: rows).split(separator: "\n").dropFirst().joined(separator: "\n"))
        if plan.steps.count > 1 {
            Output.line()
            Output.line(Output.table(
                header: ["START", "PRESCRIBED", "RATE", "DELIVERED"],
                rows: steps.indices.map { index in
                    let step = plan.steps[index]
                    return [steps[index].start, step.setting.prescribed.formatted(in: doseUnit),
                            step.setting.programmed.formatted(in: .mLPerDay), step.setting.delivered.formatted(in: doseUnit)]
                }))
        }
    }
}
