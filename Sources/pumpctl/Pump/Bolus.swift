import ArgumentParser
import Foundation
import PumpProgrammer
import Therapy

struct Bolus: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bolus",
        abstract: "Give a bolus: therapeutic, bridge or priming.",
        discussion: """
            A therapeutic bolus takes --dose (drug to the patient). Every bolus is checked against the drug library: the single-bolus limits, the boluses the pump's own event log shows in the last 24 h, and the day's total (basal, those boluses, this one and the patient-bolus allowance) against the daily maximum; for morphine the opioid-naive limits apply unless --opioid-tolerance tolerant is given and the prescription in the pump was programmed as opioid-tolerant. A priming bolus fills the stretch of the line that holds no drug (after an implant or a catheter replacement, recorded with 'pumpctl catheter'); it runs with infusion stopped. A bridge pushes the line's old fluid out at bolus speed. --volume overrides the volume either pushes. What reaches the patient is figured from the fluid path the pump reports (what its pathway and catheter hold, segment by segment), never from a claim: after a concentration change a therapeutic bolus is sized from the concentration still in the line, and any drug a prime or bridge delivers needs --override priming.delivers-drug=REASON. The dose, volume, duration and every finding are shown before the prompt; a bolus the limits or the pump's state refuse is refused before it. If the reply is lost the pump is asked about the bolus at once; if it cannot be asked the bolus is UNCERTAIN (exit 75) and is never sent again: 'pumpctl interrogate' asks the pump what happened.
            """
    )

    @OptionGroup(visibility: .hidden) var global: GlobalOptions
    @OptionGroup var session: SessionOptions
    @OptionGroup var overrides: OverrideOptions
    @Option(help: "Drug to the patient for a therapeutic bolus, with unit (e.g. 50mcg).") var dose: String?
    @Option(help: "Volume to push for a bridge or priming bolus, with unit.") var volume: String?
    @Option(help: "How long the bolus runs, with unit.") var duration = "10min"
    @Option(help: "therapeutic, bridge or prime.") var kind = "therapeutic"
    @Option(name: .customLong("opioid-tolerance"), help: ArgumentHelp(
        "For morphine: naive or tolerant (the patient's opioid tolerance). Not given: the opioid-naive limits apply. It can only be stricter than the prescription in the pump: tolerant holds only if that prescription was programmed with \"opioid_tolerance\": \"tolerant\".",
        valueName: "naive|tolerant"))
    var opioidTolerance: String?

    struct Done: Encodable {
        var simulated: Bool
        var kind: String
        var volume: Volume
        var doseToPatient: QuantityValue
        var duration: Duration
        var findings: [Finding]
    }

    func run() async throws {
        guard let kind = BolusPlan.Kind(rawValue: kind) else {
            throw ValidationError("--kind \(kind): use therapeutic, bridge or prime")
        }
        let tolerance: OpioidTolerance? = try opioidTolerance.map { text in
            guard let value = OpioidTolerance(rawValue: text.lowercased()) else {
                throw ValidationError("--opioid-tolerance \(text): use naive or tolerant")
            }
            return value
        }
        let request = BolusPlan.Request(
            kind: kind, dose: try dose.map { try CalcInput.quantity($0, option: "--dose") },
            volume: try volume.map { try CalcInput.quantity($0, option: "--volume") },
            duration: try CalcInput.quantity(duration, option: "--duration"), opioidTolerance: tolerance)
        let (plan, _) = try await PumpSession.change(global, session, BolusCommand(request: request), overrides: try overrides.parsed())
        guard case .bolus(let bolus) = plan.change else { throw ExitStatus.internalError.exitCode }
        if global.json {
            try Output.json(Done(simulated: global.simulator, kind: bolus.kind.rawValue, volume: bolus.volume,
                                 doseToPatient: bolus.doseToPatient.valueAndUnit(in: plan.before.units.mass), duration: bolus.duration,
                                 findings: bolus.findings))
            return
        }
        if global.simulator { Output.line("SIMULATED PUMP (not a patient)") }
        Output.line("Bolus started: \(bolus.kind.rawValue), \(Shown.bolusVolume(bolus.volume)) over \(Shown.duration(bolus.duration)); \(Shown.dose(bolus.doseToPatient, drug: plan.before.drug)) of \(plan.before.drug.rawValue) reaches the patient.")
    }
}

struct Stop: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "stop",
        abstract: "Stop infusion (baclofen or morphine: needs --override withdrawal.risk=REASON).")
    @OptionGroup(visibility: .hidden) var global: GlobalOptions
    @OptionGroup var session: SessionOptions
    @OptionGroup var overrides: OverrideOptions

    func run() async throws {
        let (_, result) = try await PumpSession.change(global, session, StopCommand(), overrides: try overrides.parsed())
        try PumpText.printAfter(result, global: global)
    }
}

struct Resume: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "resume", abstract: "Resume infusion at the programmed prescription.")
    @OptionGroup(visibility: .hidden) var global: GlobalOptions
    @OptionGroup var session: SessionOptions

    func run() async throws {
        let (_, result) = try await PumpSession.change(global, session, ResumeCommand(), overrides: [])
        try PumpText.printAfter(result, global: global)
    }
}
