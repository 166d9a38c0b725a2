import Foundation
import SystemPackage
import Testing
import TestSupport
import WandProtocol
@testable import PumpSimulator

/// Refill pauses delivery; refill cancel is the way out that is not a
/// refill, so a host refused at the residual check or abandoned does not
/// leave a baclofen pump paused.
@Suite struct RefillCancelTests {
    static let start = SimulatorProtocolTests.start
    static let day: Int64 = 86_400

    func host() throws -> SimulatedHost {
        var host = SimulatedHost(simulation: .fresh(hostNow: Self.start), now: Self.start)
        try host.open()
        return host
    }

    static func begin(_ host: inout SimulatedHost, id: UInt8 = 1) throws -> RefillBeginReport {
        guard case let .refillBegun(report) = try host.request(.refillBegin(RefillBegin(commandId: commandID(id), expiry: host.expiry))) else {
            throw SimulatedHost.Failure.noAnswer
        }
        return report
    }

    @Test func refillBeginPausesDeliveryAndTheResidualCanBeReadBack() throws {
        var host = try host()
        let begun = try Self.begin(&host)
        let delivered = host.simulation.pump.mechanics.deliveredNanograms
        // Up to the refill time limit (RefillTimeLimitTests go past it).
        try host.wait(seconds: SimulatedPump.refillTimeLimit - 1)
        #expect(host.simulation.pump.mechanics.deliveredNanograms == delivered)
        let status = try host.interrogate()
        #expect(status.infusionState == .refillInProgress)
        // Nothing was pumped while paused, so the reservoir still holds
        // exactly the residual refill begin reported.
        #expect(status.reservoirVolumeNanolitres == begun.expectedResidualNanolitres)
    }

