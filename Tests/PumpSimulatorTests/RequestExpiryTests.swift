import Testing
import WandProtocol
@testable import PumpSimulator

extension SimulatedHost {
    /// What the pump's clock shows once the simulation has caught up with
    /// `now`: the test host's reading of the pump clock.
    var pumpClock: Int64 {
        max(simulation.pump.clock, now + simulation.clockOffset + simulation.pump.mechanics.clockError)
    }

    /// The expiry a host gives a request sent now: the pump clock plus the
    /// host's validity.
    var expiry: RequestExpiry { .after(pumpClock: pumpClock) }
}

@Suite("Request expiry on the simulated pump: a held request is dead")
struct SimulatedRequestExpiryTests {
    static let start: Int64 = 1_800_000_000

    static func bolus(_ id: UInt8, expiry: RequestExpiry) -> PumpRequest {
        .startBolus(StartBolus(commandId: commandID(id), expiry: expiry, kind: .therapeutic, doseNanograms: 100_000,
                               volumeNanolitres: 50_000, durationSeconds: 900))
    }

    @Test("A relay holds a sealed bolus past its expiry and then delivers it: refused 0x1B, no drug given, the refusal stored")
    func heldBolusIsRefused() throws {
        var host = SimulatedHost(simulation: .fresh(hostNow: Self.start), now: Self.start)
        try host.open()
        let report = try host.interrogate()
        let bolus = Self.bolus(1, expiry: .after(pumpClock: report.clock.utcSeconds))
        let held = try host.seal(bolus)
        // The relay keeps the frame for 100 s (inside the session's idle
        // limit, so only the expiry can refuse it), then lets it through.
        host.now += 100
        host.simulation.catchUp(hostNow: host.now)
        let twin = host.simulation
        let bolusesBefore = host.simulation.pump.bolusesDelivered
        #expect(try host.send(sealed: held.body, counter: held.counter) == .refused(.startBolus, .requestExpired))
        #expect(host.simulation.pump.mechanics.bolus == nil)
        // The pump's event log shows the refused bolus, as for any refusal.
        let last = try #require(host.simulation.pump.eventLog.entries.last)
        #expect(last.code == PumpEventCode.commandRefused.rawValue)
        #expect(last.detail == UInt32(PumpOpcode.startBolus.rawValue))
        // The whole bolus time later the pump has delivered exactly what the
        // same pump given nothing delivered: the basal rate, no bolus.
        var untouched = twin
        host.now += 1_800
        host.simulation.catchUp(hostNow: host.now)
        untouched.catchUp(hostNow: host.now)
        #expect(host.simulation.pump.mechanics.deliveredNanograms == untouched.pump.mechanics.deliveredNanograms)
        #expect(host.simulation.pump.mechanics.reservoir == untouched.pump.mechanics.reservoir)
        #expect(host.simulation.pump.bolusesDelivered == bolusesBefore)
        // The pump says so when asked about the id (in a new session: the
        // old one went idle), and a late copy gets the same stored refusal.
        try host.open()
        guard case let .outcome(outcome) = try host.request(.queryCommandOutcome(QueryCommandOutcome(commandId: commandID(1)))) else {
            Issue.record("no outcome report")
            return
        }
        #expect(try outcome.decodedReply() == .refused(.startBolus, .requestExpired))
        #expect(try host.request(bolus) == .refused(.startBolus, .requestExpired))
        #expect(host.simulation.pump.mechanics.bolus == nil)
    }

    @Test("The same bolus delivered in time runs: the refusal above is the expiry's, not the bolus's")
    func inTimeBolusRuns() throws {
        var host = SimulatedHost(simulation: .fresh(hostNow: Self.start), now: Self.start)
        try host.open()
        let report = try host.interrogate()
        let held = try host.seal(Self.bolus(1, expiry: .after(pumpClock: report.clock.utcSeconds)))
        host.now += 9
        guard case .executed(.startBolus, let receipt)? = try host.send(sealed: held.body, counter: held.counter) else {
            Issue.record("the bolus in time was not executed")
            return
        }
        #expect(receipt.commandId == commandID(1))
        #expect(host.simulation.pump.mechanics.bolus != nil)
    }

    @Test("Expiry is judged on the pump's clock: a pump 30 min slow accepts an expiry from its own clock and refuses one from the host's")
    func pumpClockDecides() throws {
        var simulation = PumpSimulation.fresh(hostNow: Self.start)
        simulation.inject(.clockDrift, minutes: -30)
        var host = SimulatedHost(simulation: simulation, now: Self.start)
        try host.open()
        let report = try host.interrogate()
        #expect(report.clock.utcSeconds == Self.start - 1_800)
        // From the host's own clock: 30 min past the pump clock, so too far ahead.
        #expect(try host.request(.stopInfusion(StopInfusion(commandId: commandID(2), expiry: .after(pumpClock: host.now))))
                == .refused(.stopInfusion, .malformedRequest))
        #expect(host.simulation.pump.mechanics.infusionStopped == false)
        // From the pump clock it read: in time.
        #expect(try host.request(.stopInfusion(StopInfusion(commandId: commandID(3), expiry: .after(pumpClock: report.clock.utcSeconds))))
                .refusal == nil)
        #expect(host.simulation.pump.mechanics.infusionStopped)
    }
}
