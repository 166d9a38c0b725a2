import Foundation
import PumpSimulator
import Testing
import Therapy
import WandProtocol
@testable import PumpProgrammer

/// What the host makes of the pump's refill rules: an abandoned refill
/// (alarm 0x0008) is shown as possibly not delivering with no alarm date,
/// and the refill plan says before the prompt what infusion does after it.
@Suite struct RefillTimeLimitHostTests {
    static let lower = #"{"drug":"baclofen","concentration":"2000mcg/mL","indication":"spinal","mode":"continuous","daily_dose":"380mcg/day"}"#

    @Test func anAbandonedRefillIsShownAsNotDeliveringWithNoAlarmDate() async throws {
        let visit = SimulatedVisit()
        let begun = visit.transport.with { $0.pump.execute(.refillBegin(RefillBegin(commandId: CommandID.random(), expiry: .after(pumpClock: $0.pump.clock)))) }
        #expect(begun.refusal == nil)
        visit.clock.advance(SimulatedPump.refillTimeLimit + 60)
        let programmer = try await visit.programmer()
        let status = try await programmer.interrogate().status
        // The pump runs again; the host still does not claim days of drug.
        #expect(status.infusion == .infusing)
        // It IS delivering: the unknown reservoir is its own flag.
        #expect(status.alarms.contains { $0.alarm == .refillAbandoned && !$0.stopsDelivery })
        #expect(status.notDelivering == nil)
        #expect(status.reservoirContentsUnknown)
        // The audit row (and the FHIR export from it) files no measured volume.
        #expect(status.readParameters["reservoir_ml"] == nil)
        #expect(status.readParameters["reservoir_contents_unknown"] == "true")
        let encoder = JSONEncoder()
        encoder.keyEncodingStrategy = .convertToSnakeCase
        let json = try JSONSerialization.jsonObject(with: encoder.encode(status)) as? [String: Any]
        #expect(json?["reservoir_contents_unknown"] as? Bool == true)
        #expect(status.lowReservoirAlarmDate == nil)
        #expect(status.refillDate == nil)
        #expect(status.daysToAlarm == nil)
        #expect(status.reservoirUnknownAdvice.contains { $0.contains("Refill now") })
        #expect(status.schedulerSentence == PumpStatus.reservoirUnknownSchedulerSentence)
        #expect(PumpStatus.notDeliveringSentence(.alarm(.refillAbandoned)).contains("refill abandoned: reservoir contents unknown"))
        await programmer.close()
    }

    @Test func theRefillPlanSaysAStoppedPumpStaysStopped() async throws {
        let visit = SimulatedVisit()
        let stopped = visit.transport.with { $0.pump.execute(.stopInfusion(StopInfusion(commandId: CommandID.random(), expiry: .after(pumpClock: $0.pump.clock)))) }
        #expect(stopped.refusal == nil)
        let programmer = try await visit.programmer()
        let request = RefillRequest(withdrawn: .mL(12), added: .mL(18), drug: nil, concentration: .mcgPerML(2000),
                                    newPrescription: try prescription(Self.lower), discrepancyAcknowledgement: nil)
        let plan = try await programmer.plan(RefillCommand(request: request))
        guard case .refill(let refill) = plan.change else { Issue.record("not a refill plan"); return }
        #expect(refill.program != nil)
        #expect(refill.infusionAfter == .remainsStopped)
        await programmer.close()
    }

    @Test func theRefillPlanSaysARunningPumpRuns() async throws {
        let visit = SimulatedVisit()
        let programmer = try await visit.programmer()
        let request = RefillRequest(withdrawn: .mL(12), added: .mL(18), drug: nil, concentration: .mcgPerML(2000),
                                    newPrescription: try prescription(Self.lower), discrepancyAcknowledgement: nil)
        let plan = try await programmer.plan(RefillCommand(request: request))
        guard case .refill(let refill) = plan.change else { Issue.record("not a refill plan"); return }
        #expect(refill.infusionAfter == .runs)
        await programmer.close()
    }
}

/// The pipeline against the pump's refill rules.
@Suite struct RefillTimeLimitPipelineTests {
    /// A refill reviewed while it was open, confirmed after the pump ended
    /// it: nothing is sent and the technician is told the pump changed.
    @Test func aRefillEndedByThePumpWhileUnderReviewSendsNothing() async throws {
        let visit = SimulatedVisit()
        let begun = visit.transport.with { $0.pump.execute(.refillBegin(RefillBegin(commandId: CommandID.random(), expiry: .after(pumpClock: $0.pump.clock)))) }
        #expect(begun.refusal == nil)
        let programmer = try await visit.programmer()
        let request = RefillRequest(withdrawn: .mL(12), added: .mL(18), drug: nil, concentration: .mcgPerML(2000),
                                    newPrescription: nil, discrepancyAcknowledgement: nil)
        let plan = try await programmer.plan(RefillCommand(request: request))
        guard case .refill(let refill) = plan.change else { Issue.record("not a refill plan"); return }
        #expect(refill.finishesBegunRefill)
        #expect(refill.infusionAfter == .asBeforeBegin)
        // The technician reads the review for half an hour; the session is
        // kept open by reads, which do not refresh the review.
        for _ in 0..<(SimulatedPump.refillTimeLimit / 60) {
            visit.clock.advance(60)
            _ = try await programmer.interrogateReport()
        }
        do {
            _ = try await programmer.execute(plan, overrides: [], confirmation: .flag(yes: true))
            Issue.record("a refill the pump had ended was completed")
        } catch .staleReview(let changed) {
            #expect(!changed.isEmpty)
        } catch {
            Issue.record("unexpected \(error)")
        }
        #expect(await programmer.effect == .nothingSent)
        let pump = visit.transport.with { $0.pump }
        #expect(pump.mechanics.reservoir == FineVolume(nanolitres: 12_000_000))
        #expect(pump.mechanics.alarms.contains(.refillAbandoned))
        await programmer.close()
    }

