import Foundation
import Glibc
import Testing
import TestSupport

/// The serial path end to end: the built `pumpctl` talks through the real
/// serial transport (termios raw mode, flock, poll) to the built `wandsim`
/// on a pty, which serves a SIMULATED wand and pump with the DEMO key.
@Suite(.serialized, .tags(.process, .pty, .hardwareInTheLoop), .childProcesses) struct HardwareInTheLoopSerialTests {
    @Test func aSessionInterrogatesProgramsAndReadsBack() async throws {
        let bench = try HardwareInTheLoopBench()
        let wand = try await bench.startSimulator().ptyPath

        let before = try HardwareInTheLoopBench.json(try await bench.pumpctl(["interrogate", "--json"], wand: wand))
        #expect(before["serial"] as? String == "RP20-DEMO-0001")
        #expect(before["model"] as? String == "RP-20")
        // A new simulated pump holds baclofen at 400 mcg/day.
        #expect(HardwareInTheLoopBench.value(before, "daily_dose") == 400)

        let programmed = try await bench.pumpctl(["program", HardwareInTheLoopBench.prescription450, "--yes", "--json"], wand: wand)
        #expect(programmed.status == 0, "program: \(programmed.stderr)")
        let done = try HardwareInTheLoopBench.json(programmed)
        #expect(HardwareInTheLoopBench.value(done["status"] as? [String: Any] ?? [:], "daily_dose") == 450)

        let after = try HardwareInTheLoopBench.json(try await bench.pumpctl(["interrogate", "--json"], wand: wand))
        #expect(HardwareInTheLoopBench.value(after, "daily_dose") == 450)
        #expect(after["unresolved_command"] is NSNull)
        #expect(after["prescription_hash"] as? String != before["prescription_hash"] as? String)

        // Staged, committed by hash, read back and matched: each step is on record.
        #expect(try await bench.outcomes(of: "stage") == ["done"])
        #expect(try await bench.outcomes(of: "program") == ["done"])
        #expect(try await bench.outcomes(of: "read-back") == ["matches"])
        let sessions = try await bench.auditEntries().filter { $0["command"] as? String == "session" }
        #expect(sessions.contains { ($0["parameters"] as? [String: String])?["wand"]?.contains(wand) == true },
                "the audit log names the wand's tty: \(sessions)")
        #expect(try await bench.auditVerifies())
    }

    /// Another program holds the wand's tty (flock, as pumpctl itself takes
    /// it): pumpctl refuses with the busy message and sends nothing.
    @Test func aSecondOpenIsRefusedWhileTheFirstHoldsTheWand() async throws {
        let bench = try HardwareInTheLoopBench()
        let wand = try await bench.startSimulator().ptyPath

        let holder = open(wand, O_RDWR | O_NOCTTY | O_NONBLOCK | O_CLOEXEC)
        try #require(holder >= 0, "cannot open \(wand): errno \(errno)")
        #expect(flock(holder, LOCK_EX | LOCK_NB) == 0)
        let refused = try await bench.pumpctl(["interrogate", "--json"], wand: wand)
        // Closed where no child being started elsewhere keeps a copy holding the flock.
        await ChildProcess.withNoChildStarting { _ = close(holder) }

        #expect(refused.status == 74, "stderr: \(refused.stderr)")
        #expect(refused.stderr.contains("\(wand) is in use by another program"), "stderr: \(refused.stderr)")
        #expect(refused.stderr.contains("Nothing was sent."))
        // --json: the failure is also an error object on stdout, and nothing was sent.
        #expect((refused.stdout.contains("\"error\"") && refused.stdout.contains("\"pump\" : \"nothing_sent\"")), "\(refused.stdout)")

        // Once the holder lets go, the same command goes through: the refusal was the lock.
        let afterwards = try await bench.pumpctl(["interrogate", "--json"], wand: wand)
        #expect(afterwards.status == 0, "stderr: \(afterwards.stderr)")
    }

    /// The line hangs up in the middle of the commit: frames from the host
    /// in a `program` run are 1 session open (the wand's info with it), 2
    /// interrogate with the newest event page (the review, read moments ago
    /// in this session, so not read again), 3 stage, 4 commit, 5 interrogate
    /// (the read-back and the status), 6 close (not awaited).
    /// The relay cuts the line at frame 4, either before the pump sees the
    /// commit or after (only the reply is lost). pumpctl ends UNCERTAIN
    /// (exit 75); the simulator is then killed and restarted on the same
    /// state file, and the next interrogate asks the pump what became of the
    /// commit: the pump holds the old prescription or the new one, whole.
    @Test(arguments: [false, true])
    func aHangupDuringTheCommitIsUncertainThenResolved(commitReachesThePump: Bool) async throws {
        let python = try Requirements.require(HardwareInTheLoopBench.python, "no python3 for Tests/Harness/pty_relay.py")
        let bench = try HardwareInTheLoopBench()
        let simulator = try await bench.startSimulator()
        let before = try HardwareInTheLoopBench.json(try await bench.pumpctl(["interrogate", "--json"], wand: simulator.ptyPath))
        let oldHash = try #require(before["prescription_hash"] as? String)

        let relay = try await SerialLineRelay.start(python: python, to: simulator.ptyPath, hangupAfterFrames: 4, delivers: commitReachesThePump)
        let cut = try await bench.pumpctl(["program", HardwareInTheLoopBench.prescription450, "--yes"], wand: relay.ptyPath)
        #expect(await relay.hungUp(), "the relay never saw frame 4")
        #expect(cut.status == 75, "stderr: \(cut.stderr)")
        #expect(cut.stderr.contains("UNCERTAIN: program"), "stderr: \(cut.stderr)")
        #expect(cut.stderr.contains("Do NOT repeat it"))
        #expect(try await bench.outcomes(of: "stage") == ["done"])
        let commit = try await bench.outcomes(of: "program")
        #expect(commit == ["UNCERTAIN"], "audit: \(commit)")
        #expect(try await bench.auditEntries().contains {
            $0["command"] as? String == "program" && (($0["parameters"] as? [String: String])?["detail"] ?? "").hasPrefix("the link failed")
        })
        #expect(FileManager.default.fileExists(atPath: bench.pendingCommandPath))
        let intent = try await bench.auditEntries().first { $0["command"] as? String == "program" && $0["phase"] as? String == "intent" }
        let newHash = try #require((intent?["parameters"] as? [String: String])?["prescription_hash"])

        if commitReachesThePump {
            // The commit went into the simulator's pty before the hangup; an
            // exchange on the same simulator is behind it in the pty, so the
            // pump has acted on the commit before it answers.
            let synced = try await bench.pumpctl(["interrogate", "--json"], wand: simulator.ptyPath)
            #expect(synced.status == 0, "stderr: \(synced.stderr)")
        }
        // A crash of the simulator, and a restart on its saved state.
        await simulator.kill()
        let restarted = try await bench.startSimulator()
        let resolved = try await bench.pumpctl(["interrogate", "--json"], wand: restarted.ptyPath)
        #expect(resolved.status == 0, "stderr: \(resolved.stderr)")
        let status = try HardwareInTheLoopBench.json(resolved)
        #expect(status["unresolved_command"] is NSNull)
        #expect(!FileManager.default.fileExists(atPath: bench.pendingCommandPath))

        let resolution = try await bench.outcomes(of: "program").filter { $0.hasPrefix("resolved:") }
        let hash = status["prescription_hash"] as? String
        let dose = HardwareInTheLoopBench.value(status, "daily_dose")
        if commitReachesThePump {
            #expect(resolution == ["resolved: executed"])
            #expect(hash == newHash && dose == 450, "hash \(hash ?? "-") dose \(dose ?? -1)")
        } else {
            #expect(resolution == ["resolved: never received"])
            #expect(hash == oldHash && dose == 400, "hash \(hash ?? "-") dose \(dose ?? -1)")
        }
        #expect(try await bench.auditVerifies())
    }

    /// The literal case: the simulator is killed (SIGKILL) while pumpctl is
    /// in a state-changing command. The simulator's link latency keeps each
    /// exchange open long enough; the kill follows the pending-command
    /// record, which pumpctl writes before it sends. Where exactly the kill
    /// lands is up to the scheduler, so the test checks that whatever
    /// happened is told consistently: exit 75 with the command UNCERTAIN
    /// and pending, or exit 74 with the link failure on record; then the
    /// restarted simulator resolves it, and the pump holds one whole
    /// prescription.
    @Test func killingTheSimulatorMidCommandIsATypedErrorThenResolved() async throws {
        let bench = try HardwareInTheLoopBench()
        let slow = ["--latency-ms", "200"]
        let simulator = try await bench.startSimulator(extraArguments: slow)
        let before = try HardwareInTheLoopBench.json(try await bench.pumpctl(["interrogate", "--json"], wand: simulator.ptyPath))
        let oldHash = try #require(before["prescription_hash"] as? String)

        let running = try await RunningPumpctl(["program", HardwareInTheLoopBench.prescription450, "--yes"]
                                         + bench.sessionArguments(wand: simulator.ptyPath))
        // Waits (bounded) for the first pending record, then pulls the plug.
        let patience = ContinuousClock.now + .seconds(60)
        while !FileManager.default.fileExists(atPath: bench.pendingCommandPath) && running.isRunning && ContinuousClock.now < patience {
            try await Task.sleep(for: .milliseconds(2))
        }
        await simulator.kill()
        let result = try await running.finish()

        #expect([73, 74, 75].contains(result.status), "status \(result.status): \(result.stderr)")
        print("note: wandsim was killed with pumpctl in \(result.status == 75 ? "a state-changing command (UNCERTAIN)" : "a read") (exit \(result.status))")
        let audit = try await bench.auditEntries()
        // Either bytes of the request had left when the link failed (the
        // outcome is uncertain), or the transport counted that none had
        // (the kill came before the write: certainly not sent).
        let linkFailures = audit.compactMap { ($0["parameters"] as? [String: String])?["detail"] }.filter {
            $0.contains("the link failed") || $0.contains("None of this send left the host")
        }
        #expect(!linkFailures.isEmpty, "the audit log must say the link failed: \(audit.compactMap { $0["parameters"] })")
        if result.status == 75 {
            #expect(result.stderr.contains("UNCERTAIN"))
            #expect(FileManager.default.fileExists(atPath: bench.pendingCommandPath))
        } else {
            #expect(result.stderr.contains("Communication failed"))
        }

        let restarted = try await bench.startSimulator()
        let resolved = try await bench.pumpctl(["interrogate", "--json"], wand: restarted.ptyPath)
        #expect(resolved.status == 0, "stderr: \(resolved.stderr)")
        let status = try HardwareInTheLoopBench.json(resolved)
        #expect(status["unresolved_command"] is NSNull)
        #expect(!FileManager.default.fileExists(atPath: bench.pendingCommandPath))
        let intent = try await bench.auditEntries().first { $0["command"] as? String == "stage" && $0["phase"] as? String == "intent" }
        let newHash = (intent?["parameters"] as? [String: String])?["prescription_hash"]
        let hash = status["prescription_hash"] as? String
        let dose = HardwareInTheLoopBench.value(status, "daily_dose")
        #expect((hash == oldHash && dose == 400) || (hash == newHash && dose == 450), "hash \(hash ?? "-") dose \(dose ?? -1)")
        #expect(try await bench.auditVerifies())
    }
}
