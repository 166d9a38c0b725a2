import SystemPackage
import Testing
import TestSupport
@testable import WandLink
#if canImport(Glibc)
import Glibc
#endif

/// The serial transport over a real pty: real termios, poll, flock.
@Suite(.serialized, .tags(.pty)) struct SerialTransportTests {
    static func soon() -> ContinuousClock.Instant { .now + .seconds(10) }

    static func receive(_ count: Int, from transport: SerialTransport) async throws -> [UInt8] {
        var bytes: [UInt8] = []
        while bytes.count < count { bytes += try await transport.receive(deadline: soon()) }
        return bytes
    }

    @Test func controlCharactersCrossUnchangedInBothDirections() async throws {
        let pty = try PseudoTerminal()
        let transport = try SerialTransport(path: pty.slavePath)
        // NUL, XON, XOFF, CR and DEL: a cooked tty would eat or rewrite each.
        let bytes: [UInt8] = [0x00, 0x11, 0x13, 0x0D, 0x7F]
        try await transport.send(bytes)
        #expect(try pty.read(bytes.count) == bytes)
        try pty.write(bytes)
        #expect(try await Self.receive(bytes.count, from: transport) == bytes)
        await transport.close()
    }

    @Test func openPutsTheTtyInRaw8N1At115200() async throws {
        let pty = try PseudoTerminal()
        let transport = try SerialTransport(path: pty.slavePath)
        // Read the settings back through a second descriptor of the same tty.
        let probe = try FileDescriptor.open(pty.slavePath, .readOnly, options: [.nonBlocking, .init(rawValue: O_NOCTTY)])
        defer { try? probe.close() }
        let attributes = try probe.terminalAttributes()
        #expect(attributes.controlFlags.isSuperset(of: [.eightBits, .local, .read]))
        #expect(attributes.controlFlags.isDisjoint(with: [.parity, .twoStopBits, .hardwareFlowControl]))
        #expect(attributes.rawValue.c_lflag & tcflag_t(ICANON | ECHO | ISIG) == 0)
        #expect(attributes.rawValue.c_iflag & tcflag_t(IXON | ICRNL) == 0)
        #expect(attributes.outputSpeed == .b115200)
        #expect(attributes.inputSpeed == .b115200)
        await transport.close()
    }

    @Test func framesLargerThanAPtyChunkArriveWholeAndInOrder() async throws {
        let pty = try PseudoTerminal()
        let transport = try SerialTransport(path: pty.slavePath, configuration: .init(sendTimeout: .seconds(20)))
        // 20 000 bytes is several times the 4 KiB a pty moves at once.
        let frame = (0..<20_000).map { UInt8(truncatingIfNeeded: $0 &* 7 &+ $0 >> 8) }
        let wandSide = Task.detached { try pty.read(frame.count, seconds: 20) }
        try await transport.send(frame)
        #expect(try await wandSide.value == frame)

        let hostSide = Task { try await Self.receive(frame.count, from: transport) }
        try await Task.detached { try pty.write(frame) }.value
        #expect(try await hostSide.value == frame)
        await transport.close()
    }

    @Test func receiveTimesOutWhenTheWandIsSilent() async throws {
        let pty = try PseudoTerminal()
        let transport = try SerialTransport(path: pty.slavePath)
        await #expect(throws: WandTransportError.timedOut) {
            _ = try await transport.receive(deadline: .now + .milliseconds(30))
        }
        // The transport is still usable after a timeout.
        try pty.write([0x42])
        #expect(try await transport.receive(deadline: Self.soon()) == [0x42])
        await transport.close()
    }

    @Test func hangupIsAnUnplug() async throws {
        let pty = try PseudoTerminal()
        let transport = try SerialTransport(path: pty.slavePath)
        try pty.closeMaster()
        await #expect(throws: WandTransportError.unplugged) {
            _ = try await transport.receive(deadline: Self.soon())
        }
        // A hangup before the write: write(2) takes nothing, so the error
        // says no byte left, and the exchange layer may call it not sent.
        await #expect(throws: WandSendError(failure: .unplugged, bytesSent: 0)) { try await transport.send([1, 2, 3]) }
        await transport.close()
    }

    @Test func hangupWhileWaitingEndsTheWaitWithUnplugged() async throws {
        let pty = try PseudoTerminal()
        let transport = try SerialTransport(path: pty.slavePath)
        let waiting = Task { try await transport.receive(deadline: .now + .seconds(30)) }
        try pty.closeMaster()
        await #expect(throws: WandTransportError.unplugged) { _ = try await waiting.value }
        await transport.close()
    }

    @Test func aSecondOpenIsRefusedAsBusyUntilTheFirstCloses() async throws {
        let pty = try PseudoTerminal()
        let first = try SerialTransport(path: pty.slavePath)
        #expect(throws: WandTransportError.busy(device: pty.slavePath)) {
            _ = try SerialTransport(path: pty.slavePath)
        }
        // Closed where no child being started elsewhere keeps a copy holding the flock.
        await ChildProcess.withNoChildStarting { await first.close() }
        let second = try SerialTransport(path: pty.slavePath)
        try await second.send([7])
        #expect(try pty.read(1) == [7])
        await second.close()
    }

    @Test func aMissingTtyIsNotFound() {
        let path = "/dev/pumpwand-test-no-such-tty"
        #expect(throws: WandTransportError.notFound(device: path)) { _ = try SerialTransport(path: path) }
    }

    @Test func aFileThatIsNotATerminalIsAnIOErrorNamingENOTTY() {
        #expect(throws: WandTransportError.io(errno: ENOTTY, operation: "configuring /dev/null as a raw 8N1 terminal")) {
            _ = try SerialTransport(path: "/dev/null")
        }
    }

    /// A tty this user may not open. CI runs as root, which file modes do
    /// not stop, so the open runs with the filesystem uid of `nobody`
    /// (which also drops root's CAP_DAC_OVERRIDE for this thread). Where
    /// that cannot be done, the errno mapping is still covered by
    /// `errnoMapping` below, and this test is reported as skipped.
    @Test func aTtyWithoutPermissionIsPermissionDenied() async throws {
        let pty = try PseudoTerminal()
        #expect(chmod(pty.slavePath, 0) == 0)
        let outcome: Result<SerialTransport, WandTransportError>?
        if getuid() == 0 {
            outcome = FilesystemIdentity.asUser(65534) { Result { () throws(WandTransportError) in try SerialTransport(path: pty.slavePath) } }
        } else {
            outcome = Result { () throws(WandTransportError) in try SerialTransport(path: pty.slavePath) }
        }
        guard let outcome else {
            try Requirements.skip("could not change the filesystem uid to nobody; the permission mapping is covered by errnoMapping only")
        }
        switch outcome {
        case .success(let transport):
            Issue.record("opened a tty with mode 000")
            await transport.close()
        case .failure(let error):
            #expect(error == .permissionDenied(device: pty.slavePath))
            #expect(error.description.contains(WandTransportError.udevRulesInstallCommand))
        }
    }

    @Test(arguments: [
        (Errno.permissionDenied, WandTransportError.permissionDenied(device: "/dev/ttyACM0")),
        (.notPermitted, .permissionDenied(device: "/dev/ttyACM0")),
        (.noSuchFileOrDirectory, .notFound(device: "/dev/ttyACM0")),
        (.noSuchAddressOrDevice, .notFound(device: "/dev/ttyACM0")),
        (.operationNotSupportedByDevice, .notFound(device: "/dev/ttyACM0")),
        (.resourceBusy, .busy(device: "/dev/ttyACM0")),
        (.wouldBlock, .busy(device: "/dev/ttyACM0")),
        (.ioError, .io(errno: EIO, operation: "open /dev/ttyACM0")),
    ])
    func errnoMapping(errno: Errno, expected: WandTransportError) {
        #expect(SerialTransport.openFailure(errno, path: "/dev/ttyACM0", operation: "open /dev/ttyACM0") == expected)
    }

    @Test func closeEndsAWaitingReceiveAndLaterCallsThrowClosed() async throws {
        let pty = try PseudoTerminal()
        let transport = try SerialTransport(path: pty.slavePath)
        let waiting = Task { try await transport.receive(deadline: .now + .seconds(30)) }
        // Give the receive a chance to start waiting; either order ends in .closed.
        await Task.yield()
        await transport.close()
        await #expect(throws: WandTransportError.closed) { _ = try await waiting.value }
        await #expect(throws: WandSendError(failure: .closed, bytesSent: 0)) { try await transport.send([1]) }
        await transport.close()
    }

    @Test func cancellingAReceiveKeepsTheBytesForTheNextOne() async throws {
        let pty = try PseudoTerminal()
        let transport = try SerialTransport(path: pty.slavePath)
        let waiting = Task { try await transport.receive(deadline: .now + .seconds(30)) }
        waiting.cancel()
        await #expect(throws: WandTransportError.cancelled) { _ = try await waiting.value }
        try pty.write([0x55])
        #expect(try await transport.receive(deadline: Self.soon()) == [0x55])
        await transport.close()
    }

    @Test func permissionDeniedMessageNamesTheUdevRules() {
        let text = WandTransportError.permissionDenied(device: "/dev/ttyACM0").description
        #expect(text.contains("sudo cp udev-rules/60-pumpwand.rules udev-rules/61-pumpwand-uaccess.rules /etc/udev/rules.d/ && sudo udevadm control --reload && sudo udevadm trigger"))
        #expect(text.contains("udev-rules/README.md"))
    }

    /// Nobody reads the master, so the pty fills and the send times out
    /// part-way. The count the error gives must be exactly what write(2)
    /// took: the wand side then reads precisely that many bytes.
    @Test func aSendCutShortCountsExactlyTheBytesTheWandCanRead() async throws {
        let pty = try PseudoTerminal()
        let transport = try SerialTransport(path: pty.slavePath, configuration: .init(sendTimeout: .milliseconds(200)))
        // Far more than a pty buffers (a few KiB to 64 KiB on Linux).
        let bytes = (0..<1_000_000).map { UInt8(truncatingIfNeeded: $0 &* 13) }
        var sent = -1
        do {
            try await transport.send(bytes)
            Issue.record("a megabyte fitted into a pty nobody reads")
        } catch {
            #expect(error.failure == .timedOut)
            sent = error.bytesSent
        }
        #expect(sent > 0 && sent < bytes.count)
        let arrived = try pty.read(sent + 1, seconds: 2)
        #expect(arrived.count == sent)
        #expect(arrived == Array(bytes.prefix(sent)))
        await transport.close()
    }
}
