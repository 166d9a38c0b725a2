import Foundation
import Glibc
import Testing
import TestSupport

/// What the hardware-in-the-loop tests share: a temporary bench with the
/// built `wandsim` serving a SIMULATED wand and pump on a pty, the pump's
/// DEMO key in a key file, a state directory for `pumpctl`, and helpers that
/// run the built `pumpctl` against the wand and read its JSON and audit log.
///
/// Every child is a separate binary (`wandsim`, `pumpctl`, the Python
/// harnesses), never this test bundle.
final class HardwareInTheLoopBench {
    let folder: String
    let keyFile: String
    let stateDir: String
    /// The bench's own configuration directory (the audit key), so a run as
    /// another user (the permission tests) finds one it may use.
    let configDir: String
    let simulatorState: String
    private(set) var simulator: SimulatedWandProcess?

    /// The prescription the tests program: baclofen 2000 mcg/mL, continuous, 450 mcg/day.
    static let prescription450 = UmockdevTools.path("examples/prescriptions/baclofen-continuous-450.json")

    init() throws {
        folder = NSTemporaryDirectory() + "pumpwand-hil-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        // Readable by anyone on the path, so the permission test can run
        // pumpctl as another user and reach the key file.
        chmod(folder, 0o755)
        keyFile = folder + "/demo-pump.key"
        stateDir = folder + "/state"
        configDir = folder + "/config"
        simulatorState = folder + "/wandsim/wandsim.json"
        // The simulated pump's published DEMO key (PumpIdentity.demoKey): the
        // bytes 0x00 to 0x1f, written as 64 hex digits.
        let hex = (0..<32).map { String(format: "%02x", $0) }.joined()
        try Data((hex + "\n").utf8).write(to: URL(fileURLWithPath: keyFile))
        // pumpctl refuses a key file others may read, as ssh does.
        chmod(keyFile, 0o600)
    }

    deinit {
        // A simulator still running is killed with its RunningChild.
        simulator = nil
        try? FileManager.default.removeItem(atPath: folder)
    }

    /// Starts (or restarts, on the same state file) the simulated wand.
    @discardableResult
    func startSimulator(extraArguments: [String] = []) async throws -> SimulatedWandProcess {
        await simulator?.stop()
        let started = try await SimulatedWandProcess.start(statePath: simulatorState, extraArguments: extraArguments)
        simulator = started
        return started
    }

    /// The arguments that point a pump command at a wand with the demo key.
    func sessionArguments(wand: String) -> [String] {
        ["--wand", wand, "--key-file", keyFile, "--state-dir", stateDir, "--config-dir", configDir, "--operator", "hil.tech"]
    }

    /// Runs `pumpctl COMMAND ... --wand WAND ...`, optionally under a wrapper
    /// (the USB harness).
    func pumpctl(_ command: [String], wand: String, wrapper: [String] = []) async throws -> PumpctlRun.Result {
        try await PumpctlRun.run(command + sessionArguments(wand: wand), wrapper: wrapper)
    }

    /// The audit log's entries, as `pumpctl audit --json` lists them.
    func auditEntries() async throws -> [[String: Any]] {
        let result = try await PumpctlRun.run(["--json", "--state-dir", stateDir, "--config-dir", configDir, "audit"])
        #expect(result.status == 0, "audit: \(result.stderr)")
        return try Self.json(result)["entries"] as? [[String: Any]] ?? []
    }

    /// Outcomes recorded for `command` (phase outcome or event).
    func outcomes(of command: String) async throws -> [String] {
        try await auditEntries().filter { $0["command"] as? String == command }.compactMap { $0["outcome"] as? String }
    }

    /// `pumpctl audit verify` passes: the chain of records is intact.
    func auditVerifies() async throws -> Bool {
        let verify = try await PumpctlRun.run(["audit", "verify", "--state-dir", stateDir, "--config-dir", configDir])
        return verify.status == 0
    }

    /// The simulated pump's record in the per-pump pending folder.
    var pendingCommandPath: String { stateDir + "/pending/RP20-DEMO-0001.json" }

