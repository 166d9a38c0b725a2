import Foundation
import StateFiles
import SystemPackage
import Testing
import TestSupport
import Therapy
import WandLink
import WandProtocol
@testable import PumpSimulator

/// The simulated pump through the real protocol: framing, handshake,
/// sealing and the command-outcome store, as a programmer sees it.
@Suite struct SimulatorProtocolTests {
    static let start: Int64 = 1_800_000_000 // 2027-01-15T08:00:00Z

    func host() throws -> SimulatedHost {
        var host = SimulatedHost(simulation: .fresh(hostNow: Self.start), now: Self.start)
        try host.open()
        return host
    }

    @Test func interrogateShowsTheFreshPump() throws {
        var host = try host()
        let report = try host.interrogate()
        #expect(report.serial == PumpIdentity.demoSerial)
        #expect(report.reservoirCapacityNanolitres == 20_000_000) // RP-20
        #expect(report.reservoirDrug == .baclofen)
        #expect(report.reservoirConcentrationNanogramsPerMillilitre == 2_000_000) // 2000 mcg/mL
        #expect(report.prescription.mode == .continuous)
        #expect(report.prescription.continuousVolumeRateNanolitresPerDay == 200_000) // 0.2 mL/day
        #expect(report.prescription.continuousDoseRateNanogramsPerDay == 400_000) // 400 mcg/day
        #expect(report.reservoirVolumeNanolitres == 12_000_000) // 12 mL
        #expect(report.activeAlarms.isEmpty)
        #expect(report.infusionState == .infusing)
        #expect(report.clock.utcSeconds == Self.start)
    }

    @Test func stageCommitAndReadBack() throws {
        var host = try host()
        let next = Prescriptions.continuous(rate: 300_000)
        guard case let .staged(receipt) = try host.request(.stagePrescription(.init(commandId: commandID(1), expiry: host.expiry, prescription: next)))
        else { Issue.record("not staged"); return }
        #expect(receipt.stagedHash == next.hash)
        #expect(try host.interrogate().stagedHash == next.hash)
        let committed = try host.request(.commitStagedPrescription(.init(commandId: commandID(2), expiry: host.expiry, stagedHash: receipt.stagedHash)))
        #expect(committed.opcode == .commitStagedPrescription && committed.refusal == nil)
        guard case let .prescription(readBack) = try host.request(.readPrescription(.init())) else {
            Issue.record("no prescription report"); return
        }
        #expect(readBack.prescription == next)
        #expect(readBack.hash == next.hash)
        // 0.3 mL/day from now: one day later 12 - 0.3 = 11.7 mL remain.
        try host.wait(seconds: 86_400)
        #expect(try host.interrogate().reservoirVolumeNanolitres == 11_700_000)
    }

    @Test func commitOfAnotherHashIsRefused() throws {
        var host = try host()
        _ = try host.request(.stagePrescription(.init(commandId: commandID(1), expiry: host.expiry, prescription: Prescriptions.continuous(rate: 300_000))))
        let other = Prescriptions.continuous(rate: 250_000).hash
        #expect(try host.request(.commitStagedPrescription(.init(commandId: commandID(2), expiry: host.expiry, stagedHash: other))).refusal == .stagedHashMismatch)
        #expect(try host.interrogate().prescription.continuousVolumeRateNanolitresPerDay == 200_000)
    }

    @Test func thePumpKeepsItsOwnHardLimits() throws {
        var host = try host()
        func stage(_ prescription: WirePrescription, _ id: UInt8) throws -> PumpRefusal? {
            try host.request(.stagePrescription(.init(commandId: commandID(id), expiry: host.expiry, prescription: prescription))).refusal
        }
        // 1000 mcg/mL prescribed, 2000 mcg/mL in the reservoir.
        #expect(try stage(Prescriptions.continuous(rate: 400_000, concentration: 1_000_000), 1) == .drugMismatch)
        // RP-20 maximum continuous rate is 24 mL/day; 24.001 mL/day is above it.
        #expect(try stage(Prescriptions.continuous(rate: 24_001_000), 2) == .prescriptionInvalid)
        // 0.2 mL/day x 2000 mcg/mL = 400 mcg/day; the figure says 4000 mcg/day (a 10x error).
        var tenfold = Prescriptions.continuous(rate: 200_000)
        tenfold.continuousDoseRateNanogramsPerDay = 4_000_000
        #expect(try stage(tenfold, 3) == .prescriptionInvalid)
        #expect(try host.interrogate().stagedHash == nil)
    }

