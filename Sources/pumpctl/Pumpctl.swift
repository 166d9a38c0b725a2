import ArgumentParser

/// The programmer's command line. Global options go before the command
/// (`pumpctl --json wands`); each command reads them through `GlobalOptions`.
@main
struct Pumpctl: AsyncParsableCommand {
    static let version = "0.1.0"

    static let configuration = CommandConfiguration(
        commandName: "pumpctl",
        abstract: "Program an implanted intrathecal drug pump through a PumpWand programmer wand.",
        discussion: """
            Quantities always carry a unit: 400mcg/day, 2000mcg/mL, 20mL, 0.5mL/day, 2mg, 90min, 30d.

            Exit status: 0 success; 64 usage error; 65 refused by the checks or by the pump; 69 wand or pump not found; 70 internal error; 71 state directory in use by another pumpctl; 73 the pump WAS changed but not as planned (not verified, or stopped half-way): interrogate first; 74 communication failure, certainly no effect; 75 delivery UNCERTAIN (resolve it before anything else); 76 device fault; 77 permission denied; 130 cancelled. Every failure says what the pump was left in.
            """,
        version: version,

        subcommands: [
            Wands.self, Interrogate.self, Program.self, Refill.self, Bolus.self, Stop.self, Resume.self,
            Alarms.self, Log.self, Clock.self, Calc.self, Audit.self, Sim.self, Link.self, Raw.self, Serve.self,
        ]

    )

    // Declared here too so global options may come before the command name
    // (`pumpctl --json wands`); argument-parser hands them to the command's
    // own `GlobalOptions`.
    @OptionGroup var global: GlobalOptions
}
