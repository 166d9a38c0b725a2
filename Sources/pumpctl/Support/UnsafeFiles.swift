import PumpProgrammer
import StateFiles

extension StateFileError {
    /// A file or folder that others could read, write or swap (another
    /// user's, a link, a FIFO, a loose mode): a permission problem, exit 77
    /// as for an unsafe state directory, never a usage mistake (64).
    var isUnsafe: Bool {
        switch self {
        case .unsafeDirectory, .ownedByAnotherUser, .unsafePermissions, .notRegularFile, .notDirectory: true
        default: false
        }
    }
}

extension CommandFailure {
    /// A key, bundle or configuration file that could not be read: 77 with
    /// `code` when it is unsafe, else 64.
    static func unreadableFile(_ error: StateFileError, message: String, unsafeCode: String) -> CommandFailure {
        error.isUnsafe
            ? CommandFailure(status: .permissionDenied, message: message, code: unsafeCode)
            : CommandFailure(status: .usage, message: message)
    }
}

extension PlanText {
    /// `message` without a fixed "Nothing was sent ..." sentence at its end
    /// (and a doubled full stop): the ledger's sentence follows it instead,
    /// so what is said about the pump is said once and from the ledger.
    static func withoutFixedNothingSent(_ message: String) -> String {
        var text = message
        while text.hasSuffix("..") { text.removeLast() }
        for fixed in [" Nothing was sent to the pump.", " Nothing was sent.", " No change was sent to the pump."] where text.hasSuffix(fixed) {
            text.removeLast(fixed.count)
            if !text.hasSuffix(".") { text += "." }
            return text
        }
        return text
    }
}