    @Test func refillChecksCapacityAndConcentrationChanges() throws {
        var host = try host()
        guard case let .refillBegun(begun) = try host.request(.refillBegin(.init(commandId: commandID(1), expiry: host.expiry))) else {
            Issue.record("refill not begun"); return
        }
        #expect(begun.expectedResidualNanolitres == 12_000_000)
        // The residual is withdrawn completely; 21 mL added would overfill 20 mL.
        let overfill = RefillComplete(commandId: commandID(2), expiry: host.expiry, withdrawnNanolitres: 12_000_000, addedNanolitres: 21_000_000, drug: .baclofen,
                                      concentrationNanogramsPerMillilitre: 2_000_000, newPrescription: nil)
        #expect(try host.request(.refillComplete(overfill)).refusal == .reservoirOverfill)
        // 1000 mcg/mL without a prescription for it.
        let bare = RefillComplete(commandId: commandID(3), expiry: host.expiry, withdrawnNanolitres: 12_000_000, addedNanolitres: 18_000_000, drug: .baclofen,
                                  concentrationNanogramsPerMillilitre: 1_000_000, newPrescription: nil)
        #expect(try host.request(.refillComplete(bare)).refusal == .concentrationChangeNeedsPrescription)
        var unchanged = try host.interrogate()
        #expect(unchanged.reservoirConcentrationNanogramsPerMillilitre == 2_000_000)
        #expect(unchanged.reservoirVolumeNanolitres == 12_000_000)
        // With the prescription for 1000 mcg/mL (0.4 mL/day keeps 400 mcg/day) both change together.
        let next = Prescriptions.continuous(rate: 400_000, concentration: 1_000_000)
        let complete = RefillComplete(commandId: commandID(4), expiry: host.expiry, withdrawnNanolitres: 12_000_000, addedNanolitres: 18_000_000, drug: .baclofen,
                                      concentrationNanogramsPerMillilitre: 1_000_000, newPrescription: next)
        #expect(try host.request(.refillComplete(complete)).refusal == nil)
        unchanged = try host.interrogate()
        #expect(unchanged.reservoirConcentrationNanogramsPerMillilitre == 1_000_000)
        #expect(unchanged.reservoirVolumeNanolitres == 18_000_000)
        #expect(unchanged.prescription == next)
        #expect(unchanged.infusionState == .infusing)
    }

    @Test func aLostReplyIsResolvedFromTheOutcomeStore() throws {
        var host = try host()
        host.simulation.inject(.dropNextResponse)
        let bolus = StartBolus(commandId: commandID(9), expiry: host.expiry, kind: .therapeutic, doseNanograms: 100_000, volumeNanolitres: 50_000,
                               durationSeconds: 3600)
        let (body, counter) = try host.seal(.startBolus(bolus))
        #expect(try host.send(sealed: body, counter: counter) == nil)
        guard case let .outcome(report) = try host.request(.queryCommandOutcome(.init(commandId: commandID(9)))) else {
            Issue.record("no outcome report"); return
        }
        let stored = try report.decodedReply()
        #expect(stored == .executed(.startBolus, CommandReceipt(commandId: commandID(9), executedAtUTCSeconds: Self.start)))
        #expect(try host.interrogate().infusionState == .bolusInProgress)
    }

    @Test func aRepeatedCommandIdIsAnsweredFromTheStoreAndRunsOnce() throws {
        var host = try host()
        let bolus = StartBolus(commandId: commandID(7), expiry: host.expiry, kind: .therapeutic, doseNanograms: 100_000, volumeNanolitres: 50_000,
                               durationSeconds: 3600)
        let first = try host.request(.startBolus(bolus))
        // The same command under a new counter (a host that re-sent after a restart).
        let second = try host.request(.startBolus(bolus))
        #expect(first == second)
        #expect(first.refusal == nil)
        try host.wait(seconds: 2 * 3600)
        #expect(host.simulation.pump.bolusesDelivered == 1)
        // 0.05 mL bolus + 2 h of 0.2 mL/day (16,666.67 nL): 12 mL - 66,666.67 nL, shown rounded down.
        #expect(try host.interrogate().reservoirVolumeNanolitres == 12_000_000 - 66_667)
        // The same id for another request is refused.
        var other = bolus
        other.volumeNanolitres = 60_000
        other.doseNanograms = 120_000
        #expect(try host.request(.startBolus(other)).refusal == .commandIdReused)
    }

