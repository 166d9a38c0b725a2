import Foundation
import Testing

/// Help text and exit statuses, asserted on the built binary the way
/// swift-argument-parser's own tests do.
@Suite struct PumpctlHelpTests {
    @Test func versionPrintsTheVersionAndSucceeds() throws {
        let result = try PumpctlRun.run(["--version"])
        #expect(result.status == 0)
        #expect(result.stdout == "0.1.0\n")
    }

    @Test func helpListsTheCommandsAndExitStatuses() throws {
        let result = try PumpctlRun.run(["--help"])
        // Help is wrapped to the terminal width; compare words, not line breaks.
        let text = result.stdout.split(whereSeparator: \.isWhitespace).joined(separator: " ")
        #expect(result.status == 0)
        #expect(text.contains("USAGE: pumpctl [--json] [--simulator] [--wand <serial-or-path>] [--trace <file.pcapng>] [--yes] [--state-dir <dir>] [--operator <name>] [--tz <zone>] [--color <when>] <subcommand>"))
        for command in ["wands", "interrogate", "program", "refill", "bolus", "stop", "resume", "alarms", "log", "clock", "calc", "audit", "sim", "link", "raw", "serve"] {
            #expect(text.contains(" \(command) "), "help does not list \(command)")
        }
        #expect(text.contains("75 delivery UNCERTAIN"))
        #expect(text.contains("65 refused by safety policy"))
    }

    @Test func wandsHelpExplainsTheEmptyList() throws {
        let result = try PumpctlRun.run(["wands", "--help"])
        #expect(result.status == 0)
        #expect(result.stdout.contains("USAGE: pumpctl wands [--json]"))
        #expect(result.stdout.contains("No wand attached is not an error"))
    }

    @Test func unknownCommandIsAUsageError() throws {
        let result = try PumpctlRun.run(["frobnicate"])
        #expect(result.status == 64)
        #expect(result.stderr.contains("Unexpected argument 'frobnicate'"))
    }

    @Test func unknownOptionIsAUsageError() throws {
        let result = try PumpctlRun.run(["wands", "--colour"])
        #expect(result.status == 64)
        #expect(result.stderr.contains("--colour"))
    }
}
