#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// Why a transport could not open or move bytes. Each message says what
/// happened, what it means for the pump, and what to do next.
public enum WandTransportError: Error, Equatable, Sendable, CustomStringConvertible {
    /// No wand (or no device node) answers to `device`.
    case notFound(device: String)
    /// The device exists but this user may not open it.
    case permissionDenied(device: String)
    /// Another program (or another open in this one) holds the wand.
    case busy(device: String)
    /// The wand went away: unplugged, powered off, or the tty hung up.
    case unplugged
    /// Nothing arrived (or could be sent) before the deadline.
    case timedOut
    /// This transport was closed by its owner.
    case closed
    /// The waiting task was cancelled.
    case cancelled
    /// Any other failure of a system call or library call, with its errno
    /// (or negated library status) and the operation that failed.
    case io(errno: Int32, operation: String)

    /// The command that installs the udev rules shipped in `udev-rules/`
    /// that grant access without more setup: recognition and the seat
    /// user's access. The group rule is left out: without its system group
    /// it grants nothing and udev warns (udev-rules/README.md).
    public static let udevRulesInstallCommand =
        "sudo cp udev-rules/60-pumpwand.rules udev-rules/61-pumpwand-uaccess.rules /etc/udev/rules.d/ && sudo udevadm control --reload && sudo udevadm trigger"

    public var description: String {
        switch self {
        case let .notFound(device):
            return "No wand found at \(device). Nothing was sent. Check the cable and run `pumpctl wands` to list attached wands."
        case let .permissionDenied(device):
            return "Permission denied opening \(device). Nothing was sent. Install PumpWand's udev rules so the logged-in user may use the wand: \(Self.udevRulesInstallCommand), then unplug and replug the wand (see udev-rules/README.md)."
        case let .busy(device):
            return "\(device) is in use by another program (another pumpctl, a serial terminal or ModemManager). Nothing was sent. Close that program and try again; udev-rules/60-pumpwand.rules keeps ModemManager away."
        case .unplugged:
            return "The wand was disconnected. A command in flight may or may not have reached the pump: reconnect and read the pump's state before sending anything else."
        case .timedOut:
            return "The wand did not answer in time. A command in flight may or may not have reached the pump: keep the wand over the pump and read its state before sending anything else."
        case .closed:
            return "The connection to the wand was already closed."
        case .cancelled:
            return "Waiting for the wand was cancelled. A command in flight may or may not have reached the pump: read its state before sending anything else."
        case let .io(code, operation):
            return "\(operation) failed: \(Self.errnoText(code)) (errno \(code)). A command in flight may or may not have reached the pump: reconnect and read its state before sending anything else."
        }
    }

    /// What happened, without what it means for a command in flight: for
    /// messages that already know (a send that certainly left nothing).
    public var headline: String {
        switch self {
        case let .notFound(device): return "No wand found at \(device)."
        case let .permissionDenied(device): return "Permission denied opening \(device)."
        case let .busy(device): return "\(device) is in use by another program."
        case .unplugged: return "The wand was disconnected."
        case .timedOut: return "The wand did not accept the bytes in time."
        case .closed: return "The connection to the wand was already closed."
        case .cancelled: return "Waiting for the wand was cancelled."
        case let .io(code, operation): return "\(operation) failed: \(Self.errnoText(code)) (errno \(code))."
        }
    }

    static func errnoText(_ code: Int32) -> String {
        guard let text = strerror(code) else { return "unknown error" }
        return String(cString: text)
    }
}
