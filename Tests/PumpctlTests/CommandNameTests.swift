import ArgumentParser
import Testing
@testable import pumpctl

/// Every command names itself. Without `commandName`, swift-argument-parser
/// derives the name from the Swift type with `String(describing:)`, a
/// dynamic cast that scans every protocol conformance in the binary, once
/// per command, on every start (`pumpctl --help` spent a fifth of its time
/// there; see docs/performance-startup.md). The names are the ones the
/// parser derived before, so the help, the manual and the completions are
/// unchanged.
@Suite struct CommandNameTests {
    /// Each command of the tree under `root`, with its path of names.
    static func commands(under root: ParsableCommand.Type, path: [String] = []) -> [(path: [String], type: ParsableCommand.Type)] {
        let here = path + [root.configuration.commandName ?? "?"]
        return [(here, root)] + root.configuration.subcommands.flatMap { commands(under: $0, path: here) }
    }

    @Test func everyPumpctlCommandHasAnExplicitName() {
        let all = Self.commands(under: Pumpctl.self)
        // The tree is walked in full: the root, its commands and the nested ones.
        #expect(all.count > 40)
        for command in all {
            #expect(command.type.configuration.commandName != nil,
                    "\(command.path.joined(separator: " ")) has no commandName: the parser would derive it from the type at start-up")
        }
    }

    /// The explicit names are the ones the parser derived from the types
    /// (lower-cased, words joined by '-'), except where a command chose its own.
    @Test func theNamesAreTheOnesTheParserDerived() {
        let derived: [[String]] = [
            ["pumpctl", "wands"], ["pumpctl", "interrogate"], ["pumpctl", "calc", "validate"],
            ["pumpctl", "keys", "rotate"], ["pumpctl", "sim", "reset"], ["pumpctl", "audit", "list"],
        ]
        let paths = Self.commands(under: Pumpctl.self).map(\.path)
        for path in derived {
            #expect(paths.contains(path), "\(path.joined(separator: " ")) is missing from the command tree")
        }
    }
}
