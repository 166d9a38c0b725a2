import Foundation
import Glibc
import Testing
import TestSupport

/// `pumpctl keys import|list|remove|rotate|demo-bundle`: the built binary,
/// with its own configuration and state directories, against the simulator.
@Suite(.serialized, .tags(.process), .childProcesses) struct KeysCommandTests {
    /// Removed when the test ends.
    let temporary = TemporaryDirectory.make(prefix: "pumpwand-keys")
    var root: String { temporary.path }
    var config: String { root + "/config" }
    var state: String { root + "/state" }
    var bundle: String { root + "/demo.bundle" }
    static let serial = "RP20-DEMO-0001"  // the simulated pump's

    func pumpctl(_ arguments: [String]) async throws -> PumpctlRun.Result {
        try await PumpctlRun.run(["--config-dir", config, "--state-dir", state, "--operator", "tech.a"] + arguments)
    }

    func json(_ text: String) throws -> [String: Any] {
        try #require(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any], "not a JSON object: \(text)")
    }

    func listed() async throws -> [[String: Any]] {
        let list = try await pumpctl(["--json", "keys", "list"])
        #expect(list.status == 0, "\(list.stderr)")
        #expect(try await JSONContractTests.violations(of: list.stdout, schema: "keys-list.json").isEmpty, "\(list.stdout)")
        return try #require(try json(list.stdout)["keys"] as? [[String: Any]])
    }

    func makeBundle(_ serials: [String] = []) async throws {
        let made = try await pumpctl(["keys", "demo-bundle", "--out", bundle, "--issued-at", "1800000000"] + serials.flatMap { ["--serial", $0] })
        #expect(made.status == 0, "\(made.stderr)")
    }

    @Test func importListAndRemoveThroughTheBinaryNeverShowAKey() async throws {
        try await makeBundle()
        let imported = try await pumpctl(["--json", "keys", "import", bundle])
        #expect(imported.status == 0, "\(imported.stderr)")
        #expect(try await JSONContractTests.violations(of: imported.stdout, schema: "keys-import.json").isEmpty, "\(imported.stdout)")
        #expect(try json(imported.stdout)["imported"] as? [String] == [Self.serial, "RP40-DEMO-0001"])

        let keys = try await listed()
        #expect(keys.map { $0["serial"] as? String } == [Self.serial, "RP40-DEMO-0001"])
        #expect(keys.allSatisfy { $0["demo"] as? Bool == true && $0["pending_key_id"] is NSNull })
        let text = try await pumpctl(["keys", "list"])
        #expect(text.status == 0, "\(text.stderr)")
        #expect(text.stdout.contains(Self.serial))
        // The demo key counts up from 00: its hex must never appear.
        for output in [text.stdout, text.stderr, imported.stdout] {
            #expect(!output.contains("000102030405"), "\(output)")
        }
        var info = stat()
        #expect(stat(config + "/keys/" + Self.serial + ".key", &info) == 0)
        #expect(info.st_mode & 0o777 == 0o600)

        // No terminal and no --yes: not removed.
        let unconfirmed = try await pumpctl(["keys", "remove", Self.serial])
        #expect(unconfirmed.status == 64, "\(unconfirmed.stderr)")
        #expect(try await listed().count == 2)
        let removed = try await pumpctl(["--yes", "keys", "remove", Self.serial])
        #expect(removed.status == 0, "\(removed.stderr)")
        #expect(try await listed().map { $0["serial"] as? String } == ["RP40-DEMO-0001"])
        let again = try await pumpctl(["--yes", "keys", "remove", Self.serial])
        #expect(again.status == 69, "\(again.stderr)")
    }

    @Test func aChangedOrForeignBundleIsRefusedAndNothingIsImported() async throws {
        try await makeBundle()
        var bytes = try Data(contentsOf: URL(fileURLWithPath: bundle))
        bytes[bytes.count - 70] ^= 0x01
        _ = FileManager.default.createFile(atPath: bundle + ".changed", contents: bytes, attributes: [.posixPermissions: 0o600])
        let changed = try await pumpctl(["--json", "keys", "import", bundle + ".changed"])
        #expect(changed.status == 65, "\(changed.stderr)")
        #expect(changed.stderr.contains("signature does not verify"), "\(changed.stderr)")
        #expect(try await JSONContractTests.violations(of: changed.stdout, schema: "error.json").isEmpty, "\(changed.stdout)")
        _ = FileManager.default.createFile(atPath: bundle + ".cut", contents: bytes.prefix(40), attributes: [.posixPermissions: 0o600])
        let cut = try await pumpctl(["keys", "import", bundle + ".cut"])
        #expect(cut.status == 65, "\(cut.stderr)")
        #expect(cut.stderr.contains("cut short"), "\(cut.stderr)")
        // A bundle holds keys: one others can read is not read.
        #expect(chmod(bundle, 0o644) == 0)
        let loose = try await pumpctl(["keys", "import", bundle])
        // Unsafe, like an unsafe state directory: 77, not a usage mistake.
        #expect(loose.status == 77, "\(loose.stderr)")
        #expect(try await listed().isEmpty)
    }

    @Test func aGroupWritableConfigurationDirectoryIsRefused() async throws {
        try await makeBundle()
        #expect(try await pumpctl(["keys", "import", bundle]).status == 0)
        #expect(chmod(config, 0o775) == 0)
        let list = try await pumpctl(["keys", "list"])
        #expect(list.status == 77, "\(list.stderr)")
        #expect(list.stderr.contains("chmod go-w"), "\(list.stderr)")
    }

    @Test func rotateGivesTheSimulatedPumpANewKeyAndAnUnacknowledgedOneKeepsBoth() async throws {
        try await makeBundle()
        #expect(try await pumpctl(["keys", "import", bundle]).status == 0)
        let before = try #require(try await listed().first { $0["serial"] as? String == Self.serial })

        let rotated = try await pumpctl(["--simulator", "--yes", "keys", "rotate", Self.serial])
        #expect(rotated.status == 0, "\(rotated.stderr)")
        #expect(rotated.stdout.contains("can no longer reach it"), "\(rotated.stdout)")
        let after = try #require(try await listed().first { $0["serial"] as? String == Self.serial })
        #expect(after["key_id"] as? String != before["key_id"] as? String)
        #expect(after["source"] as? String == "re-key of a DEMO key")
        #expect(after["demo"] as? Bool == true)
        #expect(after["pending_key_id"] is NSNull)
        let log = try await pumpctl(["--simulator", "log"])
        #expect(log.stdout.contains("new key id \(after["key_id"] as? String ?? "?")"), "\(log.stdout)")

        // Every reply lost: the outcome is unknown and both keys stay.
        #expect(try await pumpctl(["--simulator", "sim", "fault", "drop-responses-from-next-change"]).status == 0)
        let lost = try await pumpctl(["--simulator", "--yes", "keys", "rotate", Self.serial])
        #expect(lost.status == 75, "\(lost.stderr)")
        #expect(lost.stderr.contains("BOTH keys"), "\(lost.stderr)")
        let both = try #require(try await listed().first { $0["serial"] as? String == Self.serial })
        #expect(both["key_id"] as? String == after["key_id"] as? String)
        #expect(both["pending_key_id"] as? String != nil)
        #expect(try await pumpctl(["--simulator", "sim", "fault", "in-range"]).status == 0)
        let next = try await pumpctl(["--simulator", "interrogate"])
        #expect(next.status == 0, "\(next.stderr)")
        // The simulated pump's key settles the keyring: the new key is current.
        #expect(next.stderr.contains("answers to the new key"), "\(next.stderr)")
        let settled = try #require(try await listed().first { $0["serial"] as? String == Self.serial })
        #expect(settled["pending_key_id"] is NSNull)
        #expect(settled["key_id"] as? String == both["pending_key_id"] as? String)
    }

    /// Over wandsim's pty (a pump that is not --simulator): a DEMO bundle's
    /// key is refused by name without --allow-demo-keys; with it the pump
    /// opens, and after a rotation the published demo key opens nothing
    /// while the keyring's new key does.
    @Test func overWandsimDemoKeysNeedTheFlagAndARotationRevokesTheOldKey() async throws {
        try await makeBundle()
        #expect(try await pumpctl(["keys", "import", bundle]).status == 0)
        let link = root + "/pumpwand-pty"
        let wandsim = try await ChildProcess.start(PumpctlRun.binary("wandsim").path, ["--state", root + "/wandsim.json", "--link", link])
        _ = try #require(await wandsim.line(startingWith: "SIMULATED pty: "), "wandsim printed no pty: \(wandsim.stdout)")

        let refused = try await pumpctl(["--wand", link, "interrogate"])
        #expect(refused.status == 65, "\(refused.stderr)")
        #expect(refused.stderr.contains("--allow-demo-keys"), "\(refused.stderr)")
        let opened = try await pumpctl(["--wand", link, "interrogate", "--allow-demo-keys"])
        #expect(opened.status == 0, "\(opened.stderr)")
        #expect(opened.stderr.contains("SIMULATED or bench pump"), "\(opened.stderr)")

        let rotated = try await pumpctl(["--wand", link, "--yes", "keys", "rotate", Self.serial, "--allow-demo-keys"])
        #expect(rotated.status == 0, "\(rotated.stderr)")
        // The laptop that kept the published demo key no longer gets in.
        let key = root + "/demo.key"
        #expect(try await PumpctlRun.run(["--write-demo-key", key], executable: "wandsim").status == 0)
        // The same configuration directory (and so audit key) as the log's
        // other rows: a log is never written under another audit key.
        let oldKey = try await PumpctlRun.run(["--config-dir", config, "--wand", link, "--key-file", key, "--state-dir", state, "interrogate"])
        // The pump's blinded key id matches no key this laptop holds: no
        // session opens, nothing is sent, and the technician is told to
        // bring the pump's key (exit 64): the key file given is not this pump's.
        #expect(oldKey.status == 64, "\(oldKey.stderr)")
        #expect(oldKey.stderr.contains("The key file given with --key-file does not open the pump in range"), "\(oldKey.stderr)")
        #expect(!oldKey.stderr.contains("give its key file with --key-file"), "\(oldKey.stderr)")
        // The rotated key is secret, but the pump is still wandsim: it stays
        // DEMO, needs the flag and is shown as SIMULATED.
        let withoutFlag = try await pumpctl(["--wand", link, "interrogate"])
        #expect(withoutFlag.status == 65, "\(withoutFlag.stderr)")
        #expect(withoutFlag.stderr.contains("--allow-demo-keys"), "\(withoutFlag.stderr)")
        let newKey = try await pumpctl(["--wand", link, "--json", "interrogate", "--allow-demo-keys"])
        #expect(newKey.status == 0, "\(newKey.stderr)")
        #expect(newKey.stderr.contains("SIMULATED or bench pump"), "\(newKey.stderr)")
        #expect(try json(newKey.stdout)["simulated"] as? Bool == true, "\(newKey.stdout)")
    }
}

