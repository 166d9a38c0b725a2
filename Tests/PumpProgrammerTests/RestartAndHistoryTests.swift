import Foundation
import PumpSimulator
import Testing
import Therapy
import WandProtocol
@testable import PumpProgrammer

/// Restarts after a stop, an event log that wrapped, and a bolus's opioid
/// tolerance, on the simulated pump through the whole pipeline.
@Suite struct RestartAndHistoryTests {
    static let reason = LimitsTests.reason

    static func baclofen(_ mcg: Int64) -> Prescription {
        LimitsTests.continuous(.baclofen, .mcgPerML(2000), .mcgPerDay(mcg), indication: .spinal)
    }

    /// A pump running `dose`, stopped by the technician `ago` seconds before the returned programmer's session.
    static func stopped(running dose: Int64, for ago: Int64) async throws -> (SimulatedVisit, Programmer) {
        let visit = try SimulatedVisit(holding: Self.baclofen(dose))
        let programmer = try await visit.programmer()
        _ = try await programmer.stop(overrides: [Override(code: .withdrawalRisk, reason: Self.reason)], confirmation: .flag(yes: true))
        visit.clock.advance(ago)
        return (visit, try await visit.programmer())
    }

    @Test func aStoppedPumpGoingTo1000McgBaclofenIsTitratedAndAfterALongStopIsAStart() async throws {
        // Stopped a few minutes: titrated from the 400 mcg/day it still holds.
        let (_, brief) = try await Self.stopped(running: 400, for: 300)
        let soon = try await brief.review(Self.baclofen(1_000))
        #expect(soon.findings.warnings.map(\.code).contains(.titrationAboveLimit))
        #expect(!soon.findings.findings.map(\.code).contains(.startAboveHardMax))
        // Stopped two days: a start as well, and 1000 is above the 800 mcg/day hard maximum.
        let (visit, later) = try await Self.stopped(running: 400, for: 2 * 86_400)
        let plan = try await later.review(Self.baclofen(1_000))
        #expect(plan.findings.errors.map(\.code) == [.startAboveHardMax])
        #expect(plan.findings.warnings.map(\.code).contains(.titrationAboveLimit))
        let error = await failure {
            try await later.execute(plan, overrides: plan.findings.warnings.map { Override(code: $0.code, reason: Self.reason) },
                                    confirmation: .flag(yes: true))
        }
        guard case .refusedByPolicy? = error else {
            Issue.record("a restart above the start-dose hard maximum must be refused, not \(String(describing: error))")
            return
        }
        #expect(visit.transport.with { $0.pump.mechanics.infusionStopped })
    }

    @Test func aRestartFromTheStoppedModeIsTitratedFromThePumpsLastDeliveringCommit() async throws {
        let visit = SimulatedVisit()
        let programmer = try await visit.programmer()
        let first = try await programmer.review(Self.baclofen(420))
        _ = try await programmer.execute(first, overrides: first.findings.warnings.map { Override(code: $0.code, reason: Self.reason) },
                                         confirmation: .flag(yes: true))
        let stop = try await programmer.review(LimitsTests.stopped(.baclofen, .mcgPerML(2000), indication: .spinal))
        _ = try await programmer.execute(stop, overrides: stop.findings.warnings.map { Override(code: $0.code, reason: Self.reason) },
                                         confirmation: .flag(yes: true))
        visit.clock.advance(3_600)
        let restart = try await visit.programmer().review(Self.baclofen(700))
        // A start (soft above 200 mcg/day), and +67% on the 420 mcg/day delivered before the stop.
        #expect(restart.findings.warnings.map(\.code).contains(.startAboveSoftMax))
        let titration = restart.findings.warnings.first { $0.code == .titrationAboveLimit }
        #expect(titration?.message.contains("from the last delivering prescription") == true)
        #expect(titration?.message.contains("420mcg/day") == true)
    }

    @Test func resumingAfterALongStopIsHeldToTheStartDose() async throws {
        let (visit, later) = try await Self.stopped(running: 1_000, for: 2 * 86_400)
        let plan = try await later.plan(ResumeCommand())
        #expect(plan.findings.errors.map(\.code) == [.startAboveHardMax])
        #expect(plan.findings.errors.first?.message.contains("resuming restarts 1000mcg/day") == true)
        await #expect(throws: ProgrammerError.self) { _ = try await later.execute(plan, overrides: [], confirmation: .flag(yes: true)) }
        #expect(visit.transport.with { $0.pump.mechanics.infusionStopped })
        // A short stop resumes as before.
        let (_, brief) = try await Self.stopped(running: 1_000, for: 600)
        let resume = try await brief.plan(ResumeCommand())
        #expect(resume.findings.findings.isEmpty)
    }

    /// Replaces the pump's log with a small ring that has wrapped within the
    /// last hour: the boluses of the day before it are gone.
    static func wrapLog(_ visit: SimulatedVisit) {
        visit.transport.with { simulation in
            var log = EventLog(capacity: 8)
            let now = simulation.pump.clock
            for second in 0..<20 {
                log.append(time: now - 3_600 + Int64(second), code: PumpEventCode.alarmThresholdSet.rawValue, detail: 2_000_000)
            }
            simulation.pump.eventLog = log
        }
    }

