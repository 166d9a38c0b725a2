import Foundation
import Testing
import TestSupport

/// The manual pages in docs/man, the shell completions and the install
/// step: each checked against the built parser, so a command or option
/// added without regenerating the pages (scripts/generate-manual.sh) fails
/// here.
@Suite(.serialized, .tags(.process), .childProcesses) struct ManualAndInstallTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    /// Every displayed command of `tool` (by its path of names) and the long
    /// names of its displayed options, from the parser's own description.
    static func commands(of tool: String) async throws -> [(path: [String], options: [String])] {
        let dump = try await PumpctlRun.run(["--experimental-dump-help"], executable: tool)
        #expect(dump.status == 0, "\(dump.stderr)")
        let object = try #require(try JSONSerialization.jsonObject(with: Data(dump.stdout.utf8)) as? [String: Any])
        var found: [(path: [String], options: [String])] = []
        func walk(_ command: [String: Any], path: [String]) {
            guard command["shouldDisplay"] as? Bool ?? true else { return }
            let arguments = command["arguments"] as? [[String: Any]] ?? []
            let options = arguments.filter { $0["shouldDisplay"] as? Bool ?? true }.flatMap { argument in
                (argument["names"] as? [[String: Any]] ?? []).filter { $0["kind"] as? String == "long" }.compactMap { $0["name"] as? String }
            }
            found.append((path, options))
            for sub in command["subcommands"] as? [[String: Any]] ?? [] {
                walk(sub, path: path + [sub["commandName"] as? String ?? "?"])
            }
        }
        walk(try #require(object["command"] as? [String: Any]), path: [])
        return found
    }

    @Test(arguments: ["pumpctl", "wandsim"])
    func theManualPageHasEveryCommandAndOption(tool: String) async throws {
        let page = try String(contentsOf: Self.root.appendingPathComponent("docs/man/\(tool).1"), encoding: .utf8)
        #expect(page.contains(".Dt \(tool.uppercased()) 1"))
        let commands = try await Self.commands(of: tool)
        #expect(!commands.isEmpty)
        for command in commands {
            if let name = command.path.last {
                #expect(page.contains(".It Em \(name)\n"), "docs/man/\(tool).1 lacks \(command.path.joined(separator: " ")): run scripts/generate-manual.sh")
            }
            for option in command.options {
                #expect(page.contains("Fl -\(option)"),
                        "docs/man/\(tool).1 lacks --\(option) of '\(([tool] + command.path).joined(separator: " "))': run scripts/generate-manual.sh")
            }
        }
        if tool == "pumpctl" {
            // The ones the README and the technician rely on.
            for name in ["interrogate", "program", "refill", "bolus", "audit", "serve"] {
                #expect(commands.contains { $0.path == [name] }, "the parser has no \(name)")
            }
        }
    }

    /// The completion scripts are produced by the parser (the typo check
    /// must not take the shell's name for a command) and name every command.
    @Test(arguments: ["bash", "zsh", "fish"])
    func theCompletionScriptNamesEveryCommand(shell: String) async throws {
        let run = try await PumpctlRun.run(["--generate-completion-script", shell])
        #expect(run.status == 0, "\(run.stderr)")
        for command in try await Self.commands(of: "pumpctl") where command.path.count == 1 {
            #expect(run.stdout.contains(command.path[0]), "the \(shell) completions lack \(command.path[0])")
        }
    }

    /// scripts/install.sh into a temporary prefix: both binaries run from
    /// PREFIX/bin, the manual pages and the three completions are where
    /// man and the shells look, and bash loads its completion.
    @Test func theInstallStepPutsEverythingUnderThePrefix() async throws {
        let prefixFolder = try TemporaryDirectory(prefix: "pumpwand-install")
        defer { prefixFolder.remove() }
        let prefix = prefixFolder.path
        let install = try await ChildProcess.run(
            "/bin/bash", [Self.root.appendingPathComponent("scripts/install.sh").path, "--prefix", prefix,
                          "--products", PumpctlRun.binary("pumpctl").deletingLastPathComponent().path],
            environment: ["PATH": "/usr/bin:/bin"], mergingStandardError: true, timeLimit: .seconds(120))
        #expect(install.status == 0, "\(install.stdout)")
        #expect(install.stdout.contains("Add \(prefix)/bin to PATH"), "\(install.stdout)")
        for file in ["bin/pumpctl", "bin/wandsim", "libexec/pumpwand/pumpwand-fhir-post", "share/man/man1/pumpctl.1", "share/man/man1/wandsim.1",
                     "share/bash-completion/completions/pumpctl", "share/zsh/site-functions/_pumpctl",
                     "share/fish/vendor_completions.d/pumpctl.fish"] {
            #expect(FileManager.default.fileExists(atPath: prefix + "/" + file), "\(file) was not installed")
        }
        let version = try await ChildProcess.run(prefix + "/bin/pumpctl", ["--version"])
        #expect(version.status == 0 && version.stdout == "0.1.0\n", "\(version.stdout)\(version.stderr)")
        let wandsim = try await ChildProcess.run(prefix + "/bin/wandsim", ["--help"])
        #expect(wandsim.status == 0 && wandsim.stdout.contains("SIMULATED"), "\(wandsim.stdout)")
        // The installed pumpctl finds its installed FHIR poster, which
        // tries the (closed) port: not "the poster could not be started".
        let state = prefix + "/state"
        let installed = { (arguments: [String]) in
            try await ChildProcess.run(prefix + "/bin/pumpctl", ["--simulator", "--state-dir", state, "--operator", "nurse.a"] + arguments)
        }
        #expect(try await installed(["patient", "set", "--serial", "RP20-DEMO-0001", "--name", "Ada Lovelace", "--mrn", "MRN-0042",
                                     "--mrn-system", "urn:oid:2.16.840.1.113883.19.5", "--dob", "1980-02-29",
                                     "--prescriber", "Dr. Grace Hopper"]).status == 0)
        #expect(try await installed(["--yes", "bolus", "--dose", "50mcg"]).status == 0)
        let post = try await installed(["export", "fhir", "--include-simulated", "--retries", "0", "--post", "http://127.0.0.1:9/fhir"])
        #expect(post.status == 74 && post.stderr.contains("was not sent after 1 attempt(s)"), "\(post.stderr)")
        let completion = try await ChildProcess.run(
            "/bin/bash", ["-c", "source \"$1\" && complete -p pumpctl", "bash", prefix + "/share/bash-completion/completions/pumpctl"],
            mergingStandardError: true)
        #expect(completion.status == 0 && completion.stdout.contains("pumpctl"), "\(completion.stdout)")
        // An unknown argument is a usage error, and nothing else is done.
        let wrong = try await ChildProcess.run("/bin/bash", [Self.root.appendingPathComponent("scripts/install.sh").path, "--prefx", prefix],
                                               mergingStandardError: true)
        #expect(wrong.status == 64, "\(wrong.stdout)")
    }
}
