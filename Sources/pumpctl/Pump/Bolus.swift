import ArgumentParser
import Foundation
import PumpProgrammer
import Therapy

struct Bolus: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Give a bolus: therapeutic, bridge or priming.",
        discussion: """
            A therapeutic bolus takes --dose (drug to the patient). A bridge or priming bolus pushes --volume (default: the line volume); the drug that reaches the patient depends on what the line holds (--line-holds CONCENTRATION, or 'empty'), and any drug delivered at priming speed needs --override priming.delivers-drug=REASON. Refused in alarms that stop delivery. If the reply is lost the bolus is UNCERTAIN (exit 75) and is never sent again: 'pumpctl interrogate' asks the pump what happened.
            """
    )

    @OptionGroup var global: GlobalOptions
    @OptionGroup var session: SessionOptions
    @OptionGroup var overrides: OverrideOptions
    @Option(help: "Drug to the patient for a therapeutic bolus, with unit (e.g. 50mcg).") var dose: String?
    @Option(help: "Volume to push for a bridge or priming bolus, with unit.") var volume: String?
    @Option(help: "How long the bolus runs, with unit (default 10min).") var duration = "10min"
    @Option(help: "therapeutic, bridge or prime.") var kind = "therapeutic"
    @Option(name: .customLong("line-holds"), help: "What the line holds before a bridge or prime: a concentration, or 'empty'.")
    var lineHolds: String?

    func run() async throws {
        guard let kind = BolusRequest.Kind(rawValue: kind) else {
            throw ValidationError("--kind \(kind): use therapeutic, bridge or prime")
        }
        let line: LineContents? = try lineHolds.map { text in
            text.lowercased() == "empty" ? .empty : .drug(try CalcInput.quantity(text, option: "--line-holds"))
        }
        let request = BolusRequest(
            kind: kind, dose: try dose.map { try CalcInput.quantity($0, option: "--dose") },
            volume: try volume.map { try CalcInput.quantity($0, option: "--volume") },
            duration: try CalcInput.quantity(duration, option: "--duration"), lineContents: line,
            overrides: try overrides.parsed())
        let global = self.global
        let record = try await PumpSession.run(global, session) { programmer throws(ProgrammerError) in
            try await programmer.bolus(request, confirmation: PumpSession.confirmation(
                global, prompt: "Type yes to start this \(kind.rawValue) bolus:"))
        }
        if global.json {
            struct Done: Encodable { var simulated: Bool; var bolus: BolusRecord }
            try Output.json(Done(simulated: global.simulator, bolus: record))
            return
        }
        if global.simulator { Output.line("SIMULATED PUMP (not a patient)") }
        Output.line("Bolus started: \(record.kind), \(record.volume) over \(record.duration); \(record.doseToPatient) reaches the patient.")
    }
}

struct Stop: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Stop infusion (baclofen: needs --override withdrawal.risk=REASON).")
    @OptionGroup var global: GlobalOptions
    @OptionGroup var session: SessionOptions
    @OptionGroup var overrides: OverrideOptions

    func run() async throws {
        let accepted = try overrides.parsed()
        let global = self.global
        let status = try await PumpSession.run(global, session) { programmer throws(ProgrammerError) in
            try await programmer.stop(overrides: accepted, confirmation: PumpSession.confirmation(
                global, prompt: "Stopping infusion. Type yes to stop the pump:"))
        }
        if global.json { try Output.json(status) } else { PumpText.print(status) }
    }
}

struct Resume: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Resume infusion at the programmed prescription.")
    @OptionGroup var global: GlobalOptions
    @OptionGroup var session: SessionOptions

    func run() async throws {
        let global = self.global
        let status = try await PumpSession.run(global, session) { programmer throws(ProgrammerError) in
            try await programmer.resume(confirmation: PumpSession.confirmation(global, prompt: "Type yes to resume infusion:"))
        }
        if global.json { try Output.json(status) } else { PumpText.print(status) }
    }
}
