import CTerminal

/// Ctrl-C while pumpctl talks to a pump. The signal is only counted (see
/// CTerminal/interrupt.c); the pipeline reads it at safe points, so a
/// command that was sent is always completed or resolved, and recorded,
/// before pumpctl exits.
enum Interruption {
    static func install() {
        _ = pumpwand_interrupt_install()
    }

    static var requested: Bool { pumpwand_interrupt_count() > 0 }
}
