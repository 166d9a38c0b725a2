import Foundation
import Testing
import TestSupport

/// `pumpctl audit verify --pump` against the simulator: every session
/// leaves its audit head with the pump, so a local log deleted and
/// recreated with its head is reported as tampered (exit 76).
@Suite(.serialized, .tags(.process), .childProcesses) struct AuditWitnessCommandTests {
    /// Holds every folder the test makes; removed when the test ends.
    let temporary = TemporaryDirectory.make(prefix: "pumpwand-witness")

    func folder(_ name: String) -> String {
        let path = temporary.file("\(name)-" + UUID().uuidString)
        try? FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true,
                                                 attributes: [.posixPermissions: 0o700])
        return path
    }

    @Test func aDeletedLogIsCaughtByThePumpsAnchors() async throws {
        let state = folder("state")
        let environment = ["PUMPWAND_CONFIG_DIR": folder("config") + "/pumpwand"]
        let base = ["--simulator", "--state-dir", state, "--operator", "test.tech"]
        let interrogate = try await PumpctlRun.run(base + ["interrogate"], environment: environment)
        #expect(interrogate.status == 0, "\(interrogate.stderr)")
        #expect(!interrogate.stderr.contains("WARNING: the audit head"), "\(interrogate.stderr)")

        let intact = try await PumpctlRun.run(base + ["--json", "audit", "verify", "--pump"], environment: environment)
        #expect(intact.status == 0, "\(intact.stdout) \(intact.stderr)")
        let result = try JSONSerialization.jsonObject(with: Data(intact.stdout.utf8)) as? [String: Any]
        #expect(result?["intact"] as? Bool == true)
        #expect((result?["anchors_checked"] as? Int ?? 0) >= 1, "\(intact.stdout)")

        // The log and its head deleted together: locally a fresh, intact log.
        for name in ["audit.sqlite", "audit.sqlite-wal", "audit.sqlite-shm", "audit.head"] {
            try? FileManager.default.removeItem(atPath: state + "/" + name)
        }
        let local = try await PumpctlRun.run(base + ["audit", "verify"], environment: environment)
        #expect(local.status == 0, "\(local.stdout)")

        let witnessed = try await PumpctlRun.run(base + ["--json", "audit", "verify", "--pump"], environment: environment)
        #expect(witnessed.status == 76, "\(witnessed.stdout) \(witnessed.stderr)")
        let tampered = try JSONSerialization.jsonObject(with: Data(witnessed.stdout.utf8)) as? [String: Any]
        let kinds = (tampered?["problems"] as? [[String: Any]])?.compactMap { $0["kind"] as? String } ?? []
        #expect(kinds.contains("anchor_beyond_log"), "\(witnessed.stdout)")
    }
}
