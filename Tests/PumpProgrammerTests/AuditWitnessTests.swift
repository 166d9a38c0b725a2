import Foundation
import Testing
import WandProtocol
@testable import PumpProgrammer

/// The pump witnesses the audit head once, at the session's end: the close
/// carries it and its reply is not awaited, so a lost close leaves the head
/// unwitnessed (found by `audit verify --pump`), never the command's outcome.
@Suite struct AuditWitnessTests {
    @Test func theSessionsEndAnchorsTheHeadInThePump() async throws {
        let visit = SimulatedVisit()
        let programmer = try await visit.programmer()
        _ = try await programmer.interrogate()
        let outcome = await programmer.close()
        let rows = try visit.audit().entries().count
        #expect(outcome == .sentWithClose(rowCount: UInt64(rows)))
        let held = visit.transport.with { $0.pump.auditAnchors }
        #expect(held.map(\.rowCount) == [UInt64(rows)])
        let anchors = held.map { AuditAnchor(logID: $0.logID, rowCount: $0.rowCount, rowMAC: $0.rowMAC) }
        let verification = try visit.audit().verify(anchors: anchors)
        #expect(verification.intact, "\(verification.problems)")
        #expect(verification.anchorsChecked == 1)
    }

    @Test func aLostCloseLeavesTheHeadUnwitnessedAndTheResultStands() async throws {
        let visit = SimulatedVisit()
        let programmer = try await visit.programmer()
        let plan = try await programmer.review(try prescription(WorkflowTests.increase))
        _ = try await programmer.program(plan, overrides: [], confirmation: .flag(yes: true))
        let changed = await programmer.effect
        #expect(!changed.leftAsBefore)
        // Every frame from here on is lost: the close, and its anchor, with them.
        visit.transport.loseFrames(requests: Set(1...20))
        let outcome = await programmer.close()
        let rows = try visit.audit().entries().count
        // The bytes left: the host cannot know more, and says only that.
        #expect(outcome == .sentWithClose(rowCount: UInt64(rows)))
        // What the pump was left in is still the ledger's word.
        #expect(await programmer.effect == changed)
        #expect(visit.transport.with { $0.pump.auditAnchors }.isEmpty)
        // The log itself is sealed and verifies; only the pump's copy is missing.
        #expect(try visit.audit().verify().intact)
    }

    @Test func theCloseCarriesTheHeadAndNoOtherExchangeIsSpent() async throws {
        let visit = SimulatedVisit()
        let programmer = try await visit.programmer()
        _ = try await programmer.interrogate()
        let sentBefore = await programmer.connection.channel.statistics.framesSent
        _ = await programmer.close()
        // One frame, the close: no separate record-audit-anchor exchange.
        #expect(await programmer.connection.channel.statistics.framesSent == sentBefore + 1)
        #expect(visit.transport.with { $0.pump.auditAnchors }.count == 1)
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