    @Test func cancelResumesDeliveryWithReservoirAndPrescriptionUnchanged() throws {
        var host = try host()
        let before = try host.interrogate()
        _ = try Self.begin(&host)
        let cancel = RefillCancel(commandId: commandID(2), expiry: host.expiry)
        #expect(try host.request(.refillCancel(cancel))
                == .executed(.refillCancel, CommandReceipt(commandId: commandID(2), executedAtUTCSeconds: Self.start)))
        let after = try host.interrogate()
        #expect(after.infusionState == .infusing)
        #expect(after.reservoirVolumeNanolitres == before.reservoirVolumeNanolitres)
        #expect(after.reservoirDrug == before.reservoirDrug)
        #expect(after.reservoirConcentrationNanogramsPerMillilitre == before.reservoirConcentrationNanogramsPerMillilitre)
        #expect(after.prescription == before.prescription)
        #expect(after.prescriptionHash == before.prescriptionHash)
        #expect(after.lastChangeUTCSeconds == before.lastChangeUTCSeconds)
        // Delivery runs again: 0.2 mL/day x 2000 mcg/mL = 400 mcg in a day.
        let delivered = host.simulation.pump.mechanics.deliveredNanograms
        try host.wait(seconds: Self.day)
        #expect(host.simulation.pump.mechanics.deliveredNanograms - delivered == 400_000)
    }

    @Test func aPumpStoppedBeforeTheRefillStaysStoppedAfterTheCancel() throws {
        var host = try host()
        #expect(try host.request(.stopInfusion(StopInfusion(commandId: commandID(1), expiry: host.expiry))).refusal == nil)
        _ = try Self.begin(&host, id: 2)
        #expect(try host.request(.refillCancel(RefillCancel(commandId: commandID(3), expiry: host.expiry))).refusal == nil)
        #expect(try host.interrogate().infusionState == .stopped)
        let delivered = host.simulation.pump.mechanics.deliveredNanograms
        try host.wait(seconds: Self.day)
        #expect(host.simulation.pump.mechanics.deliveredNanograms == delivered)
    }

    @Test func theEventLogRecordsTheCancelWithTheReservoirVolume() throws {
        var host = try host()
        _ = try Self.begin(&host)
        _ = try host.request(.refillCancel(RefillCancel(commandId: commandID(2), expiry: host.expiry)))
        let last = try #require(host.simulation.pump.eventLog.entries.last)
        #expect(last.code == 0x0042)
        #expect(last.code == PumpEventCode.refillCancelled.rawValue)
        #expect(last.detail == 12_000_000)
        #expect(last.time == Self.start)
    }

    @Test func cancelWithoutARefillInProgressIsRefusedAndChangesNothing() throws {
        var host = try host()
        let before = host.simulation.pump
        #expect(try host.request(.refillCancel(RefillCancel(commandId: commandID(1), expiry: host.expiry))) == .refused(.refillCancel, .notInRefill))
        #expect(host.simulation.pump.mechanics == before.mechanics)
        #expect(host.simulation.pump.eventLog.entries.last?.code == PumpEventCode.commandRefused.rawValue)
        #expect(host.simulation.pump.eventLog.entries.last?.detail == 0x13)
        // And after a completed refill there is none in progress either.
        _ = try Self.begin(&host, id: 2)
        let complete = RefillComplete(commandId: commandID(3), expiry: host.expiry, withdrawnNanolitres: 12_000_000, addedNanolitres: 18_000_000,
                                      drug: .baclofen, concentrationNanogramsPerMillilitre: 2_000_000, newPrescription: nil)
        #expect(try host.request(.refillComplete(complete)).refusal == nil)
        #expect(try host.request(.refillCancel(RefillCancel(commandId: commandID(4), expiry: host.expiry))) == .refused(.refillCancel, .notInRefill))
    }

    @Test func aRepeatedCancelIsAnsweredFromTheOutcomeStoreAndRunsOnce() throws {
        var host = try host()
        _ = try Self.begin(&host)
        let cancel = PumpRequest.refillCancel(RefillCancel(commandId: commandID(2), expiry: host.expiry))
        let first = try host.request(cancel)
        // A new refill, then the same cancel again (a host retrying after a
        // lost reply, in a new session): the stored reply, not a second cancel.
        _ = try Self.begin(&host, id: 3)
        try host.open()
        #expect(try host.request(cancel) == first)
        #expect(try host.interrogate().infusionState == .refillInProgress)
        #expect(host.simulation.pump.eventLog.entries.filter { $0.code == PumpEventCode.refillCancelled.rawValue }.count == 1)
        guard case let .outcome(report) = try host.request(.queryCommandOutcome(QueryCommandOutcome(commandId: commandID(2)))) else {
            Issue.record("no outcome report"); return
        }
        #expect(try report.decodedReply() == first)
    }

    @Test func duringARefillOnlyItsEndIsAccepted() throws {
        var host = try host()
        _ = try Self.begin(&host)
        #expect(try host.request(.resumeInfusion(ResumeInfusion(commandId: commandID(2), expiry: host.expiry))) == .refused(.resumeInfusion, .refillInProgress))
        let bolus = StartBolus(commandId: commandID(3), expiry: host.expiry, kind: .therapeutic, doseNanograms: 100_000, volumeNanolitres: 50_000,
                               durationSeconds: 3600)
        #expect(try host.request(.startBolus(bolus)) == .refused(.startBolus, .refillInProgress))
        #expect(try host.request(.stopInfusion(StopInfusion(commandId: commandID(4), expiry: host.expiry))) == .refused(.stopInfusion, .refillInProgress))
        #expect(try host.request(.refillBegin(RefillBegin(commandId: commandID(5), expiry: host.expiry))) == .refused(.refillBegin, .refillInProgress))
        #expect(try host.interrogate().infusionState == .refillInProgress)
        #expect(try host.request(.refillCancel(RefillCancel(commandId: commandID(6), expiry: host.expiry))).refusal == nil)
        #expect(try host.interrogate().infusionState == .infusing)
    }

    @Test func refillBeginEndsABolusInProgressAndTheCancelDoesNotRestartIt() throws {
        var host = try host()
        let bolus = StartBolus(commandId: commandID(1), expiry: host.expiry, kind: .therapeutic, doseNanograms: 100_000, volumeNanolitres: 50_000,
                               durationSeconds: 3600)
        #expect(try host.request(.startBolus(bolus)).refusal == nil)
        try host.wait(seconds: 1800)
        _ = try Self.begin(&host, id: 2)
        #expect(host.simulation.pump.mechanics.bolus == nil)
        // Half of the 50 uL bolus was left when the refill began.
        let cut = host.simulation.pump.eventLog.entries.last { $0.code == PumpEventCode.bolusCancelled.rawValue }
        #expect(cut?.detail == 25_000)
        #expect(try host.request(.refillCancel(RefillCancel(commandId: commandID(3), expiry: host.expiry))).refusal == nil)
        #expect(try host.interrogate().infusionState == .infusing)
        #expect(host.simulation.pump.mechanics.bolus == nil)
    }

    @Test func aCompletedRefillResumesDeliveryAsItWasBeforeTheBegin() throws {
        var host = try host()
        #expect(try host.request(.stopInfusion(StopInfusion(commandId: commandID(1), expiry: host.expiry))).refusal == nil)
        _ = try Self.begin(&host, id: 2)
        let complete = RefillComplete(commandId: commandID(3), expiry: host.expiry, withdrawnNanolitres: 12_000_000, addedNanolitres: 18_000_000,
                                      drug: .baclofen, concentrationNanogramsPerMillilitre: 2_000_000, newPrescription: nil)
        #expect(try host.request(.refillComplete(complete)).refusal == nil)
        let status = try host.interrogate()
        #expect(status.infusionState == .stopped)
        #expect(status.reservoirVolumeNanolitres == 18_000_000)
    }

    @Test func aRefillInProgressSurvivesASaveAndLoadAndIsCancelledAfterwards() throws {
        var host = try host()
        #expect(try host.request(.stopInfusion(StopInfusion(commandId: commandID(1), expiry: host.expiry))).refusal == nil)
        _ = try Self.begin(&host, id: 2)
        let directoryFolder = try TemporaryDirectory(prefix: "pumpwand-refillcancel")
        defer { directoryFolder.remove() }
        let directory = URL(fileURLWithPath: directoryFolder.path)
        let file = SimulatorStateFile(path: FilePath(directory.appendingPathComponent("simulator.json").path))
        try file.save(host.simulation)
        let loaded = try file.load()
        #expect(loaded.pump == host.simulation.pump)
        #expect(loaded.pump.infusionStoppedBeforeRefill == true)
        var restarted = SimulatedHost(simulation: loaded, now: host.now)
        try restarted.open()
        #expect(try restarted.request(.refillCancel(RefillCancel(commandId: commandID(3), expiry: host.expiry))).refusal == nil)
        #expect(try restarted.interrogate().infusionState == .stopped)
    }
}
