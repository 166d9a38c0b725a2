/// Why hotplug events could not be watched. Watching changes nothing on any
/// device, so every case is safe to retry.
public enum WandMonitorError: Error, Equatable, Sendable, CustomStringConvertible {
    /// No udev context, or no netlink monitor (no udev running, or a
    /// container without the uevent socket).
    case monitorUnavailable(operation: String, errno: Int32)
    /// The wands present when watching began could not be listed.
    case discoveryFailed(DiscoveryError)
    /// Waiting for events failed after watching had begun.
    case pollFailed(errno: Int32)

    public var description: String {
        switch self {
        case let .monitorUnavailable(operation, code):
            return "Wand arrivals and removals cannot be watched: \(operation) failed (\(WandTransportError.errnoText(code)), errno \(code)). Check that systemd-udevd is running (systemctl status systemd-udevd); inside a container, udev events are usually not available."
        case let .discoveryFailed(error):
            return "The attached wands could not be listed: " + error.description
        case let .pollFailed(code):
            return "Watching for wands stopped: poll failed (\(WandTransportError.errnoText(code)), errno \(code)). Run the command again."
        }
    }
}
