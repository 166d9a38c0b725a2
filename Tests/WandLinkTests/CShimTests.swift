import CLibUSB
import CUdev
import Testing

/// The C shims link and the libraries behind them work on this machine.
@Suite struct CShimTests {
    @Test func libusbInitialisesAndListsDevices() {
        var context: OpaquePointer?
        let status = libusb_init(&context)
        #expect(status == 0, "libusb_init failed: \(status)")
        guard status == 0, let context else { return }
        defer { libusb_exit(context) }
        var list: UnsafeMutablePointer<OpaquePointer?>?
        let count = libusb_get_device_list(context, &list)
        // A machine without USB devices lists zero; an error is negative.
        #expect(count >= 0, "libusb_get_device_list failed: \(count)")
        if count >= 0 { libusb_free_device_list(list, 1) }
        #expect(libusb_get_version().pointee.major == 1)
    }

    @Test func libudevEnumerates() {
        guard let udev = udev_new() else {
            Issue.record("udev_new returned NULL")
            return
        }
        defer { udev_unref(udev) }
        let enumerate = udev_enumerate_new(udev)
        #expect(enumerate != nil)
        guard let enumerate else { return }
        defer { udev_enumerate_unref(enumerate) }
        #expect(udev_enumerate_add_match_subsystem(enumerate, "mem") >= 0)
        #expect(udev_enumerate_scan_devices(enumerate) >= 0)
        // /sys/class/mem (null, zero, random...) exists on every Linux machine.
        var names: [String] = []
        var entry = udev_enumerate_get_list_entry(enumerate)
        while let current = entry {
            if let name = udev_list_entry_get_name(current) { names.append(String(cString: name)) }
            entry = udev_list_entry_get_next(current)
        }
        #expect(names.contains { $0.hasSuffix("/null") }, "no /sys/class/mem/null among \(names)")
    }
}
