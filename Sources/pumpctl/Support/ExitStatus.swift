import ArgumentParser

/// Exit statuses scripts can rely on. Values follow sysexits.h where one
/// fits, so they never collide with argument-parser's own 64 for usage.
enum ExitStatus: Int32, CaseIterable, Sendable {
    case success = 0
    case usage = 64
    case refusedByPolicy = 65
    case notFound = 69
    case internalError = 70
    /// Another pumpctl holds the state directory; nothing was sent.
    case stateDirectoryBusy = 71
    /// The pump was changed, and the command did not finish as planned (its
    /// read-back failed, or it stopped half-way): interrogate first.
    case changedNotVerified = 73
    case communicationFailure = 74
    case uncertain = 75
    case deviceFault = 76
    case permissionDenied = 77
    /// Cancelled by the technician (Ctrl-C or end of input at a prompt).
    case cancelled = 130

    var exitCode: ExitCode { ExitCode(rawValue) }
}

/// An error the command line reports as one plain message and a documented
/// exit status. Library errors are mapped to this at the edge, so the
/// library reports what it found and the CLI decides how to advise.
struct CommandFailure: Error, CustomStringConvertible {
    let status: ExitStatus
    let message: String

    var description: String { message }
}
