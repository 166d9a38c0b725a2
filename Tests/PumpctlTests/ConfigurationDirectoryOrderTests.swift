import Foundation
import Glibc
import Testing
import TestSupport

/// The configuration directory (keyring and audit key) is checked before
/// the wand is opened: a folder others can write into is refused with 77
/// and no byte reaches the radio (the trace of the attempt stays empty).
@Suite(.serialized, .tags(.process), .childProcesses) struct ConfigurationDirectoryOrderTests {
    /// Removed when the test ends.
    let temporary = TemporaryDirectory.make(prefix: "pumpwand-link")

    @Test func aGroupWritableConfigurationDirectoryIsRefusedBeforeTheWandIsOpened() async throws {
        let state = BringupLinkTests.stateDir(in: temporary)
        let config = BringupLinkTests.stateDir(in: temporary)
        #expect(chmod(config, 0o770) == 0)
        let trace = state + "/attempt.pcapng"
        let run = try await PumpctlRun.run(["--simulator", "--state-dir", state, "--config-dir", config, "--trace", trace,
                                            "--operator", "tech.a", "--json", "interrogate"])
        #expect(run.status == 77, "\(run.stderr)")
        #expect(run.stdout.contains("\"code\" : \"unsafe_configuration_directory\""), "\(run.stdout)")
        #expect(run.stdout.contains("\"pump\" : \"nothing_sent\""), "\(run.stdout)")
        // The trace is opened with the wand: not even its header was written.
        #expect(!FileManager.default.fileExists(atPath: trace))
        #expect(!run.stderr.contains("after the session opened"), "\(run.stderr)")
    }
}
