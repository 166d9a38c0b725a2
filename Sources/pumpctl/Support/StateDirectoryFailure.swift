import StateFiles

extension CommandFailure {
    /// Why the state directory could not be taken, as a failure: a folder
    /// another user owns or can write into is refused with 77 (permission,
    /// the technician must fix its owner or mode, see docs/security.md);
    /// anything else with 71 (in use, or a lock file that cannot be used).
    /// `tail` says what was left undone ("Nothing was sent to the pump.").
    static func stateDirectory(_ error: StateDirectoryLockError, tail: String) -> CommandFailure {
        if case let .unusable(_, reason) = error {
            switch reason {
            case .unsafeDirectory, .ownedByAnotherUser:
                return CommandFailure(status: .permissionDenied, message: "\(reason.description) \(tail)",
                                      code: "unsafe_state_directory")
            default:
                break
            }
        }
        return CommandFailure(status: .stateDirectoryBusy, message: "\(error.description) \(tail)")
    }
}
