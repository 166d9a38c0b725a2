#if canImport(Glibc)
import Glibc
#endif

/// pumpctl's cold start against /bin/true: a technician runs pumpctl once
/// per step of a visit, so what it costs before it does anything is paid
/// every time. Starts the pumpctl built beside this benchmark (the same bin
/// directory, so `swift build -c release --static-swift-stdlib` builds
/// both as they ship) and /bin/true in turn, each with its output to
/// /dev/null, and prints the median wall time of each, their ratio against
/// the target, and the largest resident set pumpctl reached; and beside
/// them the floor: a Swift program that prints a line, and the smallest
/// swift-argument-parser command (startup-floor-print, startup-floor-parser).
enum StartupBench {
    /// Spawns of each command. They alternate, so a busy machine (another
    /// build, the second core's load) slows pumpctl and /bin/true alike and
    /// the ratio stays meaningful; the median ignores the odd descheduled run.
    static let runs = 200

    /// The pure dose calculator: argument parsing, the therapy arithmetic and
    /// the output, with no device, no state directory and no audit log.
    static let calc = ["calc", "daily-dose", "--concentration", "2000mcg/mL", "--dose", "400mcg/day"]

    struct Failure: Error, CustomStringConvertible {
        var description: String
    }

    struct Sample {
        var median: Double
        var best: Double
        /// Largest resident set of any of the runs, in kilobytes (getrusage).
        var maxResidentKB: Int
    }

    static func run() throws {
        let pumpctl = try siblingExecutable("pumpctl")
        let printFloor = try siblingExecutable("startup-floor-print")
        let parserFloor = try siblingExecutable("startup-floor-parser")
        let truePath = "/bin/true"
        guard access(truePath, X_OK) == 0 else { throw Failure(description: "\(truePath) is missing") }
        let floorCalc = ["daily-dose", "--concentration", "2000mcg/mL", "--dose", "400mcg/day"]

        // Each pumpctl case alternates with /bin/true and with the parser
        // floor doing the same thing (its --help, its one subcommand).
        let cases: [(label: String, arguments: [String], floor: [String], target: Double)] = [
            ("pumpctl --help", ["--help"], ["--help"], 2.0),
            ("pumpctl \(calc.prefix(2).joined(separator: " "))", calc, floorCalc, 2.5),
        ]
        var largestResident = 0
        for item in cases {
            let samples = try alternate([[pumpctl] + item.arguments, [truePath], [parserFloor] + item.floor])
            let (command, baseline, floor) = (samples[0], samples[1], samples[2])
            largestResident = max(largestResident, command.maxResidentKB)
            print("  \(item.label): \(milliseconds(command.median)) ms, /bin/true \(milliseconds(baseline.median)) ms, "
                + "ratio \(fixed(command.median / baseline.median)) (target <= \(fixed(item.target)))"
                + "; best \(milliseconds(command.best)) ms against \(milliseconds(baseline.best)) ms"
                + "; \(fixed(command.median / floor.median))x the parser floor's \(milliseconds(floor.median)) ms"
                + "; max RSS \(fixed(Double(command.maxResidentKB) / 1024)) MB")
        }
        print("  pumpctl max RSS, the larger of the two: \(fixed(Double(largestResident) / 1024)) MB (target <= 20.00)")
        // What no Swift program here starts faster than.
        let floors = try alternate([[printFloor], [truePath], [parserFloor, "--help"]])
        print("  floor, a Swift program printing a line: \(milliseconds(floors[0].median)) ms, "
            + "ratio \(fixed(floors[0].median / floors[1].median)) to /bin/true, max RSS \(fixed(Double(floors[0].maxResidentKB) / 1024)) MB")
        print("  floor, the smallest swift-argument-parser command, --help: \(milliseconds(floors[2].median)) ms, "
            + "ratio \(fixed(floors[2].median / floors[1].median)) to /bin/true, max RSS \(fixed(Double(floors[2].maxResidentKB) / 1024)) MB")
        print("  binary: \(pumpctl)")
    }

