import Foundation
import PumpSimulator
import StateFiles
import Synchronization
import SystemPackage
import Testing
import TestSupport
import Therapy
import WandLink
import WandProtocol
@testable import PumpProgrammer

/// A wand transport whose far end is the simulated wand and pump, called
/// synchronously: every byte goes through the real framing, session and
/// sealing code on both sides.
final class SimulationTransport: WandTransport {
    let peerDescription = "simulated wand (test)"
    let simulation: Mutex<PumpSimulation>
    private let inbox = Mutex<[UInt8]>([])
    private let hostNow: @Sendable () -> Int64
    /// Link losses keyed by the number of the send (1 = the next send after
    /// `loseFrames` was called): the request lost before the pump, or the
    /// pump's reply lost after it acted.
    private let losses = Mutex<(sends: Int, requests: Set<Int>, replies: Set<Int>)>((0, [], []))

    /// Sends since the last `loseFrames` (or since the start).
    var sendCount: Int { losses.withLock { $0.sends } }

    /// Sends whose reply the wand replaces with this NAK after the pump
    /// acted (a lying or confused relay), counted like `loseFrames`.
    private let lies = Mutex<(nak: NegativeAcknowledgement, sends: Set<Int>)?>(nil)

    func answerWithNak(_ nak: NegativeAcknowledgement, sends: Set<Int>) {
        losses.withLock { $0 = (0, [], []) }
        lies.withLock { $0 = (nak, sends) }
    }

    /// Wand responses (kind 0x02) still to be lost: the wand's info that
    /// comes with a session opening, say.
    private let wandResponsesToLose = Mutex(0)

    func loseWandResponses(_ count: Int) { wandResponsesToLose.withLock { $0 = count } }

    func loseFrames(requests: Set<Int> = [], replies: Set<Int> = []) {
        losses.withLock { $0 = (0, requests, replies) }
    }

    init(_ simulation: PumpSimulation, hostNow: @escaping @Sendable () -> Int64) {
        self.simulation = Mutex(simulation)
        self.hostNow = hostNow
    }

    func send(_ bytes: [UInt8]) async throws(WandSendError) {
        let now = hostNow()
        let (loseRequest, loseReply) = losses.withLock { state -> (Bool, Bool) in
            state.sends += 1
            return (state.requests.contains(state.sends), state.replies.contains(state.sends))
        }
        if loseRequest { return }
        let outgoing = simulation.withLock { sim in
            sim.catchUp(hostNow: now)
            return sim.receive(fromHost: bytes)
        }
        if loseReply { return }
        let send = losses.withLock { $0.sends }
        if let lie = lies.withLock({ $0 }), lie.sends.contains(send) {
            var decoder = FrameDecoder()
            if let body = decoder.feed(bytes).first, let frame = try? Frame(body: body),
               let nak = try? FrameEncoder.encode(FrameHeader(kind: .negativeAcknowledgement, sequence: frame.header.sequence).encoded
                                                  + lie.nak.encoded) {
                inbox.withLock { $0 += nak }
                return
            }
        }
        let kept = outgoing.filter { frame in
            var decoder = FrameDecoder()
            guard let body = decoder.feed(frame.bytes).first, body.count > 1, body[1] == FrameKind.wandResponse.rawValue else { return true }
            return !wandResponsesToLose.withLock { remaining in
                guard remaining > 0 else { return false }
                remaining -= 1
                return true
            }
        }
        inbox.withLock { $0 += kept.flatMap(\.bytes) }
    }

    func receive(deadline: ContinuousClock.Instant) async throws(WandTransportError) -> [UInt8] {
        while true {
            let bytes = inbox.withLock { box -> [UInt8] in
                defer { box.removeAll() }
                return box
            }
            if !bytes.isEmpty { return bytes }
            if ContinuousClock.now >= deadline { throw .timedOut }
            try? await Task.sleep(for: .milliseconds(2))
        }
    }

    func close() async {}

    func with<T>(_ body: (inout PumpSimulation) -> T) -> T {
        simulation.withLock { body(&$0) }
    }
}

/// A programmer connected to a fresh simulated pump, with its own state directory.
struct SimulatedVisit {
    static let start: Int64 = 1_800_000_000 // 2027-01-15T08:00:00Z
    let transport: SimulationTransport
    let directory: StateDirectory
    /// Holds `directory` (its `state` folder) and the other laptops' state
    /// directories (`programmerWithAFreshStateDirectory`); removed when the
    /// last copy of the visit ends, with the test.
    let temporary: TemporaryDirectory
    let clock: TestClock

    final class TestClock: Sendable {
        let seconds = Atomic<Int64>(SimulatedVisit.start)
        func now() -> Int64 { seconds.load(ordering: .relaxed) }
        func advance(_ delta: Int64) { seconds.add(delta, ordering: .relaxed) }
    }

    init(profile: PumpProfile = .rp20) {
        let clock = TestClock()
        self.clock = clock
        transport = SimulationTransport(PumpSimulation.fresh(profile: profile, seed: 7, hostNow: Self.start)) { clock.now() }
        temporary = TemporaryDirectory.make(prefix: "pumpwand-test")
        do {
            directory = StateDirectory(path: FilePath(try temporary.subfolder("state")))
        } catch {
            Issue.record(error)
            directory = StateDirectory(path: FilePath(temporary.file("state")))
        }
    }

    func programmer(operatorName: String = "tech.a", secondOperator: String? = nil, expectedSerial: String? = nil,
                    policy: ClinicPolicy? = nil, interrupted: @escaping @Sendable () -> Bool = { false },
                    reviewReuse: Swift.Duration = .zero) async throws -> Programmer
    {
        let connection = try await PumpConnection.open(
            transport: transport, keyring: PumpKeyring(anySerial: PumpIdentity.demoKey),
            policy: RetryPolicy(attemptTimeout: .milliseconds(60), maximumAttempts: 2))
        let clock = self.clock
        let context = ProgrammerContext(
            stateDirectory: directory, operatorName: operatorName, secondOperator: secondOperator,
            policy: try policy ?? ClinicPolicy.shippedDefaults(), simulated: true, expectedPumpSerial: expectedSerial,
            now: { Date(timeIntervalSince1970: TimeInterval(clock.now())) }, interrupted: interrupted)
        // The tests change the pump between review and confirmation as if
        // the technician had read for minutes: by default the review is
        // read again before every change (ExchangeCountTests give the
        // product's limit).
        var reading = context
        reading.reviewReuseLimit = reviewReuse
        return try await Programmer(connection: connection, context: reading)
    }

    func audit() throws -> AuditLog { try AuditLog(directory: directory) }
}

func prescription(_ json: String) throws -> Prescription {
    try Prescription.decode(Data(json.utf8))
}
