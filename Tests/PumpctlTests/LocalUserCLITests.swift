import Foundation
import Glibc
import Testing
import TestSupport

/// The local-user attacks of docs/security.md through the built pumpctl:
/// each is refused with its documented exit status before anything is
/// sent or created.
@Suite(.serialized, .tags(.process), .childProcesses) struct LocalUserCLITests {
    /// Removed when the test ends.
    let temporary = TemporaryDirectory.make(prefix: "pumpwand-link")

    func listing(_ path: String) throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: path).sorted()
    }

    /// The reproduction: a world-writable state directory with a planted
    /// link; pumpctl (run as root here when the suite is) refuses it with 77
    /// and creates nothing, there or where the link points.
    @Test func aWorldWritableStateDirectoryIsRefusedWith77() async throws {
        let dir = BringupLinkTests.stateDir(in: temporary)
        let elsewhere = BringupLinkTests.stateDir(in: temporary)
        #expect(symlink(elsewhere + "/audit.sqlite", dir + "/audit.sqlite") == 0)
        #expect(chmod(dir, 0o777) == 0)
        let run = try await PumpctlRun.run(["--simulator", "--state-dir", dir, "--json", "interrogate"])
        #expect(run.status == 77, "\(run.stderr)")
        #expect(run.stderr.contains("chmod go-w \(dir)"))
        #expect(run.stdout.contains("\"code\" : \"unsafe_state_directory\""))
        #expect(run.stdout.contains("\"pump\" : \"nothing_sent\""))
        #expect(try listing(dir) == ["audit.sqlite"])
        #expect(try listing(elsewhere) == [])
    }

    /// A FIFO given as the key file used to hang pumpctl for ever.
    @Test func aFIFOKeyFileIsRefusedAtOnce() async throws {
        let dir = BringupLinkTests.stateDir(in: temporary)
        let key = dir + "/pump.key"
        #expect(mkfifo(key, 0o600) == 0)
        let run = try await PumpctlRun.run(["--state-dir", dir, "--key-file", key, "--wand", "/nonexistent-wand", "interrogate"],
                                           timeLimit: .seconds(30))
        // Refused at once, as every unsafe key file is: permission (77).
        #expect(run.status == 77, "\(run.stderr)")
        #expect(run.stderr.contains("\(key) is a FIFO, not a regular file"))
    }

    @Test func aTraceOntoASymbolicLinkIsRefusedAndItsTargetKept() async throws {
        let dir = BringupLinkTests.stateDir(in: temporary)
        let target = dir + "/notes.txt"
        try "clinic notes".write(toFile: target, atomically: false, encoding: .utf8)
        let trace = dir + "/t.pcapng"
        #expect(symlink(target, trace) == 0)
        for extra in [[], ["--trace-overwrite"]] {
            let run = try await PumpctlRun.run(["--simulator", "--state-dir", dir, "--trace", trace] + extra + ["link", "status"])
            #expect(run.status == 64, "\(run.stderr)")
            #expect(run.stderr.contains("\(trace) is a symbolic link"))
        }
        #expect(try String(contentsOfFile: target, encoding: .utf8) == "clinic notes")
    }

    @Test func anExistingTraceIsKeptWithoutTraceOverwrite() async throws {
        let dir = BringupLinkTests.stateDir(in: temporary)
        let trace = dir + "/t.pcapng"
        try "an earlier trace".write(toFile: trace, atomically: false, encoding: .utf8)
        let refused = try await PumpctlRun.run(["--simulator", "--state-dir", dir, "--trace", trace, "link", "loopback", "--count", "1"])
        #expect(refused.status == 64, "\(refused.stderr)")
        #expect(try String(contentsOfFile: trace, encoding: .utf8) == "an earlier trace")
        let replaced = try await PumpctlRun.run(["--simulator", "--state-dir", dir, "--trace", trace, "--trace-overwrite",
                                                 "link", "loopback", "--count", "1"])
        #expect(replaced.status == 0, "\(replaced.stderr)")
        #expect(try [UInt8](Data(contentsOf: URL(fileURLWithPath: trace))).prefix(4) == [0x0A, 0x0D, 0x0D, 0x0A])
    }
}
