import Foundation
import Testing
import TestSupport

/// `pumpctl audit verify --pump` against the simulator: every session
/// leaves its audit head with the pump, so a local log deleted and
/// recreated with its head is reported as another log of the same audit
/// key whose anchor the pump holds (exit 78).
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

        // The new log has its own log id (its nonce): the old log's anchor
        // is named as another log of this audit key, ahead of the new one,
        // and exits 78: neither intact nor this log tampered.
        let witnessed = try await PumpctlRun.run(base + ["--json", "audit", "verify", "--pump"], environment: environment)
        #expect(witnessed.status == 78, "\(witnessed.stdout) \(witnessed.stderr)")
        let replaced = try JSONSerialization.jsonObject(with: Data(witnessed.stdout.utf8)) as? [String: Any]
        #expect(replaced?["verdict"] as? String == "same_key_other_logs", "\(witnessed.stdout)")
        #expect((replaced?["problems"] as? [Any])?.isEmpty == true, "\(witnessed.stdout)")
        let other = (replaced?["same_key_other_logs"] as? [[String: Any]])?.first
        #expect(other?["anchor_newer"] as? Bool == true, "\(witnessed.stdout)")
        #expect((other?["row_count"] as? Int ?? 0) >= 1, "\(witnessed.stdout)")
        let violations = try await JSONContractTests.violations(of: witnessed.stdout, schema: "audit-verify.json")
        #expect(violations.isEmpty, "\(violations) in \(witnessed.stdout)")

        let text = try await PumpctlRun.run(base + ["audit", "verify", "--pump"], environment: environment)
        #expect(text.status == 78, "\(text.stdout) \(text.stderr)")
        #expect(text.stdout.contains("ANOTHER LOG WITH THIS AUDIT KEY"), "\(text.stdout)")
        #expect(text.stdout.contains("audit.key was copied to another computer"), "\(text.stdout)")
        #expect(text.stdout.contains("replaced an earlier one"), "\(text.stdout)")
        #expect(!text.stdout.contains("TAMPERED"), "\(text.stdout)")
    }
}