    static func json(_ result: PumpctlRun.Result) throws -> [String: Any] {
        let object = try? JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any]
        return try #require(object, "not a JSON object (status \(result.status)): \(result.stdout)\nstderr: \(result.stderr)")
    }

    /// The `value` of a `{value, unit}` quantity in pumpctl's JSON.
    static func value(_ object: [String: Any], _ key: String) -> Double? {
        ((object[key] as? [String: Any])?["value"] as? NSNumber)?.doubleValue
    }

    /// A Python for the harnesses: the system one (the USB harness needs its
    /// gi module; the pty relay needs only the standard library).
    static var python: String? {
        if FileManager.default.isExecutableFile(atPath: "/usr/bin/python3") { return "/usr/bin/python3" }
        return UmockdevTools.onPath("python3")
    }
}

/// The built `wandsim` as a child process, serving its pty until stopped.
final class SimulatedWandProcess: Sendable {
    let child: RunningChild
    let ptyPath: String

    private init(child: RunningChild, ptyPath: String) {
        self.child = child
        self.ptyPath = ptyPath
    }

    static func start(statePath: String, extraArguments: [String]) async throws -> SimulatedWandProcess {
        let child = try await ChildProcess.start(PumpctlRun.binary("wandsim").path, ["--state", statePath] + extraArguments)
        guard let line = await child.line(startingWith: "SIMULATED pty: ") else {
            await child.kill()
            throw BenchError.childDidNotStart("wandsim printed no pty path: \(child.stdout)\n\(child.stderr)")
        }
        // Started means stoppable too: `stop()` relies on SIGTERM, which
        // wandsim takes only once libdispatch has armed its signal source.
        guard await child.waitUntilCatching(SIGTERM) else {
            await child.kill()
            throw BenchError.childDidNotStart("wandsim never armed its SIGTERM handling: \(child.stdout)\n\(child.stderr)")
        }
        return SimulatedWandProcess(child: child, ptyPath: String(line.dropFirst("SIMULATED pty: ".count)))
    }

    /// Kills the simulator without warning, as a pulled cable or a crash would.
    func kill() async {
        await child.kill()
    }

    /// Stops it cleanly (SIGTERM: it saves its state on the way out).
    func stop() async {
        await child.terminate()
    }
}

/// `Tests/Harness/pty_relay.py`: a pty between pumpctl and wandsim's pty
/// that hangs up while the host's N-th frame arrives.
final class SerialLineRelay: Sendable {
    let child: RunningChild
    let ptyPath: String

    private init(child: RunningChild, ptyPath: String) {
        self.child = child
        self.ptyPath = ptyPath
    }

    static func start(python: String, to wandPath: String, hangupAfterFrames: Int, delivers: Bool) async throws -> SerialLineRelay {
        let child = try await ChildProcess.start(
            python, [UmockdevTools.path("Tests/Harness/pty_relay.py"), "--to", wandPath,
                     "--hangup-after-frames", String(hangupAfterFrames)] + (delivers ? ["--hangup-delivers"] : []))
        guard let line = await child.line(startingWith: "RELAY pty: ") else {
            await child.kill()
            throw BenchError.childDidNotStart("pty_relay.py printed no pty path: \(child.stdout)\n\(child.stderr)")
        }
        return SerialLineRelay(child: child, ptyPath: String(line.dropFirst("RELAY pty: ".count)))
    }

    /// True when the relay cut the line (it prints so, then exits). Called
    /// after pumpctl has finished; a relay still running 10 s later never
    /// reached its frame and is stopped.
    func hungUp() async -> Bool {
        if !(await child.waitForExit(within: .seconds(10))) { await child.terminate() }
        return await child.line(startingWith: "RELAY hung up", within: .seconds(5)) != nil
    }
}

/// A `pumpctl` started without waiting for it, so a test can act while it runs.
final class RunningPumpctl: Sendable {
    let child: RunningChild

    init(_ arguments: [String]) async throws {
        // Standard input at end of file, as from /dev/null.
        child = try await ChildProcess.start(PumpctlRun.binary("pumpctl").path, arguments)
    }

    var isRunning: Bool { child.isRunning }

    /// Waits for the exit, within the time limit.
    func finish() async throws -> PumpctlRun.Result {
        try await child.finish()
    }
}

enum BenchError: Error {
    case childDidNotStart(String)
}
