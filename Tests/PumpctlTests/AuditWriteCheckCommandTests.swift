import Foundation
import Testing
import TestSupport

/// The attacks on the audit trail through `pumpctl` itself: a deleted or
/// garbled `audit.head`, or a deleted `audit.key`, stops the next routine
/// command before any wand is opened, instead of sealing a new head over
/// the damage or MACing new rows under a new key.
@Suite(.serialized, .tags(.process), .childProcesses) struct AuditWriteCheckCommandTests {
    /// Holds every folder the test makes; removed when the test ends.
    let temporary = TemporaryDirectory.make(prefix: "pumpwand-writecheck")

    func folder(_ name: String) -> String {
        let path = temporary.file("\(name)-" + UUID().uuidString)
        try? FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true,
                                                 attributes: [.posixPermissions: 0o700])
        return path
    }

    func rowCount(_ base: [String], _ environment: [String: String]) async throws -> Int? {
        let listing = try await PumpctlRun.run(base + ["--json", "audit", "list"], environment: environment)
        let object = try JSONSerialization.jsonObject(with: Data(listing.stdout.utf8)) as? [String: Any]
        return (object?["entries"] as? [Any])?.count
    }

    @Test func aDeletedHeadStopsTheNextCommandBeforeAnythingIsSent() async throws {
        let state = folder("state")
        let environment = ["PUMPWAND_CONFIG_DIR": folder("config") + "/pumpwand"]
        let base = ["--simulator", "--state-dir", state, "--operator", "test.tech"]
        let first = try await PumpctlRun.run(base + ["interrogate"], environment: environment)
        #expect(first.status == 0, "\(first.stderr)")
        let rows = try #require(try await rowCount(base, environment))

        try FileManager.default.removeItem(atPath: state + "/audit.head")
        let next = try await PumpctlRun.run(base + ["interrogate"], environment: environment)
        #expect(next.status == 76, "\(next.stdout) \(next.stderr)")
        let said = next.stdout + next.stderr
        #expect(said.contains("AUDIT LOG TAMPERED"), "\(said)")
        #expect(said.contains("Nothing was sent to the pump"), "\(said)")
        #expect(!FileManager.default.fileExists(atPath: state + "/audit.head"), "no head was sealed over the damage")
        #expect(try await rowCount(base, environment) == rows, "no session was opened and no row written")

        let verify = try await PumpctlRun.run(base + ["audit", "verify"], environment: environment)
        #expect(verify.status == 76, "\(verify.stdout)")
    }

    @Test func aDeletedKeyIsNotReplacedAndTheNextCommandStops() async throws {
        let state = folder("state")
        let config = folder("config") + "/pumpwand"
        let environment = ["PUMPWAND_CONFIG_DIR": config]
        let base = ["--simulator", "--state-dir", state, "--operator", "test.tech"]
        let first = try await PumpctlRun.run(base + ["interrogate"], environment: environment)
        #expect(first.status == 0, "\(first.stderr)")

        try FileManager.default.removeItem(atPath: config + "/audit.key")
        let next = try await PumpctlRun.run(base + ["interrogate"], environment: environment)
        #expect(next.status == 76, "\(next.stdout) \(next.stderr)")
        #expect((next.stdout + next.stderr).contains("a new key was NOT made"), "\(next.stderr)")
        #expect(!FileManager.default.fileExists(atPath: config + "/audit.key"), "no new key was made")
    }

    @Test func verifyPumpJSONNamesThePumpAndWhetherItIsSimulated() async throws {
        let state = folder("state")
        let environment = ["PUMPWAND_CONFIG_DIR": folder("config") + "/pumpwand"]
        let base = ["--simulator", "--state-dir", state, "--operator", "test.tech"]
        let first = try await PumpctlRun.run(base + ["interrogate"], environment: environment)
        #expect(first.status == 0, "\(first.stderr)")
        let verify = try await PumpctlRun.run(base + ["--json", "audit", "verify", "--pump"], environment: environment)
        #expect(verify.status == 0, "\(verify.stdout) \(verify.stderr)")
        let object = try JSONSerialization.jsonObject(with: Data(verify.stdout.utf8)) as? [String: Any]
        #expect((object?["pump_serial"] as? String)?.isEmpty == false, "\(verify.stdout)")
        #expect(object?["simulated"] as? Bool == true, "\(verify.stdout)")
        // Without --pump no pump was read, so none is named.
        let local = try await PumpctlRun.run(base + ["--json", "audit", "verify"], environment: environment)
        let plain = try JSONSerialization.jsonObject(with: Data(local.stdout.utf8)) as? [String: Any]
        #expect(plain?["pump_serial"] == nil && plain?["simulated"] == nil, "\(local.stdout)")
    }
}
