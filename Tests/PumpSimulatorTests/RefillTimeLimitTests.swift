import Foundation
import SystemPackage
import Testing
import TestSupport
import WandProtocol
@testable import PumpSimulator

/// A refill left open (the host crashed, the wand was unplugged, the
/// technician walked away) must not pause delivery for ever: past
/// `SimulatedPump.refillTimeLimit` the pump ends it as abandoned, puts
/// delivery back as it was and raises alarm 0x0008 until a refill complete
/// measures the reservoir again (H160, H161).
@Suite struct RefillTimeLimitTests {
    static let start = SimulatorProtocolTests.start
    static let day: Int64 = 86_400
    static let limit = SimulatedPump.refillTimeLimit

    func host() throws -> SimulatedHost {
        var host = SimulatedHost(simulation: .fresh(hostNow: Self.start), now: Self.start)
        try host.open()
        return host
    }

    static func complete(_ id: UInt8, prescription: WirePrescription? = nil, expiry: RequestExpiry) -> PumpRequest {
        .refillComplete(RefillComplete(commandId: commandID(id), expiry: expiry, withdrawnNanolitres: 12_000_000, addedNanolitres: 18_000_000,
                                       drug: .baclofen, concentrationNanogramsPerMillilitre: 2_000_000,
                                       newPrescription: prescription))
    }

    func events(_ host: SimulatedHost, _ code: PumpEventCode) -> [EventLog.Entry] {
        host.simulation.pump.eventLog.entries.filter { $0.code == code.rawValue }
    }

    @Test func theLimitIsThirtyMinutes() {
        #expect(Self.limit == 1_800)
    }

    @Test func beforeTheLimitTheRefillIsStillOpen() throws {
        var host = try host()
        _ = try RefillCancelTests.begin(&host)
        try host.wait(seconds: Self.limit - 1)
        let status = try host.interrogate()
        #expect(status.infusionState == .refillInProgress)
        #expect(!status.activeAlarms.contains(.refillAbandoned))
        #expect(events(host, .refillAbandoned).isEmpty)
        // And it can still be completed.
        #expect(try host.request(Self.complete(2, expiry: host.expiry)).refusal == nil)
        #expect(try host.interrogate().infusionState == .infusing)
    }

    @Test func pastTheLimitThePumpEndsTheRefillResumesDeliveryAndRaisesTheAlarm() throws {
        var host = try host()
        let before = try host.interrogate()
        let begun = try RefillCancelTests.begin(&host)
        let delivered = host.simulation.pump.mechanics.deliveredNanograms
        try host.wait(seconds: Self.limit)
        // Nothing was pumped during the pause.
        #expect(host.simulation.pump.mechanics.deliveredNanograms == delivered)
        let after = try host.interrogate()
        #expect(after.infusionState == .infusing)
        #expect(after.activeAlarms.contains(.refillAbandoned))
        #expect(after.prescriptionHash == before.prescriptionHash)
        #expect(after.lastChangeUTCSeconds == before.lastChangeUTCSeconds)
        #expect(host.simulation.pump.refillExpectedResidual == nil)
        let abandoned = try #require(events(host, .refillAbandoned).last)
        #expect(abandoned.code == 0x0044)
        #expect(abandoned.time == Self.start + Self.limit)
        #expect(abandoned.detail == begun.expectedResidualNanolitres)
        let alarm = try #require(events(host, .alarmRaised).last)
        #expect(alarm.detail == 0x0008)
        #expect(alarm.time == Self.start + Self.limit)
        // Delivery runs again at the programmed rate: 0.2 mL/day x 2 mg/mL.
        let resumed = host.simulation.pump.mechanics.deliveredNanograms
        try host.wait(seconds: Self.day)
        #expect(host.simulation.pump.mechanics.deliveredNanograms - resumed == 400_000)
    }

    @Test func aLongAbsenceEndsTheRefillAtTheLimitNotAtTheReturn() throws {
        var host = try host()
        _ = try RefillCancelTests.begin(&host)
        let delivered = host.simulation.pump.mechanics.deliveredNanograms
        // One advance of a day and a half hour: the pump resumed at the
        // limit, so it delivered a full day's 400 mcg by the return.
        try host.wait(seconds: Self.limit + Self.day)
        #expect(host.simulation.pump.mechanics.deliveredNanograms - delivered == 400_000)
        #expect(events(host, .refillAbandoned).first?.time == Self.start + Self.limit)
    }

    @Test func aPumpStoppedBeforeTheRefillStaysStoppedWhenItIsAbandoned() throws {
        var host = try host()
        #expect(try host.request(.stopInfusion(StopInfusion(commandId: commandID(1), expiry: host.expiry))).refusal == nil)
        _ = try RefillCancelTests.begin(&host, id: 2)
        try host.wait(seconds: Self.limit + 60)
        let status = try host.interrogate()
        #expect(status.infusionState == .stopped)
        #expect(status.activeAlarms.contains(.refillAbandoned))
        let delivered = host.simulation.pump.mechanics.deliveredNanograms
        try host.wait(seconds: Self.day)
        #expect(host.simulation.pump.mechanics.deliveredNanograms == delivered)
    }

