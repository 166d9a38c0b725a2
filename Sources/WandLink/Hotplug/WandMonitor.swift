import CUdev
import Foundation
import Synchronization

/// Watches wands arrive and leave, through a libudev monitor.
///
/// `start()` opens a netlink monitor on the "udev" event source (events
/// after udev's rules ran, so symlinks and permissions are in place),
/// filtered to USB devices, and only then lists the wands already
/// attached: a wand plugged in meanwhile is either in the list or arrives
/// as an event, never missed, and never reported twice.
///
/// The monitor is read on its own thread, which waits in `poll` for at most
/// `pollSlice` at a time so `stop()` is noticed promptly; no thread of the
/// cooperative pool ever blocks. libudev objects are not thread-safe: after
/// `start()` hands them over, only that thread touches them.
public final class WandMonitor: Sendable {
    /// The wands attached when watching began, as `WandDiscovery` lists them.
    public let initialWands: [WandRecord]
    /// Arrivals and removals, in the order udev reported them. Ends after
    /// `stop()`, when the stream's consumer goes away, or on a failure
    /// (then `failure` says why).
    public let events: AsyncStream<WandHotplugEvent>

    /// Longest single wait of the monitor thread.
    static let pollSlice: Duration = .milliseconds(200)
    /// Events held for a consumer that is not reading; beyond this the
    /// newest are dropped. Wands are plugged in by hand, so this is never
    /// reached by a consumer that reads at all.
    static let bufferedEvents = 4096

    private let control: MonitorControl

    private init(initialWands: [WandRecord], events: AsyncStream<WandHotplugEvent>, control: MonitorControl) {
        self.initialWands = initialWands
        self.events = events
        self.control = control
    }

    deinit { control.stop() }

    /// Starts watching.
    ///
    /// - Parameter attachedWands: lists the wands present once the monitor
    ///   is receiving; `WandDiscovery` by default.
    public static func start(
        attachedWands: () throws(DiscoveryError) -> [WandRecord] = { () throws(DiscoveryError) in
            try WandDiscovery().wands()
        }
    ) throws(WandMonitorError) -> WandMonitor {
        let source = try UdevMonitorSource()
        let initial: [WandRecord]
        do { initial = try attachedWands() } catch { throw .discoveryFailed(error) }

        let (stream, continuation) = AsyncStream.makeStream(
            of: WandHotplugEvent.self, bufferingPolicy: .bufferingOldest(bufferedEvents))
        let control = MonitorControl()
        continuation.onTermination = { _ in control.stop() }
        let tracker = HotplugTracker(initialWands: initial)
        let thread = Thread {
            source.run(tracker: tracker, control: control, continuation: continuation)
        }
        thread.name = "pumpwand.hotplug"
        thread.start()
        return WandMonitor(initialWands: initial, events: stream, control: control)
    }

    /// Stops watching: `events` ends within one poll slice. Idempotent.
    public func stop() { control.stop() }

    /// Why `events` ended, when it ended by a failure rather than `stop()`.
    public var failure: WandMonitorError? { control.failure }
}

/// Shared between the monitor's owner and its thread.
final class MonitorControl: Sendable {
    private let stopped = Atomic(false)
    private let recordedFailure = Mutex<WandMonitorError?>(nil)

    var isStopped: Bool { stopped.load(ordering: .acquiring) }
    func stop() { stopped.store(true, ordering: .releasing) }

    var failure: WandMonitorError? { recordedFailure.withLock { $0 } }
    func fail(_ error: WandMonitorError) {
        recordedFailure.withLock { $0 = error }
        stop()
    }
}

/// A udev context and its netlink monitor, receiving.
///
/// `@unchecked Sendable`: created by `WandMonitor.start()` and from then on
/// used only by the monitor thread (`run`), never concurrently.
final class UdevMonitorSource: @unchecked Sendable {
    private let udev: OpaquePointer
    private let monitor: OpaquePointer

    init() throws(WandMonitorError) {
        guard let udev = udev_new() else { throw .monitorUnavailable(operation: "udev_new", errno: errno) }
        guard let monitor = udev_monitor_new_from_netlink(udev, "udev") else {
            let code = errno
            udev_unref(udev)
            throw .monitorUnavailable(operation: "udev_monitor_new_from_netlink", errno: code)
        }
        var status = udev_monitor_filter_add_match_subsystem_devtype(monitor, "usb", "usb_device")
        let step = status < 0 ? "udev_monitor_filter_add_match_subsystem_devtype" : "udev_monitor_enable_receiving"
        if status >= 0 { status = udev_monitor_enable_receiving(monitor) }
        guard status >= 0 else {
            udev_monitor_unref(monitor)
            udev_unref(udev)
            throw .monitorUnavailable(operation: step, errno: -status)
        }
        self.udev = udev
        self.monitor = monitor
    }

    deinit {
        udev_monitor_unref(monitor)
        udev_unref(udev)
    }

    /// The monitor thread's loop: poll, receive, classify, yield.
    func run(tracker initial: HotplugTracker, control: MonitorControl,
             continuation: AsyncStream<WandHotplugEvent>.Continuation)
    {
        var tracker = initial
        let descriptor = udev_monitor_get_fd(monitor)
        let sliceMilliseconds = Int32(WandMonitor.pollSlice.components.seconds * 1000
            + WandMonitor.pollSlice.components.attoseconds / 1_000_000_000_000_000)
        while !control.isStopped {
            var request = pollfd(fd: descriptor, events: Int16(POLLIN), revents: 0)
            let ready = poll(&request, 1, sliceMilliseconds)
            if ready < 0 {
                let code = errno
                if code == EINTR { continue }
                control.fail(.pollFailed(errno: code))
                break
            }
            if ready == 0 { continue }
            if request.revents & Int16(POLLERR | POLLHUP | POLLNVAL) != 0 && request.revents & Int16(POLLIN) == 0 {
                control.fail(.pollFailed(errno: EIO))
                break
            }
            // The socket is non-blocking: receive until it is empty.
            while !control.isStopped, let device = udev_monitor_receive_device(monitor) {
                defer { udev_device_unref(device) }
                guard let action = udev_device_get_action(device).map({ String(cString: $0) }),
                      let sysPath = udev_device_get_syspath(device).map({ String(cString: $0) })
                else { continue }
                let event = tracker.observe(
                    action: action, sysPath: sysPath,
                    devNode: udev_device_get_devnode(device).map { String(cString: $0) },
                    properties: { name in udev_device_get_property_value(device, name).map { String(cString: $0) } },
                    attribute: { name in
                        udev_device_get_sysattr_value(device, name).map {
                            String(cString: $0).trimmingCharacters(in: .whitespacesAndNewlines)
                        }
                    })
                if let event { continuation.yield(event) }
            }
        }
        continuation.finish()
    }
}
