import CTerminal
import Foundation

/// Ctrl-C while pumpctl talks to a pump. The signal is only counted (see
/// CTerminal/interrupt.c); the pipeline reads it at safe points, so a
/// command that was sent is always completed or resolved, and recorded,
/// before pumpctl exits.
enum Interruption {
    static func install() {
        _ = pumpwand_interrupt_install()
    }

    static var requested: Bool { pumpwand_interrupt_count() > 0 }

    static func inFlight(_ flag: Bool) { pumpwand_interrupt_set_in_flight(flag ? 1 : 0) }
}

/// One answer typed at a prompt. The wait polls in short slices and checks
/// for Ctrl-C between them: the signal may be taken by another thread of
/// the process, so a blocked read would never see it.
enum PromptInput {
    /// Longest answer kept; the rest of a longer line is read and dropped.
    static let maximumLength = 1024

    /// The line typed, without its newline; nil on Ctrl-C or end of input.
    static func readAnswer() -> String? {
        var bytes: [UInt8] = []
        var byte: UInt8 = 0
        while true {
            var waiting = pollfd(fd: STDIN_FILENO, events: Int16(POLLIN), revents: 0)
            let ready = poll(&waiting, 1, 100)
            if Interruption.requested { return nil }
            if ready == 0 || (ready < 0 && errno == EINTR) { continue }
            let count = read(STDIN_FILENO, &byte, 1)
            if Interruption.requested { return nil }
            if count == 1 {
                if byte == UInt8(ascii: "\n") { break }
                if bytes.count < maximumLength { bytes.append(byte) }
                continue
            }
            if count < 0 && errno == EINTR { continue }
            // End of input (or a read error) before the end of the line.
            return nil
        }
        if bytes.last == UInt8(ascii: "\r") { bytes.removeLast() }
        return String(decoding: bytes, as: UTF8.self)
    }
}
