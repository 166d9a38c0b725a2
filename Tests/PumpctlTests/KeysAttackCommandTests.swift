import Foundation
import Glibc
import Testing
import TestSupport

/// The keyring attacks through the built binary against the simulator:
/// each is carried out and shown to do no harm (docs/hazards.md H193-H199).
@Suite(.serialized, .tags(.process), .childProcesses) struct KeysAttackCommandTests {
    /// Removed when the test ends.
    let temporary = TemporaryDirectory.make(prefix: "pumpwand-keys-attack")
    var root: String { temporary.path }
    var config: String { root + "/config" }
    var state: String { root + "/state" }
    static let serial = "RP20-DEMO-0001"  // the simulated pump's

    func pumpctl(_ arguments: [String]) async throws -> PumpctlRun.Result {
        try await PumpctlRun.run(["--config-dir", config, "--state-dir", state, "--operator", "tech.a"] + arguments)
    }

    func json(_ text: String) throws -> [String: Any] {
        try #require(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any], "not a JSON object: \(text)")
    }

    func errorCode(_ text: String) throws -> String? {
        (try json(text)["error"] as? [String: Any])?["code"] as? String
    }

    func listed() async throws -> [[String: Any]] {
        let list = try await pumpctl(["--json", "keys", "list"])
        #expect(list.status == 0, "\(list.stderr)")
        #expect(try await JSONContractTests.violations(of: list.stdout, schema: "keys-list.json").isEmpty, "\(list.stdout)")
        return try #require(try json(list.stdout)["keys"] as? [[String: Any]])
    }

    func importDemoBundle(_ name: String, serials: [String] = []) async throws -> PumpctlRun.Result {
        let file = root + "/" + name
        let made = try await pumpctl(["keys", "demo-bundle", "--out", file, "--issued-at", "1800000000"] + serials.flatMap { ["--serial", $0] })
        #expect(made.status == 0, "\(made.stderr)")
        return try await pumpctl(["--json", "keys", "import", file])
    }

    /// H193, H198: with a re-key unacknowledged, `keys remove --yes` is
    /// refused before any prompt and both keys stay; interrogate settles it
    /// and the key can then be removed. A refused rotation says what was
    /// sent once, from the ledger.
    @Test func removeIsRefusedWhileARekeyIsUnacknowledged() async throws {
        #expect(try await importDemoBundle("demo.bundle").status == 0)
        let unheld = try await pumpctl(["--simulator", "--yes", "keys", "rotate", "RP99-0001"])
        #expect(unheld.status == 64, "\(unheld.stderr)")
        // The session opened (and read the pump): no change went out, said once.
        #expect(unheld.stderr.contains("No change was sent to the pump."), "\(unheld.stderr)")
        #expect(!unheld.stderr.contains(".."), "\(unheld.stderr)")
        #expect(unheld.stderr.components(separatedBy: "was sent").count == 2, "\(unheld.stderr)")
        #expect(try await pumpctl(["--simulator", "sim", "fault", "drop-responses-from-next-change"]).status == 0)
        let lost = try await pumpctl(["--simulator", "--yes", "keys", "rotate", Self.serial])
        #expect(lost.status == 75, "\(lost.stderr)")
        let both = try #require(try await listed().first { $0["serial"] as? String == Self.serial })
        #expect(both["pending_key_id"] as? String != nil)

        let removed = try await pumpctl(["--yes", "--json", "keys", "remove", Self.serial])
        #expect(removed.status == 65, "\(removed.stderr)")
        #expect(try errorCode(removed.stdout) == "unsettled_rekey", "\(removed.stdout)")
        #expect(removed.stderr.contains("pumpctl interrogate"), "\(removed.stderr)")
        let kept = try #require(try await listed().first { $0["serial"] as? String == Self.serial })
        #expect(kept["key_id"] as? String == both["key_id"] as? String)
        #expect(kept["pending_key_id"] as? String == both["pending_key_id"] as? String)


        #expect(try await pumpctl(["--simulator", "sim", "fault", "in-range"]).status == 0)
        let settled = try await pumpctl(["--simulator", "interrogate"])
        #expect(settled.status == 0, "\(settled.stderr)")
        let after = try await pumpctl(["--yes", "keys", "remove", Self.serial])
        #expect(after.status == 0, "\(after.stderr)")
        #expect(try await listed().map { $0["serial"] as? String } == ["RP40-DEMO-0001"])
    }

    @Test func theOverrideRemovesAnUnsettledRekeyAndSaysItIsDangerous() async throws {
        #expect(try await importDemoBundle("demo.bundle").status == 0)
        #expect(try await pumpctl(["--simulator", "sim", "fault", "drop-responses-from-next-change"]).status == 0)
        #expect(try await pumpctl(["--simulator", "--yes", "keys", "rotate", Self.serial]).status == 75)
        let forced = try await pumpctl(["--yes", "keys", "remove", Self.serial, "--discard-unsettled-rekey"])
        #expect(forced.status == 0, "\(forced.stderr)")
        #expect(forced.stderr.contains("DANGER"), "\(forced.stderr)")
        #expect(try await listed().map { $0["serial"] as? String } == ["RP40-DEMO-0001"])
    }

    /// H194: a rotated DEMO pump still shows as simulated in `keys list`.
    @Test func aRotatedDemoPumpStaysDemoInTheListing() async throws {
        #expect(try await importDemoBundle("demo.bundle").status == 0)
        let rotated = try await pumpctl(["--simulator", "--yes", "keys", "rotate", Self.serial])
        #expect(rotated.status == 0, "\(rotated.stderr)")
        // The rotation's promise is no stronger than the handshake's.
        #expect(rotated.stdout.contains("radio range"), "\(rotated.stdout)")
        let entry = try #require(try await listed().first { $0["serial"] as? String == Self.serial })
        #expect(entry["demo"] as? Bool == true)
        #expect(entry["signer"] as? String == "DEMO")
        let text = try await pumpctl(["keys", "list"])
        #expect(text.stdout.contains("DEMO (published)"), "\(text.stdout)")
    }

    /// H195, H196: the signer is shown from the pinned key; serials that
    /// differ only in case are refused whole.
    @Test func importShowsThePinnedSignerAndRefusesCaseTwins() async throws {
        let first = try await importDemoBundle("lower.bundle", serials: ["ab-1"])
        #expect(first.status == 0, "\(first.stderr)")
        #expect(try json(first.stdout)["signer"] as? String == "DEMO")
        let text = try await pumpctl(["keys", "import", root + "/lower.bundle"])
        #expect(text.stdout.contains("signed by the published DEMO signer (pinned key af21367da108075e)"), "\(text.stdout)")
        #expect(text.stdout.contains("Issuer text (written by the signer, which anyone can be"), "\(text.stdout)")

        let twin = try await importDemoBundle("upper.bundle", serials: ["AB-1", "RP20-0003"])
        #expect(twin.status == 65, "\(twin.stderr)")
        #expect(try errorCode(twin.stdout) == "serial_case_collision", "\(twin.stdout)")
        #expect(try await listed().map { $0["serial"] as? String } == ["ab-1"])
    }

    /// H197: unsafe key, bundle and policy files exit 77 as an unsafe state
    /// directory does; a sticky folder's mode is printed in full.
    @Test func unsafeKeyBundleAndPolicyFilesExit77() async throws {
        let key = root + "/pump.key"
        #expect(try await PumpctlRun.run(["--write-demo-key", key], executable: "wandsim").status == 0)
        #expect(chmod(key, 0o644) == 0)
        let loose = try await pumpctl(["--wand", root + "/no-such-wand", "--key-file", key, "interrogate"])
        #expect(loose.status == 77, "\(loose.stderr)")
        #expect(loose.stderr.contains("mode 644"), "\(loose.stderr)")

        let policy = root + "/policy.json"
        #expect(FileManager.default.createFile(atPath: policy, contents: Data("{}".utf8), attributes: [.posixPermissions: 0o600]))
        let linked = root + "/policy-link.json"
        #expect(symlink(policy, linked) == 0)
        let viaLink = try await pumpctl(["--simulator", "interrogate", "--policy", linked])
        #expect(viaLink.status == 77, "\(viaLink.stderr)")

        #expect(try await importDemoBundle("demo.bundle").status == 0)
        #expect(chmod(config + "/keys", 0o1777) == 0)
        defer { _ = chmod(config + "/keys", 0o700) }
        let sticky = try await pumpctl(["keys", "list"])
        #expect(sticky.status == 77, "\(sticky.stderr)")
        #expect(sticky.stderr.contains("mode 1777"), "\(sticky.stderr)")
    }
}
