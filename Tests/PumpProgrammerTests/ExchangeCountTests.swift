import Testing
import Therapy
import WandProtocol
@testable import PumpProgrammer

/// How many exchanges a visit costs (PROTOCOL.md section 8, "Exchanges of
/// a visit"): every frame the host sends is counted by the channel, and
/// every one but the close waits for an answer. A link that loses nothing
/// retransmits nothing, so frames before the close are the exchanges.
@Suite struct ExchangeCountTests {
    /// Frames sent so far, and retransmissions among them.
    static func frames(_ programmer: Programmer) async -> (sent: Int, retransmitted: Int) {
        let statistics = await programmer.connection.channel.statistics
        return (statistics.framesSent, statistics.retransmissions)
    }

    @Test func interrogateIsTheOpeningAndOneInterrogate() async throws {
        let visit = SimulatedVisit()
        let programmer = try await visit.programmer(reviewReuse: .seconds(10))
        // The wand's info came with the opening: no wand command was sent.
        #expect(await programmer.connection.wandInfo.supportedVersions.contains(FrameHeader.currentVersion))
        _ = try await programmer.interrogate()
        #expect(await Self.frames(programmer) == (2, 0))
        _ = await programmer.close()
        // The close is one more frame, not awaited, carrying the anchor.
        #expect(await Self.frames(programmer) == (3, 0))
        #expect(visit.transport.with { $0.pump.auditAnchors }.count == 1)
    }

    @Test func aProgramIsFiveExchangesWithItsReadBack() async throws {
        let visit = SimulatedVisit()
        let programmer = try await visit.programmer(reviewReuse: .seconds(10))
        let plan = try await programmer.review(try prescription(WorkflowTests.increase))
        let result = try await programmer.program(plan, overrides: [], confirmation: .flag(yes: true))
        // Opening, interrogate (with the newest event page), stage, commit,
        // interrogate (the read-back and the status shown).
        #expect(await Self.frames(programmer) == (5, 0))
        #expect(result.status.dailyDose == .mcgPerDay(450))
        let rows = try visit.audit().entries()
        #expect(rows.contains { $0.command == "read-back" && $0.outcomeCode == .readBackMatches })
        #expect(visit.transport.with { $0.pump.prescription } == plan.wire)
    }

    @Test func aReviewReadAtLeisureIsReadAgainBeforeTheFirstStep() async throws {
        let visit = SimulatedVisit()
        // Zero: as if the technician had read the review for minutes.
        let programmer = try await visit.programmer(reviewReuse: .zero)
        let plan = try await programmer.review(try prescription(WorkflowTests.increase))
        _ = try await programmer.program(plan, overrides: [], confirmation: .flag(yes: true))
        #expect(await Self.frames(programmer) == (6, 0))
    }

    @Test func aReviewShownAtAPromptIsReadAgain() async throws {
        let visit = SimulatedVisit()
        let programmer = try await visit.programmer(reviewReuse: .seconds(10))
        let plan = try await programmer.review(try prescription(WorkflowTests.increase))
        // Answered at once, but at a prompt: another programmer may have
        // opened a session while it was on the screen.
        _ = try await programmer.program(plan, overrides: [], confirmation: .typed("450mcg/day"))
        #expect(await Self.frames(programmer) == (6, 0))
    }

    @Test func aWandThatDoesNotKnowTheInfoFlagIsAskedTheOldWay() async throws {
        let visit = SimulatedVisit()
        // The first opening is refused as malformed (flag 0x04 unknown).
        visit.transport.answerWithNak(.malformedFrame, sends: [1, 2])
        let programmer = try await visit.programmer(reviewReuse: .seconds(10))
        #expect(await programmer.connection.wandInfo.supportedVersions.contains(FrameHeader.currentVersion))
        _ = try await programmer.interrogate()
        #expect(try await programmer.interrogateReport().serial == visit.transport.with { $0.pump.identity.serial })
    }

    @Test func aRefillIsFiveExchanges() async throws {
        let visit = SimulatedVisit()
        let programmer = try await visit.programmer(secondOperator: "nurse.b", reviewReuse: .seconds(10))
        let request = RefillRequest(withdrawn: .mL(12), added: .mL(18), drug: .baclofen, concentration: .mcgPerML(2000),
                                    newPrescription: nil, discrepancyAcknowledgement: nil)
        let plan = try await programmer.plan(RefillCommand(request: request))
        let overrides = plan.findings.warnings.map { Override(code: $0.code, reason: "ordered by the physician, plan on file") }
        _ = try await programmer.execute(plan, overrides: overrides, confirmation: .flag(yes: true))
        // Opening, interrogate, refill begin, refill complete, interrogate.
        #expect(await Self.frames(programmer) == (5, 0))
    }

    @Test func theNewestEventPageComesWithThePlansInterrogate() async throws {
        let visit = SimulatedVisit()
        let programmer = try await visit.programmer(reviewReuse: .seconds(10))
        let report = try await programmer.interrogateReport(includingNewestEvents: true)
        let page = try #require(report.newestEvents)
        #expect(page.page == 0)
        // The same page the pump gives to read event log 0.
        guard case .eventLog(let read) = try await programmer.read(.readEventLog(ReadEventLog(page: 0))) else {
            Issue.record("no event log page")
            return
        }
        #expect(read == page)
        // Not asked for, not sent.
        #expect(try await programmer.interrogateReport().newestEvents == nil)
    }

    @Test func aLostWandInfoIsAskedForSeparatelyAndChecked() async throws {
        let visit = SimulatedVisit()
        visit.transport.loseWandResponses(1)
        let programmer = try await visit.programmer(reviewReuse: .seconds(10))
        // The opening, then the wand's own info exchange: the versions are
        // still checked before the session is used.
        #expect(await Self.frames(programmer) == (2, 0))
        #expect(await programmer.connection.wandInfo.supportedVersions.contains(FrameHeader.currentVersion))
        _ = try await programmer.interrogate()
        #expect(await Self.frames(programmer) == (3, 0))
    }

    @Test func aSilentLineIsTheWandNotAnsweringNotThePump() async throws {
        let visit = SimulatedVisit()
        visit.transport.loseFrames(requests: Set(1...20))
        do {
            _ = try await visit.programmer()
            Issue.record("a line on which nothing answers opened a session")
        } catch let error as ProgrammerError {
            guard case .notFound(let message) = error else {
                Issue.record("expected notFound for the wand, got \(error)")
                return
            }
            #expect(message.contains("The wand at simulated wand (test) does not answer"), "\(message)")
        }
    }

    @Test func aWandThatRefusesEveryOpeningAsMalformedIsADeviceFaultInWords() async throws {
        let visit = SimulatedVisit()
        // Both attempts with the flag, then both without it.
        visit.transport.answerWithNak(.malformedFrame, sends: [1, 2, 3, 4])
        do {
            _ = try await visit.programmer()
            Issue.record("a wand refusing every opening opened a session")
        } catch let error as ProgrammerError {
            guard case .deviceFault(let message) = error else {
                Issue.record("expected a device fault, got \(error)")
                return
            }
            #expect(message.contains("malformed frame (NAK 0x01)"), "\(message)")
            #expect(!message.contains("wandRefused("), "\(message)")
        }
    }

    @Test func aReasonNotSentReadsInWords() {
        #expect(NotSentReason.wandRefused(.busy).description == "the wand refused the frame every time: busy (0x05)")
        #expect(NotSentReason.noSession.description == "no session is open with the pump")
    }
}
