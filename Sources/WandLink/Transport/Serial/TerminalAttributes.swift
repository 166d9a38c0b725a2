import SystemPackage
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

// A termios wrapper in the style of swift-system, which has none: typed
// option sets over the C flag words, typed errors, and operations as
// FileDescriptor methods. Only what a wand's serial link needs.

/// A terminal's settings (`struct termios`).
package struct TerminalAttributes {
    package var rawValue: termios

    package init(rawValue: termios) { self.rawValue = rawValue }

    /// Raw mode (`cfmakeraw`): no echo, no line editing, no signal
    /// characters, no XON/XOFF, no CR/LF translation, 8 data bits, no parity.
    /// Every byte the wand sends arrives unchanged, 0x00, 0x11, 0x13, 0x0D
    /// and 0x7F included.
    package mutating func makeRaw() { cfmakeraw(&rawValue) }

    var controlFlags: ControlFlags {
        get { ControlFlags(rawValue: rawValue.c_cflag) }
        set { rawValue.c_cflag = newValue.rawValue }
    }

    var inputSpeed: BaudRate {
        var copy = rawValue
        return BaudRate(rawValue: cfgetispeed(&copy))
    }

    var outputSpeed: BaudRate {
        var copy = rawValue
        return BaudRate(rawValue: cfgetospeed(&copy))
    }

    /// Sets both directions to `speed`.
    mutating func setSpeed(_ speed: BaudRate) throws(Errno) {
        try systemCall { cfsetispeed(&rawValue, speed.rawValue) }
        try systemCall { cfsetospeed(&rawValue, speed.rawValue) }
    }

    /// Minimum bytes and inter-byte timeout (tenths of a second) for a
    /// blocking read: `c_cc[VMIN]` and `c_cc[VTIME]`.
    package mutating func setReadThreshold(minimumBytes: UInt8, timeoutDeciseconds: UInt8) {
        withUnsafeMutableBytes(of: &rawValue.c_cc) { cc in
            cc[Int(VMIN)] = minimumBytes
            cc[Int(VTIME)] = timeoutDeciseconds
        }
    }
}

/// `c_cflag` bits.
struct ControlFlags: OptionSet {
    var rawValue: tcflag_t
    init(rawValue: tcflag_t) { self.rawValue = rawValue }

    /// Ignore modem status lines: the wand has no carrier detect.
    static let local = ControlFlags(rawValue: tcflag_t(CLOCAL))
    /// Enable the receiver.
    static let read = ControlFlags(rawValue: tcflag_t(CREAD))
    /// The character-size field; clear it before setting a size.
    static let characterSizeMask = ControlFlags(rawValue: tcflag_t(CSIZE))
    static let eightBits = ControlFlags(rawValue: tcflag_t(CS8))
    static let twoStopBits = ControlFlags(rawValue: tcflag_t(CSTOPB))
    static let parity = ControlFlags(rawValue: tcflag_t(PARENB))
    /// RTS/CTS hardware flow control.
    static let hardwareFlowControl = ControlFlags(rawValue: tcflag_t(CRTSCTS))
}

/// A line speed (`speed_t`, one of the `B` constants, not bits per second).
struct BaudRate: RawRepresentable, Equatable, Sendable {
    var rawValue: speed_t
    init(rawValue: speed_t) { self.rawValue = rawValue }

    static let b9600 = BaudRate(rawValue: speed_t(B9600))
    static let b115200 = BaudRate(rawValue: speed_t(B115200))
}

/// When new settings take effect (`tcsetattr`'s `optional_actions`).
package enum TerminalSettingsTiming {
    case now, afterOutputDrains, afterOutputDrainsDiscardingInput

    package var rawValue: Int32 {
        switch self {
        case .now: return TCSANOW
        case .afterOutputDrains: return TCSADRAIN
        case .afterOutputDrainsDiscardingInput: return TCSAFLUSH
        }
    }
}

/// Which queue `tcflush` discards.
enum TerminalQueue {
    case input, output, both

    var rawValue: Int32 {
        switch self {
        case .input: return TCIFLUSH
        case .output: return TCOFLUSH
        case .both: return TCIOFLUSH
        }
    }
}

/// Modem control lines (`TIOCM_*`).
struct ModemLines: OptionSet {
    var rawValue: Int32
    init(rawValue: Int32) { self.rawValue = rawValue }

    static let dataTerminalReady = ModemLines(rawValue: TIOCM_DTR)
    static let requestToSend = ModemLines(rawValue: TIOCM_RTS)
    static let clearToSend = ModemLines(rawValue: TIOCM_CTS)
    static let dataSetReady = ModemLines(rawValue: TIOCM_DSR)
    static let carrierDetect = ModemLines(rawValue: TIOCM_CAR)
}

/// `poll` event bits.
package struct PollEvents: OptionSet, Sendable {
    package var rawValue: Int16
    package init(rawValue: Int16) { self.rawValue = rawValue }

    package static let readable = PollEvents(rawValue: Int16(POLLIN))
    package static let writable = PollEvents(rawValue: Int16(POLLOUT))
    package static let error = PollEvents(rawValue: Int16(POLLERR))
    package static let hangUp = PollEvents(rawValue: Int16(POLLHUP))
    package static let invalid = PollEvents(rawValue: Int16(POLLNVAL))
}

extension FileDescriptor {
    /// `tcgetattr`. Fails with ENOTTY when this is not a terminal.
    package func terminalAttributes() throws(Errno) -> TerminalAttributes {
        var attributes = termios()
        try systemCall { tcgetattr(rawValue, &attributes) }
        return TerminalAttributes(rawValue: attributes)
    }

    /// `tcsetattr`.
    package func setTerminalAttributes(_ attributes: TerminalAttributes, when timing: TerminalSettingsTiming = .now)
        throws(Errno)
    {
        var raw = attributes.rawValue
        try systemCall { tcsetattr(rawValue, timing.rawValue, &raw) }
    }

    /// `tcflush`: discards bytes received but not read, or written but not sent.
    func discardTerminalQueue(_ queue: TerminalQueue) throws(Errno) {
        try systemCall { tcflush(rawValue, queue.rawValue) }
    }

    /// `TIOCMGET`.
    func modemLines() throws(Errno) -> ModemLines {
        var bits: Int32 = 0
        try systemCall { ioctl(rawValue, UInt(TIOCMGET), &bits) }
        return ModemLines(rawValue: bits)
    }

    /// `TIOCMBIS`: asserts `lines`, leaving the others as they are.
    func raiseModemLines(_ lines: ModemLines) throws(Errno) {
        var bits = lines.rawValue
        try systemCall { ioctl(rawValue, UInt(TIOCMBIS), &bits) }
    }

    /// `flock(LOCK_EX | LOCK_NB)`: takes the advisory lock serial programs
    /// (pyserial, minicom, ModemManager) use to keep out of each other's way.
    /// Fails at once with EWOULDBLOCK when another open file holds it.
    /// Unlike TIOCEXCL it also holds against root.
    func lockExclusivelyWithoutWaiting() throws(Errno) {
        try systemCall { flock(rawValue, LOCK_EX | LOCK_NB) }
    }

    /// `poll` on this descriptor alone; returns the events that occurred,
    /// empty when `timeoutMilliseconds` passed first.
    package func poll(for events: PollEvents, timeoutMilliseconds: Int32) throws(Errno) -> PollEvents {
        var entry = pollfd(fd: rawValue, events: events.rawValue, revents: 0)
        let ready = try systemCall { Glibc.poll(&entry, 1, timeoutMilliseconds) }
        return ready == 0 ? [] : PollEvents(rawValue: entry.revents)
    }
}
