import Foundation
import Testing
import TestSupport

/// Help text and exit statuses, asserted on the built binary the way
/// swift-argument-parser's own tests do.
@Suite(.serialized, .tags(.process), .childProcesses) struct PumpctlHelpTests {
    @Test func versionPrintsTheVersionAndSucceeds() async throws {
        let result = try await PumpctlRun.run(["--version"])
        #expect(result.status == 0)
        #expect(result.stdout == "0.1.0\n")
    }

    @Test func helpListsTheCommandsAndExitStatuses() async throws {
        let result = try await PumpctlRun.run(["--help"])
        // Help is wrapped to the terminal width; compare words, not line breaks.
        let text = result.stdout.split(whereSeparator: \.isWhitespace).joined(separator: " ")
        #expect(result.status == 0)
        #expect(text.contains("USAGE: pumpctl [--json] [--simulator] [--wand <serial-or-path>] [--trace <file.pcapng>] [--trace-overwrite] [--key-file <file>] [--config-dir <dir>] [--yes] [--state-dir <dir>] [--operator <name>] [--tz <zone>] [--color <when>] <subcommand>"), "\(text)")
        for command in ["wands", "interrogate", "program", "refill", "bolus", "stop", "resume", "alarms", "log", "clock", "calc", "audit", "sim", "link", "raw", "serve"] {
            #expect(text.contains(" \(command) "), "help does not list \(command)")
        }
        #expect(text.contains("75 delivery UNCERTAIN"))
        #expect(text.contains("65 refused by the checks or by the pump"))
        for status in ["71 state directory in use", "73 the pump WAS changed", "77 permission denied, or a state directory others can change", "130 cancelled"] {
            #expect(text.contains(status), "help does not explain exit status \(status)")
        }
    }

    @Test func wandsHelpExplainsTheEmptyList() async throws {
        let result = try await PumpctlRun.run(["wands", "--help"])
        #expect(result.status == 0)
        // The global options (--json among them) are described once, in pumpctl --help.
        #expect(result.stdout.contains("USAGE: pumpctl wands"))
        #expect(!result.stdout.contains("USAGE: pumpctl wands [--json]"))
        #expect(result.stdout.contains("GLOBAL OPTIONS:"))
        #expect(result.stdout.contains("No wand attached is not an error"))
    }

    @Test func unknownCommandIsAUsageError() async throws {
        let result = try await PumpctlRun.run(["frobnicate"])
        #expect(result.status == 64)
        #expect(result.stderr.contains("'frobnicate' is not a pumpctl command. See 'pumpctl --help'."), "\(result.stderr)")
    }

    @Test func unknownOptionIsAUsageError() async throws {
        let result = try await PumpctlRun.run(["wands", "--colour"])
        #expect(result.status == 64)
        #expect(result.stderr.contains("--colour"))
    }
}

/// Command-line conventions: suggestions, help for unknown topics, the
/// global key file.
@Suite struct CommandLineConventionTests {
    @Test func aMistypedCommandGetsASuggestionAndExit64() async throws {
        let result = try await PumpctlRun.run(["interogate"])
        #expect(result.status == 64)
        #expect(result.stderr.contains("'interogate' is not a pumpctl command. Did you mean 'interrogate'?"), "\(result.stderr)")
    }

    @Test func helpForAnUnknownTopicFails() async throws {
        let unknown = try await PumpctlRun.run(["help", "foo"])
        #expect(unknown.status == 64)
        #expect(unknown.stderr.contains("help foo: there is no such command."), "\(unknown.stderr)")
        #expect(!unknown.stderr.contains("Did you mean"), "no far-fetched suggestion")
        let known = try await PumpctlRun.run(["help", "interrogate"])
        #expect(known.status == 0)
        #expect(known.stdout.contains("OVERVIEW: Read the pump"))
    }

    @Test func theKeyFileIsGlobalLikeTheWand() async throws {
        for arguments in [["--key-file", "/nonexistent/pump.key", "interrogate"], ["interrogate", "--key-file", "/nonexistent/pump.key"]] {
            let result = try await PumpctlRun.run(arguments)
            #expect(result.status == 64, "\(arguments): \(result.stderr)")
            #expect(result.stderr.contains("The pump key file cannot be used: /nonexistent/pump.key does not exist"), "\(result.stderr)")
        }
        let help = try await PumpctlRun.run(["--help"])
        #expect(help.stdout.contains("--key-file <file>"))
    }
}