    @Test func aWrappedEventLogStopsTheCumulativeRulesPassingSilently() async throws {
        let visit = SimulatedVisit()
        Self.wrapLog(visit)
        let programmer = try await visit.programmer(secondOperator: nil)
        // A bolus: refused, since the boluses of the last 24 h are not known.
        let bolus = try await programmer.plan(BolusCommand(request: .init(kind: .therapeutic, dose: .mcg(50), duration: .minutes(10))))
        #expect(bolus.findings.errors.map(\.code) == [.bolusHistoryUnknown])
        #expect(bolus.findings.errors.first?.message.contains("wrapped") == true)
        // A prescription: a finding, and a second provider must confirm it.
        let plan = try await programmer.review(Self.baclofen(450))
        #expect(plan.findings.warnings.map(\.code) == [.doseHistoryIncomplete])
        #expect(plan.secondProvider == .incompleteHistory)
        let overrides = plan.findings.warnings.map { Override(code: $0.code, reason: Self.reason) }
        let error = await failure { try await programmer.execute(plan, overrides: overrides, confirmation: .flag(yes: true)) }
        guard case .refusedByPolicy(let why)? = error else {
            Issue.record("a change over an incomplete history needs a second provider, not \(String(describing: error))")
            return
        }
        #expect(why.contains("second provider"))
        let witnessed = try await visit.programmer(secondOperator: "nurse.b")
        let again = try await witnessed.review(Self.baclofen(450))
        _ = try await witnessed.execute(again, overrides: overrides, confirmation: .flag(yes: true))
        #expect(visit.transport.with { $0.pump.prescription.continuousDoseRateNanogramsPerDay } == 450_000)
    }

    @Test func aGapInTheEventLogEndsWhatItCovers() async throws {
        let visit = SimulatedVisit()
        let now = visit.transport.with { $0.pump.clock }
        let code = Int(PumpEventCode.alarmThresholdSet.rawValue)
        // The pump's first event two days ago, then entries 1 to 5 missing
        // (a bolus among them, say), then 6 to 9 in the last hour.
        var entries: [[String: Any]] = [["index": 0, "time": now - 2 * 86_400, "code": code, "detail": 0]]
        for index in 6...9 { entries.append(["index": index, "time": now - 3_600 + Int64(index), "code": code, "detail": 0]) }
        let data = try JSONSerialization.data(withJSONObject: ["capacity": 512, "entries": entries, "nextIndex": 10, "dropped": 0])
        let log = try JSONDecoder().decode(EventLog.self, from: data)
        visit.transport.with { $0.pump.eventLog = log }
        let programmer = try await visit.programmer()
        let bolus = try await programmer.plan(BolusCommand(request: .init(kind: .therapeutic, dose: .mcg(50), duration: .minutes(10))))
        #expect(bolus.findings.errors.map(\.code) == [.bolusHistoryUnknown])
    }

    @Test func aWrappedLogMakesTheIncreaseCountNeedASecondProvider() async throws {
        let visit = try SimulatedVisit(holding: LimitsTests.continuous(.ziconotide, .mcgPerML(25), .ngPerDay(2_400)))
        Self.wrapLog(visit)
        let programmer = try await visit.programmer()
        let plan = try await programmer.review(LimitsTests.continuous(.ziconotide, .mcgPerML(25), .ngPerDay(4_800)))
        #expect(Set(plan.findings.warnings.map(\.code)) == [.titrationHistoryUnknown, .doseHistoryIncomplete])
        #expect(plan.secondProvider == .incompleteHistory)
    }

    @Test func aBolusCannotDeclareAToleranceThePrescriptionDidNot() async throws {
        // The pump holds morphine programmed elsewhere: no record of a declared tolerance.
        let visit = try SimulatedVisit(holding: LimitsTests.continuous(.morphine, .mgPerML(10), .mgPerDay(5), tolerance: .tolerant))
        let programmer = try await visit.programmer()
        let request = BolusPlan.Request(kind: .therapeutic, dose: .ng(800_000), duration: .minutes(30), opioidTolerance: .tolerant)
        let unknown = try await programmer.plan(BolusCommand(request: request))
        // 0.8 mg is within the tolerant 1 mg, above the opioid-naive 0.5 mg.
        #expect(unknown.findings.errors.map(\.code).contains(.bolusAboveHardMax))
        // Programmed here as opioid-tolerant, the same bolus is held to the tolerant limits.
        let program = try await programmer.review(LimitsTests.continuous(.morphine, .mgPerML(10), .mgPerDay(6), tolerance: .tolerant))
        _ = try await programmer.execute(program, overrides: program.findings.warnings.map { Override(code: $0.code, reason: Self.reason) },
                                         confirmation: .flag(yes: true))
        let declared = try await programmer.plan(BolusCommand(request: request))
        #expect(declared.findings.errors.isEmpty)
        // Programmed as opioid-naive, a bolus saying tolerant is naive again.
        visit.clock.advance(2 * 86_400)
        let programmer2 = try await visit.programmer()
        let naive = try await programmer2.review(LimitsTests.continuous(.morphine, .mgPerML(10), .ngPerDay(900_000), tolerance: .naive))
        _ = try await programmer2.execute(naive, overrides: naive.findings.warnings.map { Override(code: $0.code, reason: Self.reason) },
                                         confirmation: .flag(yes: true))
        let stricter = try await visit.programmer().plan(BolusCommand(request: request))
        #expect(stricter.findings.errors.map(\.code).contains(.bolusAboveHardMax))
    }
}
