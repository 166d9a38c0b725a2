import Foundation

/// Why an operator's (or second provider's) name was refused. The name is
/// recorded on every audit row and report as who did it: a placeholder
/// names nobody, so it is refused like a name with no letter.
public enum OperatorNameError: Error, Equatable, Sendable, CustomStringConvertible {
    /// Empty, too long, a control or invisible character, no letter.
    case invalid(field: String, reason: String)
    /// `unknown`, `n/a`, `-`, `?` and the like: no person.
    case placeholder(field: String, name: String)

    public var description: String {
        switch self {
        case let .invalid(field, reason): return "The \(field)'s name \(reason)."
        case let .placeholder(field, name):
            return "The \(field)'s name '\(PatientRecord.printable(name))' is a placeholder, not a person: give the name (or login) of the person operating, as the clinic's records know them."
        }
    }
}

public enum OperatorName {
    /// Compared after trimming and lowercasing.
    static let placeholders: Set<String> = [
        "unknown", "n/a", "na", "none", "nobody", "noone", "no one", "anonymous", "anon", "tbd", "tba", "placeholder",
        "null", "nil", "-", "--", "?", "??", "???", ".", "x", "xx", "xxx",
    ]

    /// The checked name of the operator (`field` "operator") or the second
    /// provider: the checks of a person's name (PatientRecord.checkedName),
    /// and no placeholder.
    public static func checked(_ text: String, field: String) throws(OperatorNameError) -> String {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        if placeholders.contains(trimmed.lowercased()) { throw .placeholder(field: field, name: trimmed) }
        do {
            return try PatientRecord.checkedName(trimmed, field: field)
        } catch {
            switch error {
            case let .invalid(_, reason): throw .invalid(field: field, reason: reason)
            case .fillerRecordNumber, .unusable: throw .invalid(field: field, reason: "cannot be used")
            }
        }
    }
}
