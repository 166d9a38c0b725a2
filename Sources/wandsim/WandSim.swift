import ArgumentParser
import Dispatch
import Foundation
import PumpSimulator
import StateFiles
import SystemPackage
import Therapy
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// `wandsim`: a SIMULATED wand with a SIMULATED pump in range, served on a
/// pseudo-terminal so pumpctl (or any serial program) can talk to it as to
/// a wand's tty.
@main
struct WandSim: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "wandsim",
        abstract: "Serve a SIMULATED PumpWand wand and pump on a pseudo-terminal.",
        discussion: """
            Prints the pty path; open it with `pumpctl --wand PATH ...`. The pump's key is the \
            published DEMO key: it protects nothing. State is saved after every pump message and \
            on SIGINT/SIGTERM. Exit status: 0 stopped cleanly; 64 usage: an option's value cannot be \
            used (--write-demo-key names a file that exists or a folder that is missing or not yours); \
            65 the state file is corrupt or from a newer version (left untouched); 70 the pty or the \
            state could not be set up.
            """)

    @Option(help: "Pump model for a new simulated pump: RP-20 or RP-40.")
    var profile = "RP-20"

    @Option(help: "Seed for the link's loss, corruption and duplication.")
    var seed: UInt64 = 1

    @Option(name: .customLong("latency-ms"), help: "One-way link latency per frame, milliseconds.")
    var latencyMilliseconds = 0

    @Option(name: .customLong("byte-rate"), help: "Link byte rate, bytes per second (0: unlimited).")
    var byteRate = 0

    @Option(help: "Frames lost on the link, per mille (0-1000).")
    var loss = 0

    @Option(help: "Frames corrupted on the link, per mille (0-1000).")
    var corruption = 0

    @Option(help: "Frames duplicated on the link, per mille (0-1000).")
    var duplication = 0

    @Option(help: ArgumentHelp("The simulator's state file (default: $XDG_STATE_HOME/pumpwand/wandsim.json).", valueName: "file"))
    var state: String?

    @Option(name: .customLong("link"), help: ArgumentHelp("Also make a symlink at this path to the pty.", valueName: "path"))
    var linkPath: String?

    @Option(name: .customLong("write-demo-key"), help: ArgumentHelp(
        "Write the simulated pump's published DEMO key to this new file (64 hex digits, mode 0600) for pumpctl --key-file, and exit.",
        valueName: "file"))
    var demoKeyFile: String?

    func validate() throws {
        guard PumpProfile.named(profile) != nil else { throw ValidationError("--profile must be RP-20 or RP-40.") }
        for (name, value) in [("--loss", loss), ("--corruption", corruption), ("--duplication", duplication)]
        where !(0...1000).contains(value) {
            throw ValidationError("\(name) is per mille: 0 to 1000.")
        }
        guard latencyMilliseconds >= 0, latencyMilliseconds <= 60_000 else { throw ValidationError("--latency-ms must be 0 to 60000.") }
        guard byteRate >= 0 else { throw ValidationError("--byte-rate must not be negative.") }
    }

    func run() async throws {
        // The simulator's state is for this user alone, whatever the umask.
        umask(0o077)
        if let demoKeyFile {
            // The key every simulated pump answers to; published, so it
            // protects nothing, and pumpctl says so whenever it is used.
            let hex = PumpIdentity.demoKey.map { String($0, radix: 16).leftPadded(to: 2) }.joined() + "\n"
            do { try AtomicFile.create(Array(hex.utf8), at: FilePath(demoKeyFile)) } catch {
                Self.fail(Self.demoKeyNotWritten(error, path: demoKeyFile), status: Self.demoKeyExitStatus(error))
            }
            Self.say("SIMULATED DEMO key (published, protects nothing) written to \(demoKeyFile): use pumpctl --wand PTY --key-file \(demoKeyFile)")
            return
        }
        let file = try stateFile()
        var simulation: PumpSimulation
        if file.exists {
            do {
                simulation = try file.load()
            } catch {
                // wandsim's own state file: `pumpctl sim reset` resets
                // another file (simulator.json), so the hint names this one.
                if case .corrupt(let path, let detail) = error {
                    Self.fail("SIMULATED wandsim: the simulator state \(path) is corrupt: \(detail). It was left as it is; move it away (wandsim then starts a fresh simulated pump in it) or give another --state FILE.", status: 65)
                }
                Self.fail("SIMULATED wandsim: \(error)", status: 65)
            }
        } else {
            // A missing file means a new simulated pump, as after a routine visit.
            simulation = PumpSimulation.fresh(profile: PumpProfile.named(profile) ?? .rp20, seed: seed,
                                              hostNow: SimulatedWandServer.wallClock())
        }
        let inRange = simulation.link.pumpInRange
        simulation.link = LinkModel(latencyMilliseconds: latencyMilliseconds, bytesPerSecond: byteRate, lossPerMille: loss,
                                    corruptionPerMille: corruption, duplicationPerMille: duplication, pumpInRange: inRange)
        do { try file.save(simulation) } catch { Self.fail("SIMULATED wandsim: \(error)", status: 70) }

        let pty: PseudoTerminalWand
        do { pty = try PseudoTerminalWand() } catch { Self.fail("SIMULATED wandsim: \(error)", status: 70) }
        if let linkPath { try makeLink(linkPath, to: pty.slavePath) }

        let server = SimulatedWandServer(simulation: simulation, stateFile: file)
        let identity = simulation.pump.identity
        Self.say("SIMULATED pty: \(pty.slavePath)")
        if let linkPath { Self.say("SIMULATED link: \(linkPath)") }
        Self.say("SIMULATED pump: \(identity.model) serial \(identity.serial)\(identity.keyIsDemo ? ", DEMO ONLY key (published, protects nothing)" : "")")
        Self.say("SIMULATED state: \(file.path)")

        // Signals become a clean stop: the server saves the state on its way out.
        signal(SIGINT, SIG_IGN)
        signal(SIGTERM, SIG_IGN)
        let signalQueue = DispatchQueue(label: "wandsim.signals")
        let sources = [SIGINT, SIGTERM].map { number in
            let source = DispatchSource.makeSignalSource(signal: number, queue: signalQueue)
            source.setEventHandler { Task { await server.stop() } }
            source.resume()
            return source
        }
        server.start(on: pty)
        let reason = await server.finished()
        sources.forEach { $0.cancel() }
        if let linkPath { try? removeLink(linkPath) }
        if let saveError = await server.lastSaveError {
            Self.fail("SIMULATED wandsim stopped (\(reason)) but the state was not saved: \(saveError)", status: 70)
        }
        Self.say("SIMULATED wandsim stopped; state saved to \(file.path)")
    }

    /// `--write-demo-key` never replaces a file and never writes where the
    /// folder is missing, not this user's or writable by others: those are
    /// the technician's choice of path (usage, 64), with what to do about
    /// it; only a failure of the machine itself is an internal error (70).
    static func demoKeyExitStatus(_ error: StateFileError) -> Int32 {
        switch error {
        case .alreadyExists, .notFound, .permissionDenied, .notRegularFile, .notDirectory, .unsafeDirectory, .ownedByAnotherUser:
            return 64
        case .tooLarge, .unsafePermissions, .io:
            return 70
        }
    }

    static func demoKeyNotWritten(_ error: StateFileError, path: String) -> String {
        let advice: String
        switch error {
        case .alreadyExists:
            advice = "\(path) is already there, and the demo key is written only to a new file, never over one: give --write-demo-key a path that does not exist yet (or move that file away first)."
        case .notFound, .notDirectory:
            advice = "the folder of \(path) is missing or is not a folder: give --write-demo-key a new file in a folder that exists."
        case .permissionDenied, .unsafeDirectory, .ownedByAnotherUser, .notRegularFile:
            advice = "give --write-demo-key a new file in a folder of yours that only you can write."
        case .tooLarge, .unsafePermissions, .io:
            advice = "check the disk and try again."
        }
        return "wandsim: the demo key was not written (\(error)): \(advice) Nothing was written."
    }

    private func stateFile() throws -> SimulatorStateFile {
        if let state {
            guard !state.isEmpty else { throw ValidationError("--state must not be empty.") }
            let path = FilePath(state)
            try StateDirectory(path: path.removingLastComponent()).create()
            return SimulatorStateFile(path: path)
        }
        guard let directory = StateDirectory.defaultPath(environment: ProcessInfo.processInfo.environment) else {
            throw ValidationError("Neither XDG_STATE_HOME nor HOME is set: give --state FILE.")
        }
        try StateDirectory(path: directory).create()
        return SimulatorStateFile(path: directory.appending("wandsim.json"))
    }

    /// Points `path` at the pty, replacing only an earlier symlink (never a file).
    private func makeLink(_ path: String, to target: String) throws {
        var status = stat()
        if lstat(path, &status) == 0 {
            guard status.st_mode & S_IFMT == S_IFLNK else {
                Self.fail("SIMULATED wandsim: \(path) exists and is not a symlink; it was left alone.", status: 70)
            }
            unlink(path)
        }
        guard symlink(target, path) == 0 else {
            Self.fail("SIMULATED wandsim: cannot create the symlink \(path): \(String(cString: strerror(errno)))", status: 70)
        }
    }

    private func removeLink(_ path: String) throws {
        var status = stat()
        if lstat(path, &status) == 0, status.st_mode & S_IFMT == S_IFLNK { unlink(path) }
    }

    /// Output goes straight to the descriptor, unbuffered: a script reading
    /// the pty path from a pipe must see it at once.
    static func say(_ line: String) {
        FileHandle.standardOutput.write(Data((line + "\n").utf8))
    }

    static func fail(_ message: String, status: Int32) -> Never {
        FileHandle.standardError.write(Data((message + "\n").utf8))
        Glibc.exit(status)
    }
}

private extension String {
    func leftPadded(to width: Int) -> String {
        count >= width ? self : String(repeating: "0", count: width - count) + self
    }
}
