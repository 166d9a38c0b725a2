import Foundation
import ArgumentParser
import Glibc

/// Writing results: JSON for scripts, text for people. JSON keys are
/// snake_case and sorted so output is stable across runs.
enum Output {
    static func json<T: Encodable>(_ value: T) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        encoder.keyEncodingStrategy = .convertToSnakeCase
        encoder.dateEncodingStrategy = .iso8601
        let data = try encoder.encode(value)
        FileHandle.standardOutput.write(data)
        FileHandle.standardOutput.write(Data("\n".utf8))
    }

    static func line(_ text: String = "") {
        print(Screen.shared.render(text, fd: STDOUT_FILENO))
    }

    /// Messages meant for a person (warnings, progress) go to stderr so
    /// stdout stays parseable.
    static func note(_ text: String) {
        FileHandle.standardError.write(Data((Screen.shared.render(text, fd: STDERR_FILENO) + "\n").utf8))
    }

    /// The failure that ends the command; `Pumpctl.main` writes it (its
    /// message on stderr, and with --json the error object on stdout) and
    /// exits with its status.
    static func fail(_ failure: CommandFailure) -> CommandFailure {
        failure
    }

    /// Writes a failure: the message on stderr, headed by what it is
    /// (REFUSED, UNCERTAIN, ERROR); with --json also the error object on stdout.
    static func report(_ failure: CommandFailure, json: Bool) {
        let head: String
        switch failure.status {
        case .refusedByPolicy: head = "REFUSED: "
        case .uncertain: head = failure.message.contains("UNCERTAIN") || failure.message.contains("UNRESOLVED") ? "" : "UNCERTAIN: "
        case .cancelled: head = "CANCELLED: "
        default: head = "ERROR: "
        }
        let word = head.split(separator: ":").first.map(String.init) ?? ""
        // A message that already opens with its word ("Cancelled.", "REFUSED: ...") is not headed twice.
        note("pumpctl: " + (word.isEmpty || failure.message.uppercased().hasPrefix(word) ? "" : head) + failure.message)
        if json { try? Output.json(ErrorObject(error: failure.jsonError)) }
    }

    struct ErrorObject: Encodable {
        var error: CommandFailure.JSONError
    }

    /// A plain text table with left-aligned columns.
    static func table(header: [String], rows: [[String]]) -> String {
        let all = [header] + rows
        let widths = header.indices.map { column in
            all.map { $0.indices.contains(column) ? $0[column].count : 0 }.max() ?? 0
        }
        return all.map { row in
            row.enumerated().map { index, cell in
                index == row.count - 1 ? cell : cell.padding(toLength: widths[index], withPad: " ", startingAt: 0)
            }.joined(separator: "  ")
        }.joined(separator: "\n")
    }
}
