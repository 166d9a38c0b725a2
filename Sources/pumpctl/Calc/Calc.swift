import ArgumentParser

/// `pumpctl calc`: the therapy arithmetic, with no device. Every figure the
/// programmer would compute before writing to a pump can be checked here.
struct Calc: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "calc",
        abstract: "Dose, reservoir, refill and bridge arithmetic, and prescription validation (no device).",
        discussion: """
            Quantities always carry a unit (400mcg/day, 2000mcg/mL, 20mL, 0.5mL/day, 2mg, 90min, 30d).

            Rates are rounded down to the pump's resolution, so the delivered dose never exceeds the prescription. \
            Limits come from the shipped clinic policy (`pumpctl calc policy`) or --policy FILE.
            """,
        subcommands: [DailyDose.self, Projection.self, RefillCheckCommand.self, Bridge.self, Validate.self, PolicyCommand.self]
    )
}