    /// Begin and complete with a prescription on a stopped pump: the pump
    /// stays stopped, as the plan said before the prompt.
    @Test func aRefillWithAPrescriptionLeavesAStoppedPumpStopped() async throws {
        let visit = SimulatedVisit()
        _ = visit.transport.with { $0.pump.execute(.stopInfusion(StopInfusion(commandId: CommandID.random(), expiry: .after(pumpClock: $0.pump.clock)))) }
        let programmer = try await visit.programmer()
        let request = RefillRequest(withdrawn: .mL(12), added: .mL(18), drug: nil, concentration: .mcgPerML(2000),
                                    newPrescription: try prescription(RefillTimeLimitHostTests.lower), discrepancyAcknowledgement: nil)
        let plan = try await programmer.plan(RefillCommand(request: request))
        let result = try await programmer.execute(plan, overrides: [], confirmation: .flag(yes: true))
        #expect(result.effect == .changed([.refillBegin, .refillComplete]))
        #expect(result.after?.infusion == .stopped)
        await programmer.close()
        let delivered = visit.transport.with { $0.pump.mechanics.deliveredNanograms }
        visit.clock.advance(86_400)
        let now = visit.clock.now()
        #expect(visit.transport.with { sim in
            sim.catchUp(hostNow: now)
            return sim.pump.mechanics.deliveredNanograms
        } == delivered)
    }
}

/// The host's PumpHistory and the pump agree on the last therapy change
/// over a visit's commands (PROTOCOL.md Q16, H163).
@Suite struct TherapyChangeAgreementTests {
    @Test func pumpHistoryPlacesThePumpsLastChangeAfterEveryCommand() async throws {
        let visit = SimulatedVisit()
        let programmer = try await visit.programmer()
        let initial = try await programmer.interrogate().status.lastChange
        /// The history's last change against the interrogate report's;
        /// `changed` when the command was a therapy change on the pump.
        func agree(_ label: String, changed: Bool) async throws {
            let status = try await programmer.interrogate().status
            let history = try #require(await programmer.pumpHistory(status: status, window: 86_400))
            if changed {
                #expect(status.lastChange.utcSeconds == visit.clock.now(), "\(label): the pump's last change")
                #expect(history.lastTherapyChange?.utcSeconds == status.lastChange.utcSeconds, "\(label)")
            } else {
                #expect(status.lastChange.utcSeconds != visit.clock.now(), "\(label): the pump's last change moved")
                if let placed = history.lastTherapyChange {
                    #expect(placed.utcSeconds == status.lastChange.utcSeconds, "\(label)")
                }
            }
        }
        visit.clock.advance(10)
        let refill = RefillRequest(withdrawn: .mL(12), added: .mL(18), drug: nil, concentration: .mcgPerML(2000),
                                   newPrescription: nil, discrepancyAcknowledgement: nil)
        _ = try await programmer.execute(try await programmer.plan(RefillCommand(request: refill)), overrides: [],
                                         confirmation: .flag(yes: true))
        try await agree("refill without a prescription", changed: false)
        #expect(try await programmer.interrogate().status.lastChange == initial)
        visit.clock.advance(10)
        _ = try await programmer.execute(try await programmer.plan(StopCommand()),
                                         overrides: [Override(code: .withdrawalRisk, reason: "catheter revision in theatre")],
                                         confirmation: .flag(yes: true))
        try await agree("stop", changed: true)
        visit.clock.advance(10)
        _ = try await programmer.execute(try await programmer.plan(ResumeCommand()), overrides: [], confirmation: .flag(yes: true))
        try await agree("resume", changed: true)
        visit.clock.advance(10)
        let withPrescription = RefillRequest(withdrawn: .mL(18), added: .mL(18), drug: nil, concentration: .mcgPerML(2000),
                                             newPrescription: try prescription(RefillTimeLimitHostTests.lower),
                                             discrepancyAcknowledgement: nil)
        _ = try await programmer.execute(try await programmer.plan(RefillCommand(request: withPrescription)), overrides: [],
                                         confirmation: .flag(yes: true))
        try await agree("refill with a prescription", changed: true)
        await programmer.close()
    }
}
