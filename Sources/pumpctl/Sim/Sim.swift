import PumpProgrammer
import ArgumentParser
import Foundation
import PumpSimulator
import StateFiles
import Therapy

/// `pumpctl --simulator sim ...`: controls the SIMULATED pump kept in
/// `<state-dir>/simulator.json`, the one `pumpctl --simulator` commands
/// talk to. Every line of output says SIMULATED, and JSON carries
/// `"simulated": true`, so a simulated result is never mistaken for a
/// patient's pump.
struct Sim: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sim",
        abstract: "Control the SIMULATED pump: status, advance its clock, inject faults, reset (needs --simulator).",
        discussion: """
            The simulated pump lives in simulator.json in the state directory; it is created as after a \
            routine visit (RP-20, baclofen 2000 mcg/mL, 400 mcg/day, 12 mL) on first use. A corrupt state \
            file, or one from a newer pumpctl, is refused and left as it is (exit 70); `sim reset` replaces it.
            """,
        subcommands: [Status.self, Advance.self, FaultCommand.self, Reset.self])

    /// The state file, after checking that the command runs against the
    /// simulator, with the state directory's lock: a fault injected while
    /// another pumpctl holds the simulated pump would otherwise be lost.
    static func lockedStateFile(_ global: GlobalOptions) throws -> (SimulatorStateFile, StateDirectoryLock) {
        let file = try stateFile(global)
        let lock: StateDirectoryLock
        do {
            lock = try StateDirectoryLock.acquire(try global.stateDirectory(), command: "pumpctl sim")
        } catch let error as StateDirectoryLockError {
            throw Output.fail(CommandFailure.stateDirectory(error, tail: "Nothing was changed."))
        }
        return (file, lock)
    }

    /// The state file, for a caller that holds the state directory's lock
    /// already (a pump session on the simulator).
    static func stateFile(_ global: GlobalOptions) throws -> SimulatorStateFile {
        guard global.simulator else {
            throw Output.fail(CommandFailure(
                status: .usage,
                message: "sim controls the SIMULATED pump only: add --simulator (pumpctl --simulator sim ...). Nothing was changed."))
        }
        let directory = try global.stateDirectory()
        do { try directory.create() } catch {
            throw Output.fail(CommandFailure(status: .internalError, message: "cannot create the state directory: \(error)"))
        }
        return SimulatorStateFile(path: directory.file(SimulatorStateFile.defaultName))
    }

    static func load(_ file: SimulatorStateFile) throws -> PumpSimulation {
        do {
            var simulation = try file.loadOrCreate(hostNow: SimulatedWandServer.wallClock())
            simulation.catchUp(hostNow: SimulatedWandServer.wallClock())
            return simulation
        } catch {
            throw Output.fail(CommandFailure(status: .internalError, message: loadFailure(error, file: file)))
        }
    }

    /// Why the state cannot be used. A corrupt one is reset in the state
    /// directory that holds it, so the hint names that directory: a bare
    /// `sim reset` would replace the default directory's pump instead.
    static func loadFailure(_ error: SimulatorStateError, file: SimulatorStateFile) -> String {
        guard case let .corrupt(path, detail) = error else { return error.description }
        let directory = file.path.removingLastComponent().string
        return "The simulator state \(path) is corrupt: \(detail). It was left as it is; move it away, or start a fresh simulated pump in \(directory) with: pumpctl --simulator --state-dir \(shellQuoted(directory)) sim reset"
    }

    /// `text` as one shell word.
    static func shellQuoted(_ text: String) -> String {
        let plain = text.allSatisfy { $0.isLetter || $0.isNumber || "/._-+:@".contains($0) }
        return plain && !text.isEmpty ? text : "'" + text.replacingOccurrences(of: "'", with: "'\\''") + "'"
    }

    static func save(_ simulation: PumpSimulation, to file: SimulatorStateFile) throws {
        do { try file.save(simulation) } catch {
            throw Output.fail(CommandFailure(status: .internalError, message: error.description))
        }
    }

    /// `sim status`: what the simulated pump holds now.
    struct Status: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "status", abstract: "Show the SIMULATED pump's clock, reservoir, delivery, alarms and counters.")
        @OptionGroup(visibility: .hidden) var global: GlobalOptions

        func run() async throws {
            let (file, lock) = try Sim.lockedStateFile(global)
            defer { lock.release() }
            let simulation = try Sim.load(file)
            try Sim.save(simulation, to: file)
            let report = SimulatorStatus(simulation)
            if global.json {
                try Output.json(report)
                return
            }
            Output.line("SIMULATED pump \(report.model) serial \(report.serial)\(report.demoKey ? " (DEMO ONLY key)" : "")")
            // The clinic's zone with its offset, as every other screen; JSON keeps the pump's RFC 3339.
            Output.line("SIMULATED clock: \(Screen.shared.zone.dateTime(rfc3339: report.clock))")
            Output.line("SIMULATED reservoir: \(report.reservoirVolume.text) of \(report.drug) \(report.concentration.text)")
            Output.line("SIMULATED delivered in all: \(report.totalDelivered.text); boluses delivered: \(report.bolusesDelivered)")
            Output.line("SIMULATED infusion: \(report.infusion); pump in range: \(report.pumpInRange ? "yes" : "no")")
            Output.line("SIMULATED alarms: \(report.alarms.isEmpty ? "none" : report.alarms.map(\.name).joined(separator: ", "))")
            if !report.pendingFaults.isEmpty {
                Output.line("SIMULATED pending faults: \(report.pendingFaults.joined(separator: ", "))")
            }
            let rejected = report.rejected
            Output.line("SIMULATED rejected: \(rejected.authenticationFailures) authentication, \(rejected.replays) replays, "
                        + "\(rejected.badFrames) bad frames, \(rejected.withoutSession) without session, \(rejected.malformedRequests) malformed")
        }
    }

    /// `sim advance D`: moves the simulated world forward.
    struct Advance: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "advance",
            abstract: "Advance the SIMULATED pump's clock (e.g. 30d, 90min); it delivers as it would have.")
        @OptionGroup(visibility: .hidden) var global: GlobalOptions
        @Argument(help: "How long, with a unit: 30d, 12h, 90min, 600s.") var duration: String

        /// Ten years: further than any pump's service life.
        static let longest: Int64 = 3_650 * 86_400

        func run() async throws {
            let amount: Therapy.Duration
            do { amount = try Therapy.Duration(parsing: duration) } catch {
                throw Output.fail(CommandFailure(status: .usage, message: "\(duration): \(error.description)"))
            }
            guard amount.baseValue > 0, amount.baseValue <= Self.longest else {
                throw Output.fail(CommandFailure(status: .usage, message: "\(duration): give a duration above zero and at most 3650d."))
            }
            let (file, lock) = try Sim.lockedStateFile(global)
            defer { lock.release() }
            var simulation = try Sim.load(file)
            let before = simulation.pump.mechanics.deliveredNanograms
            simulation.advance(seconds: amount.baseValue, hostNow: SimulatedWandServer.wallClock())
            try Sim.save(simulation, to: file)
            let report = SimulatorStatus(simulation)
            if global.json {
                try Output.json(report)
                return
            }
            let delivered = Mass(baseValue: simulation.pump.mechanics.deliveredNanograms - before)
            Output.line("SIMULATED clock advanced by \(amount) to \(report.clock); delivered \(delivered) meanwhile")
            Output.line("SIMULATED reservoir: \(report.reservoirVolume.text); alarms: \(report.alarms.isEmpty ? "none" : report.alarms.map(\.name).joined(separator: ", "))")
        }
    }

    /// `sim fault NAME`: injects a fault.
    struct FaultCommand: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "fault",
            abstract: "Inject a fault into the SIMULATED wand or pump.",
            discussion: "Faults: " + Fault.allCases.map { "\($0.rawValue) (\($0.summary))" }.joined(separator: "; ") + ".")
        @OptionGroup(visibility: .hidden) var global: GlobalOptions
        @Argument(help: "The fault's name, e.g. motor-stall.") var name: String
        @Option(help: "Minutes for clock-drift; negative (--minutes=-5) puts the pump's clock behind.") var minutes: Int?

        func run() async throws {
            guard let fault = Fault(rawValue: name) else {
                throw Output.fail(CommandFailure(
                    status: .usage, message: "unknown fault \(name); one of: \(Fault.allCases.map(\.rawValue).joined(separator: ", "))"))
            }
            if fault == .clockDrift {
                guard let minutes, minutes != 0, abs(minutes) <= 7 * 1440 else {
                    throw Output.fail(CommandFailure(status: .usage, message: "clock-drift needs --minutes N (non-zero, at most a week either way)."))
                }
            } else if minutes != nil {
                throw Output.fail(CommandFailure(status: .usage, message: "--minutes applies to clock-drift only."))
            }
            let (file, lock) = try Sim.lockedStateFile(global)
            defer { lock.release() }
            var simulation = try Sim.load(file)
            simulation.inject(fault, minutes: minutes ?? 0)
            try Sim.save(simulation, to: file)
            if global.json {
                try Output.json(SimulatorStatus(simulation))
                return
            }
            Output.line("SIMULATED fault injected: \(fault.rawValue) (\(fault.summary))")
        }
    }

    /// `sim reset`: a new simulated pump, as after a routine visit.
    struct Reset: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "reset",
            abstract: "Replace the SIMULATED pump with a fresh one (RP-20 or RP-40, as after a routine visit).")
        @OptionGroup(visibility: .hidden) var global: GlobalOptions
        @Option(help: "Pump model: RP-20 or RP-40.") var profile = "RP-20"
        @Option(help: "Seed for the simulated link's randomness.") var seed: UInt64 = 1

        func run() async throws {
            guard let model = PumpProfile.named(profile) else {
                throw Output.fail(CommandFailure(status: .usage, message: "--profile must be RP-20 or RP-40."))
            }
            let (file, lock) = try Sim.lockedStateFile(global)
            defer { lock.release() }
            let simulation = PumpSimulation.fresh(profile: model, seed: seed, hostNow: SimulatedWandServer.wallClock())
            try Sim.save(simulation, to: file)
            if global.json {
                try Output.json(SimulatorStatus(simulation))
                return
            }
            Output.line("SIMULATED pump reset: \(model.model), baclofen 2000 mcg/mL, 400 mcg/day, 12 mL, state in \(file.path)")
        }
    }
}

