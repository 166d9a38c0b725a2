import ArgumentParser
import Foundation
import StateFiles
import SystemPackage

/// Options every command accepts, written before or after the command name.
struct GlobalOptions: ParsableArguments {
    @Flag(name: .long, help: "Print JSON instead of tables (snake_case keys, quantities as {value, unit}).")
    var json = false

    @Flag(name: .long, help: "Use the SIMULATED wand and pump (its state is simulator.json in the state directory).")
    var simulator = false

    @Option(name: .long, help: ArgumentHelp(
        "Where the audit log, pending commands and reports are kept.",
        discussion: "Default: $XDG_STATE_HOME/pumpwand, or ~/.local/state/pumpwand.",
        valueName: "dir"))
    var stateDir: String?

    @Option(name: .customLong("operator"), help: ArgumentHelp(
        "Who is operating, for the audit log (default: the login name).", valueName: "name"))
    var operatorName: String?

    /// The state directory to use, created on first use.
    func stateDirectory() throws -> StateDirectory {
        let path: FilePath
        if let stateDir {
            guard !stateDir.isEmpty else { throw ValidationError("--state-dir must not be empty.") }
            path = FilePath(stateDir)
        } else if let fallback = StateDirectory.defaultPath(environment: ProcessInfo.processInfo.environment) {
            path = fallback
        } else {
            throw ValidationError("Neither XDG_STATE_HOME nor HOME is set: give --state-dir.")
        }
        return StateDirectory(path: path)
    }

    /// The operator recorded in the audit log.
    var resolvedOperator: String {
        if let operatorName, !operatorName.isEmpty { return operatorName }
        let environment = ProcessInfo.processInfo.environment
        return environment["LOGNAME"] ?? environment["USER"] ?? "unknown"
    }
}
