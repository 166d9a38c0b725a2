import ArgumentParser
import Foundation

/// Where options go, for the two places argument-parser alone says too
/// little: a command's help (the global options are listed once, in
/// `pumpctl --help`, and each command's help says so), and `--patient` or
/// `--expect-pump` given where the command does not take them.
enum CommandLineGuide {
    /// The global options, as `pumpctl --help` lists them.
    static let globalOptionNames = ["--json", "--simulator", "--wand", "--trace", "--trace-overwrite", "--key-file", "--yes",
                                    "--state-dir", "--operator", "--tz", "--color"]

    /// Appended to every command's help but the root's.
    static let globalOptionsNote = """
        GLOBAL OPTIONS:
          \(globalOptionNames.joined(separator: ", ")): accepted before or after the command name
          (pumpctl --json interrogate, pumpctl interrogate --json). They are described once, in 'pumpctl --help' (man pumpctl).
        """

    /// A command's help text with the note on the global options, or nil
    /// when `text` is the root's help (which lists them itself).
    static func withGlobalOptionsNote(_ text: String) -> String? {
        guard let usage = text.range(of: "USAGE: pumpctl ") else { return nil }
        let next = text[usage.upperBound...].prefix { !$0.isWhitespace }
        guard !next.isEmpty, !next.hasPrefix("<"), !next.hasPrefix("["), !next.hasPrefix("-") else { return nil }
        var help = text
        while help.hasSuffix("\n") { help.removeLast() }
        return help + "\n\n" + globalOptionsNote + "\n"
    }

    /// Options of a pump command (SessionOptions) that take a value, to
    /// walk the words of a command line.
    static let sessionValued: Set<String> = ["--patient", "--expect-pump", "--second-operator", "--policy"]

    /// The commands named by the words of `arguments` (`["patient", "show"]`),
    /// options and their values skipped, with the index of the first command word.
    static func commandPath(_ arguments: [String]) -> (path: [ParsableCommand.Type], names: [String], firstWord: Int?) {
        var current: ParsableCommand.Type = Pumpctl.self
        var path: [ParsableCommand.Type] = []
        var names: [String] = []
        var firstWord: Int?
        var index = 0
        while index < arguments.count {
            let word = arguments[index]
            if word == "--" { break }
            if word.hasPrefix("-") {
                let name = String(word.prefix { $0 != "=" })
                index += !word.contains("=") && (Pumpctl.valued.contains(name) || sessionValued.contains(name)) ? 2 : 1
                continue
            }
            guard let next = current.configuration.subcommands.first(where: { $0._commandName == word }) else { break }
            if firstWord == nil { firstWord = index }
            current = next
            path.append(next)
            names.append(word)
            index += 1
        }
        // `pumpctl audit` is `pumpctl audit list`: the default subcommand runs.
        while let fallback = current.configuration.defaultSubcommand, !current.configuration.subcommands.isEmpty {
            current = fallback
            path.append(fallback)
            names.append(fallback._commandName)
        }
        return (path, names, firstWord)
    }

    /// Whether the command `type` (a leaf) takes `--patient`.
    static func takesPatient(_ type: ParsableCommand.Type) -> Bool {
        type.configuration.subcommands.isEmpty && Pumpctl.helpMessage(for: type, columns: 400).contains("--patient <number>")
    }

    /// The pump commands that take `--patient`, as `interrogate, program, ...`.
    static func commandsTakingPatient() -> [String] {
        func walk(_ type: ParsableCommand.Type, _ prefix: [String]) -> [String] {
            let name = prefix + [type._commandName]
            if type.configuration.subcommands.isEmpty { return takesPatient(type) ? [name.joined(separator: " ")] : [] }
            return type.configuration.subcommands.flatMap { walk($0, name) }
        }
        return Pumpctl.configuration.subcommands.flatMap { walk($0, []) }
    }

    /// `--patient` (or `--expect-pump`) where it is not taken: before the
    /// command name (it is an option of the pump commands, not a global
    /// one), or on a command that does not talk to a pump. A usage error
    /// that says where it goes; nil when it is where it belongs, or absent.
    static func misplacedPumpSelection(_ arguments: [String]) -> CommandFailure? {
        let words = arguments.prefix { $0 != "--" }
        guard let position = words.firstIndex(where: { word in
            ["--patient", "--expect-pump"].contains { word == $0 || word.hasPrefix($0 + "=") }
        }) else { return nil }
        let option = String(words[position].prefix { $0 != "=" })
        let (path, names, firstWord) = commandPath(arguments)
        // No command named (or `help`): argument-parser's own message stands.
        guard let leaf = path.last, leaf.configuration.subcommands.isEmpty else { return nil }
        let command = "pumpctl " + names.joined(separator: " ")
        let value = option == "--patient" ? "NUMBER" : "SERIAL"
        if takesPatient(leaf) {
            guard let firstWord, position < firstWord else { return nil }
            return CommandFailure(status: .usage, message:
                "\(option) goes after the command name: it is an option of the pump commands, not a global option. Write '\(command) \(option) \(value) ...'. Nothing was sent to the pump.",
                code: "usage")
        }
        var message = "'\(command)' takes no \(option): \(option) \(value) picks the pump, and refuses any other, on the commands that talk to one ("
            + commandsTakingPatient().joined(separator: ", ") + "), after the command name."
        if names.first == "patient" {
            message += option == "--patient"
                ? " For the patient record itself the record number is --mrn NUMBER (pumpctl patient set) and the pump is --serial SERIAL (patient set, patient show)."
                : " The patient record names its pump with --serial SERIAL."
        }
        return CommandFailure(status: .usage, message: message + " Nothing was sent to the pump.", code: "usage")
    }
}