    /// The executable `name` in the directory this benchmark runs from.
    static func siblingExecutable(_ name: String) throws -> String {
        var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
        let length = readlink("/proc/self/exe", &buffer, buffer.count - 1)
        guard length > 0 else { throw Failure(description: "cannot read /proc/self/exe: errno \(errno)") }
        let own = String(decoding: buffer[0..<length].map { UInt8(bitPattern: $0) }, as: UTF8.self)
        guard let slash = own.lastIndex(of: "/") else { throw Failure(description: "no directory in \(own)") }
        let path = String(own[..<slash]) + "/" + name
        guard access(path, X_OK) == 0 else {
            throw Failure(description: "\(path) is not an executable: build it first (swift build -c release --product \(name) --static-swift-stdlib)")
        }
        return path
    }

    /// Runs each command `runs` times, in turn, through startup-spawner
    /// (a small C program: a child spawned from this benchmark would have
    /// the benchmark's own resident set counted in its max RSS): one
    /// sample per command.
    static func alternate(_ commands: [[String]]) throws -> [Sample] {
        let spawner = try siblingExecutable("startup-spawner")
        var arguments = [spawner, "\(runs)"]
        for (index, command) in commands.enumerated() { arguments += (index == 0 ? [] : ["::"]) + command }
        let output = try capture(arguments)
        let lines = output.split(separator: "\n")
        let samples: [Sample] = lines.compactMap { line in
            let fields = line.split(separator: " ").compactMap { Int($0) }
            guard fields.count == 3 else { return nil }
            return Sample(median: Double(fields[0]) / 1e9, best: Double(fields[1]) / 1e9, maxResidentKB: fields[2])
        }
        guard samples.count == commands.count else {
            throw Failure(description: "startup-spawner printed \(lines.count) figures for \(commands.count) commands: \(output)")
        }
        return samples
    }

    /// Runs `arguments` and returns its standard output; a failure stops
    /// the benchmark (its standard error is the benchmark's own).
    static func capture(_ arguments: [String]) throws -> String {
        var pipeEnds: [Int32] = [-1, -1]
        guard pipe(&pipeEnds) == 0 else { throw Failure(description: "pipe: errno \(errno)") }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_adddup2(&actions, pipeEnds[1], 1)
        posix_spawn_file_actions_addclose(&actions, pipeEnds[0])
        var argv: [UnsafeMutablePointer<CChar>?] = arguments.map { strdup($0) }
        argv.append(nil)
        defer { for pointer in argv { free(pointer) } }
        var pid: pid_t = 0
        let spawned = posix_spawn(&pid, arguments[0], &actions, nil, argv, environ)
        close(pipeEnds[1])
        guard spawned == 0 else {
            close(pipeEnds[0])
            throw Failure(description: "posix_spawn \(arguments[0]): error \(spawned)")
        }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 4096)
        while true {
            let count = chunk.withUnsafeMutableBytes { read(pipeEnds[0], $0.baseAddress, $0.count) }
            if count > 0 { bytes += chunk[0..<count] } else if count == 0 || errno != EINTR { break }
        }
        close(pipeEnds[0])
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 {
            guard errno == EINTR else { throw Failure(description: "waitpid: errno \(errno)") }
        }
        // WIFEXITED and WEXITSTATUS, which Swift does not import as macros.
        guard status & 0x7f == 0, (status >> 8) & 0xff == 0 else {
            throw Failure(description: "\(arguments.prefix(3).joined(separator: " ")) ... failed (status \(status))")
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    static func milliseconds(_ seconds: Double) -> String { fixed(seconds * 1000) }

    /// Two decimals, without Foundation's formatters.
    static func fixed(_ value: Double) -> String {
        let hundredths = Int((value * 100).rounded())
        let fraction = hundredths % 100
        return "\(hundredths / 100).\(fraction < 10 ? "0" : "")\(fraction)"
    }
}
