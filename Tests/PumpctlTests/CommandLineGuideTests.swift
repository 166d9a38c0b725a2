import Foundation
import Testing
import TestSupport

/// Where options go: the global options are described once, in
/// `pumpctl --help`, and every command's help says so; `--patient` and
/// `--expect-pump` where a command does not take them say where they go.
@Suite(.serialized, .tags(.process), .childProcesses) struct CommandLineGuideTests {
    /// Removed when the test ends.
    let temporary = TemporaryDirectory.make(prefix: "pumpwand-link")

    static let globalOptions = ["--json", "--simulator", "--wand", "--trace", "--trace-overwrite", "--key-file", "--yes",
                                "--state-dir", "--operator", "--tz", "--color"]

    @Test func aCommandsHelpListsOnlyItsOwnOptionsAndSaysWhereTheGlobalOnesAre() async throws {
        for arguments in [["interrogate", "--help"], ["help", "interrogate"], ["patient", "set", "--help"], ["audit", "--help"]] {
            let help = try await PumpctlRun.run(arguments)
            #expect(help.status == 0, "\(arguments): \(help.stderr)")
            let text = help.stdout
            #expect(text.contains("GLOBAL OPTIONS:"), "\(arguments): \(text)")
            #expect(text.contains("'pumpctl --help'"), "\(arguments): \(text)")
            // Described once: no option line of the global ones in a command's own list.
            let optionLines = text.split(separator: "\n").filter { $0.hasPrefix("  --") }
            for option in Self.globalOptions {
                #expect(!optionLines.contains { $0.hasPrefix("  \(option) ") || $0 == "  \(option)" },
                        "\(arguments) repeats \(option): \(text)")
            }
        }
        // The root's help describes them, once each, and has no note pointing to itself.
        let root = try await PumpctlRun.run(["--help"])
        #expect(!root.stdout.contains("GLOBAL OPTIONS:"))
        for option in ["--json", "--state-dir <dir>", "--tz <zone>", "--color <when>"] {
            #expect(root.stdout.components(separatedBy: "\n  \(option)").count == 2, "pumpctl --help describes \(option) once")
        }
        // Hidden from the help, still accepted after the command name.
        let after = try await PumpctlRun.run(["calc", "daily-dose", "--concentration", "2000mcg/mL", "--dose", "333mcg/day", "--json"])
        #expect(after.status == 0, "\(after.stderr)")
        #expect(after.stdout.hasPrefix("{"))
    }

    @Test func patientBeforeThePumpCommandSaysItGoesAfterTheCommandName() async throws {
        let run = try await PumpctlRun.run(["--simulator", "--state-dir", BringupLinkTests.stateDir(in: temporary), "--patient", "MRN-0042", "interrogate"])
        #expect(run.status == 64)
        #expect(run.stderr.contains("--patient goes after the command name"), "\(run.stderr)")
        #expect(run.stderr.contains("'pumpctl interrogate --patient NUMBER ...'"), "\(run.stderr)")
        #expect(run.stderr.contains("Nothing was sent to the pump."))
    }

    @Test func patientOnACommandThatTakesNoneSaysWhichCommandsTakeIt() async throws {
        let show = try await PumpctlRun.run(["--state-dir", BringupLinkTests.stateDir(in: temporary), "patient", "show", "--patient", "MRN-0042"])
        #expect(show.status == 64)
        #expect(show.stderr.contains("'pumpctl patient show' takes no --patient"), "\(show.stderr)")
        #expect(show.stderr.contains("interrogate"), "names the pump commands: \(show.stderr)")
        #expect(show.stderr.contains("--mrn NUMBER (pumpctl patient set)"), "\(show.stderr)")
        let json = try await PumpctlRun.run(["--json", "--state-dir", BringupLinkTests.stateDir(in: temporary), "audit", "--patient=MRN-0042"])
        #expect(json.status == 64)
        let error = BringupLinkTests.object(json.stdout)?["error"] as? [String: Any]
        #expect(error?["code"] as? String == "usage", "\(json.stdout)")
        #expect((error?["message"] as? String)?.contains("'pumpctl audit list' takes no --patient") == true, "\(json.stdout)")
        // Where it belongs nothing changes: the record lookup answers.
        let placed = try await PumpctlRun.run(["--simulator", "--state-dir", BringupLinkTests.stateDir(in: temporary), "interrogate", "--patient", "MRN-0042"])
        #expect(placed.status == 64)
        #expect(placed.stderr.contains("No pump is linked to record number MRN-0042"), "\(placed.stderr)")
    }
}
