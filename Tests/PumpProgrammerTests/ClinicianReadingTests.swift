import Foundation
import PumpSimulator
import Testing
import Therapy
import WandProtocol
@testable import PumpProgrammer

/// What the clinician reads, decided where it is known: the reason an
/// override records, a pump taken over by another programmer, Ctrl-C while
/// an exchange is retried, and a report whose change was not verified.
@Suite struct ClinicianReadingTests {
    @Test func anOverriddenRuleCarriesTheReasonTheAuditLogRecords() async throws {
        let visit = SimulatedVisit()
        let programmer = try await visit.programmer()
        let plan = try await programmer.plan(StopCommand())
        let warning = try #require(plan.findings.warnings.first { $0.code == .withdrawalRisk })
        // Without an override: it needs one.
        #expect(plan.reviewedFindings(overrides: []) == [ReviewedFinding(finding: warning, disposition: .needsOverride)])
        // With one: the reason as the audit log records it, trimmed.
        let given = Override(code: .withdrawalRisk, reason: "  catheter revision ")
        #expect(plan.reviewedFindings(overrides: [given])
            == [ReviewedFinding(finding: warning, disposition: .overridden(reason: "catheter revision"))])
        // A reason that says nothing is not shown as if it would be recorded.
        #expect(plan.reviewedFindings(overrides: [Override(code: .withdrawalRisk, reason: "ok\u{1B}[2J.......")])
            == [ReviewedFinding(finding: warning, disposition: .reasonRefused)])
        _ = try await programmer.execute(plan, overrides: [given], confirmation: .flag(yes: true))
        let intent = try #require(try visit.audit().entries().first { $0.command == "stop" && !$0.overrides.isEmpty })
        #expect(intent.overrides.map(\.reason) == ["catheter revision"])
    }

    @Test func aPumpTakenOverByAnotherProgrammerDuringThePromptIsSaidSo() async throws {
        let visit = SimulatedVisit()
        let first = try await visit.programmer()
        let plan = try await first.plan(StopCommand())
        // While the review is on the first laptop's screen, a second one
        // opens a session with the pump and reads it: the pump now drops
        // the first session's requests without a reply.
        let second = try await visit.programmer(operatorName: "tech.b")
        _ = try await second.interrogate()
        let error = await failure {
            try await first.execute(plan, overrides: [Override(code: .withdrawalRisk, reason: "pump explant today")],
                                    confirmation: .typed("yes"))
        }
        #expect(error == .sessionTakenOver(.interrogate))
        #expect(error?.description.contains("another programmer") == true)
        #expect(error?.description.contains("wand's position") == false)
        #expect(await first.effect == .nothingSent)
        #expect(visit.transport.with { $0.pump.mechanics.infusionStopped } == false)
        // The probe left the second laptop's session as it was.
        _ = try await second.interrogate()
    }

    @Test func theProbeKeepsTheSessionThisProgrammerHolds() async throws {
        let visit = SimulatedVisit()
        let programmer = try await visit.programmer()
        // Both replies to a read lost on the link while the pump kept this
        // session: the probe is answered, so the technician is told of a
        // possible other programmer and of lost replies; the session this
        // programmer holds is still the pump's, and the next read is answered.
        visit.transport.loseFrames(replies: [1, 2])
        let error = await failure { try await programmer.interrogate() }
        #expect(error == .sessionTakenOver(.interrogate))
        #expect(error?.description.contains("its replies were lost") == true)
        _ = try await programmer.interrogate()
        #expect(await programmer.connection.sessionsOpened == 1)
    }

    @Test func silenceWithoutAnAnsweringPumpIsStillNoAnswer() async throws {
        let visit = SimulatedVisit()
        let programmer = try await visit.programmer()
        // The pump acts but every reply is lost, the new session's too.
        visit.transport.with { $0.inject(.dropAllResponses) }
        let error = await failure { try await programmer.interrogate() }
        guard case .communication(let message)? = error else {
            Issue.record("silence with no answer to a new session is not a takeover: \(String(describing: error))")
            return
        }
        #expect(message.contains("did not answer"), "\(message)")
    }

    @Test func ctrlCWhileTheReviewReadIsRetriedIsACancellation() async throws {
        let visit = SimulatedVisit()
        let transport = visit.transport
        let programmer = try await visit.programmer(interrupted: { transport.sendCount >= 2 })
        transport.loseFrames()
        let plan = try await programmer.plan(StopCommand())
        // Both attempts of the review's read are unanswered, Ctrl-C pressed meanwhile.
        transport.loseFrames(replies: [1, 2])
        let error = await failure {
            try await programmer.execute(plan, overrides: [Override(code: .withdrawalRisk, reason: "pump explant today")],
                                         confirmation: .typed("yes"))
        }
        #expect(error == .cancelled)
        #expect(await programmer.effect == .nothingSent)
    }

    @Test func ctrlCWhileTheSessionOpeningIsRetriedIsACancellation() async throws {
        let visit = SimulatedVisit()
        // The pump hears the opening, but its answers are lost.
        visit.transport.with { $0.inject(.dropAllResponses) }
        let keyring = PumpKeyring(anySerial: PumpIdentity.demoKey)
        let policy = RetryPolicy(attemptTimeout: .milliseconds(60), maximumAttempts: 2)
        do {
            _ = try await PumpConnection.open(transport: visit.transport, keyring: keyring, policy: policy, interrupted: { true })
            Issue.record("a session opened although no answer came")
        } catch {
            #expect(error == .cancelled)
        }
        // Without Ctrl-C the same silence is no pump answering.
        do {
            _ = try await PumpConnection.open(transport: visit.transport, keyring: keyring, policy: policy, interrupted: { false })
            Issue.record("a session opened although no answer came")
        } catch {
            guard case .notFound = error else {
                Issue.record("silence at the opening is no pump answering, not \(error)")
                return
            }
        }
    }

    @Test func ctrlCWhileALostStopIsRetriedIsACancellationWhoseOutcomeStaysUnknown() async throws {
        let visit = SimulatedVisit()
        let transport = visit.transport
        let programmer = try await visit.programmer(interrupted: { transport.sendCount >= 3 })
        transport.loseFrames()
        let plan = try await programmer.plan(StopCommand())
        // 1 the review's read; 2 and 3 the stop, carried out, its replies
        // lost; 4 and 5 the question about it, unanswered, Ctrl-C pressed.
        transport.loseFrames(replies: [2, 3, 4, 5])
        let error = await failure {
            try await programmer.execute(plan, overrides: [Override(code: .withdrawalRisk, reason: "pump explant today")],
                                         confirmation: .typed("yes"))
        }
        #expect(error == .cancelled)
        guard case .unknown(let pending, _) = await programmer.effect else {
            Issue.record("a stop whose reply was lost is UNKNOWN, not \(await programmer.effect)")
            return
        }
        #expect(pending.command == "stop")
        #expect(visit.transport.with { $0.pump.mechanics.infusionStopped } == true)
        let resolution = try await visit.programmer().resolvePending()
        #expect(resolution?.executed == true)
    }

    @Test(arguments: [false, true])
    func aReportNotVerifiedLeadsWithTheVerdictAndWhatToDo(differs: Bool) async throws {
        let visit = SimulatedVisit()
        let programmer = try await visit.programmer()
        let plan = try await programmer.review(try prescription(WorkflowTests.increase))
        _ = try await programmer.execute(plan, overrides: [], confirmation: .flag(yes: true))
        let status = try await programmer.interrogate().status
        _ = await programmer.writeReport(plan, status: status, overrides: [], verified: false, readBackDiffers: differs)
        let folder = visit.directory.file("reports").string
        let names = try FileManager.default.contentsOfDirectory(atPath: folder).filter { $0.hasSuffix(".md") }.sorted()
        let markdown = try String(contentsOfFile: folder + "/" + (names.last ?? ""), encoding: .utf8)
        let verdict = try #require(markdown.range(of: "**NOT VERIFIED:"))
        let scheduler = try #require(markdown.range(of: "Tell the scheduler"))
        #expect(verdict.lowerBound < scheduler.lowerBound, "\(markdown)")
        #expect(markdown.contains(differs ? "contact the pump's support" : "run 'pumpctl interrogate' before anything else"))
        let section = try #require(markdown.range(of: "## NOT VERIFIED"))
        let patient = try #require(markdown.range(of: "## Patient"))
        #expect(section.lowerBound < patient.lowerBound)
    }
}
