import ArgumentParser
import Foundation
import Glibc
import PumpProgrammer
import StateFiles
import SystemPackage

/// Options every command accepts, written before or after the command name.
struct GlobalOptions: ParsableArguments {
    @Flag(name: .long, help: "Print JSON instead of tables (snake_case keys, quantities as {value, unit}).")
    var json = false

    @Flag(name: .long, help: ArgumentHelp(
        "Talk to the simulated wand and pump (state in the state directory), never a real one.",
        discussion: "Every output then says SIMULATED; JSON carries \"simulated\": true."))
    var simulator = false

    @Option(name: .long, help: ArgumentHelp(
        "The wand: a serial number (PW1-000123), a /dev/bus/usb node or a tty path. Default: the one attached wand.",
        valueName: "serial-or-path"))
    var wand: String?

    @Option(name: .long, help: ArgumentHelp(
        "Record every frame to and from the wand in this pcapng file (for Wireshark with hardware/wireshark/pumpwand.lua).",
        discussion: "Sealed pump messages are recorded as sent (ciphertext); the session keys are never written.",
        valueName: "file.pcapng"))
    var trace: String?

    @Flag(name: .customLong("trace-overwrite"), help: ArgumentHelp(
        "Replace the --trace file if one is there (never through a symbolic link).",
        discussion: "Without it an existing file at the --trace path is left as it was and the command sends nothing."))
    var traceOverwrite = false

    @Option(name: .customLong("key-file"), help: ArgumentHelp(
        "The pump's key file (32 bytes or 64 hex digits, mode 0600). Not needed with --simulator.", valueName: "file"))
    var keyFile: String?

    @Option(name: .customLong("config-dir"), help: ArgumentHelp(
        "Where the keyring (keys/SERIAL.key, one private file per pump) and the audit key (audit.key) are kept.",
        discussion: "Default: $PUMPWAND_CONFIG_DIR, else $XDG_CONFIG_HOME/pumpwand, else ~/.config/pumpwand. --key-file, when given, is used instead of the keyring.",
        valueName: "dir"))
    var configDir: String?

    @Flag(name: .long, help: "Confirm reviewed changes without a prompt (for scripts; review the output).")
    var yes = false

    @Option(name: .long, help: ArgumentHelp(
        "Where the audit log, pending commands and reports are kept.",
        discussion: "Default: $XDG_STATE_HOME/pumpwand, or ~/.local/state/pumpwand.",
        valueName: "dir"))
    var stateDir: String?

    @Option(name: .customLong("operator"), help: ArgumentHelp(
        "Who is operating, for the audit log and reports (default: the login name; required when there is none).", valueName: "name"))
    var operatorName: String?

    @Option(name: .long, help: ArgumentHelp(
        "The clinic's time zone for times and dates on the screen (an IANA name, e.g. America/Los_Angeles). Default: TZ, else the system zone.",
        discussion: "JSON keeps RFC 3339 times with their offset.", valueName: "zone"))
    var tz: String?

    @Option(name: .long, help: ArgumentHelp(
        "Emphasis (bold, colour) for ALARM, REFUSED, ERROR, WARNING, UNCERTAIN and SIMULATED: auto (a terminal without NO_COLOR), always or never.",
        valueName: "when"))
    var color: String = "auto"

    /// Sets how text is shown (zone, emphasis) before the command runs.
    mutating func validate() throws {
        guard let choice = ColorChoice(rawValue: color) else {
            throw ValidationError("--color \(color): use auto, always or never.")
        }
        let zone: ClinicZone
        do { zone = try ClinicZone.resolve(tz) } catch let failure as CommandFailure {
            throw ValidationError(failure.message)
        }
        Screen.shared = Screen(color: choice, zone: zone)
        if let configDir {
            guard !configDir.isEmpty else { throw ValidationError("--config-dir must not be empty.") }
            // One configuration directory for everything kept there (the
            // keyring and the audit key): the library resolves it from this
            // variable, so the option and the variable can never disagree.
            let absolute = configDir.hasPrefix("/") ? configDir : FileManager.default.currentDirectoryPath + "/" + configDir
            setenv(ConfigurationDirectory.environmentVariable, absolute, 1)
        }
    }

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

    /// The keyring folder's parent: `--config-dir`, else the default.
    func keyStore() throws -> PumpKeyStore {
        if let configDir {
            guard !configDir.isEmpty else { throw ValidationError("--config-dir must not be empty.") }
            return PumpKeyStore(configDirectory: FilePath(configDir))
        }
        guard let path = PumpKeyStore.defaultPath(environment: ProcessInfo.processInfo.environment) else {
            throw ValidationError("Neither PUMPWAND_CONFIG_DIR, XDG_CONFIG_HOME nor HOME is set: give --config-dir.")
        }
        return PumpKeyStore(configDirectory: path)
    }

    /// The operator recorded in the audit log: `--operator`, else the login
    /// name. Never a placeholder: with neither, the command is refused
    /// before anything is sent, and a name with control characters or
    /// beyond the length limit is refused too.
    func resolvedOperator() throws -> String {
        let environment = ProcessInfo.processInfo.environment
        let given = operatorName ?? [environment["LOGNAME"], environment["USER"], Self.accountName()]
            .compactMap { $0 }.first { !$0.isEmpty }
        guard let given, !given.isEmpty else {
            throw Output.fail(CommandFailure(status: .usage, message:
                "Who is operating? There is no login name: give --operator NAME. Nothing was sent to the pump."))
        }
        do { return try OperatorName.checked(given, field: "operator") } catch {
            throw Output.fail(CommandFailure(status: .usage, message: "--operator: \(error.description) Nothing was sent to the pump."))
        }
    }

    /// `--second-operator`: the same checks as the operator's name, and a
    /// second person, not the operator again (compared as typed, after the
    /// checks; a name differing only in case is taken as the same person).
    func checkedSecondOperator(_ second: String?, operatorName: String) throws -> String? {
        guard let second else { return nil }
        let checked: String
        do { checked = try OperatorName.checked(second, field: "second operator") } catch {
            throw Output.fail(CommandFailure(status: .usage, message: "--second-operator: \(error.description) Nothing was sent to the pump."))
        }
        guard checked.lowercased() != operatorName.lowercased() else {
            throw Output.fail(CommandFailure(status: .usage, message:
                "--second-operator \(checked) is the operator: the second provider must be another person. Nothing was sent to the pump."))
        }
        return checked
    }

    /// The name of the account running pumpctl, from the password database.
    private static func accountName() -> String? {
        guard let entry = getpwuid(geteuid()), let name = entry.pointee.pw_name else { return nil }
        return String(cString: name)
    }
}
