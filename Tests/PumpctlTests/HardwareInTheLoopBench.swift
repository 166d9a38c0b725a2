import Foundation
import Glibc
import Testing

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
        simulatorState = folder + "/wandsim/wandsim.json"
        // The simulated pump's published DEMO key (PumpIdentity.demoKey): the
        // bytes 0x00 to 0x1f, written as 64 hex digits.
        let hex = (0..<32).map { String(format: "%02x", $0) }.joined()
        try Data((hex + "\n").utf8).write(to: URL(fileURLWithPath: keyFile))
        // pumpctl refuses a key file others may read, as ssh does.
        chmod(keyFile, 0o600)
    }

    deinit {
        simulator?.stop()
        try? FileManager.default.removeItem(atPath: folder)
    }

    /// Starts (or restarts, on the same state file) the simulated wand.
    @discardableResult
    func startSimulator(extraArguments: [String] = []) throws -> SimulatedWandProcess {
        simulator?.stop()
        let started = try SimulatedWandProcess(statePath: simulatorState, extraArguments: extraArguments)
        simulator = started
        return started
    }

    /// The arguments that point a pump command at a wand with the demo key.
    func sessionArguments(wand: String) -> [String] {
        ["--wand", wand, "--key-file", keyFile, "--state-dir", stateDir, "--operator", "hil.tech"]
    }

    /// Runs `pumpctl COMMAND ... --wand WAND ...`, optionally under a wrapper
    /// (the USB harness).
    func pumpctl(_ command: [String], wand: String, wrapper: [String] = []) throws -> PumpctlRun.Result {
        try PumpctlRun.run(command + sessionArguments(wand: wand), wrapper: wrapper)
    }

    /// The audit log's entries, as `pumpctl audit --json` lists them.
    func auditEntries() throws -> [[String: Any]] {
        let result = try PumpctlRun.run(["--json", "--state-dir", stateDir, "audit"])
        #expect(result.status == 0, "audit: \(result.stderr)")
        return try Self.json(result)["entries"] as? [[String: Any]] ?? []
    }

    /// Outcomes recorded for `command` (phase outcome or event).
    func outcomes(of command: String) throws -> [String] {
        try auditEntries().filter { $0["command"] as? String == command }.compactMap { $0["outcome"] as? String }
    }

    /// `pumpctl audit verify` passes: the chain of records is intact.
    func auditVerifies() throws -> Bool {
        let verify = try PumpctlRun.run(["audit", "verify", "--state-dir", stateDir])
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
final class SimulatedWandProcess {
    let process = Process()
    let ptyPath: String
    private let output = Pipe()

    init(statePath: String, extraArguments: [String]) throws {
        process.executableURL = PumpctlRun.binary("wandsim")
        process.arguments = ["--state", statePath] + extraArguments
        process.standardOutput = output
        process.standardError = FileHandle.nullDevice
        try process.run()
        guard let line = ChildOutput.line(startingWith: "SIMULATED pty: ", from: output) else {
            process.terminate()
            throw BenchError.childDidNotStart("wandsim printed no pty path")
        }
        ptyPath = String(line.dropFirst("SIMULATED pty: ".count))
    }

    /// Kills the simulator without warning, as a pulled cable or a crash would.
    func kill() {
        guard process.isRunning else { return }
        Glibc.kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
    }

    /// Stops it cleanly (SIGTERM: it saves its state on the way out).
    func stop() {
        guard process.isRunning else { return }
        process.terminate()
        process.waitUntilExit()
    }

    deinit { stop() }
}

/// `Tests/Harness/pty_relay.py`: a pty between pumpctl and wandsim's pty
/// that hangs up while the host's N-th frame arrives.
final class SerialLineRelay {
    let process = Process()
    let ptyPath: String
    private let output = Pipe()

    init(python: String, to wandPath: String, hangupAfterFrames: Int, delivers: Bool) throws {
        process.executableURL = URL(fileURLWithPath: python)
        process.arguments = [UmockdevTools.path("Tests/Harness/pty_relay.py"), "--to", wandPath,
                             "--hangup-after-frames", String(hangupAfterFrames)] + (delivers ? ["--hangup-delivers"] : [])
        process.standardOutput = output
        process.standardError = FileHandle.nullDevice
        try process.run()
        guard let line = ChildOutput.line(startingWith: "RELAY pty: ", from: output) else {
            process.terminate()
            throw BenchError.childDidNotStart("pty_relay.py printed no pty path")
        }
        ptyPath = String(line.dropFirst("RELAY pty: ".count))
    }

    /// True when the relay cut the line (it prints so, then exits). Called
    /// after pumpctl has finished; a relay still running a while later
    /// never reached its frame and is stopped.
    func hungUp() -> Bool {
        var polls = 0
        while process.isRunning && polls < 1000 {
            usleep(10_000)
            polls += 1
        }
        if process.isRunning {
            process.terminate()
            process.waitUntilExit()
        }
        return ChildOutput.line(startingWith: "RELAY hung up", from: output) != nil
    }

    deinit {
        if process.isRunning {
            process.terminate()
            process.waitUntilExit()
        }
    }
}

/// A `pumpctl` started without waiting for it, so a test can act while it runs.
final class RunningPumpctl {
    let process = Process()
    private let out = Pipe(), err = Pipe()

    init(_ arguments: [String]) throws {
        process.executableURL = PumpctlRun.binary("pumpctl")
        process.arguments = arguments
        process.standardOutput = out
        process.standardError = err
        process.standardInput = FileHandle.nullDevice
        try process.run()
    }

    /// Waits for the exit; output is small, so reading after the exit cannot block the child.
    func finish() -> PumpctlRun.Result {
        let outData = out.fileHandleForReading.readDataToEndOfFile()
        let errData = err.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return PumpctlRun.Result(
            status: process.terminationStatus, signalled: process.terminationReason == .uncaughtSignal,
            stdout: String(decoding: outData, as: UTF8.self), stderr: String(decoding: errData, as: UTF8.self))
    }

    deinit {
        if process.isRunning {
            process.terminate()
            process.waitUntilExit()
        }
    }
}

enum ChildOutput {
    /// Reads a child's output until a line starting with `prefix`; nil at end of output.
    static func line(startingWith prefix: String, from pipe: Pipe) -> String? {
        var text = ""
        while true {
            let data = pipe.fileHandleForReading.availableData
            if data.isEmpty { return nil }
            text += String(decoding: data, as: UTF8.self)
            if let line = text.split(separator: "\n").first(where: { $0.hasPrefix(prefix) }) { return String(line) }
        }
    }
}

enum BenchError: Error {
    case childDidNotStart(String)
}
