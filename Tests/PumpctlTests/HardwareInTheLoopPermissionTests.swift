import Foundation
import Glibc
import Testing
import TestSupport

/// A wand node the user may not open: pumpctl stops with exit 77 and the
/// message that names the udev rules and how to install them.
@Suite(.serialized, .tags(.process, .pty, .hardwareInTheLoop), .childProcesses) struct HardwareInTheLoopPermissionTests {
    static let nobody: UInt32 = 65534

    /// CI runs as root, whom file modes do not stop; there pumpctl runs as
    /// `nobody` under `setpriv` (a new uid drops root's capabilities at
    /// exec). The key file is handed to `nobody` so that only the wand's
    /// node is out of reach.
    @Test func aWandNodeTheUserMayNotOpenIsPermissionDeniedWithTheUdevHint() async throws {
        let bench = try HardwareInTheLoopBench()
        let wand = try await bench.startSimulator().ptyPath
        #expect(chmod(wand, 0) == 0)

        var wrapper: [String] = []
        if getuid() == 0 {
            let setpriv = try Requirements.require(
                UmockdevTools.onPath("setpriv"), "running as root and setpriv is not on PATH (apt-get install util-linux)")
            #expect(chown(bench.keyFile, Self.nobody, Self.nobody) == 0)
            try FileManager.default.createDirectory(atPath: bench.stateDir, withIntermediateDirectories: true)
            #expect(chown(bench.stateDir, Self.nobody, Self.nobody) == 0)
            try FileManager.default.createDirectory(atPath: bench.configDir, withIntermediateDirectories: true)
            #expect(chmod(bench.configDir, 0o700) == 0)
            #expect(chown(bench.configDir, Self.nobody, Self.nobody) == 0)
            wrapper = [setpriv, "--reuid=\(Self.nobody)", "--regid=\(Self.nobody)", "--clear-groups", "--"]
        }
        let result = try await bench.pumpctl(["interrogate", "--json"], wand: wand, wrapper: wrapper)
        #expect(result.status == 77, "stderr: \(result.stderr)")
        #expect(result.stderr.contains("Permission denied opening \(wand)."), "stderr: \(result.stderr)")
        #expect(result.stderr.contains("Nothing was sent."))
        // The hint names the rules and gives the command that installs them.
        #expect(result.stderr.contains("Install PumpWand's udev rules"))
        #expect(result.stderr.contains(
            "sudo cp udev-rules/60-pumpwand.rules udev-rules/61-pumpwand-uaccess.rules /etc/udev/rules.d/ && sudo udevadm control --reload && sudo udevadm trigger"))
        #expect(result.stderr.contains("udev-rules/README.md"))
        // --json: the failure is also an error object on stdout, and nothing was sent.
        #expect((result.stdout.contains("\"error\"") && result.stdout.contains("\"pump\" : \"nothing_sent\"")), "\(result.stdout)")

        // The same user gets through once the node allows it: the refusal was the node's mode.
        #expect(chmod(wand, 0o666) == 0)
        let allowed = try await bench.pumpctl(["interrogate", "--json"], wand: wand, wrapper: wrapper)
        #expect(allowed.status == 0, "stderr: \(allowed.stderr)")
    }
}
