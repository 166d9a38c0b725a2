import CTerminal
import Testing
@testable import pumpctl
#if canImport(Glibc)
import Glibc
#endif

/// no-color.org: only a NON-EMPTY NO_COLOR turns emphasis off. An empty one
/// (a profile that clears it with `NO_COLOR=`) is as if it were not set, so
/// a technician's terminal still shows ALARM and REFUSED in colour.
@Suite struct NoColorTests {
    @Test func anEmptyNoColorLeavesEmphasisOnAtATerminal() throws {
        var name = [CChar](repeating: 0, count: 128)
        let descriptor = pumpwand_open_pseudoterminal(&name, name.count)
        try #require(descriptor >= 0)
        defer { close(descriptor) }
        // A pty master is a terminal: what `auto` decides on is the environment.
        try #require(isatty(descriptor) == 1)
        let screen = Screen(color: .auto)
        #expect(screen.emphasis(fd: descriptor, environment: ["TERM": "xterm"]))
        #expect(screen.emphasis(fd: descriptor, environment: ["TERM": "xterm", "NO_COLOR": ""]))
        #expect(!screen.emphasis(fd: descriptor, environment: ["TERM": "xterm", "NO_COLOR": "1"]))
        #expect(!screen.emphasis(fd: descriptor, environment: ["TERM": "dumb"]))
    }
}
