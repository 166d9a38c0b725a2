import Foundation
import Synchronization
import WandLink
import WandProtocol

/// Serves a simulated wand and pump on any byte transport: the far end of
/// an in-memory pair inside the programmer's process, or a pty master in
/// `wandsim`.
///
/// The loop is the wand's: wait for bytes from the host, bring the pump up
/// to the present, feed the bytes through the real framing, session and
/// sealing code, and send each answer once the modelled link has carried
/// it. After every relayed pump message the whole simulation is saved
/// (atomically) *before* the reply goes out, so a reply the host sees is
/// never one the saved pump has forgotten.
public actor SimulatedWandServer {
    /// The host's clock, UTC seconds since the Unix epoch.
    public typealias HostClock = @Sendable () -> Int64

    /// Why serving ended.
    public enum StopReason: Sendable, Equatable {
        /// `stop()` was called.
        case stopped
        /// The host closed its end, or the transport went away.
        case transportClosed
        /// The transport failed; the error is kept for the report.
        case transportFailed(WandTransportError)
    }

    /// The wall clock, whole seconds.
    public static let wallClock: HostClock = { Int64(Date().timeIntervalSince1970) }

    /// How long one wait for host bytes lasts before `stop()` is checked.
    static let receiveSlice: Duration = .milliseconds(100)

    private var simulation: PumpSimulation
    private let stateFile: SimulatorStateFile?
    private let hostClock: HostClock
    private var stopRequested = false
    /// The last save that failed, if any: the server keeps serving (the
    /// pump itself is unaffected) but reports it.
    public private(set) var lastSaveError: SimulatorStateError?
    /// The task started by `start(on:)`, so `stop()` can wait for it.
    private nonisolated let servingTask = Mutex<Task<StopReason, Never>?>(nil)

    /// A server for `simulation`, saving to `stateFile` when given.
    public init(simulation: PumpSimulation, stateFile: SimulatorStateFile? = nil,
                hostClock: @escaping HostClock = SimulatedWandServer.wallClock) {
        self.simulation = simulation
        self.stateFile = stateFile
        self.hostClock = hostClock
    }

    /// Starts a simulated wand and pump inside this process and returns the
    /// host's end of an in-memory transport connected to it.
    public static func inProcess(
        simulation: PumpSimulation, stateFile: SimulatorStateFile? = nil,
        hostClock: @escaping HostClock = SimulatedWandServer.wallClock
    ) -> (host: WandTransport, server: SimulatedWandServer) {
        let (host, wand) = InMemoryTransport.pair()
        let server = SimulatedWandServer(simulation: simulation, stateFile: stateFile, hostClock: hostClock)
        server.start(on: wand)
        return (host, server)
    }

    /// Serves on `transport` in a new task until it closes or `stop()`.
    public nonisolated func start(on transport: WandTransport) {
        let task = Task { await self.serve(on: transport) }
        servingTask.withLock { $0 = task }
    }

    /// The simulation as it is now (the pump is not advanced).
    public var current: PumpSimulation { simulation }

    /// Changes the simulation between frames (advance the clock, inject a
    /// fault, let the patient press the bolus button) and saves it.
    @discardableResult
    public func update<Result: Sendable>(_ change: @Sendable (inout PumpSimulation) -> Result) -> Result {
        let result = change(&simulation)
        save()
        return result
    }

    /// Asks the serving loop to end, waits until it has (and has saved),
    /// and returns why it ended. Idempotent.
    @discardableResult
    public func stop() async -> StopReason {
        stopRequested = true
        guard let task = servingTask.withLock({ $0 }) else {
            save()
            return .stopped
        }
        return await task.value
    }

    /// Waits until serving ends by itself (the host closed the transport)
    /// and returns why. Returns `.stopped` at once when nothing is serving.
    public func finished() async -> StopReason {
        guard let task = servingTask.withLock({ $0 }) else { return .stopped }
        return await task.value
    }

    /// Serves the simulated wand on `transport` until the transport closes
    /// or `stop()` is called, then saves the state. The transport is
    /// closed on the way out.
    public func serve(on transport: WandTransport) async -> StopReason {
        let reason = await loop(on: transport)
        simulation.catchUp(hostNow: hostClock())
        save()
        await transport.close()
        return reason
    }

    private func loop(on transport: WandTransport) async -> StopReason {
        while !stopRequested {
            let bytes: [UInt8]
            do {
                bytes = try await transport.receive(deadline: .now + Self.receiveSlice)
            } catch .timedOut {
                continue
            } catch .closed, .unplugged {
                return .transportClosed
            } catch .cancelled {
                return .stopped
            } catch {
                return .transportFailed(error)
            }
            let received = ContinuousClock.now
            simulation.catchUp(hostNow: hostClock())
            let relayedBefore = simulation.relayedMessageCount
            let outgoing = simulation.receive(fromHost: bytes)
            if simulation.relayedMessageCount != relayedBefore { save() }
            for frame in outgoing {
                // The link holds each frame for its modelled transit time,
                // counted from when the request arrived.
                let due = received + .milliseconds(frame.delayMilliseconds)
                if due > .now { try? await Task.sleep(until: due, clock: .continuous) }
                do {
                    try await transport.send(frame.bytes)
                } catch {
                    switch error.failure {
                    case .closed, .unplugged:
                        return .transportClosed
                    case .timedOut:
                        // Nobody is reading (a pty with no host): the frame is
                        // lost, as on a radio link, and the wand keeps serving.
                        continue
                    default:
                        return .transportFailed(error.failure)
                    }
                }
            }
        }
        return .stopped
    }

    private func save() {
        guard let stateFile else { return }
        do {
            try stateFile.save(simulation)
            lastSaveError = nil
        } catch {
            lastSaveError = error
        }
    }
}
