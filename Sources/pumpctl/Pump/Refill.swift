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
    @Option(help: "Residual withdrawn, with unit (e.g. 3.5mL). Asked for at a terminal when not given.") var withdrawn: String?
    @Option(help: "Volume of new drug added, with unit (e.g. 20mL). Asked for at a terminal when not given.") var added: String?
    @Option(help: "Concentration of the new drug, with unit (e.g. 2000mcg/mL). Asked for at a terminal when not given.")
    var concentration: String?
    @Option(help: "The new drug, when it changes (baclofen, morphine, ziconotide).") var drug: String?
    @Option(help: "The prescription for the new concentration (JSON).") var prescription: String?
    @Option(name: .customLong("acknowledge-discrepancy"), help: ArgumentHelp(
        "Go on despite a residual discrepancy, saying why (recorded).", valueName: "reason"))
    var acknowledgeDiscrepancy: String?

    /// A quantity typed or given for `option`; nothing is sent when it is not one.
    static func quantity<D: PhysicalDimension>(_ text: String?, _ option: String) throws(ProgrammerError) -> Quantity<D> {
        do {
            return try Quantity<D>.parseWithUnit(text ?? "").quantity
        } catch {
            throw .input("\(option): \(error.description)")
        }
    }

    static func ask(_ question: String) -> String {
        FileHandle.standardError.write(Data((question + " ").utf8))
        return readLine(strippingNewline: true)?.trimmingCharacters(in: .whitespaces) ?? ""
    }

    func run() async throws {
        let interactive = isatty(STDIN_FILENO) == 1 && !global.json
        guard interactive || (withdrawn != nil && added != nil && concentration != nil) else {
            throw ValidationError("Give --withdrawn, --added and --concentration (or run at a terminal to be asked for them).")
        }
        let drug: Drug? = try self.drug.map { name in
            guard let drug = Drug(rawValue: name.lowercased()) else {
                throw ValidationError("--drug \(name): not one of baclofen, morphine, ziconotide")
            }
            return drug
        }
        let newPrescription = try prescription.map { try CalcInput.prescription($0) }
        let discrepancy = acknowledgeDiscrepancy
        let accepted = try overrides.parsed()
        let given = (withdrawn, added, concentration)
        let global = self.global
        let record = try await PumpSession.run(global, session) { programmer throws(ProgrammerError) in
            // Guided: the pump's figures first, then each value asked for.
            var answers = given
            if answers.0 == nil || answers.1 == nil || answers.2 == nil {
                let status = try await programmer.interrogate().status
                Output.note("The pump holds about \(status.reservoirVolume) of \(status.drug) \(status.concentration); withdraw the residual completely.")
                answers.0 = answers.0 ?? Self.ask("Residual withdrawn (e.g. 3.5mL):")
                answers.1 = answers.1 ?? Self.ask("Volume of new drug added (at most \(status.reservoirCapacity)):")
                answers.2 = answers.2 ?? Self.ask("Concentration of the new drug (the pump's is \(status.concentration)):")
            }
            let request = RefillRequest(
                withdrawn: try Self.quantity(answers.0, "--withdrawn"), added: try Self.quantity(answers.1, "--added"),
                drug: drug, concentration: try Self.quantity(answers.2, "--concentration"),
                newPrescription: newPrescription, discrepancyAcknowledgement: discrepancy, overrides: accepted)
            return try await programmer.refill(request, confirmation: PumpSession.confirmation(
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
