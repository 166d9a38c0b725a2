import CUdev
import Foundation

/// Owns one libudev context. libudev contexts are not thread-safe, so each
/// use creates its own and keeps it on one task.
final class UdevContext {
    let handle: OpaquePointer

    init() throws(DiscoveryError) {
        guard let handle = udev_new() else { throw .udevUnavailable }
        self.handle = handle
    }

    deinit { udev_unref(handle) }

    /// The sysfs paths of every device in `subsystem` (optionally filtered by
    /// a sysfs attribute), in libudev's order.
    func sysPaths(subsystem: String, matching attributes: [(String, String)] = [])
        throws(DiscoveryError) -> [String]
    {
        guard let enumerate = udev_enumerate_new(handle) else {
            throw .enumerationFailed(subsystem: subsystem, errno: errno)
        }
        defer { udev_enumerate_unref(enumerate) }
        var status = udev_enumerate_add_match_subsystem(enumerate, subsystem)
        for (name, value) in attributes where status >= 0 {
            status = udev_enumerate_add_match_sysattr(enumerate, name, value)
        }
        if status >= 0 { status = udev_enumerate_scan_devices(enumerate) }
        guard status >= 0 else { throw .enumerationFailed(subsystem: subsystem, errno: -status) }

        var paths: [String] = []
        // udev_list_entry_foreach is a macro Swift cannot import; walk the list by hand.
        var entry = udev_enumerate_get_list_entry(enumerate)
        while let current = entry {
            if let name = udev_list_entry_get_name(current) { paths.append(String(cString: name)) }
            entry = udev_list_entry_get_next(current)
        }
        return paths
    }

    func device(sysPath: String) -> UdevDevice? {
        guard let device = udev_device_new_from_syspath(handle, sysPath) else { return nil }
        return UdevDevice(owning: device)
    }
}

/// One libudev device, released when dropped.
final class UdevDevice {
    let handle: OpaquePointer
    /// Set when this wraps a parent obtained from another device: libudev
    /// owns parents, so they must not be unreferenced.
    private let owned: Bool
    private let keepAlive: UdevDevice?

    init(owning handle: OpaquePointer) {
        self.handle = handle
        owned = true
        keepAlive = nil
    }

    private init(borrowed handle: OpaquePointer, child: UdevDevice) {
        self.handle = handle
        owned = false
        keepAlive = child
    }

    deinit { if owned { udev_device_unref(handle) } }

    var sysPath: String? { udev_device_get_syspath(handle).map { String(cString: $0) } }
    var devNode: String? { udev_device_get_devnode(handle).map { String(cString: $0) } }

    func attribute(_ name: String) -> String? {
        udev_device_get_sysattr_value(handle, name).map {
            String(cString: $0).trimmingCharacters(in: .whitespacesAndNewlines)
        }
    }

    func property(_ name: String) -> String? {
        udev_device_get_property_value(handle, name).map { String(cString: $0) }
    }

    /// The nearest ancestor in `subsystem` with `devType`.
    func parent(subsystem: String, devType: String) -> UdevDevice? {
        guard let parent = udev_device_get_parent_with_subsystem_devtype(handle, subsystem, devType)
        else { return nil }
        return UdevDevice(borrowed: parent, child: self)
    }
}
