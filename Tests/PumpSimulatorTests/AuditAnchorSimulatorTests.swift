import Glibc
import StateFiles
import SystemPackage
import Testing
import WandProtocol
@testable import PumpSimulator

/// The simulated pump witnesses the host's audit head (request 0x16): it
/// keeps the newest eight anchors, logs each as event 0x0091, and keeps
/// them across a restart (its state file).
@Suite struct AuditAnchorSimulatorTests {
    let folder: FilePath = {
        var template = Array("/tmp/pumpwand-anchor-XXXXXX".utf8CString)
        let made = template.withUnsafeMutableBufferPointer { $0.baseAddress.flatMap { mkdtemp($0) } }
        return FilePath(made.map { String(cString: $0) } ?? "/tmp/pumpwand-anchor-fallback")
    }()

    func mac(_ byte: UInt8) -> [UInt8] { Array(repeating: byte, count: 32) }

    func anchors(_ reply: PumpReply) -> [WireAuditAnchor] {
        guard case .auditAnchors(let report) = reply else { return [] }
        return report.anchors
    }

    @Test func anchorsSurviveARestartOfTheSimulator() throws {
        let file = SimulatorStateFile(path: folder.appending(SimulatorStateFile.defaultName))
        var simulation = PumpSimulation.fresh(profile: .rp20, seed: 1, hostNow: 1_800_000_000)
        _ = simulation.pump.execute(.recordAuditAnchor(RecordAuditAnchor(rowCount: 7, rowMAC: mac(1))))
        _ = simulation.pump.execute(.recordAuditAnchor(RecordAuditAnchor(rowCount: 12, rowMAC: mac(2))))
        try file.save(simulation)

        var restarted = try file.load()
        let held = anchors(restarted.pump.execute(.recordAuditAnchor(.reportOnly)))
        #expect(held.map(\.rowCount) == [12, 7])
        #expect(held.map(\.rowMAC) == [mac(2), mac(1)])
        #expect(held.allSatisfy { $0.utcSeconds == simulation.pump.clock })
        let logged = restarted.pump.eventLog.entries.filter { $0.code == PumpEventCode.auditAnchorRecorded.rawValue }
        #expect(logged.map(\.detail) == [7, 12])
    }

    @Test func theNewestEightAreKeptAndARepeatIsNotRecordedTwice() {
        var pump = PumpSimulation.fresh(profile: .rp20, seed: 1, hostNow: 1_800_000_000).pump
        for count in 1...10 { _ = pump.execute(.recordAuditAnchor(RecordAuditAnchor(rowCount: UInt64(count), rowMAC: mac(UInt8(count))))) }
        // A retransmission, or a session that wrote nothing new.
        let repeated = anchors(pump.execute(.recordAuditAnchor(RecordAuditAnchor(rowCount: 10, rowMAC: mac(10)))))
        #expect(repeated.map(\.rowCount) == [10, 9, 8, 7, 6, 5, 4, 3])
        #expect(pump.eventLog.entries.filter { $0.code == PumpEventCode.auditAnchorRecorded.rawValue }.count == 10)
        // Report only records nothing.
        _ = pump.execute(.recordAuditAnchor(.reportOnly))
        #expect(pump.auditAnchors.count == 8)
        #expect(pump.eventLog.entries.filter { $0.code == PumpEventCode.auditAnchorRecorded.rawValue }.count == 10)
    }
}
