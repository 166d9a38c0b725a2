import ArgumentParser
import Foundation
import PumpProgrammer
import Therapy

struct Alarms: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "alarms",
        abstract: "Show the active alarms and the low-reservoir threshold, or set the threshold (1 to 5 mL).")
    @OptionGroup(visibility: .hidden) var global: GlobalOptions
    @OptionGroup var session: SessionOptions
    @Option(name: .customLong("low-reservoir"), help: "New low-reservoir alarm threshold, with unit (e.g. 3mL).")
    var lowReservoir: String?

    func run() async throws {
        let threshold: Volume? = try lowReservoir.map { try CalcInput.quantity($0, option: "--low-reservoir") }
        let status: PumpStatus
        if let threshold {
            let (plan, result) = try await PumpSession.change(global, session, AlarmThresholdCommand(threshold: threshold), overrides: [])
            guard let after = result?.after ?? result.map({ _ in plan.before }) else { throw ExitStatus.internalError.exitCode }
            status = after
        } else {
            status = try await PumpSession.run(global, session) { programmer throws(ProgrammerError) in
                try await programmer.interrogate().status
            }
        }
        if global.json {
            struct Result: Encodable {
                var simulated: Bool
                var alarms: [PumpStatus.Alarm]
                var lowReservoirThreshold: Volume
                var lowReservoirAlarmDate: String?
            }
            try Output.json(Result(simulated: status.simulated, alarms: status.alarms,
                                   lowReservoirThreshold: status.lowReservoirThreshold, lowReservoirAlarmDate: status.lowReservoirAlarmDate?.iso8601))
            return
        }
        if status.simulated { Output.line("SIMULATED PUMP (not a patient)") }
        Output.line(status.alarms.isEmpty ? "No active alarms." : status.alarms.map { "ALARM: \($0.name)" }.joined(separator: "\n"))
        Output.line("Low-reservoir alarm at \(Shown.volume(status.lowReservoirThreshold)).")
        Output.line(Screen.shared.zone.schedulerSentence(status))
    }
}

struct Log: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "log", abstract: "Read the pump's event log, newest first.")
    @OptionGroup(visibility: .hidden) var global: GlobalOptions
    @OptionGroup var session: SessionOptions
    @Option(help: ArgumentHelp(
        "Only events from this time on: RFC 3339 (2027-01-01T09:00:00.5+01:00), a date (2027-01-01), or a time ago (7d, 12h, 90min).",
        valueName: "time"))
    var since: String?

    func run() async throws {
        let from: PumpTime? = try since.map { try CalcInput.time($0, option: "--since", dateAlone: .midnightUTC) }
        // The pump's drug too: doses and concentrations on the screen are in
        // its unit (morphine in mg), as on every screen.
        let (events, drug) = try await PumpSession.run(global, session) { programmer throws(ProgrammerError) in
            (try await programmer.eventLog(since: from), try await programmer.interrogate().status.drug)
        }
        if global.json {
            struct Result: Encodable { var simulated: Bool; var events: [LoggedEvent] }
            try Output.json(Result(simulated: global.simulator, events: events))
            return
        }
        if global.simulator { Output.line("SIMULATED PUMP (not a patient)") }
        Output.line(Output.table(header: ["#", "TIME", "EVENT", "DETAIL"], rows: events.map {
            // The clinic's zone, as every screen; a time the pump got wrong stays as it came.
            ["\($0.index)", (try? PumpTime(checkedUTCSeconds: $0.utcSeconds)).map(Screen.shared.zone.dateTime) ?? $0.time,
             $0.event, EventText.detail($0, drug: drug)]
        }))
    }
}

struct Clock: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "clock",
        abstract: "Compare the pump's clock with this computer's; --sync sets it (never while a bolus runs).")
    @OptionGroup(visibility: .hidden) var global: GlobalOptions
    @OptionGroup var session: SessionOptions
    @Flag(help: "Set the pump's clock to this computer's time, after confirmation.") var sync = false

    func run() async throws {
        var check = try await PumpSession.run(global, session) { programmer throws(ProgrammerError) in
            try await programmer.readClock()
        }
        if sync {
            let host = Int64(Date().timeIntervalSince1970.rounded(.down))
            _ = try await PumpSession.change(global, session, ClockSetCommand(hostSeconds: host), overrides: [])
            check.synchronised = true
        }
        if global.json {
            struct Result: Encodable { var simulated: Bool; var clock: ClockCheck }
            try Output.json(Result(simulated: global.simulator, clock: check))
            return
        }
        if global.simulator { Output.line("SIMULATED PUMP (not a patient)") }
        let zone = Screen.shared.zone
        func shown(_ text: String) -> String { (try? PumpTime(parsing: text)).map(zone.dateTime) ?? text }
        Output.line("Pump clock: \(shown(check.pumpClock))")
        Output.line("This computer: \(shown(check.hostClock))")
        Output.line("Drift: \(Shown.drift(seconds: check.driftSeconds))")
        if check.large {
            Output.line("WARNING: the drift is more than the \(Shown.duration(seconds: ClockCheck.toleranceSeconds)) tolerated: run 'pumpctl clock --sync'.")
        }
        if check.synchronised { Output.line("The pump's clock was set to this computer's time.") }
    }
}
