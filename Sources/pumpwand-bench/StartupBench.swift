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
                + "; \(fixed(command.median / floor.median))x the parser floor's \(milliseconds(floor.median)) ms")
        }
        print("  pumpctl max RSS: \(fixed(Double(largestResident) / 1024)) MB (target <= 20.00)")
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

    /// Runs each command `runs` times, in turn: one sample per command.
    static func alternate(_ commands: [[String]]) throws -> [Sample] {
        var times = [[Double]](repeating: [], count: commands.count)
        var resident = [Int](repeating: 0, count: commands.count)
        for _ in 0..<runs {
            for (index, command) in commands.enumerated() {
                let (time, peak) = try spawnAndWait(command)
                times[index].append(time)
                resident[index] = max(resident[index], peak)
            }
        }
        return zip(times, resident).map { sample($0, $1) }
    }

    static func sample(_ times: [Double], _ resident: Int) -> Sample {
        let sorted = times.sorted()
        return Sample(median: sorted[sorted.count / 2], best: sorted[0], maxResidentKB: resident)
    }

    /// One posix_spawn and wait4: the wall time from spawn to reaped, in
    /// seconds, and the child's max RSS in kilobytes. A command that fails
    /// stops the benchmark: a figure for an error path would mislead.
    static func spawnAndWait(_ arguments: [String]) throws -> (Double, Int) {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0)

        var argv: [UnsafeMutablePointer<CChar>?] = arguments.map { strdup($0) }
        argv.append(nil)
        defer { for pointer in argv { free(pointer) } }

        var pid: pid_t = 0
        let start = ContinuousClock.now
        let spawned = posix_spawn(&pid, arguments[0], &actions, nil, argv, environ)
        guard spawned == 0 else { throw Failure(description: "posix_spawn \(arguments[0]): error \(spawned)") }
        var status: Int32 = 0
        var usage = rusage()
        while wait4(pid, &status, 0, &usage) < 0 {
            guard errno == EINTR else { throw Failure(description: "wait4: errno \(errno)") }
        }
        let elapsed = start.duration(to: .now)
        // WIFEXITED and WEXITSTATUS, which Swift does not import as macros.
        let exited = status & 0x7f == 0
        let code = (status >> 8) & 0xff
        guard exited, code == 0 else {
            throw Failure(description: "\(arguments.joined(separator: " ")) ended with status \(exited ? code : -1) (signal \(status & 0x7f))")
        }
        let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        return (seconds, Int(usage.ru_maxrss))
    }

    static func milliseconds(_ seconds: Double) -> String { fixed(seconds * 1000) }

    /// Two decimals, without Foundation's formatters.
    static func fixed(_ value: Double) -> String {
        let hundredths = Int((value * 100).rounded())
        let fraction = hundredths % 100
        return "\(hundredths / 100).\(fraction < 10 ? "0" : "")\(fraction)"
    }
}