/// `sim status --json`. Keys become snake_case in output.
struct SimulatorStatus: Encodable {
    struct Alarm: Encodable {
        var code: UInt16
        var name: String
    }

    struct Rejected: Encodable {
        var authenticationFailures: Int
        var replays: Int
        var badFrames: Int
        var withoutSession: Int
        var malformedRequests: Int
    }

    struct Figure: Encodable {
        var value: Decimal
        var unit: String
        var text: String { "\(value) \(unit)" }
        init(_ quantity: QuantityValue) {
            value = quantity.value
            unit = quantity.unit
        }
    }

    var simulated = true
    var model: String
    var serial: String
    var demoKey: Bool
    var clock: String
    var reservoirVolume: Figure
    var drug: String
    var concentration: Figure
    var totalDelivered: Figure
    var bolusesDelivered: Int
    var infusion: String
    var alarms: [Alarm]
    var pumpInRange: Bool
    var pendingFaults: [String]
    var rejected: Rejected

    init(_ simulation: PumpSimulation) {
        let pump = simulation.pump
        model = pump.identity.model
        serial = pump.identity.serial
        demoKey = pump.identity.keyIsDemo
        clock = PumpTime(utcSeconds: pump.clock, offsetMinutes: Int(pump.mechanics.zoneOffset / 60)).iso8601
        reservoirVolume = Figure(Volume(baseValue: pump.mechanics.reservoir.nanolitres).valueAndUnit())
        drug = "\(pump.drug)"
        concentration = Figure(Concentration(baseValue: pump.mechanics.reservoirConcentration).valueAndUnit())
        totalDelivered = Figure(Mass(baseValue: pump.mechanics.deliveredNanograms).valueAndUnit())
        bolusesDelivered = pump.bolusesDelivered
        // The JSON contract's lowercase words, as interrogate names them.
        infusion = PumpStatus.infusionName(pump.interrogateReport().infusionState).replacingOccurrences(of: " ", with: "-")
        alarms = pump.mechanics.alarms.sorted().map { Alarm(code: $0.wireCode.rawValue, name: $0.rawValue) }
        pumpInRange = simulation.link.pumpInRange
        pendingFaults = simulation.pendingFaults.map(\.rawValue)
        let counters = simulation.rejected
        rejected = Rejected(
            authenticationFailures: counters.authenticationFailures, replays: counters.replays, badFrames: counters.badFrames,
            withoutSession: counters.withoutSession, malformedRequests: counters.malformedRequests)
    }
}