/// `keys remove` asks at a terminal (run under script(1), so standard
/// input is one): "no" keeps the key, "yes" removes it.
@Suite(.serialized, .tags(.process, .pty), .childProcesses) struct KeysRemoveAtTerminalTests {
    /// Removed when the test ends.
    let temporary = TemporaryDirectory.make(prefix: "pumpwand-keys-tty")
    var root: String { temporary.path }

    func atTerminal(_ arguments: [String], answers: [String]) async throws -> PumpctlRun.Result {
        let command = ([PumpctlRun.binary("pumpctl").path, "--config-dir", root + "/config"] + arguments)
            .map { "'\($0)'" }.joined(separator: " ")
        let script = "/usr/bin/script"
        guard FileManager.default.isExecutableFile(atPath: script) else {
            try Requirements.skip("script(1) from bsdutils is missing; the terminal prompt needs a terminal")
        }
        return try await ChildProcess.run(
            script, ["-qec", command, "/dev/null"], environment: ["NO_COLOR": "1"],
            input: .bytesKeepingOpen(Data((answers.joined(separator: "\n") + "\n").utf8)), mergingStandardError: true)
    }

    @Test func removeAsksAndOnlyYesRemoves() async throws {
        let bundle = root + "/demo.bundle"
        #expect(try await PumpctlRun.run(["keys", "demo-bundle", "--out", bundle, "--serial", "RP20-DEMO-0001"]).status == 0)
        #expect(try await PumpctlRun.run(["--config-dir", root + "/config", "keys", "import", bundle]).status == 0)
        let file = root + "/config/keys/RP20-DEMO-0001.key"

        let declined = try await atTerminal(["keys", "remove", "RP20-DEMO-0001"], answers: ["no"])
        #expect(declined.stdout.contains("Type yes to remove the key of pump RP20-DEMO-0001"), "\(declined.stdout)")
        #expect(declined.status == 64, "\(declined.stdout)")
        #expect(FileManager.default.fileExists(atPath: file))

        let confirmed = try await atTerminal(["keys", "remove", "RP20-DEMO-0001"], answers: ["yes"])
        #expect(confirmed.status == 0, "\(confirmed.stdout)")
        #expect(confirmed.stdout.contains("Removed the key of pump RP20-DEMO-0001"), "\(confirmed.stdout)")
        #expect(!FileManager.default.fileExists(atPath: file))
    }
}
