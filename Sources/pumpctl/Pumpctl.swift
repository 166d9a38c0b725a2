import ArgumentParser
import Foundation
import Glibc

/// The programmer's command line. Global options go before the command
/// (`pumpctl --json wands`); each command reads them through `GlobalOptions`.
@main
struct Pumpctl: AsyncParsableCommand {
    static let version = "0.1.0"

    static let configuration = CommandConfiguration(
        commandName: "pumpctl",
        abstract: "Program an implanted intrathecal drug pump through a PumpWand programmer wand.",
        discussion: """
            Quantities always carry a unit: 400mcg/day, 2000mcg/mL, 20mL, 0.5mL/day, 2mg, 90min, 30d.

            Exit status: 0 success; 64 usage error; 65 refused by safety policy; 69 wand or pump not found; 70 internal error; 74 communication failure; 75 delivery UNCERTAIN (resolve it before anything else); 76 device fault; 77 permission denied.
            """,
        version: version,

        subcommands: [
            Wands.self, Interrogate.self, Program.self, Refill.self, Bolus.self, Stop.self, Resume.self,
            Alarms.self, Log.self, Clock.self, Calc.self, Audit.self, Sim.self, Link.self, Raw.self, Serve.self,
        ]

    )

    // Declared here too so global options may come before the command name
    // (`pumpctl --json wands`); argument-parser hands them to the command's
    // own `GlobalOptions`.
    @OptionGroup var global: GlobalOptions

    /// Runs the command; a failure is written once, here: its message on
    /// stderr and, with --json, the error object on stdout.
    static func main() async {
        let arguments = Array(CommandLine.arguments.dropFirst())
        let json = arguments.prefix { $0 != "--" }.contains("--json")
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
            if json, !status.isSuccess, !(error is ExitCode) {
                let failure = CommandFailure(status: ExitStatus(rawValue: status.rawValue) ?? .usage,
                                             message: message(for: error), code: "usage")
                try? Output.json(Output.ErrorObject(error: failure.jsonError))
            }
            exit(withError: error)
        }
    }
}