    @Test func aCompleteAfterTheLimitIsRefusedAsNotInRefillAndChangesNothing() throws {
        var host = try host()
        _ = try RefillCancelTests.begin(&host)
        try host.wait(seconds: Self.limit + 1)
        let before = host.simulation.pump
        #expect(try host.request(Self.complete(2, expiry: host.expiry)) == .refused(.refillComplete, .notInRefill))
        #expect(host.simulation.pump.mechanics.reservoir == before.mechanics.reservoir)
        #expect(host.simulation.pump.prescription == before.prescription)
        #expect(try host.interrogate().activeAlarms.contains(.refillAbandoned))
    }

    @Test func onlyARefillCompleteClearsTheAlarm() throws {
        var host = try host()
        _ = try RefillCancelTests.begin(&host)
        try host.wait(seconds: Self.limit)
        // A cancelled refill exchanged nothing: the doubt stays.
        _ = try RefillCancelTests.begin(&host, id: 2)
        #expect(try host.request(.refillCancel(RefillCancel(commandId: commandID(3), expiry: host.expiry))).refusal == nil)
        #expect(try host.interrogate().activeAlarms.contains(.refillAbandoned))
        _ = try RefillCancelTests.begin(&host, id: 4)
        #expect(try host.request(Self.complete(5, expiry: host.expiry)).refusal == nil)
        let status = try host.interrogate()
        #expect(!status.activeAlarms.contains(.refillAbandoned))
        #expect(status.reservoirVolumeNanolitres == 18_000_000)
    }

    @Test func aSecondAbandonedRefillLogsItsEndButNoSecondAlarm() throws {
        var host = try host()
        _ = try RefillCancelTests.begin(&host)
        try host.wait(seconds: Self.limit)
        _ = try RefillCancelTests.begin(&host, id: 2)
        try host.wait(seconds: Self.limit)
        #expect(events(host, .refillAbandoned).count == 2)
        #expect(events(host, .alarmRaised).filter { $0.detail == 0x0008 }.count == 1)
        #expect(try host.interrogate().infusionState == .infusing)
    }

    @Test func theLimitCountsFromRefillBeginAcrossAPowerCycle() throws {
        var host = try host()
        _ = try RefillCancelTests.begin(&host)
        try host.wait(seconds: Self.limit / 2)
        let temporary = try TemporaryDirectory(prefix: "pumpwand-refill-limit")
        defer { temporary.remove() }
        let folder = URL(fileURLWithPath: temporary.path)
        let file = SimulatorStateFile(path: FilePath(folder.appendingPathComponent("simulator.json").path))
        try file.save(host.simulation)
        let loaded = try file.load()
        #expect(loaded.pump.refillBegunAt == Self.start)
        var restarted = SimulatedHost(simulation: loaded, now: host.now)
        try restarted.wait(seconds: Self.limit / 2)
        #expect(try restarted.interrogate().infusionState == .infusing)
        #expect(events(restarted, .refillAbandoned).first?.time == Self.start + Self.limit)
    }

    // A refill complete carrying a prescription puts delivery back as it
    // was before refill begin; it does not start a stopped pump (H162).

    @Test func aCompleteWithAPrescriptionLeavesAStoppedPumpStopped() throws {
        var host = try host()
        #expect(try host.request(.stopInfusion(StopInfusion(commandId: commandID(1), expiry: host.expiry))).refusal == nil)
        _ = try RefillCancelTests.begin(&host, id: 2)
        let next = Prescriptions.continuous(rate: 300_000)
        #expect(try host.request(Self.complete(3, prescription: next, expiry: host.expiry)).refusal == nil)
        let status = try host.interrogate()
        #expect(status.prescriptionHash == next.hash)
        #expect(status.infusionState == .stopped)
        let delivered = host.simulation.pump.mechanics.deliveredNanograms
        try host.wait(seconds: Self.day)
        #expect(host.simulation.pump.mechanics.deliveredNanograms == delivered)
    }

    @Test func aCompleteWithAPrescriptionOnARunningPumpRunsTheNewRate() throws {
        var host = try host()
        _ = try RefillCancelTests.begin(&host)
        let next = Prescriptions.continuous(rate: 300_000)
        #expect(try host.request(Self.complete(2, prescription: next, expiry: host.expiry)).refusal == nil)
        #expect(try host.interrogate().infusionState == .infusing)
        let delivered = host.simulation.pump.mechanics.deliveredNanograms
        try host.wait(seconds: Self.day)
        // 0.3 mL/day x 2 mg/mL.
        #expect(host.simulation.pump.mechanics.deliveredNanograms - delivered == 600_000)
    }
}
