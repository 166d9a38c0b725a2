import ArgumentParser
import Foundation
import PumpProgrammer
import PumpSimulator
import StateFiles
import SystemPackage
import Therapy
import WandLink
import WandProtocol
import WandTrace

/// Opens a programming session with the pump (through the wand chosen by
/// `--wand`, or the simulator with `--simulator`), runs `body`, closes the
/// session, and turns failures into the documented exit statuses.
enum PumpSession {
    static func run<T>(_ global: GlobalOptions, _ session: SessionOptions,
                       _ body: (Programmer) async throws(ProgrammerError) -> T) async throws -> T {
        let directory = try global.stateDirectory()
        let policy = try loadPolicy(session.policyFile)
        var server: SimulatedWandServer?
        var transport: any WandTransport
        let keyring: PumpKeyring
        if global.simulator {
            guard global.wand == nil else { throw ValidationError("--simulator and --wand exclude each other.") }
            let simulation = try SimulatorState.loadOrCreate(directory)
            let started = SimulatedWandServer.inProcess(simulation: simulation, stateFile: SimulatorState.file(directory))
            transport = started.host
            server = started.server
            keyring = PumpKeyring(anySerial: simulation.pump.identity.key)
            Output.note("SIMULATED: talking to the simulated pump \(simulation.pump.identity.serial) (state in \(directory.path)), not a patient's pump.")
        } else {
            guard let keyFile = session.keyFile else {
                throw Output.fail(CommandFailure(status: .usage, message: "Give the pump's key file with --key-file (or use --simulator for the simulated pump)."))
            }
            do {
                keyring = try PumpKeyring.load(keyFile: FilePath(keyFile))
                transport = try WandSelection().open(argument: global.wand)
            } catch let error as WandSelectionError {
                throw Output.fail(failure(error))
            } catch let error as ProgrammerError {
                throw Output.fail(failure(error))
            }
        }
        // With --trace every frame of the session is recorded (Bringup/TraceOption.swift).
        let tracer: TracingTransport?
        (transport, tracer) = try await TraceOption.wrap(transport, global)
        defer { TraceOption.report(tracer) }
        let context = ProgrammerContext(
            stateDirectory: directory, operatorName: global.resolvedOperator, secondOperator: session.secondOperator,
            policy: policy, simulated: global.simulator, expectedPumpSerial: session.expectPump,
            // The crash tests stop the simulated visit at a chosen step; a
            // real pump session ignores this.
            crashPoint: global.simulator
                ? ProcessInfo.processInfo.environment["PUMPWAND_SIMULATOR_CRASH_AT"].flatMap(ProgrammerContext.CrashPoint.init(rawValue:))
                : nil)
        let result: Result<T, ProgrammerError>
        do {
            let connection = try await PumpConnection.open(transport: transport, keyring: keyring)
            let programmer = try await Programmer(connection: connection, context: context)
            do {
                result = .success(try await body(programmer))
            } catch {
                result = .failure(error)
            }
            await programmer.close()
        } catch {
            await transport.close()
            result = .failure(error)
        }
        if let server {
            await server.stop()
            if let error = await server.lastSaveError { Output.note("SIMULATED: \(error.description)") }
        }
        switch result {
        case .success(let value): return value
        case .failure(let error): throw Output.fail(failure(error))
        }
    }

    static func loadPolicy(_ path: String?) throws -> ClinicPolicy {
        do {
            guard let path else { return try ClinicPolicy.shippedDefaults() }
            let bytes = try AtomicFile.read(FilePath(path), limit: ClinicPolicy.maximumFileBytes)
            return try ClinicPolicy.load(Data(bytes))
        } catch let error as PolicyFileError {
            throw Output.fail(CommandFailure(status: .usage, message: "The policy file cannot be used: \(error.description)"))
        } catch let error as StateFileError {
            throw Output.fail(CommandFailure(status: .usage, message: "The policy file cannot be read: \(error.description)"))
        }
    }

    static func failure(_ error: ProgrammerError) -> CommandFailure {
        let status: ExitStatus = switch error {
        case .input: .usage
        case .refusedByPolicy, .pumpRefused: .refusedByPolicy
        case .notFound: .notFound
        case .communication: .communicationFailure
        case .uncertain, .unresolved: .uncertain
        case .deviceFault: .deviceFault
        case .storage: .internalError
        case .permissionDenied: .permissionDenied
        }
        return CommandFailure(status: status, message: error.description)
    }

    static func failure(_ error: WandSelectionError) -> CommandFailure {
        switch error {
        case .invalidArgument: return CommandFailure(status: .usage, message: error.description)
        case .openFailed(.permissionDenied): return CommandFailure(status: .permissionDenied, message: error.description)
        case .openFailed(.busy), .openFailed(.io), .openFailed(.unplugged), .openFailed(.timedOut):
            return CommandFailure(status: .communicationFailure, message: error.description)
        default: return CommandFailure(status: .notFound, message: error.description)
        }
    }

    /// How the technician confirms: `--yes`, or typing at a terminal.
    static func confirmation(_ global: GlobalOptions, prompt: String) -> Confirmation {
        if global.yes { return .flag(yes: true) }
        guard isatty(STDIN_FILENO) == 1 else { return .flag(yes: false) }
        FileHandle.standardError.write(Data((prompt + " ").utf8))
        return .typed(readLine(strippingNewline: true) ?? "")
    }
}

/// The simulator's state file in the state directory.
enum SimulatorState {
    static func file(_ directory: StateDirectory) -> SimulatorStateFile {
        SimulatorStateFile(path: directory.file(SimulatorStateFile.defaultName))
    }

    /// The saved simulation, or a fresh routine-visit pump when there is none.
    static func loadOrCreate(_ directory: StateDirectory) throws -> PumpSimulation {
        let file = file(directory)
        do {
            if file.exists { return try file.load() }
            try directory.create()
            let fresh = PumpSimulation.fresh(hostNow: Int64(Date().timeIntervalSince1970))
            try file.save(fresh)
            return fresh
        } catch let error as SimulatorStateError {
            throw Output.fail(CommandFailure(status: .internalError, message: error.description))
        } catch let error as StateFileError {
            throw Output.fail(CommandFailure(status: .internalError, message: error.description))
        }
    }
}
