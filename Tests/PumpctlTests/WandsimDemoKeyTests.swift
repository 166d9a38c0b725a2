import Foundation
import Testing
import TestSupport

/// `wandsim --write-demo-key FILE` refuses a path it must not write (one
/// that exists, a folder that is missing) as a usage error, exit 64, saying
/// what to do, and writes nothing: not as an internal error (70).
@Suite(.serialized, .tags(.process), .childProcesses) struct WandsimDemoKeyTests {
    @Test func aDemoKeyPathInAMissingFolderIsAUsageErrorThatSaysWhatToDo() async throws {
        let directoryFolder = try TemporaryDirectory(prefix: "pumpwand-demokey")
        defer { directoryFolder.remove() }
        let directory = directoryFolder.path
        let key = directory + "/no-such-folder/demo.key"
        let run = try await PumpctlRun.run(["--write-demo-key", key], executable: "wandsim")
        #expect(run.status == 64, "\(run.stderr)")
        #expect(run.stderr.contains("give --write-demo-key a new file in a folder that exists"), "\(run.stderr)")
        #expect(run.stderr.contains("Nothing was written."))
        #expect(!FileManager.default.fileExists(atPath: key))
    }

    @Test func wandsimsHelpDocumentsTheUsageExitStatus() async throws {
        let help = try await PumpctlRun.run(["--help"], executable: "wandsim")
        #expect(help.stdout.contains("64 usage"), "\(help.stdout)")
    }
}
