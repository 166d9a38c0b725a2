import Foundation
import Testing
import TestSupport

/// What the README tells a new user to type or read must exist: every
/// repository path it names, every prescription file it programs, and the
/// demo key flow it shows with wandsim.
@Suite(.serialized, .tags(.process, .pty), .childProcesses) struct ReadmeTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    static func readme() throws -> String {
        try String(contentsOf: root.appendingPathComponent("README.md"), encoding: .utf8)
    }

    /// Repository paths in the text: anything under a top-level folder of
    /// the repository. Installed paths (PREFIX/..., /etc/...) start
    /// elsewhere and are not taken.
    static func repositoryPaths(in text: String) throws -> Set<String> {
        let folders = ["docs", "hardware", "udev-rules", "scripts", "Sources", "Tests", "examples"]
        let pattern = try NSRegularExpression(pattern: "(?<![\\w/.$~-])(?:" + folders.joined(separator: "|") + ")(?:/[\\w.*-]+)*/?")
        let range = NSRange(text.startIndex..., in: text)
        return Set(pattern.matches(in: text, range: range).compactMap { match in
            Range(match.range, in: text).map { String(text[$0]).trimmingCharacters(in: CharacterSet(charactersIn: ".")) }
        })
    }

    @Test func everyPathTheReadmeNamesExists() throws {
        let paths = try Self.repositoryPaths(in: try Self.readme())
        // The extraction itself can fail: it must see the paths the README is known to name.
        for known in ["docs/architecture.md", "udev-rules/61-pumpwand-uaccess.rules", "scripts/install.sh",
                      "examples/prescriptions/baclofen-continuous-450.json"] {
            #expect(paths.contains(known), "the README no longer names \(known), or the path pattern misses it")
        }
        #expect(try Self.repositoryPaths(in: "see docs/no-such-file.md").contains("docs/no-such-file.md"))
        for path in paths {
            // `Sources/CLibUSB`, `6?-pumpwand*.rules`: a glob names what it matches.
            if path.contains("*") || path.contains("?") { continue }
            #expect(FileManager.default.fileExists(atPath: Self.root.appendingPathComponent(path).path),
                    "README.md names \(path), which does not exist")
        }
    }

    /// Every file the README hands to `program`, `--prescription` or
    /// `--policy` exists (the old `rx.json` did not).
    @Test func everyFileTheReadmeProgramsExists() throws {
        let text = try Self.readme()
        let pattern = try NSRegularExpression(pattern: "(?:program|--prescription|--policy) ([\\w./-]+\\.json)")
        let files = pattern.matches(in: text, range: NSRange(text.startIndex..., in: text)).compactMap {
            Range($0.range(at: 1), in: text).map { String(text[$0]) }
        }
        #expect(!files.isEmpty)
        for file in files {
            #expect(FileManager.default.fileExists(atPath: Self.root.appendingPathComponent(file).path),
                    "README.md programs \(file), which does not exist")
        }
    }

    /// The README's "with a real wand" section installs only the rules that
    /// work without setup; the group rule is never in its copy command.
    @Test func theReadmeInstallsNoGroupRuleWithoutItsGroup() throws {
        let text = try Self.readme()
        #expect(text.contains("## With a real wand"))
        for line in text.split(separator: "\n") where line.contains("sudo cp") {
            #expect(!line.contains("62-pumpwand-group") && !line.contains("*.rules"), "\(line)")
        }
        #expect(text.contains("wandsim --write-demo-key demo.key"))
    }

    /// The demo key flow as the README shows it: wandsim writes the key
    /// file (private, never over an existing file) and pumpctl reaches
    /// wandsim's pump with it through the real serial code, saying it is
    /// the published demo key.
    @Test func theDemoKeyWandsimWritesOpensItsPump() async throws {
        let directoryFolder = try TemporaryDirectory(prefix: "pumpwand-readme")
        defer { directoryFolder.remove() }
        let directory = directoryFolder.path
        let key = directory + "/demo.key"
        let written = try await PumpctlRun.run(["--write-demo-key", key], executable: "wandsim")
        #expect(written.status == 0, "\(written.stderr)")
        #expect(written.stdout.contains("DEMO key"))
        let attributes = try FileManager.default.attributesOfItem(atPath: key)
        #expect((attributes[.posixPermissions] as? NSNumber)?.intValue == 0o600)
        let text = try String(contentsOfFile: key, encoding: .utf8)
        #expect(text == (0..<32).map { String(format: "%02x", $0) }.joined() + "\n")
        let again = try await PumpctlRun.run(["--write-demo-key", key], executable: "wandsim")
        // The path is the technician's choice: a usage error saying what to do, not an internal one.
        #expect(again.status == 64, "an existing key file is never overwritten: \(again.stdout)")
        #expect(again.stderr.contains("give --write-demo-key a path that does not exist yet"), "\(again.stderr)")

        let link = directory + "/pumpwand-pty"
        let wandsim = try await ChildProcess.start(PumpctlRun.binary("wandsim").path,
                                                   ["--state", directory + "/wandsim.json", "--link", link])
        _ = try #require(await wandsim.line(startingWith: "SIMULATED pty: "), "wandsim printed no pty: \(wandsim.stdout)")
        let run = try await PumpctlRun.run(["--wand", link, "--key-file", key, "--state-dir", directory + "/host", "interrogate"])
        #expect(run.status == 0, "\(run.stderr)")
        #expect(run.stderr.contains("SIMULATED or bench pump"), "\(run.stderr)")
        #expect(run.stdout.contains("RP20-DEMO-0001"), "\(run.stdout)")
    }

    /// A corrupt simulated pump is refused, and the reset the message
    /// gives is for that state directory, not the default one.
    @Test func theCorruptStateHintNamesTheBrokenDirectory() async throws {
        let directoryFolder = try TemporaryDirectory(prefix: "pumpwand-corrupt")
        defer { directoryFolder.remove() }
        let directory = directoryFolder.path
        try Data("{\"format_version\": 1, \"identity\"".utf8).write(to: URL(fileURLWithPath: directory + "/simulator.json"))
        let refused = try await PumpctlRun.run(["--simulator", "--state-dir", directory, "interrogate"])
        #expect(refused.status == 70, "\(refused.stderr)")
        #expect(refused.stderr.contains("pumpctl --simulator --state-dir \(directory) sim reset"), "\(refused.stderr)")
        // The hint, run as given, replaces that pump.
        let reset = try await PumpctlRun.run(["--simulator", "--state-dir", directory, "sim", "reset"])
        #expect(reset.status == 0, "\(reset.stderr)")
        #expect(try await PumpctlRun.run(["--simulator", "--state-dir", directory, "interrogate"]).status == 0)
    }
}
