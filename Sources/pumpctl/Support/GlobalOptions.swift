import ArgumentParser

/// Options every command accepts, written before or after the command name.
struct GlobalOptions: ParsableArguments {
    @Flag(name: .long, help: "Print JSON instead of tables (snake_case keys, quantities as {value, unit}).")
    var json = false
}
