import ArgumentParser
import Therapy

struct Bridge: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bridge",
        abstract: "What the line delivers after a concentration change (arithmetic only: nothing to program).",
        discussion: """
            The pump pathway and catheter still hold the old concentration. The pump delivers it by dose at the
            catheter tip (PROTOCOL.md 5) without any bridge being programmed: the old daily dose continues for
            line volume x old concentration / daily dose at the old volume rate, then the new rate starts. This
            shows those figures; do not program them (a prescription at the old rate would change the dose once
            the new concentration arrives). Give --line-volume, or --catheter-length and --catheter-volume-per-cm
            (with --pump-volume, which defaults to the pump model's internal pathway volume).
            """
    )

    @OptionGroup(visibility: .hidden) var global: GlobalOptions
    @Option(name: .customLong("old-concentration"), help: "Concentration in the line now.") var oldConcentration: String
    @Option(name: .customLong("new-concentration"), help: "Concentration being filled.") var newConcentration: String
    @Option(help: "Daily dose, e.g. 300mcg/day.") var dose: String
    @Option(name: .customLong("line-volume"), help: "Pump pathway plus catheter volume, e.g. 0.33mL.") var lineVolume: String?
    @Option(name: .customLong("pump-volume"), help: "Pump internal pathway volume (default: the pump model's).") var pumpVolume: String?
    @Option(name: .customLong("catheter-length"), help: "Implanted catheter length, e.g. 50cm.") var catheterLength: String?
    @Option(name: .customLong("catheter-volume-per-cm"), help: "Catheter volume per cm, e.g. 0.0026mL/cm.") var catheterVolumePerCm: String?
    @Option(help: "Pump model: RP-20 or RP-40 (simulated reference pumps).") var pump = "RP-20"

    func validate() throws {
        if lineVolume != nil {
            guard pumpVolume == nil, catheterLength == nil, catheterVolumePerCm == nil else {
                throw ValidationError("Give either --line-volume or the catheter options, not both.")
            }
        } else {
            guard catheterLength != nil, catheterVolumePerCm != nil else {
                throw ValidationError("Give --line-volume V, or --catheter-length L with --catheter-volume-per-cm X.")
            }
        }
    }

    struct Result: Encodable {
        var volume: QuantityValue
        var duration: QuantityValue
        var rate: QuantityValue
        var doseDuringBridge: QuantityValue
        var rateAfterBridge: QuantityValue
    }

    func run() async throws {
        let profile = try CalcInput.profile(pump)
        let (old, unit): (Concentration, QuantityUnit<ConcentrationDimension>) = try CalcInput.quantityWithUnit(oldConcentration, option: "--old-concentration")
        let new: Concentration = try CalcInput.quantity(newConcentration, option: "--new-concentration")
        let daily: DoseRate = try CalcInput.quantity(dose, option: "--dose")
        let line: Volume
        if let lineVolume {
            line = try CalcInput.quantity(lineVolume, option: "--line-volume")
        } else {
            let pathway: Volume = try pumpVolume.map { try CalcInput.quantity($0, option: "--pump-volume") } ?? profile.internalPathwayVolume
            let catheter = Catheter.measured(length: try CalcInput.quantity(catheterLength ?? "", option: "--catheter-length"),
                                             volumePerLength: try CalcInput.quantity(catheterVolumePerCm ?? "", option: "--catheter-volume-per-cm"))
            guard let catheterVolume = catheter.volume, let total = catheterVolume.adding(pathway) else {
                throw CalcInput.usage("the catheter volume is too large to compute")
            }
            line = total
        }
        let plan: BridgePlan
        do {
            plan = try BridgePlan.plan(lineVolume: line, oldConcentration: old, newConcentration: new, dailyDose: daily, profile: profile)
        } catch {
            throw CalcInput.usage(error.description)
        }
        let massUnit = CalcInput.massUnit(for: unit)
        let hours = QuantityUnit<DurationDimension>("h", basePerUnit: 3_600)
        let result = Result(volume: plan.volume.valueAndUnit(), duration: plan.duration.valueAndUnit(in: hours),
                            rate: plan.rate.valueAndUnit(in: .mLPerDay), doseDuringBridge: plan.doseDuringBridge.valueAndUnit(in: massUnit),
                            rateAfterBridge: plan.rateAfterBridge.programmed.valueAndUnit(in: .mLPerDay))
        if global.json {
            try Output.json(result)
            return
        }
        Output.line(Output.table(header: ["", ""], rows: [
            ["line volume", plan.volume.description],
            ["bridge lasts", "\(plan.duration.formatted(in: hours)) (\(plan.duration))"],
            ["bridge rate", plan.rate.formatted(in: .mLPerDay) + " (old concentration, old daily dose)"],
            ["drug during bridge", plan.doseDuringBridge.formatted(in: massUnit) + " at the old concentration"],
            ["rate after bridge", plan.rateAfterBridge.programmed.formatted(in: .mLPerDay)],
        ]).split(separator: "\n").dropFirst().joined(separator: "\n"))
        Output.line("The pump does this by itself (delivery by dose at the catheter tip): nothing here is to be programmed.")
    }
}