    @Test func motorStallStopsDeliveryAndRefusesBoluses() throws {
        var host = try host()
        host.simulation.inject(.motorStall)
        let report = try host.interrogate()
        #expect(report.activeAlarms.contains(.motorStall))
        #expect(report.infusionState == .stopped)
        let bolus = StartBolus(commandId: commandID(1), expiry: host.expiry, kind: .therapeutic, doseNanograms: 100_000, volumeNanolitres: 50_000,
                               durationSeconds: 3600)
        #expect(try host.request(.startBolus(bolus)).refusal == .blockingAlarmActive)
        let pumped = host.simulation.pump.mechanics.pumpedVolume
        try host.wait(seconds: 86_400)
        #expect(host.simulation.pump.mechanics.pumpedVolume == pumped)
    }

    @Test func endOfServiceRefusesTherapyChanges() throws {
        var host = try host()
        host.simulation.inject(.batteryEOS)
        let report = try host.interrogate()
        #expect(report.batteryState == .endOfService)
        #expect(report.activeAlarms.contains(.endOfService))
        let staged = try host.request(.stagePrescription(.init(commandId: commandID(1), expiry: host.expiry, prescription: Prescriptions.continuous(rate: 300_000))))
        #expect(staged.refusal == .batteryEndOfService)
    }

    @Test func electiveReplacementRaisesItsAlarmAndKeepsDelivering() throws {
        var host = try host()
        host.simulation.inject(.batteryERI)
        let report = try host.interrogate()
        #expect(report.batteryState == .electiveReplacement)
        #expect(report.activeAlarms == [.electiveReplacement])
        #expect(report.infusionState == .infusing)
    }

    @Test func outOfRangeIsANegativeAcknowledgement() throws {
        var host = try host()
        host.simulation.inject(.outOfRange)
        let (body, _) = try host.seal(.interrogate(InterrogateRequest()))
        let frames = host.exchange(body)
        #expect(frames.count == 1)
        #expect(frames.first?.header.kind == .negativeAcknowledgement)
        #expect(frames.first.flatMap { try? NegativeAcknowledgement(decoding: $0.payload) } == .pumpNotInRange)
        host.simulation.inject(.inRange)
        #expect(try host.interrogate().serial == PumpIdentity.demoSerial)
    }

    @Test func clockDriftMovesThePumpClock() throws {
        var host = try host()
        host.simulation.inject(.clockDrift, minutes: -7)
        guard case let .clock(time) = try host.request(.readClock(.init())) else { Issue.record("no clock"); return }
        #expect(time.utcSeconds == Self.start - 7 * 60)
    }
}

/// The state file: round trip, and refusal of what it cannot read.
@Suite struct SimulatorStateFileTests {
    /// Holds every folder `temporaryPath` makes; removed when the test ends.
    let temporary = TemporaryDirectory.make(prefix: "pumpwand-simstate")

    func temporaryPath(_ name: String) throws -> FilePath {
        let directory = URL(fileURLWithPath: try temporary.subfolder("simstate-\(UUID().uuidString)"))
        return FilePath(directory.appendingPathComponent(name).path)
    }

    @Test func stateSurvivesASaveAndLoad() throws {
        var host = SimulatedHost(simulation: .fresh(hostNow: SimulatorProtocolTests.start), now: SimulatorProtocolTests.start)
        try host.open()
        let bolus = StartBolus(commandId: commandID(3), expiry: host.expiry, kind: .therapeutic, doseNanograms: 100_000, volumeNanolitres: 50_000,
                               durationSeconds: 3600)
        _ = try host.request(.startBolus(bolus))
        _ = try host.request(.stagePrescription(.init(commandId: commandID(4), expiry: host.expiry, prescription: Prescriptions.continuous(rate: 300_000))))
        try host.wait(seconds: 1800)
        host.simulation.inject(.batteryERI)
        host.simulation.inject(.dropNextRequest)
        let file = SimulatorStateFile(path: try temporaryPath("simulator.json"))
        try file.save(host.simulation)
        let loaded = try file.load()
        #expect(loaded.pump == host.simulation.pump)
        #expect(loaded.pump.outcomes.entries.count == 2)
        #expect(loaded.pump.eventLog == host.simulation.pump.eventLog)
        #expect(loaded.pump.mechanics.bolus != nil)
        #expect(loaded.pendingFaults == [.dropNextRequest])
        #expect(loaded.clockOffset == host.simulation.clockOffset)
        // The outcome store still answers a repeat after the restart.
        var restarted = SimulatedHost(simulation: loaded, now: host.now)
        // The persisted pending fault loses the first request: the handshake.
        #expect(throws: SimulatedHost.Failure.noAnswer) { try restarted.open() }
        try restarted.open()
        #expect(try restarted.request(.startBolus(bolus)) == .executed(.startBolus, CommandReceipt(commandId: commandID(3), executedAtUTCSeconds: SimulatorProtocolTests.start)))
    }

