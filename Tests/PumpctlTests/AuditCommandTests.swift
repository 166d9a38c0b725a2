import Foundation
import Testing
import TestSupport

@Suite(.serialized, .tags(.process), .childProcesses) struct AuditCommandTests {
    /// Holds every folder the test makes; removed when the test ends.
    let temporary = TemporaryDirectory.make(prefix: "pumpwand-audit")

    func stateDir() -> String {
        let path = temporary.file("audit-" + UUID().uuidString)
        try? FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }

    @Test func anEmptyLogListsAndVerifies() async throws {
        let dir = stateDir()
        let list = try await PumpctlRun.run(["--json", "--state-dir", dir, "audit"])
        #expect(list.status == 0, "\(list.stderr)")
        let listing = try JSONSerialization.jsonObject(with: Data(list.stdout.utf8)) as? [String: Any]
        #expect((listing?["entries"] as? [Any])?.isEmpty == true)

        let verify = try await PumpctlRun.run(["audit", "verify", "--state-dir", dir, "--json"])
        #expect(verify.status == 0, "\(verify.stderr)")
        let result = try JSONSerialization.jsonObject(with: Data(verify.stdout.utf8)) as? [String: Any]
        #expect(result?["intact"] as? Bool == true)
        #expect(result?["entries"] as? Int == 0)
    }

    @Test func aTruncatedLogFailsVerificationWithDeviceFaultStatus() async throws {
        let dir = stateDir()
        let environment = ["PUMPWAND_CONFIG_DIR": dir + "-config"]
        _ = try await PumpctlRun.run(["audit", "--state-dir", dir], environment: environment)
        // A head written without the audit key (here: naming a row the log
        // does not have, as one would to hide a cut tail) is refused.
        try "2 3 \(String(repeating: "ab", count: 32)) \(String(repeating: "cd", count: 32))\n"
            .write(toFile: dir + "/audit.head", atomically: true, encoding: .utf8)
        let verify = try await PumpctlRun.run(["audit", "verify", "--state-dir", dir], environment: environment)
        #expect(verify.status == 76)
        #expect(verify.stdout.contains("AUDIT LOG TAMPERED"))
        #expect(verify.stdout.contains("not written under this audit key"))
    }
}
