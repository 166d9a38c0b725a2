import Foundation
import Testing
import TestSupport

/// The FHIR poster pumpctl hands each bundle to (`pumpwand-fhir-post`,
/// found beside pumpctl's own executable): one others may alter is never
/// given patient data, and one that dies holding a bundle leaves the visit
/// unconfirmed, never "not sent".
///
/// Each test runs a hard link of the built pumpctl from a private folder,
/// so the poster beside it is the test's own stand-in.
@Suite(.serialized, .tags(.process), .childProcesses) struct ExportPosterTests {
    let folder: String
    let stateDir: String

    init() throws {
        folder = NSTemporaryDirectory() + "pumpwand-poster-" + UUID().uuidString
        stateDir = folder + "/state"
        try FileManager.default.createDirectory(atPath: stateDir, withIntermediateDirectories: true,
                                                attributes: [.posixPermissions: 0o700])
        try FileManager.default.setAttributes([.posixPermissions: 0o700], ofItemAtPath: folder)
        guard link(PumpctlRun.binary("pumpctl").path, folder + "/pumpctl") == 0 else {
            try FileManager.default.copyItem(atPath: PumpctlRun.binary("pumpctl").path, toPath: folder + "/pumpctl")
            return
        }
    }

    func pumpctl(_ arguments: [String]) async throws -> ChildProcess.Result {
        try await ChildProcess.run(folder + "/pumpctl", ["--simulator", "--state-dir", stateDir, "--operator", "nurse.a"] + arguments)
    }

    /// One filed visit (a patient record, then a bolus) to export.
    func visit() async throws {
        #expect(try await pumpctl(["patient", "set", "--serial", "RP20-DEMO-0001", "--name", "Ada Lovelace", "--mrn", "MRN-0042",
                                   "--mrn-system", "urn:oid:2.16.840.1.113883.19.5", "--dob", "1980-02-29",
                                   "--prescriber", "Dr. Grace Hopper"]).status == 0)
        #expect(try await pumpctl(["--yes", "bolus", "--dose", "50mcg"]).status == 0)
    }

    /// A stand-in poster: a shell script that leaves a mark when it runs.
    func poster(_ script: String, mode: Int) throws -> String {
        let path = folder + "/pumpwand-fhir-post"
        try ("#!/bin/sh\necho ran >> '\(folder)/poster-ran'\n" + script + "\n").write(toFile: path, atomically: false, encoding: .utf8)
        try FileManager.default.setAttributes([.posixPermissions: mode], ofItemAtPath: path)
        return path
    }

    func json(_ text: String) throws -> [String: Any] {
        try #require(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any], "\(text)")
    }

    @Test func aPosterOthersMayWriteIsNeverGivenTheBundle() async throws {
        defer { try? FileManager.default.removeItem(atPath: folder) }
        try await visit()
        _ = try poster("cat > /dev/null; exit 0", mode: 0o777)
        let run = try await pumpctl(["--json", "export", "fhir", "--include-simulated", "--post", "http://127.0.0.1:9/fhir"])
        #expect(run.status == 74, "\(run.stderr)")
        #expect(run.stderr.contains("could not be started") && run.stderr.contains("not trusted with patient data"), "\(run.stderr)")
        #expect(run.stderr.contains("Not sent:"), "\(run.stderr)")
        let listing = try json(run.stdout)
        #expect((listing["unconfirmed"] as? [String])?.isEmpty == true, "\(run.stdout)")
        #expect(!FileManager.default.fileExists(atPath: folder + "/poster-ran"), "the untrusted poster was started")
        #expect(try await JSONContractTests.violations(of: run.stdout, schema: "export-fhir-post.json").isEmpty, "\(run.stdout)")
    }

    @Test func aPosterThatDiesHoldingTheBundleLeavesTheVisitUnconfirmed() async throws {
        defer { try? FileManager.default.removeItem(atPath: folder) }
        try await visit()
        _ = try poster("cat > /dev/null; kill -KILL $$", mode: 0o700)
        let run = try await pumpctl(["--json", "export", "fhir", "--include-simulated", "--post", "http://127.0.0.1:9/fhir"])
        #expect(run.status == 74, "\(run.stderr)")
        #expect(FileManager.default.fileExists(atPath: folder + "/poster-ran"))
        #expect(run.stderr.contains("which gave no outcome (ended by signal 9)"), "\(run.stderr)")
        #expect(run.stderr.contains("Sent, but the server's answer did not confirm it was stored"), "\(run.stderr)")
        let listing = try json(run.stdout)
        #expect((listing["unconfirmed"] as? [String])?.count == 1, "\(run.stdout)")
        #expect((listing["sent"] as? [Any])?.isEmpty == true, "\(run.stdout)")
        // The export's outcome row says what became of it.
        let audit = try json(try await pumpctl(["--json", "audit", "list"]).stdout)
        let last = (audit["entries"] as? [[String: Any]])?.last
        #expect(last?["command"] as? String == "export" && last?["outcome"] as? String == "not sent", "\(String(describing: last))")
    }

    /// The real poster, answering for another visit than it was given, is
    /// not taken as having stored this one.
    @Test func anOutcomeForAnotherVisitIsNotThisVisitStored() async throws {
        defer { try? FileManager.default.removeItem(atPath: folder) }
        try await visit()
        _ = try poster(#"cat > /dev/null; echo '{"sent":{"_0":{"visit":"someone-else","status":200,"attempts":1,"entries":["201 Created"]}}}'"#, mode: 0o700)
        let run = try await pumpctl(["--json", "export", "fhir", "--include-simulated", "--post", "http://127.0.0.1:9/fhir"])
        #expect(run.status == 74, "\(run.stderr)")
        #expect(run.stderr.contains("it answered for visit someone-else"), "\(run.stderr)")
        #expect((try json(run.stdout)["sent"] as? [Any])?.isEmpty == true, "\(run.stdout)")
    }
}
