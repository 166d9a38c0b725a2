import Foundation
import Testing
import WandProtocol
@testable import PumpProgrammer

/// The pump witnesses the audit head once, at the session's end, and an
/// anchor that fails is a warning and a row, never the command's outcome.
@Suite struct AuditWitnessTests {
    @Test func theSessionsEndAnchorsTheHeadInThePump() async throws {
        let visit = SimulatedVisit()
        let programmer = try await visit.programmer()
        _ = try await programmer.interrogate()
        let outcome = await programmer.close()
        let rows = try visit.audit().entries().count
        #expect(outcome == .recorded(rowCount: UInt64(rows)))
        let held = visit.transport.with { $0.pump.auditAnchors }
        #expect(held.map(\.rowCount) == [UInt64(rows)])
        let anchors = held.map { AuditAnchor(rowCount: $0.rowCount, rowMAC: $0.rowMAC) }
        let verification = try visit.audit().verify(anchors: anchors)
        #expect(verification.intact, "\(verification.problems)")
        #expect(verification.anchorsChecked == 1)
    }

    @Test func aFailedAnchorIsAWarningAndARowNotATherapyFailure() async throws {
        let visit = SimulatedVisit()
        let programmer = try await visit.programmer()
        let plan = try await programmer.review(try prescription(WorkflowTests.increase))
        _ = try await programmer.program(plan, overrides: [], confirmation: .flag(yes: true))
        let changed = await programmer.effect
        #expect(!changed.leftAsBefore)
        // Every frame from here on is lost: the anchor gets no answer.
        visit.transport.loseFrames(requests: Set(1...20))
        let outcome = await programmer.close()
        guard case .failed = outcome else { Issue.record("\(outcome)"); return }
        // What the pump was left in is still the ledger's word.
        #expect(await programmer.effect == changed)
        #expect(visit.transport.with { $0.pump.auditAnchors }.isEmpty)
        let log = try visit.audit()
        let last = try #require(try log.entries().last)
        #expect(last.command == "audit anchor" && last.outcomeCode == .noReply)
        // The failure row is sealed too: the log verifies.
        #expect(try log.verify().intact)
    }

    @Test func readingTheAnchorsRecordsNone() async throws {
        let visit = SimulatedVisit()
        let programmer = try await visit.programmer()
        #expect(try await programmer.pumpAuditAnchors().isEmpty)
        #expect(await programmer.close(anchoring: false) == .skipped)
        #expect(visit.transport.with { $0.pump.auditAnchors }.isEmpty)
        #expect(try visit.audit().verify().intact)
    }
}
