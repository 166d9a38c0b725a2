import ArgumentParser
import PumpProgrammer
import PumpSimulator
import WandLink
import WandProtocol
import WandTrace

/// A line to the wand alone, without a pump session: what the link tests
/// and `raw` need. The wand is the simulated one (`--simulator`, in this
/// process) or the one chosen by `--wand` (a tty such as a wandsim pty, a
/// USB node or a serial number), exactly as for the pump commands.
struct WandLine {
    let transport: any WandTransport
    let tracer: TracingTransport?
    let server: SimulatedWandServer?
    let simulated: Bool
    /// The simulated pump's key, when the line is the simulator.
    let simulatedPumpKey: [UInt8]?

    static func open(_ global: GlobalOptions) async throws -> WandLine {
        var server: SimulatedWandServer?
        var key: [UInt8]?
        let opened: any WandTransport
        if global.simulator {
            guard global.wand == nil else { throw ValidationError("--simulator and --wand exclude each other.") }
            let stateFile = try Sim.stateFile(global)
            let simulation = try Sim.load(stateFile)
            let started = SimulatedWandServer.inProcess(simulation: simulation, stateFile: stateFile)
            opened = started.host
            server = started.server
            key = simulation.pump.identity.key
            Output.note("SIMULATED: talking to the simulated wand and pump \(simulation.pump.identity.serial) (state in \(stateFile.path.removingLastComponent())), not a patient's pump.")
        } else {
            do throws(WandSelectionError) {
                opened = try WandSelection().open(argument: global.wand)
            } catch {
                throw Output.fail(PumpSession.failure(error))
            }
        }
        let (transport, tracer) = try await TraceOption.wrap(opened, global)
        return WandLine(transport: transport, tracer: tracer, server: server, simulated: global.simulator, simulatedPumpKey: key)
    }

    /// A protocol channel over this line. `attempts` is 1 for the link
    /// tests: a retransmission would hide the very losses being measured.
    func channel(attemptTimeout: Duration, attempts: Int) -> WandChannel {
        WandChannel(link: TransportFrameLink(transport: transport),
                    policy: RetryPolicy(attemptTimeout: attemptTimeout, maximumAttempts: attempts))
    }

    /// Closes the wand, stops the simulator and reports an incomplete trace.
    func close() async {
        await transport.close()
        if let server {
            await server.stop()
            if let error = await server.lastSaveError { Output.note("SIMULATED: \(error.description)") }
        }
        TraceOption.report(tracer)
    }

    /// Asks the wand who it is; fails the command the way a pump command
    /// would when no PumpWand wand answers.
    static func identify(_ channel: WandChannel, peer: String) async throws -> WandInfo {
        switch await channel.wand(.info) {
        case .replied(.info(let info), _):
            return info
        case .replied(let other, _):
            throw Output.fail(CommandFailure(status: .deviceFault,
                message: "The wand at \(peer) answered its info request with opcode \(HexText.byte(other.encoded.first ?? 0)). Check its firmware."))
        case .notSent(let reason):
            throw Output.fail(CommandFailure(status: .communicationFailure, message: "The wand at \(peer) could not be reached (\(reason))."))
        case .unacknowledged:
            throw Output.fail(CommandFailure(status: .notFound,
                message: "The wand at \(peer) does not answer. Check it is a PumpWand wand, powered, and that no other program is using it."))
        }
    }
}

/// The wand's identity as the bring-up commands print it.
struct WandIdentity: Encodable {
    var serial: String
    var firmware: String
    var protocolVersions: [UInt8]

    init(_ info: WandInfo) {
        serial = info.serial
        firmware = "\(info.firmwareMajor).\(info.firmwareMinor).\(info.firmwarePatch)"
        protocolVersions = info.supportedVersions
    }
}
