import ArgumentParser
import Foundation
import PumpProgrammer
import Therapy

struct Refill: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Record a refill: residual check, new drug, capacity, and the new alarm date.",
        discussion: """
            Withdraw the residual completely first and give what came back with --withdrawn. The pump reports the residual it expected; a difference beyond the policy's tolerance stops the refill until it is acknowledged with --acknowledge-discrepancy REASON. The concentration must match the pump's prescription, or a new prescription for the new concentration must be given with --prescription FILE (it is committed in the same step, and a second provider must be named with --second-operator); without one, pumpctl prints the prescription that keeps the daily dose, and the bridge plan.
            """
    )

    @OptionGroup var global: GlobalOptions
    @OptionGroup var session: SessionOptions
    @OptionGroup var overrides: OverrideOptions
    @Option(help: "Residual withdrawn, with unit (e.g. 3.5mL).") var withdrawn: String
    @Option(help: "Volume of new drug added, with unit (e.g. 20mL).") var added: String
    @Option(help: "Concentration of the new drug, with unit (e.g. 2000mcg/mL).") var concentration: String
    @Option(help: "The new drug, when it changes (baclofen, morphine, ziconotide).") var drug: String?
    @Option(help: "The prescription for the new concentration (JSON).") var prescription: String?
    @Option(name: .customLong("acknowledge-discrepancy"), help: ArgumentHelp(
        "Go on despite a residual discrepancy, saying why (recorded).", valueName: "reason"))
    var acknowledgeDiscrepancy: String?

    func run() async throws {
        let request = RefillRequest(
            withdrawn: try CalcInput.quantity(withdrawn, option: "--withdrawn"),
            added: try CalcInput.quantity(added, option: "--added"),
            drug: try drug.map { name in
                guard let drug = Drug(rawValue: name.lowercased()) else {
                    throw ValidationError("--drug \(name): not one of baclofen, morphine, ziconotide")
                }
                return drug
            },
            concentration: try CalcInput.quantity(concentration, option: "--concentration"),
            newPrescription: try prescription.map { try CalcInput.prescription($0) },
            discrepancyAcknowledgement: acknowledgeDiscrepancy, overrides: try overrides.parsed())
        let global = self.global
        let record = try await PumpSession.run(global, session) { programmer throws(ProgrammerError) in
            try await programmer.refill(request, confirmation: PumpSession.confirmation(
                global, prompt: "Type yes to record this refill of \(request.added) \(request.concentration) in the pump:"))
        }
        if global.json {
            try Output.json(record)
            return
        }
        if record.status.simulated { Output.line("SIMULATED PUMP (not a patient)") }
        Output.line("Refill recorded: \(record.added) of \(record.drug) \(record.concentration).")
        Output.line("Residual: \(record.check.withdrawn) withdrawn, \(record.check.expected) expected, difference \(record.check.difference) (tolerance \(record.check.tolerance))"
                    + (record.check.discrepancy ? " DISCREPANCY acknowledged: \(record.discrepancyAcknowledgement ?? "")" : ""))
        if let bridge = record.bridge {
            Output.line("Concentration change: the line still holds \(bridge.volume) of the old concentration; it keeps flowing for \(bridge.duration) (\(bridge.doseDuringBridge)).")
        }
        PumpText.print(record.status)
        for path in record.reportPaths { Output.line("Report: \(path)") }
    }
}
