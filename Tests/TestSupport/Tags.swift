import Testing

extension Tag {
    /// Runs built binaries (pumpctl, wandsim, probes), scripts or tools as
    /// child processes.
    @Tag public static var process: Self
    /// Opens pseudo-terminals (in process, or through a child's pty).
    @Tag public static var pty: Self
    /// Hardware in the loop: wandsim as the wand, the umockdev testbed and
    /// the Python harnesses (usb_wand.py, pty_relay.py, hotplug_watch.py).
    @Tag public static var hardwareInTheLoop: Self
}
