import ArgumentParser
import Foundation
import Glibc
import PumpProgrammer

/// The programmer's command line. Global options go before the command
/// (`pumpctl --json wands`); each command reads them through `GlobalOptions`.
@main
struct Pumpctl: AsyncParsableCommand {
    static let version = PumpWandSoftware.version

    static let configuration = CommandConfiguration(
        commandName: "pumpctl",
        abstract: "Program an implanted intrathecal drug pump through a PumpWand programmer wand.",
        discussion: """
            Quantities always carry a unit: 400mcg/day, 2000mcg/mL, 20mL, 0.5mL/day, 2mg, 90min, 30d.

            Exit status: 0 success; 64 usage error; 65 refused by the checks or by the pump; 69 wand or pump not found; 70 internal error; 71 state directory in use by another pumpctl; 73 the pump WAS changed but not as planned (not verified, or stopped half-way): interrogate first; 74 communication failure, certainly no effect; 75 delivery UNCERTAIN (resolve it before anything else); 76 device fault; 77 permission denied, or a state directory others can change; 78 audit verify --pump found another log made with this audit key; 79 interrogate found the pump NOT DELIVERING drug; 80 interrogate found the pump delivering from a reservoir whose contents are unknown; 130 cancelled. Every failure says what the pump was left in.
            """,
        version: version,

        subcommands: [
            Wands.self, Interrogate.self, Program.self, Refill.self, Bolus.self, Stop.self, Resume.self,
            Alarms.self, CatheterCommand.self, Log.self, Clock.self, Calc.self, Audit.self, Patient.self, Keys.self, Export.self, Sim.self, Link.self,
            Raw.self, Serve.self,
        ]

    )

    // Declared here too so global options may come before the command name
    // (`pumpctl --json wands`); argument-parser hands them to the command's
    // own `GlobalOptions`.
    @OptionGroup var global: GlobalOptions

    /// Runs the command; a failure is written once, here: its message on
    /// stderr and, with --json, the error object on stdout.
    static func main() async {
        // Everything pumpctl creates (audit log, records, reports, traces)
        // is for this user alone, whatever the shell's umask.
        umask(0o077)
        let arguments = Array(CommandLine.arguments.dropFirst())
        let json = arguments.prefix { $0 != "--" }.contains("--json")
        if let failure = CommandLineGuide.misplacedPumpSelection(arguments) ?? misnamedCommand(arguments) {
            Output.report(failure, json: json)
            Glibc.exit(failure.status.rawValue)
        }
        do {
            var command = try parseAsRoot(arguments)
            if var asyncCommand = command as? AsyncParsableCommand {
                try await asyncCommand.run()
            } else {
                try command.run()
            }
        } catch let failure as CommandFailure {
            Output.report(failure, json: json)
            Glibc.exit(failure.status.rawValue)
        } catch {
            let status = exitCode(for: error)
            // A command's help ends by saying where the global options are
            // described: they are listed once, in 'pumpctl --help'.
            if status.isSuccess, !(error is ExitCode), let help = CommandLineGuide.withGlobalOptionsNote(fullMessage(for: error)) {
                FileHandle.standardOutput.write(Data((help).utf8))
                Glibc.exit(0)
            }
            if json, !status.isSuccess, !(error is ExitCode) {
                let failure = CommandFailure(status: ExitStatus(rawValue: status.rawValue) ?? .usage,
                                             message: message(for: error), code: "usage")
                try? Output.json(Output.ErrorObject(error: failure.jsonError))
            }
            exit(withError: error)
        }
    }

    /// Options of the root that take a value, to find the command name
    /// (the parser's own `--generate-completion-script SHELL` included).
    static let valued: Set<String> = ["--wand", "--trace", "--state-dir", "--operator", "--tz", "--color", "--key-file", "--config-dir",
                                      "--generate-completion-script"]

    /// A command name (or `help TOPIC`) that is not a command: a usage
    /// error (exit 64) naming the nearest command.
    static func misnamedCommand(_ arguments: [String]) -> CommandFailure? {
        let names = configuration.subcommands.map { $0._commandName }
        var index = 0
        while index < arguments.count, arguments[index].hasPrefix("-") {
            if arguments[index] == "--" { return nil }
            index += valued.contains(arguments[index]) ? 2 : 1
        }
        guard index < arguments.count else { return nil }
        var word = arguments[index]
        var helpTopic = false
        if word == "help" {
            guard index + 1 < arguments.count, !arguments[index + 1].hasPrefix("-") else { return nil }
            word = arguments[index + 1]
            helpTopic = true
        }
        guard !names.contains(word) else { return nil }
        let nearest = names.map { ($0, distance($0, word)) }.min { $0.1 < $1.1 }
        var message = helpTopic ? "help \(word): there is no such command." : "'\(word)' is not a pumpctl command."
        if let nearest, nearest.1 <= max(1, word.count / 3) { message += " Did you mean '\(nearest.0)'?" }
        message += " See 'pumpctl --help'."
        return CommandFailure(status: .usage, message: message, code: "usage")
    }

    /// Levenshtein distance, for suggestions.
    static func distance(_ a: String, _ b: String) -> Int {
        let a = Array(a), b = Array(b)
        guard !a.isEmpty else { return b.count }
        guard !b.isEmpty else { return a.count }
        var previous = Array(0...b.count)
        for i in 1...a.count {
            var current = [i] + Array(repeating: 0, count: b.count)
            for j in 1...b.count {
                current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1))
            }
            previous = current
        }
        return previous[b.count]
    }
}
