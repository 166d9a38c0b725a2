import ArgumentParser
import WandLink

struct Wands: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "List the programmer wands attached to this machine.",
        discussion: """
            Wands are found through udev by their USB vendor and product id (1209:0001). Each is
            listed with its serial number (use it with --wand), USB node, bring-up tty if any,
            firmware version and product string. No wand attached is not an error: the list is
            empty and the exit status is 0.
            """
    )

    @OptionGroup var global: GlobalOptions

    func run() async throws {
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
        Output.line(Output.table(
            header: ["SERIAL", "USB", "TTY", "FIRMWARE", "PRODUCT"],
            rows: wands.map {
                [$0.serialNumber, $0.usbPath, $0.ttyPath ?? "-", $0.firmwareVersion,
                 $0.product + ($0.vendorInterfacePresent == false ? " (vendor interface missing)" : "")]
            }
        ))
    }
}

/// `wands --json`: an object, so fields can be added without breaking scripts.
struct WandList: Encodable {
    var wands: [WandRecord]
}
