import ArgumentParser
import Foundation
import PumpProgrammer
import Therapy

/// The surgeon's record of the line: an implant or a catheter replacement.
struct CatheterCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "catheter",
        abstract: "Record an implant or a catheter replacement in the pump: what the line holds, so primes and doses are figured from it.",
        discussion: """
            --implant: a new pump and catheter; neither the pump pathway nor the catheter holds drug. --replaced: a new catheter (a revision, or a pump replacement with a new catheter); it holds no drug, and the pump pathway keeps what it held. --volume is the new catheter's volume (from its length and the volume per cm in its labelling), e.g. 0.26mL. Infusion must be stopped (pumpctl stop) and no bolus running. Afterwards the pump reports that it is NOT DELIVERING DRUG until the line is primed: run 'pumpctl bolus --kind prime' (its volume is the stretch that holds no drug, as the pump reports it), then program or resume. Every later prescription carries this catheter volume; a prescription file without a catheter takes it from the pump.
            """)
    @OptionGroup(visibility: .hidden) var global: GlobalOptions
    @OptionGroup var session: SessionOptions
    @Flag(help: "A new pump and catheter: the whole line holds no drug.") var implant = false
    @Flag(help: "A new catheter: it holds no drug; the pump pathway keeps its contents.") var replaced = false
    @Option(help: "The catheter's volume, with unit (e.g. 0.26mL).") var volume: String

    func run() async throws {
        guard implant != replaced else {
            throw Output.fail(CommandFailure(status: .usage, message: "Give exactly one of --implant and --replaced. Nothing was sent to the pump."))
        }
        let catheter: Volume = try CalcInput.quantity(volume, option: "--volume")
        let command = FluidPathCommand(event: implant ? .implant : .catheterReplaced, catheter: catheter)
        let (_, result) = try await PumpSession.change(global, session, command, overrides: [])
        try PumpText.printAfter(result, global: global)
    }
}
