import Foundation
import PumpSimulator
import Synchronization
import Testing
import Therapy
import WandLink
import WandProtocol
@testable import PumpProgrammer

/// A relay between the host and the simulated wand that can hold frames:
/// it keeps the bytes of chosen sends and either passes them on late (the
/// pump's clock moved on meanwhile) or not at all, to be released by the
/// test whenever it likes. What a relay with no key can do to a sealed
/// request.
final class HoldingRelay: WandTransport {
    let inner: SimulationTransport
    let clock: SimulatedVisit.TestClock
    private let state = Mutex<(sends: Int, late: Set<Int>, kept: Set<Int>, seconds: Int64, held: [[UInt8]])>((0, [], [], 0, []))

    init(_ visit: SimulatedVisit) {
        inner = visit.transport
        clock = visit.clock
    }

    var peerDescription: String { inner.peerDescription }

    /// Sends counted from the next one (1): those in `late` reach the pump
    /// `seconds` later, those in `kept` are held and not passed on.
    func hold(late: Set<Int> = [], kept: Set<Int> = [], seconds: Int64) {
        state.withLock { $0 = (0, late, kept, seconds, []) }
    }

    var sendCount: Int { state.withLock { $0.sends } }
    var held: [[UInt8]] { state.withLock { $0.held } }

    func send(_ bytes: [UInt8]) async throws(WandSendError) {
        let (delay, keep) = state.withLock { s -> (Int64, Bool) in
            s.sends += 1
            if s.kept.contains(s.sends) { s.held.append(bytes) }
            return (s.late.contains(s.sends) ? s.seconds : 0, s.kept.contains(s.sends))
        }
        if keep { return }
        if delay > 0 { clock.advance(delay) }
        try await inner.send(bytes)
    }

    func receive(deadline: ContinuousClock.Instant) async throws(WandTransportError) -> [UInt8] {
        try await inner.receive(deadline: deadline)
    }

    func close() async { await inner.close() }

    /// Lets a held frame through now, as the relay would; the pump's
    /// answer goes nowhere (the host stopped listening long ago).
    func release(_ bytes: [UInt8]) {
        let now = clock.now()
        _ = inner.with { simulation in
            simulation.catchUp(hostNow: now)
            return simulation.receive(fromHost: bytes)
        }
    }
}

extension SimulatedVisit {
    /// A programmer whose wand link runs through `relay`.
    func programmer(through relay: HoldingRelay) async throws -> Programmer {
        let connection = try await PumpConnection.open(
            transport: relay, keyring: PumpKeyring(anySerial: PumpIdentity.demoKey),
            policy: RetryPolicy(attemptTimeout: .milliseconds(60), maximumAttempts: 2))
        let clock = self.clock
        var context = ProgrammerContext(
            stateDirectory: directory, operatorName: "tech.a", policy: try ClinicPolicy.shippedDefaults(), simulated: true,
            now: { Date(timeIntervalSince1970: TimeInterval(clock.now())) })
        // The review is read again before the change, as the sends below count it.
        context.reviewReuseLimit = .zero
        return try await Programmer(connection: connection, context: context)
    }

    func bolusRunning() -> Bool { transport.with { $0.pump.mechanics.bolus != nil } }

    func deliveredNanograms() -> Int64 {
        let now = clock.now()
        return transport.with { simulation in
            simulation.catchUp(hostNow: now)
            return simulation.pump.mechanics.deliveredNanograms
        }
    }
}

@Suite("Request expiry through the pipeline: a held bolus is refused and the host says nothing changed")
struct PipelineRequestExpiryTests {
    static let bolus = BolusPlan.Request(kind: .therapeutic, dose: .mcg(50), duration: .minutes(10))

    @Test func everyStateChangingRequestCarriesAnExpiryFromThePumpClockRead() async throws {
        let visit = SimulatedVisit()
        // A pump clock 20 minutes slow: the expiry follows it, not this computer's clock.
        visit.transport.with { $0.inject(.clockDrift, minutes: -20) }
        let programmer = try await visit.programmer()
        _ = try await programmer.interrogate()
        let reading = try #require(await programmer.pumpClock)
        #expect(reading.pumpUTCSeconds == SimulatedVisit.start - 1_200)
        let expiry = try await programmer.requestExpiry()
        #expect(expiry.utcSeconds >= SimulatedVisit.start - 1_200 + RequestExpiry.hostValiditySeconds)
        #expect(expiry.utcSeconds <= SimulatedVisit.start - 1_200 + RequestExpiry.maximumAheadSeconds)
        // And the pump takes it: an alarm setting goes through.
        let plan = try await programmer.plan(AlarmThresholdCommand(threshold: .mL(3)))
        let result = try await programmer.execute(plan, overrides: [], confirmation: .flag(yes: true))
        #expect(result.effect == .changed([.alarmSettings]))
    }

