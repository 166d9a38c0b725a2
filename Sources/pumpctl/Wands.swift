import ArgumentParser
import Dispatch
import Foundation
import WandLink

struct Wands: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "wands",
        abstract: "List the programmer wands attached to this machine.",
        discussion: """
            Wands are found through udev by their USB vendor and product id (1209:0001). Each is
            listed with its serial number (use it with --wand), USB node, bring-up tty if any,
            firmware version and product string. No wand attached is not an error: the list is
            empty and the exit status is 0.

            With --watch, the wands present are listed and then every arrival and removal is
            printed as it happens, until interrupted (Ctrl-C or SIGTERM; exit status 0). With
            --json each line is one JSON object: {"event":"present",...} for each wand attached
            at the start, then {"event":"watching"}, then {"event":"arrived"|"removed",
            "serial_number":...,"usb_path":...,"bus_number":...,"device_address":...,"sys_path":...}.
            """
    )

    @OptionGroup(visibility: .hidden) var global: GlobalOptions

    @Flag(name: .long, help: "Keep running and report wands as they arrive and leave, until interrupted.")
    var watch = false

    func run() async throws {
        if watch {
            try await watchWands()
            return
        }
        let wands: [WandRecord]
        do {
            wands = try WandDiscovery().wands()
        } catch {
            throw Output.fail(CommandFailure(status: .notFound, message: error.description))
        }
        if global.json {
            try Output.json(WandList(wands: wands))
            return
        }
        if wands.isEmpty {
            Output.line("No wand attached. Plug in a PumpWand wand, or check `lsusb -d 1209:0001`.")
            return
        }
        Output.line(Self.table(wands))
    }

    static func table(_ wands: [WandRecord]) -> String {
        Output.table(
            header: ["SERIAL", "USB", "TTY", "FIRMWARE", "PRODUCT"],
            rows: wands.map {
                [$0.serialNumber, $0.usbPath, $0.ttyPath ?? "-", $0.firmwareVersion,
                 $0.product + ($0.vendorInterfacePresent == false ? " (vendor interface missing)" : "")]
            }
        )
    }

    // MARK: --watch

    private func watchWands() async throws {
        let monitor: WandMonitor
        do {
            monitor = try WandMonitor.start()
        } catch {
            throw Output.fail(CommandFailure(status: .notFound, message: error.description))
        }
        // SIGINT and SIGTERM end the watch normally: the handlers stop the
        // monitor, its stream ends, and the command returns with status 0.
        let interrupts = [SIGINT, SIGTERM].map { number -> DispatchSourceSignal in
            signal(number, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: number, queue: .global())
            source.setEventHandler { monitor.stop() }
            source.resume()
            return source
        }
        defer { interrupts.forEach { $0.cancel() } }

        let lines = WatchLines(json: global.json)
        try lines.start(monitor.initialWands)
        for await event in monitor.events {
            try lines.event(event)
        }
        if let failure = monitor.failure {
            throw Output.fail(CommandFailure(status: .communicationFailure, message: failure.description))
        }
    }
}

/// `wands --json`: an object, so fields can be added without breaking scripts.
struct WandList: Encodable {
    var wands: [WandRecord]
}

/// Writes `wands --watch` output one line at a time, straight to the file
/// descriptor, so a reader on a pipe sees each event as it happens.
struct WatchLines {
    var json: Bool

    func start(_ wands: [WandRecord]) throws {
        if json {
            for wand in wands { try write(json: WatchLine(present: wand)) }
            try write(json: WatchLine(event: "watching"))
        } else {
            write(text: wands.isEmpty ? "No wand attached." : Wands.table(wands))
            Output.note("Watching for wands to arrive or leave; press Ctrl-C to stop.")
        }
    }

    func event(_ event: WandHotplugEvent) throws {
        if json {
            try write(json: WatchLine(event))
        } else {
            write(text: [event.kind.rawValue, event.serialNumber ?? "(serial number unknown)", event.usbPath ?? "-"]
                .joined(separator: "  "))
        }
    }

    private func write(text: String) {
        FileHandle.standardOutput.write(Data((text + "\n").utf8))
    }

    private func write(json line: WatchLine) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        var data = try encoder.encode(line)
        data.append(UInt8(ascii: "\n"))
        FileHandle.standardOutput.write(data)
    }
}

/// One line of `wands --watch --json`. Fields a line has are always
/// written, as null when unknown (a removed wand whose serial number was
/// never seen), so scripts can rely on the keys.
struct WatchLine: Encodable {
    var event: String
    var wand: WandRecord?
    var hotplug: WandHotplugEvent?

    init(event: String) { self.event = event }
    init(present wand: WandRecord) {
        event = "present"
        self.wand = wand
    }
    init(_ hotplug: WandHotplugEvent) {
        event = hotplug.kind.rawValue
        self.hotplug = hotplug
    }

    enum Key: String, CodingKey {
        case event, serialNumber = "serial_number", usbPath = "usb_path", ttyPath = "tty_path"
        case busNumber = "bus_number", deviceAddress = "device_address", sysPath = "sys_path"
        case firmwareVersion = "firmware_version", product, vendorInterfacePresent = "vendor_interface_present"
    }

    func encode(to encoder: Encoder) throws {
        var container = encoder.container(keyedBy: Key.self)
        try container.encode(event, forKey: .event)
        if let wand {
            try container.encode(wand.serialNumber, forKey: .serialNumber)
            try container.encode(wand.usbPath, forKey: .usbPath)
            try container.encode(wand.ttyPath, forKey: .ttyPath)
            try container.encode(wand.busNumber, forKey: .busNumber)
            try container.encode(wand.deviceAddress, forKey: .deviceAddress)
            try container.encode(wand.sysPath, forKey: .sysPath)
            try container.encode(wand.firmwareVersion, forKey: .firmwareVersion)
            try container.encode(wand.product, forKey: .product)
            try container.encode(wand.vendorInterfacePresent, forKey: .vendorInterfacePresent)
        }
        if let hotplug {
            try container.encode(hotplug.serialNumber, forKey: .serialNumber)
            try container.encode(hotplug.usbPath, forKey: .usbPath)
            try container.encode(hotplug.busNumber, forKey: .busNumber)
            try container.encode(hotplug.deviceAddress, forKey: .deviceAddress)
            try container.encode(hotplug.sysPath, forKey: .sysPath)
        }
    }
}
