import Testing
import WandProtocol
@testable import PumpProgrammer

/// A pump whose interrogate report is too large to carry the newest event
/// page leaves it out (PROTOCOL.md 5.2, "Largest replies"); the host then
/// reads page 0 with its own request, one exchange more, and the history a
/// plan is judged on is the same.
@Suite struct LargestInterrogateHostTests {
    /// A weekly flex schedule with `perDay` steps on each of its 7 days.
    static func weekly(perDay: Int, drug: WireDrug, concentration: UInt32, rate: UInt32) -> WirePrescription {
        var steps: [WirePrescription.Step] = []
        for day in 0..<7 {
            for step in 0..<perDay {
                let volume = rate + UInt32(step) * 1_000
                steps.append(.init(startMinute: UInt16(day * 1440 + step * 100), volumeRateNanolitresPerDay: volume,
                                   doseRateNanogramsPerDay: UInt32(UInt64(volume) * UInt64(concentration) / 1_000_000)))
            }
        }
        return WirePrescription(drug: drug, concentrationNanogramsPerMillilitre: concentration,
                                indication: drug == .baclofen ? .spasticitySpinal : .chronicPain, mode: .flex, cycle: .weekly,
                                steps: steps, catheterVolumeNanolitres: 260_000)
    }

    @Test func theNewestEventPageLeftOutOfALargeReportIsReadWithItsOwnRequest() async throws {
        let visit = SimulatedVisit()
        // Another laptop's threshold changes, a 70-step baclofen schedule,
        // then a refill changing to morphine with a 91-step one: the line
        // still holds baclofen, so the report carries both schedules.
        let refusals: [PumpRefusal?] = visit.transport.with { simulation in
            var refusals: [PumpRefusal?] = []
            func run(_ request: PumpRequest) { refusals.append(simulation.pump.execute(request).refusal) }
            func expiry() -> RequestExpiry { .after(pumpClock: simulation.pump.clock) }
            for index in UInt32(1)...8 {
                run(.setAlarmConfiguration(SetAlarmConfiguration(commandId: CommandID.random(), expiry: expiry(),
                                                                 lowReservoirThresholdNanolitres: 2_000_000 + index * 1_000)))
            }
            let baclofen = Self.weekly(perDay: 10, drug: .baclofen, concentration: 2_000_000, rate: 200_000)
            run(.stagePrescription(StagePrescription(commandId: CommandID.random(), expiry: expiry(), prescription: baclofen)))
            run(.commitStagedPrescription(CommitStagedPrescription(commandId: CommandID.random(), expiry: expiry(), stagedHash: baclofen.hash)))
            run(.refillBegin(RefillBegin(commandId: CommandID.random(), expiry: expiry())))
            let morphine = Self.weekly(perDay: 13, drug: .morphine, concentration: 10_000_000, rate: 100_000)
            run(.refillComplete(RefillComplete(commandId: CommandID.random(), expiry: expiry(), withdrawnNanolitres: 12_000_000,
                                               addedNanolitres: 18_000_000, drug: .morphine, concentrationNanogramsPerMillilitre: 10_000_000,
                                               newPrescription: morphine)))
            return refusals
        }
        #expect(refusals.allSatisfy { $0 == nil }, "\(refusals)")
        let programmer = try await visit.programmer(reviewReuse: .seconds(10))
        let (status, _) = try await programmer.interrogate(includingNewestEvents: true)
        // Opening and interrogate; the report came without the page.
        #expect(await ExchangeCountTests.frames(programmer) == (2, 0))
        #expect(await programmer.newestEventsRead == nil)
        let history = try #require(await programmer.pumpHistory(status: status, window: 86_400))
        // One more exchange: read event log page 0.
        #expect(await ExchangeCountTests.frames(programmer) == (3, 0))
        // Both commits found on it: the baclofen schedule's and the refill's morphine one.
        #expect(history.commits.count == 2)
    }
}
