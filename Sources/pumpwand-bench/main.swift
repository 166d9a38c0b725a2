// pumpwand-bench: prints the cost of hot paths, one section per concern.
//
//   pumpwand-bench            run every section
//   pumpwand-bench protocol   run one section
//   pumpwand-bench --list     list the sections
//
// Figures are wall-clock per operation on this machine; build with
// `swift build -c release --product pumpwand-bench` for meaningful numbers.
// Other modules add a `BenchSection` to `sections` below.
import WandProtocol

#if canImport(Glibc)
import Glibc
#endif

/// One named group of measurements.
struct BenchSection {
    let name: String
    let summary: String
    let run: () throws -> Void
}

let sections: [BenchSection] = [
    BenchSection(name: "protocol", summary: "framing, sealing and opening of pump messages", run: ProtocolBench.run),
    BenchSection(name: "baseline", summary: "framing, sealing and opening against the same work in C", run: BaselineBench.run),
    BenchSection(name: "handshake", summary: "the v2 handshake at the pump and the host, keyrings of 1 to 500 keys", run: HandshakeBench.run),
    BenchSection(name: "simulator", summary: "a year of a 13-step flex schedule with patient boluses", run: SimulatorBench.run),
    BenchSection(name: "audit", summary: "audit append, verify per row, and review reads at 0, 10k and 50k rows", run: AuditBench.run),
    BenchSection(name: "startup", summary: "pumpctl's cold start (--help, calc) and max RSS against /bin/true", run: StartupBench.run),
]

let arguments = Array(CommandLine.arguments.dropFirst())
// Not a section: a helper for scripts/perf_figures.py (AuditFill.swift).
if arguments.first == "fill-audit" {
    do { try AuditFill.run(Array(arguments.dropFirst())) } catch {
        print("fill-audit failed: \(error)")
        exit(1)
    }
} else if arguments.first == "--list" {
    for section in sections { print("\(section.name)\t\(section.summary)") }
} else {
    let chosen = arguments.isEmpty ? sections : sections.filter { arguments.contains($0.name) }
    if chosen.isEmpty {
        print("unknown section: \(arguments.joined(separator: " ")); try --list")
        exit(2)
    }
    for section in chosen {
        print("== \(section.name): \(section.summary)")
        do { try section.run() } catch {
            print("section \(section.name) failed: \(error)")
            exit(1)
        }
    }
}