    @Test func aCorruptFileIsRefusedAndLeftAsItIs() throws {
        let path = try temporaryPath("simulator.json")
        let garbage = Array("{\"format_version\": 1, \"identity\": ".utf8)
        try AtomicFile.write(garbage, to: path)
        #expect {
            try SimulatorStateFile(path: path).load()
        } throws: { error in
            guard case SimulatorStateError.corrupt(path: path.string, _) = error else { return false }
            return true
        }
        #expect(try AtomicFile.read(path, limit: 1024) == garbage)
    }

    @Test func aFileFromANewerVersionIsRefusedAndLeftAsItIs() throws {
        let path = try temporaryPath("simulator.json")
        let future = Array("{\"format_version\": 3, \"whatever\": true}".utf8)
        try AtomicFile.write(future, to: path)
        #expect(throws: SimulatorStateError.futureVersion(path: path.string, version: 3, supported: SimulatorStateFile.currentVersion)) {
            try SimulatorStateFile(path: path).load()
        }
        #expect(try AtomicFile.read(path, limit: 1024) == future)
    }
}

/// The server on the in-memory transport, as `pumpctl --simulator` uses it.
@Suite struct SimulatedWandServerTests {
    @Test func servesASessionAndSavesWhenStopped() async throws {
        let directoryFolder = try TemporaryDirectory(prefix: "pumpwand-simserver")
        defer { directoryFolder.remove() }
        let directory = URL(fileURLWithPath: directoryFolder.path)
        let file = SimulatorStateFile(path: FilePath(directory.appendingPathComponent("simulator.json").path))
        let start = SimulatorProtocolTests.start
        let (transport, server) = SimulatedWandServer.inProcess(
            simulation: .fresh(hostNow: start), stateFile: file, hostClock: { start })

        var decoder = FrameDecoder()
        func exchange(_ body: [UInt8]) async throws -> Frame {
            try await transport.send(FrameEncoder.encode(body))
            while true {
                let bytes = try await transport.receive(deadline: .now + .seconds(10))
                if let body = decoder.feed(bytes).first { return try Frame(body: body) }
            }
        }
        let handshake = SessionHandshake()
        let opened = try await exchange(FrameHeader(kind: .pumpMessage, sequence: 1).encoded + handshake.request.encoded)
        var session = try handshake.complete(replyPayload: opened.payload, candidates: PumpKey(bytes: PumpIdentity.demoKey).map { [PumpKeyCandidate(serial: nil, key: $0)] } ?? [])
        let bolus = StartBolus(commandId: commandID(5), expiry: .after(pumpClock: start), kind: .therapeutic, doseNanograms: 100_000, volumeNanolitres: 50_000,
                               durationSeconds: 3600)
        let sealed = try session.seal(.startBolus(bolus), sequence: 2)
        let reply = try session.open(try await exchange(sealed.frameBody), answering: sealed.counter)
        #expect(reply.refusal == nil)
        // Saved before the reply was sent: the file already holds the bolus.
        #expect(try file.load().pump.outcomes.storedReply(for: commandID(5)) == reply.encoded)

        let interrogate = try session.seal(.interrogate(InterrogateRequest()), sequence: 3)
        guard case let .interrogate(report) = try session.open(try await exchange(interrogate.frameBody), answering: interrogate.counter)
        else { Issue.record("no report"); return }
        #expect(report.infusionState == .bolusInProgress)

        // A fault injected between frames reaches the pump and is saved at once.
        await server.update { $0.inject(.motorStall) }
        #expect(try file.load().pump.mechanics.alarms.contains(.motorStall))
        let again = try session.seal(.interrogate(InterrogateRequest()), sequence: 4)
        guard case let .interrogate(stalled) = try session.open(try await exchange(again.frameBody), answering: again.counter)
        else { Issue.record("no report"); return }
        #expect(stalled.activeAlarms.contains(.motorStall))
        #expect(stalled.infusionState == .stopped)

        #expect(await server.stop() == .stopped)
        // Saved on the way out: the stall cut the bolus, and the log says so.
        let saved = try file.load().pump
        #expect(saved.mechanics.bolus == nil)
        #expect(saved.eventLog.entries.contains { $0.code == PumpEventCode.bolusCancelled.rawValue })
        // The host's end sees the wand go away.
        await #expect(throws: WandTransportError.unplugged) {
            _ = try await transport.receive(deadline: .now + .seconds(5))
        }
    }

    @Test func stopsWhenTheHostCloses() async throws {
        let start = SimulatorProtocolTests.start
        let (transport, server) = SimulatedWandServer.inProcess(simulation: .fresh(hostNow: start), hostClock: { start })
        await transport.close()
        #expect(await server.finished() == .transportClosed)
    }
}
