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
        #expect(text.contains("USAGE: pumpctl [--json] [--simulator] [--wand <serial-or-path>] [--trace <file.pcapng>] [--yes] [--state-dir <dir>] [--operator <name>] <subcommand>"))
        for command in ["wands", "interrogate", "program", "refill", "bolus", "stop", "resume", "alarms", "log", "clock", "calc", "audit", "sim", "link", "raw", "serve"] {
            #expect(text.contains(" \(command) "), "help does not list \(command)")
        }
        #expect(text.contains("75 delivery UNCERTAIN"))
        #expect(text.contains("65 refused by the checks or by the pump"))
        for status in ["71 state directory in use", "73 the pump WAS changed", "130 cancelled"] {
            #expect(text.contains(status), "help does not explain exit status \(status)")
        }
    }

    @Test func wandsHelpExplainsTheEmptyList() async throws {
        let result = try await PumpctlRun.run(["wands", "--help"])
        #expect(result.status == 0)
        #expect(result.stdout.contains("USAGE: pumpctl wands [--json]"))
        #expect(result.stdout.contains("No wand attached is not an error"))
    }

    @Test func unknownCommandIsAUsageError() async throws {
        let result = try await PumpctlRun.run(["frobnicate"])
        #expect(result.status == 64)
        #expect(result.stderr.contains("Unexpected argument 'frobnicate'"))
    }

    @Test func unknownOptionIsAUsageError() async throws {
        let result = try await PumpctlRun.run(["wands", "--colour"])
        #expect(result.status == 64)
        #expect(result.stderr.contains("--colour"))
    }
}
