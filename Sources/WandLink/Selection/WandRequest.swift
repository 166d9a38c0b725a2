#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// What the technician asked for with `--wand` (or by leaving it out),
/// before anything is looked up or opened.
public enum WandRequest: Equatable, Sendable {
    /// No `--wand`: the one wand attached, if there is exactly one.
    case onlyAttachedWand
    /// `--wand PW1-000123`: the attached wand with this USB serial number.
    case serialNumber(String)
    /// `--wand /dev/bus/usb/001/002` (or a link to such a node, like
    /// `/dev/pumpwand/usb/by-serial/PW1-000123`): the wand at this usbfs node.
    case usbPath(String)
    /// Any other path: a tty (`/dev/ttyACM0`, `/dev/pumpwand/by-serial/...`,
    /// a bring-up board's UART, wandsim's pty), opened as given.
    case ttyPath(String)

    /// Longest `--wand` value accepted: Linux's PATH_MAX.
    public static let maximumArgumentLength = 4096

    /// Reads a `--wand` value.
    ///
    /// A value is a serial number only when it has the exact form
    /// `WandIdentity.isValidSerialNumber` accepts; it is a path only when it
    /// contains a `/`. Anything else is refused rather than guessed at, so a
    /// mistyped serial number never becomes a file name or the reverse.
    ///
    /// - Parameter resolve: the final target of a path after following
    ///   symbolic links, or nil when it cannot be resolved (the default uses
    ///   realpath(3)). A path that resolves under `/dev/bus/usb/` is a USB
    ///   node even when reached through a udev symlink.
    public init(
        argument: String?, resolvingLinks resolve: (String) -> String? = WandRequest.resolvedPath
    ) throws(WandSelectionError) {
        guard let argument else {
            self = .onlyAttachedWand
            return
        }
        guard !argument.isEmpty else {
            throw .invalidArgument(argument: argument, reason: "it is empty")
        }
        guard argument.utf8.count <= Self.maximumArgumentLength else {
            throw .invalidArgument(
                argument: String(argument.prefix(64)) + "...",
                reason: "it is longer than \(Self.maximumArgumentLength) bytes")
        }
        guard !argument.utf8.contains(0) else {
            throw .invalidArgument(argument: argument, reason: "it contains a NUL byte")
        }
        if WandIdentity.isValidSerialNumber(argument) {
            self = .serialNumber(argument)
            return
        }
        guard argument.contains("/") else {
            let upper = argument.uppercased()
            let reason = WandIdentity.isValidSerialNumber(upper)
                ? "serial numbers are written in capitals: \(upper)"
                : "it is neither a wand serial number (PW, a generation digit, a dash and six digits, like PW1-000123) nor a device path (like /dev/ttyACM0)"
            throw .invalidArgument(argument: argument, reason: reason)
        }
        let target = resolve(argument) ?? argument
        if target.hasPrefix("/dev/bus/usb/") {
            guard USBTransport.parseUSBPath(target) != nil else {
                throw .invalidArgument(
                    argument: argument,
                    reason: "\(target) is not a USB device node of the form /dev/bus/usb/BBB/DDD")
            }
            self = .usbPath(target)
            return
        }
        // The tty is opened by the name given, so messages and the audit
        // trail show what the technician typed.
        self = .ttyPath(argument)
    }

    /// `path` with every symbolic link followed (realpath(3)), or nil when
    /// it does not exist or cannot be resolved.
    public static func resolvedPath(_ path: String) -> String? {
        guard let resolved = realpath(path, nil) else { return nil }
        defer { free(resolved) }
        return String(cString: resolved)
    }
}
