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
    /// `audit verify --pump`: this log verifies, but the pump holds anchors
    /// or commands of another log made with the same audit key (the key
    /// copied to another computer, or this log started afresh over an
    /// earlier one). Not 76: this log is not found tampered; not 0: the
    /// pump's record of this computer's visits is not this log's alone.
    case sameKeyOtherLog = 78
    /// `interrogate` read a pump that is not delivering drug (stopped, an
    /// alarm that stops delivery, a refill left begun, an unprimed line).
    case notDelivering = 79
    /// `interrogate` read a pump that delivers from a reservoir whose
    /// contents are unknown (a refill abandoned, alarm 0x0008): it may run
    /// dry at any time. Not 79: the pump does deliver, and a script that
    /// acts on 79 (cover the drug by another route) must not be told so.
    case reservoirUnknown = 80
    /// Cancelled by the technician (Ctrl-C or end of input at a prompt).
    case cancelled = 130

    var exitCode: ExitCode { ExitCode(rawValue) }
}

/// An error the command line reports as one plain message and a documented
/// exit status. Library errors are mapped to this at the edge, so the
/// library reports what it found and the CLI decides how to advise.
struct CommandFailure: Error, CustomStringConvertible {
    /// What the pump was left in, for scripts (`pump` in the JSON error).
    enum PumpState: String, Encodable, Sendable {
        case nothingSent = "nothing_sent", unchanged, changed, unknown
    }

    let status: ExitStatus
    let message: String
    /// A stable snake_case code; the exit status's name unless a finer one is known.
    var code: String
    var pump: PumpState

    init(status: ExitStatus, message: String, code: String? = nil, pump: PumpState = .nothingSent) {
        self.status = status
        self.message = message
        self.code = code ?? status.code
        self.pump = pump
    }

    var description: String { message }

    struct JSONError: Encodable {
        var code: String
        var exitStatus: Int32
        var message: String
        var pump: PumpState
    }

    var jsonError: JSONError { JSONError(code: code, exitStatus: status.rawValue, message: message, pump: pump) }
}

extension ExitStatus {
    /// The status's name in JSON errors.
    var code: String {
        switch self {
        case .success: return "success"
        case .usage: return "usage"
        case .refusedByPolicy: return "refused_by_policy"
        case .notFound: return "not_found"
        case .internalError: return "internal_error"
        case .stateDirectoryBusy: return "state_directory_busy"
        case .changedNotVerified: return "changed_not_verified"
        case .communicationFailure: return "communication_failure"
        case .uncertain: return "uncertain"
        case .deviceFault: return "device_fault"
        case .permissionDenied: return "permission_denied"
        case .sameKeyOtherLog: return "same_key_other_log"
        case .notDelivering: return "not_delivering"
        case .reservoirUnknown: return "reservoir_unknown"
        case .cancelled: return "cancelled"
        }
    }
}
