/// Why wands could not be listed. Listing changes nothing on any device, so
/// every case is safe to retry.
public enum DiscoveryError: Error, Equatable, Sendable, CustomStringConvertible {
    /// `udev_new` failed: no udev context, so no device can be listed.
    case udevUnavailable
    /// libudev could not enumerate a subsystem.
    case enumerationFailed(subsystem: String, errno: Int32)

    public var description: String {
        switch self {
        case .udevUnavailable:
            return "libudev could not be initialised, so no wand can be listed. Check that /sys is mounted and udev is running (systemctl status systemd-udevd)."
        case let .enumerationFailed(subsystem, errno):
            return "libudev could not enumerate the \(subsystem) subsystem (errno \(errno)). Check that /sys is readable."
        }
    }
}
