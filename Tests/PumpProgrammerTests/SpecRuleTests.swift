import Foundation
import PumpSimulator
import Testing
import Therapy
import WandProtocol
@testable import PumpProgrammer

/// The host's side of the answers in hardware/PROTOCOL.md section 9.2:
/// how pumpctl reads the model, unknown alarms and an unreadable reply,
/// and that it sends a stop while a prime runs with infusion stopped.
@Suite struct HostSpecRuleTests {
    static func report(capacity: UInt32) -> InterrogateReport {
        var report = PumpSimulation.fresh(hostNow: SimulatedVisit.start).pump.interrogateReport()
        report.reservoirCapacityNanolitres = capacity
        return report
    }

    /// Q15: no model field; the reservoir capacity names the model.
    @Test(arguments: [(UInt32(20_000_000), "RP-20"), (40_000_000, "RP-40"), (30_000_000, "unknown")])
    func modelFollowsCapacity(capacity: UInt32, model: String) throws {
        let status = try PumpStatus(report: Self.report(capacity: capacity), hostNow: Date(timeIntervalSince1970: 1_800_000_000),
                                    simulated: true, unresolved: nil)
        #expect(status.model == model)
        #expect((status.profile == nil) == (model == "unknown"))
    }

    /// Q18: only low reservoir, elective replacement and refill abandoned
    /// (the pump resumed delivery; the reservoir is unknown) are known not
    /// to stop delivery; clock lost and codes the host does not know count
    /// as stopping it.
    @Test(arguments: [(UInt16(0x0001), false), (0x0003, false), (0x0002, true), (0x0004, true), (0x0005, true),
                      (0x0006, true), (0x0007, true), (0x0008, false), (0x0099, true), (0xFFFF, true)])
    func unknownAlarmIsTakenAsStoppingDelivery(code: UInt16, stops: Bool) {
        #expect(PumpStatus.stopsDelivery(PumpAlarm(rawValue: code)) == stops)
    }

    /// Section 8: an authenticated reply that does not decode is an answer
    /// the host cannot read, not silence, and is reported as such.
    @Test func unreadableReplyIsNotCalledSilence() async throws {
        let visit = SimulatedVisit()
        let programmer = try await visit.programmer()
        // A clock before 1970 makes the pump's read clock reply undecodable.
        visit.transport.with { $0.pump.mechanics.clockError = -(SimulatedVisit.start + 100) }
        do {
            _ = try await programmer.read(.readClock(ReadClock()))
            Issue.record("an unreadable reply was accepted")
        } catch .communication(let message) {
            #expect(message.contains("the pump answered readClock, but its reply did not decode"), "\(message)")
            #expect(!message.contains("did not answer"), "\(message)")
        } catch {
            Issue.record("unexpected \(error)")
        }
        await programmer.close()
        // The audit row says so too, by its own outcome code, never "no reply".
        let rows = try visit.audit().entries().filter { $0.command == "readClock" }
        #expect(rows.compactMap(\.outcomeCode) == [.unreadableReply])
    }

    /// Q7: a withdrawn volume beyond the format's 40 000 000 nL is a hard
    /// finding: a request carrying it would not decode at the pump.
    @Test func aWithdrawnVolumeBeyondTheFormatIsAHardFinding() async throws {
        let visit = SimulatedVisit()
        let programmer = try await visit.programmer()
        func plan(withdrawn: Volume) async throws -> [FindingCode] {
            let request = RefillRequest(withdrawn: withdrawn, added: .mL(18), drug: nil, concentration: .mcgPerML(2000),
                                        newPrescription: nil, discrepancyAcknowledgement: nil)
            return try await programmer.plan(RefillCommand(request: request)).findings.errors.map(\.code)
        }
        #expect(try await plan(withdrawn: .nL(40_000_001)).contains(.arithmeticOutOfRange))
        #expect(try await !plan(withdrawn: .nL(40_000_000)).contains(.arithmeticOutOfRange))
        await programmer.close()
    }

    /// Section 9: "unknown" in a later session is "never received" only
    /// while the pump's store reaches back to the send; otherwise the
    /// resolution says the record may have aged out.
    @Test(arguments: [(0, false), (8, true), (7, false)])
    func anUnknownOutcomeSaysWhenThePumpsRecordMayHaveAgedOut(newerRecords: Int, mayHaveAgedOut: Bool) async throws {
        let visit = SimulatedVisit()
        let sentAt = SimulatedVisit.start - 3_600
        visit.transport.with { simulation in
            // Eight stored replies: `newerRecords` of them answered after the
            // send, the rest before it.
            for n in 0..<(newerRecords == 0 ? 0 : InterrogateReport.maximumRecords) {
                let id = CommandID.random()
                let reply = PumpReply.executed(.setAlarmConfiguration, CommandReceipt(commandId: id, executedAtUTCSeconds: sentAt))
                let answered = n < InterrogateReport.maximumRecords - newerRecords ? sentAt - 60 : sentAt + 60
                simulation.pump.outcomes.record(id, requestPlaintext: [UInt8(n)], reply: reply.encoded, utcSeconds: answered)
            }
        }
        let lost = PendingCommand(commandID: CommandID.random().description, command: "bolus", pumpSerial: PumpIdentity.demoSerial,
                                  sentAt: Date(timeIntervalSince1970: TimeInterval(sentAt)), parameters: [:])
        try PendingCommandStore(directory: visit.directory).record(lost)
        let programmer = try await visit.programmer()
        let resolution = try #require(try await programmer.resolvePending())
        #expect(resolution.fate == .neverReceived)
        #expect(resolution.recordMayHaveAgedOut == mayHaveAgedOut)
        await programmer.close()
    }

    /// Q12: with infusion stopped and a prime running, pumpctl's stop is
    /// sent (it ends the prime) instead of "already stopped, nothing sent".
    @Test func stopIsSentDuringAPrime() async throws {
        let visit = SimulatedVisit()
        let primed: PumpReply = visit.transport.with { simulation in
            let expiry = RequestExpiry.after(pumpClock: simulation.pump.clock)
            _ = simulation.pump.execute(.stopInfusion(StopInfusion(commandId: CommandID.random(), expiry: expiry)))
            return simulation.pump.execute(.startBolus(StartBolus(
                commandId: CommandID.random(), expiry: expiry, kind: .prime, doseNanograms: 0, volumeNanolitres: 100_000, durationSeconds: 3_600)))
        }
        guard case .executed(.startBolus, _) = primed else { Issue.record("the prime did not start: \(primed)"); return }
        let programmer = try await visit.programmer()
        let stop = try await programmer.plan(StopCommand())
        #expect(stop.steps.count == 1)
        _ = try await programmer.execute(stop, overrides: [], confirmation: .flag(yes: true))
        #expect(visit.transport.with { $0.pump.mechanics.bolus } == nil)
        await programmer.close()
    }
}
