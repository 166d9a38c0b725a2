import Glibc
import StateFiles
import SystemPackage
import Testing
import TestSupport
import WandProtocol
@testable import PumpSimulator

/// The simulated pump witnesses the host's audit head (request 0x16): it
/// keeps the newest anchor of each of the eight logs anchored most
/// recently, logs each as event 0x0091, and keeps them across a restart
/// (its state file).
@Suite struct AuditAnchorSimulatorTests {
    /// Removed when the test ends.
    let temporary = TemporaryDirectory.make(prefix: "pumpwand-anchor")
    var folder: FilePath { FilePath(temporary.path) }

    func mac(_ byte: UInt8) -> [UInt8] { Array(repeating: byte, count: 32) }
    func log(_ byte: UInt8) -> [UInt8] { Array(repeating: byte, count: 16) }

    func anchors(_ reply: PumpReply) -> [WireAuditAnchor] {
        guard case .auditAnchors(let report) = reply else { return [] }
        return report.anchors
    }

    @Test func anchorsSurviveARestartOfTheSimulator() throws {
        let file = SimulatorStateFile(path: folder.appending(SimulatorStateFile.defaultName))
        var simulation = PumpSimulation.fresh(profile: .rp20, seed: 1, hostNow: 1_800_000_000)
        _ = simulation.pump.execute(.recordAuditAnchor(RecordAuditAnchor(logID: log(1), rowCount: 7, rowMAC: mac(1))))
        _ = simulation.pump.execute(.recordAuditAnchor(RecordAuditAnchor(logID: log(2), rowCount: 12, rowMAC: mac(2))))
        try file.save(simulation)

        var restarted = try file.load()
        let held = anchors(restarted.pump.execute(.recordAuditAnchor(.reportOnly)))
        #expect(held.map(\.rowCount) == [12, 7])
        #expect(held.map(\.rowMAC) == [mac(2), mac(1)])
        #expect(held.map(\.logID) == [log(2), log(1)])
        #expect(held.allSatisfy { $0.utcSeconds == simulation.pump.clock })
        let logged = restarted.pump.eventLog.entries.filter { $0.code == PumpEventCode.auditAnchorRecorded.rawValue }
        #expect(logged.map(\.detail) == [7, 12])
    }

    @Test func eachLogKeepsItsNewestAnchorAndARepeatIsNotRecordedTwice() {
        var pump = PumpSimulation.fresh(profile: .rp20, seed: 1, hostNow: 1_800_000_000).pump
        // One laptop anchors ten sessions: the pump keeps its newest only.
        for count in 1...10 {
            _ = pump.execute(.recordAuditAnchor(RecordAuditAnchor(logID: log(1), rowCount: UInt64(count), rowMAC: mac(UInt8(count)))))
        }
        #expect(pump.auditAnchors.map(\.rowCount) == [10])
        // Another laptop's anchor does not push it out.
        _ = pump.execute(.recordAuditAnchor(RecordAuditAnchor(logID: log(2), rowCount: 3, rowMAC: mac(3))))
        // A retransmission, or a session that wrote nothing new.
        let repeated = anchors(pump.execute(.recordAuditAnchor(RecordAuditAnchor(logID: log(1), rowCount: 10, rowMAC: mac(10)))))
        #expect(repeated.map(\.rowCount) == [3, 10])
        #expect(repeated.map(\.logID) == [log(2), log(1)])
        #expect(pump.eventLog.entries.filter { $0.code == PumpEventCode.auditAnchorRecorded.rawValue }.count == 11)
        // Report only records nothing.
        _ = pump.execute(.recordAuditAnchor(.reportOnly))
        #expect(pump.auditAnchors.count == 2)
        #expect(pump.eventLog.entries.filter { $0.code == PumpEventCode.auditAnchorRecorded.rawValue }.count == 11)
    }

    @Test func aNinthLogDropsTheLogAnchoredLeastRecently() {
        var pump = PumpSimulation.fresh(profile: .rp20, seed: 1, hostNow: 1_800_000_000).pump
        for index in 1...9 {
            _ = pump.execute(.recordAuditAnchor(RecordAuditAnchor(logID: log(UInt8(index)), rowCount: 5, rowMAC: mac(UInt8(index)))))
        }
        #expect(pump.auditAnchors.count == 8)
        #expect(pump.auditAnchors.map(\.logID) == (2...9).reversed().map { log(UInt8($0)) })
    }

    @Test func anAnchorBehindItsLogsIsRefusedAndLogged() {
        var pump = PumpSimulation.fresh(profile: .rp20, seed: 1, hostNow: 1_800_000_000).pump
        _ = pump.execute(.recordAuditAnchor(RecordAuditAnchor(logID: log(1), rowCount: 9, rowMAC: mac(9))))
        // The log deleted and started again, or cut: fewer rows.
        _ = pump.execute(.recordAuditAnchor(RecordAuditAnchor(logID: log(1), rowCount: 2, rowMAC: mac(2))))
        // Rebuilt: as many rows, another last MAC.
        _ = pump.execute(.recordAuditAnchor(RecordAuditAnchor(logID: log(1), rowCount: 9, rowMAC: mac(7))))
        #expect(pump.auditAnchors.map(\.rowCount) == [9])
        #expect(pump.auditAnchors.first?.rowMAC == mac(9))
        let behind = pump.eventLog.entries.filter { $0.code == PumpEventCode.auditAnchorBehind.rawValue }
        #expect(behind.map(\.detail) == [2, 9])
        // A longer log goes on as before.
        _ = pump.execute(.recordAuditAnchor(RecordAuditAnchor(logID: log(1), rowCount: 12, rowMAC: mac(12))))
        #expect(pump.auditAnchors.map(\.rowCount) == [12])
    }
}
