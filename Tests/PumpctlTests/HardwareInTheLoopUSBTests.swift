import Foundation
import Glibc
import Testing
import TestSupport

/// The USB path end to end: the built `pumpctl` runs inside a umockdev
/// testbed (Tests/Harness/usb_wand.py) where one live wand, PW1-000123,
/// answers libusb's usbdevfs calls; its bulk endpoints are relayed to the
/// built `wandsim`'s pty, so the real libudev discovery, libusb transfers,
/// wire protocol and simulated pump all take part. No timings are asserted:
/// under umockdev libusb spins on an always-ready node.
@Suite(.serialized, .tags(.process, .pty, .hardwareInTheLoop), .hardwareInTheLoopBench) struct HardwareInTheLoopUSBTests {
    static let harness = UmockdevTools.path("Tests/Harness/usb_wand.py")

    /// The harness wrapper relaying the wand to `pty`, with extra harness options.
    static func relay(to pty: String, _ options: [String] = []) async -> [String]? {
        guard let python = await UmockdevTools.systemPython else { return nil }
        return [python, harness, "--mode", "relay", "--relay", "path:\(pty)"] + options + ["--"]
    }

    @Test func aSessionOverLibusbInterrogatesProgramsAndReadsBack() async throws {
        try await UmockdevTools.requireHarness()
        let bench = try HardwareInTheLoopBench()
        let pty = try await bench.startSimulator().ptyPath
        let wrapper = try #require(await Self.relay(to: pty))

        let before = try HardwareInTheLoopBench.json(try await bench.pumpctl(["interrogate", "--json"], wand: "PW1-000123", wrapper: wrapper))
        #expect(before["serial"] as? String == "RP20-DEMO-0001")
        #expect(HardwareInTheLoopBench.value(before, "daily_dose") == 400)

        let programmed = try await bench.pumpctl(["program", HardwareInTheLoopBench.prescription450, "--yes", "--json"],
                                           wand: "PW1-000123", wrapper: wrapper)
        #expect(programmed.status == 0, "program: \(programmed.stderr)")

        let after = try HardwareInTheLoopBench.json(try await bench.pumpctl(["interrogate", "--json"], wand: "PW1-000123", wrapper: wrapper))
        #expect(HardwareInTheLoopBench.value(after, "daily_dose") == 450)
        #expect(after["unresolved_command"] is NSNull)

        #expect(try await bench.outcomes(of: "stage") == ["done"])
        #expect(try await bench.outcomes(of: "program") == ["done"])
        #expect(try await bench.outcomes(of: "read-back") == ["matches"])
        let sessions = try await bench.auditEntries().filter { $0["command"] as? String == "session" }
        // The session went through the USB node, chosen by serial number.
        #expect(sessions.contains { ($0["parameters"] as? [String: String])?["wand"]?.contains("/dev/bus/usb/001/002") == true },
                "audit sessions: \(sessions)")
        #expect(try await bench.auditVerifies())
    }

    /// The bring-up tools over USB: link status and a loopback run through
    /// libusb bulk transfers to wandsim, and a trace of it.
    @Test func theBringupToolsWorkOverLibusb() async throws {
        try await UmockdevTools.requireHarness()
        let bench = try HardwareInTheLoopBench()
        let pty = try await bench.startSimulator().ptyPath
        let wrapper = try #require(await Self.relay(to: pty))
        // In the bench's folder, removed with it.
        let trace = bench.folder + "/usb-loopback.pcapng"
        let loopback = try await PumpctlRun.run(
            ["--wand", "PW1-000123", "--state-dir", bench.stateDir, "--trace", trace, "--json",
             "link", "loopback", "--count", "10", "--size", "100"], wrapper: wrapper)
        #expect(loopback.status == 0, "loopback: \(loopback.stderr)")
        let result = try HardwareInTheLoopBench.json(loopback)
        #expect(result["received"] as? Int == 10)
        #expect(result["corrupted"] as? Int == 0)
        // Ten 100-byte echoes and the wand's info exchange, both ways, recorded.
        let size = (try? FileManager.default.attributesOfItem(atPath: trace)[.size] as? Int) ?? 0
        #expect(size > 2 * 10 * 100)
        let status = try await PumpctlRun.run(["--wand", "PW1-000123", "--state-dir", bench.stateDir, "--json", "link", "status"],
                                        wrapper: wrapper)
        #expect(status.status == 0, "link status: \(status.stderr)")
    }

    /// The wand takes the bytes and never answers: pumpctl gives up after
    /// its retries with "does not answer" (exit 69) instead of hanging.
    @Test func aWandThatNeverAnswersIsReportedAndNothingHangs() async throws {
        let python = try await UmockdevTools.requireHarness()
        let bench = try HardwareInTheLoopBench()
        let result = try await bench.pumpctl(["interrogate", "--json"], wand: "PW1-000123",
                                       wrapper: [python, Self.harness, "--mode", "silent", "--"])
        #expect(result.status == 69, "stderr: \(result.stderr)")
        #expect(result.stderr.contains("does not answer"), "stderr: \(result.stderr)")
        #expect(result.stderr.contains("/dev/bus/usb/001/002"))
        // --json: the failure is also an error object on stdout, and nothing was sent.
        #expect((result.stdout.contains("\"error\"") && result.stdout.contains("\"pump\" : \"nothing_sent\"")), "\(result.stdout)")
    }

    /// The wand is unplugged in the middle of a commit. Frames from the
    /// host in a `program` run are 1 session open (the wand's info with
    /// it), 2 interrogate with the newest event page (the review, not read
    /// again moments later), 3 stage, 4 commit, 5 interrogate (the
    /// read-back and the status), 6 close (not awaited); the harness
    /// unplugs at frame 4, either before
    /// the commit reaches the pump or after (only its reply is lost); the
    /// audit assertions below check that the unplug did land on the commit.
    /// pumpctl ends UNCERTAIN (exit 75). A new harness on the same simulator
    /// then lets `interrogate` ask the pump what became of the commit, and
    /// the pump holds the old prescription or the new one, whole.
    @Test(arguments: [false, true])
    func anUnplugDuringTheCommitLeavesTheOldOrTheNewPrescription(commitReachesThePump: Bool) async throws {
        try await UmockdevTools.requireHarness()
        let bench = try HardwareInTheLoopBench()
        let simulator = try await bench.startSimulator()
        let plain = try #require(await Self.relay(to: simulator.ptyPath))
        let before = try HardwareInTheLoopBench.json(try await bench.pumpctl(["interrogate", "--json"], wand: "PW1-000123", wrapper: plain))
        let oldHash = try #require(before["prescription_hash"] as? String)

        let unplugging = try #require(await Self.relay(
            to: simulator.ptyPath, ["--unplug-after-frames", "4"] + (commitReachesThePump ? ["--unplug-delivers"] : [])))
        let cut = try await bench.pumpctl(["program", HardwareInTheLoopBench.prescription450, "--yes"], wand: "PW1-000123", wrapper: unplugging)
        #expect(cut.status == 75, "stderr: \(cut.stderr)")
        #expect(cut.stderr.contains("UNCERTAIN: program"), "stderr: \(cut.stderr)")
        #expect(try await bench.outcomes(of: "stage") == ["done"])
        let commit = try await bench.outcomes(of: "program")
        #expect(commit == ["UNCERTAIN"], "audit: \(commit)")
        #expect(try await bench.auditEntries().contains {
            $0["command"] as? String == "program" && (($0["parameters"] as? [String: String])?["detail"] ?? "").hasPrefix("the link failed")
        })
        #expect(FileManager.default.fileExists(atPath: bench.pendingCommandPath))
        let intent = try await bench.auditEntries().first { $0["command"] as? String == "program" && $0["phase"] as? String == "intent" }
        let newHash = try #require((intent?["parameters"] as? [String: String])?["prescription_hash"])

        // A replugged wand on the same simulator: the commit, if it went
        // out, is ahead of this session in the simulator's pty.
        let resolved = try await bench.pumpctl(["interrogate", "--json"], wand: "PW1-000123", wrapper: plain)
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

        // The simulator's saved state agrees after a restart: stop it
        // cleanly, start it on the same state file, read the pump again.
        await simulator.stop()
        let restarted = try await bench.startSimulator()
        let reread = try HardwareInTheLoopBench.json(try await bench.pumpctl(["interrogate", "--json"], wand: restarted.ptyPath))
        #expect(reread["prescription_hash"] as? String == hash)
        #expect(HardwareInTheLoopBench.value(reread, "daily_dose") == dose)
        #expect(try await bench.auditVerifies())
    }
}
