// A small program the tests run under umockdev (`umockdev-run`, or the live
// wand harness Tests/Harness/usb_wand.py) to exercise WandSelection through
// the real libudev, libusb and termios, in a process of its own.
//
//   wand-selection-probe [--wand SERIAL_OR_PATH] [--echo TEXT]
//
// Prints `route: ...` and `peer: ...` once the wand is open and, with
// --echo, sends TEXT and prints `echo: ...` with what came back. On failure
// prints `failure: CASE` on stdout and the error's message on stderr, and
// exits 69 (selection or open) or 74 (moving bytes).
import Foundation
import WandLink

func failureName(_ error: WandSelectionError) -> String {
    switch error {
    case .invalidArgument: return "invalidArgument"
    case .noWandAttached: return "noWandAttached"
    case .severalWandsAttached: return "severalWandsAttached"
    case .wandNotAttached: return "wandNotAttached"
    case .duplicateSerialNumber: return "duplicateSerialNumber"
    case .noUsableInterface: return "noUsableInterface"
    case .discoveryFailed: return "discoveryFailed"
    case let .openFailed(transport):
        switch transport {
        case .notFound: return "openFailed.notFound"
        case .permissionDenied: return "openFailed.permissionDenied"
        case .busy: return "openFailed.busy"
        default: return "openFailed.other"
        }
    }
}

func failureName(_ error: WandTransportError) -> String {
    switch error {
    case .unplugged: return "transport.unplugged"
    case .timedOut: return "transport.timedOut"
    default: return "transport.other"
    }
}

func fail(_ name: String, _ message: String, status: Int32) -> Never {
    print("failure: \(name)")
    FileHandle.standardError.write(Data("wand-selection-probe: \(message)\n".utf8))
    exit(status)
}

var arguments = Array(CommandLine.arguments.dropFirst())
var wandArgument: String?
var echoText: String?
while !arguments.isEmpty {
    let flag = arguments.removeFirst()
    guard let value = arguments.first else { fail("usage", "\(flag) needs a value", status: 64) }
    arguments.removeFirst()
    switch flag {
    case "--wand": wandArgument = value
    case "--echo": echoText = value
    default: fail("usage", "unknown option \(flag)", status: 64)
    }
}

let selection = WandSelection()
let transport: any WandTransport
do {
    let route = try selection.route(argument: wandArgument)
    print("route: \(route.summary)")
    transport = try selection.open(route)
} catch {
    fail(failureName(error), error.description, status: 69)
}
print("peer: \(transport.peerDescription)")

if let echoText {
    let sent = Array(echoText.utf8)
    do throws(WandTransportError) {
        do { try await transport.send(sent) } catch { throw error.failure }
        var received: [UInt8] = []
        let deadline = ContinuousClock.now + .seconds(20)
        while received.count < sent.count {
            received += try await transport.receive(deadline: deadline)
        }
        print("echo: \(String(decoding: received, as: UTF8.self))")
    } catch {
        await transport.close()
        fail(failureName(error), error.description, status: 74)
    }
}
await transport.close()
