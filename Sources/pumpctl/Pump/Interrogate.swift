import ArgumentParser
import PumpProgrammer
import Therapy

struct Interrogate: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Read the pump: identity, clock, battery, reservoir, drug, prescription, alarms and the alarm date.",
        discussion: """
            Any command left UNCERTAIN by a lost reply is resolved first, by asking the pump what became of it. The low-reservoir alarm date is what the scheduler needs for the refill appointment.
            """
    )

    @OptionGroup var global: GlobalOptions
    @OptionGroup var session: SessionOptions

    func run() async throws {
        let (status, resolution) = try await PumpSession.run(global, session) { programmer throws(ProgrammerError) in
            try await programmer.interrogate()
        }
        if global.json {
            try Output.json(status)
            return
        }
        PumpText.print(status, resolution: resolution)
    }
}

/// Text output shared by the pump commands.
enum PumpText {
    static func print(_ status: PumpStatus, resolution: Programmer.Resolution? = nil) {
        if status.simulated { Output.line("SIMULATED PUMP (not a patient)") }
        if let resolution {
            Output.line("Resolved: \(resolution.command.command) (command \(resolution.command.commandID)): \(resolution.detail).")
        }
        if let unresolved = status.unresolvedCommand {
            Output.line("UNRESOLVED COMMAND: \(unresolved.command) (command \(unresolved.commandID)) to pump \(unresolved.pumpSerial); its outcome is unknown.")
        }
        for alarm in status.alarms {
            Output.line("ALARM: \(alarm.name)" + (alarm.stopsDelivery ? " (delivery stopped)" : ""))
        }
        let rows: [[String]] = [
            ["Pump", "\(status.serial) (\(status.model), firmware \(status.firmware))"],
            ["Clock", "\(status.clock) (drift \(status.clockDriftSeconds) s against this computer)"],
            ["Battery", "\(status.battery), \(status.batteryMillivolts) mV"],
            ["Drug", "\(status.drug) \(status.concentration)"],
            ["Mode", "\(status.mode), \(status.infusion)"],
            ["Daily dose", "\(status.dailyDose) (\(status.rate))"],
            ["Reservoir", "\(status.reservoirVolume) of \(status.reservoirCapacity); alarm at \(status.lowReservoirThreshold)"],
            ["Last change", status.lastChange],
            ["Prescription", String(status.prescriptionHash.prefix(16))],
        ]
        Output.line(Output.table(header: ["", ""], rows: rows).split(separator: "\n", omittingEmptySubsequences: false).dropFirst().joined(separator: "\n"))
        Output.line("")
        Output.line(status.schedulerSentence.uppercased())
    }
}