    @Test func thePumpClockIsCarriedForwardInWholeSecondsAndNeverBackwards() {
        let read = ContinuousClock.now
        let reading = PumpClockReading(pumpUTCSeconds: 1_800_000_000, receivedAt: read)
        #expect(reading.pumpUTCSeconds(at: read + .milliseconds(2_900)) == 1_800_000_002)
        #expect(reading.pumpUTCSeconds(at: read - .seconds(5)) == 1_800_000_000)
        #expect(reading.expiry(at: read + .seconds(3)) == RequestExpiry(utcSeconds: 1_800_000_013))
        // A reading at the end of the wire's range cannot overflow into the past.
        let last = PumpClockReading(pumpUTCSeconds: .max - 1, receivedAt: read)
        #expect(last.pumpUTCSeconds(at: read + .seconds(10)) == .max)
        #expect(last.expiry(at: read + .seconds(10)).utcSeconds == WireTime.maximumUTCSeconds)
    }

    @Test func afterSettingAPumpClockThatWasOffTheNextRequestIsStillInTime() async throws {
        let visit = SimulatedVisit()
        // The pump's clock is 20 minutes slow; setting it moves it 20 minutes
        // forward, so an expiry figured from the old reading would be dead.
        visit.transport.with { $0.inject(.clockDrift, minutes: -20) }
        let programmer = try await visit.programmer()
        let sync = try await programmer.plan(ClockSetCommand(hostSeconds: visit.clock.now()))
        #expect(try await programmer.execute(sync, overrides: [], confirmation: .flag(yes: true)).effect == .changed([.clockSet]))
        let reading = try #require(await programmer.pumpClock)
        #expect(abs(reading.pumpUTCSeconds - visit.clock.now()) <= 1)
        let alarm = try await programmer.plan(AlarmThresholdCommand(threshold: .mL(3)))
        #expect(try await programmer.execute(alarm, overrides: [], confirmation: .flag(yes: true)).effect
                == .changed([.clockSet, .alarmSettings]))
    }

    @Test func aBolusHeldPastItsExpiryIsRefusedAndNothingIsResent() async throws {
        let visit = SimulatedVisit()
        let relay = HoldingRelay(visit)
        let programmer = try await visit.programmer(through: relay)
        let plan = try await programmer.plan(BolusCommand(request: Self.bolus))
        let before = visit.deliveredNanograms()
        // Sends from here: 1 interrogate (the review still holds), 2 the
        // bolus, held 100 s by the relay (inside the session's idle limit).
        relay.hold(late: [2], seconds: 100)
        var refused: ProgrammerError?
        do {
            _ = try await programmer.execute(plan, overrides: [], confirmation: .flag(yes: true))
        } catch {
            refused = error
        }
        #expect(refused == .pumpRefused(.startBolus, .requestExpired))
        #expect(refused?.description.contains("nothing was changed") == true)
        #expect(refused?.description.contains("give the command again") == true)
        #expect(await programmer.effect == .unchanged)
        // Nothing was sent again by itself, and no bolus runs.
        #expect(relay.sendCount == 2)
        #expect(!visit.bolusRunning())
        visit.clock.advance(900)
        #expect(visit.transport.with { $0.pump.bolusesDelivered } == 0)
        // The basal rate alone: 0.2 mL/day of 2 mg/mL over 1000 s is 4.6 mcg, a bolus would be 50 more.
        #expect(visit.deliveredNanograms() - before < 10_000)
        let outcomes = try visit.audit().entries().filter { $0.command == "bolus" && $0.phase == .outcome }.compactMap(\.outcomeCode)
        #expect(outcomes == [.refusedByPump])
        #expect(try await programmer.resolvePending() == nil)
    }

    @Test func aBolusKeptByTheRelayAndReleasedAfterTheHostGaveUpDeliversNothing() async throws {
        let visit = SimulatedVisit()
        let relay = HoldingRelay(visit)
        let programmer = try await visit.programmer(through: relay)
        let plan = try await programmer.plan(BolusCommand(request: Self.bolus))
        // Sends from here: 1 interrogate, 2 and 3 the bolus, 4 and 5 the
        // question about its id: the relay keeps all four.
        relay.hold(kept: [2, 3, 4, 5], seconds: 0)
        var uncertain: ProgrammerError?
        do {
            _ = try await programmer.execute(plan, overrides: [], confirmation: .flag(yes: true))
        } catch {
            uncertain = error
        }
        guard case .uncertain? = uncertain else {
            Issue.record("the host must leave the bolus pending, not \(String(describing: uncertain))")
            return
        }
        let id = try #require(await programmer.ledger.last?.commandID)
        // 100 s later the relay lets the first copy of the bolus through.
        let first = try #require(relay.held.first)
        visit.clock.advance(100)
        let before = visit.deliveredNanograms()
        relay.release(first)
        #expect(!visit.bolusRunning())
        let stored = visit.transport.with { $0.pump.outcomes.storedReply(for: id) }
        #expect(stored.flatMap { try? PumpReply(decoding: $0) } == .refused(.startBolus, .requestExpired))
        visit.clock.advance(900)
        #expect(visit.transport.with { $0.pump.bolusesDelivered } == 0)
        #expect(visit.deliveredNanograms() - before < 10_000)
        // The technician's next session asks about the id and is told the truth: refused, nothing changed.
        await programmer.close()
        let next = try await visit.programmer()
        let resolution = try #require(try await next.resolvePending())
        #expect(resolution.fate == .refused(.requestExpired))
        let outcomes = try visit.audit().entries().filter { $0.command == "bolus" && $0.phase == .outcome }.compactMap(\.outcomeCode)
        #expect(outcomes.last == .resolvedRefused)
    }
}
