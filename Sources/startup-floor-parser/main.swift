import ArgumentParser

// The start-up floor of a program built on swift-argument-parser: one
// command with one subcommand of two options, built as pumpctl is.
// `pumpwand-bench startup` prints pumpctl's ratio to it beside its ratio to
// /bin/true (docs/performance-startup.md, "The floor").
struct DailyDose: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "daily-dose", abstract: "A dose and a concentration.")
    @Option(help: "The concentration.") var concentration: String
    @Option(help: "The daily dose.") var dose: String
    func run() { print(concentration, dose) }
}

struct Floor: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "startup-floor-parser", abstract: "The smallest command tree worth parsing.", subcommands: [DailyDose.self])
}

Floor.main()
