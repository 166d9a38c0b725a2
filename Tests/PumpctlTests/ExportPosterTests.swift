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

    /// The last audit row is the export's outcome, with this outcome and
    /// this many visits named as unconfirmed.
    func expectOutcomeRow(_ outcome: String, unconfirmed: Int, sourceLocation: SourceLocation = #_sourceLocation) async throws {
        let audit = try json(try await pumpctl(["--json", "audit", "list"]).stdout)
        let last = (audit["entries"] as? [[String: Any]])?.last
        #expect(last?["command"] as? String == "export" && last?["outcome"] as? String == outcome,
                "\(String(describing: last))", sourceLocation: sourceLocation)
        let named = (last?["parameters"] as? [String: String])?["unconfirmed"] ?? ""
        #expect(named.split(separator: ",").count == unconfirmed, "\(String(describing: last))", sourceLocation: sourceLocation)
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
        // The export's outcome row says what became of it: sent, not confirmed.
        try await expectOutcomeRow("sent, not confirmed", unconfirmed: 1)
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

    /// A poster that says "sent" for an answer that is no stored visit (an
    /// entry not 2xx, fewer entries than sent) is not believed.
    @Test func aPostersWordThatTheVisitIsStoredIsChecked() async throws {
        defer { try? FileManager.default.removeItem(atPath: folder) }
        try await visit()
        _ = try poster(#"cat > /dev/null; while [ $# -gt 0 ]; do [ "$1" = --visit ] && v=$2; shift; done; echo "{\"sent\":{\"_0\":{\"visit\":\"$v\",\"status\":200,\"attempts\":1,\"entries\":[\"500 x\"]}}}""#, mode: 0o700)
        let run = try await pumpctl(["--json", "export", "fhir", "--include-simulated", "--post", "http://127.0.0.1:9/fhir"])
        #expect(run.status == 74, "\(run.stderr)")
        #expect(run.stderr.contains("it called the visit stored with HTTP 200 and 1 entry answers (500 x)"), "\(run.stderr)")
        let listing = try json(run.stdout)
        #expect((listing["sent"] as? [Any])?.isEmpty == true, "\(run.stdout)")
        #expect((listing["unconfirmed"] as? [String])?.count == 1, "\(run.stdout)")
        #expect(try await JSONContractTests.violations(of: run.stdout, schema: "export-fhir-post.json").isEmpty, "\(run.stdout)")
        try await expectOutcomeRow("sent, not confirmed", unconfirmed: 1)
    }

    /// Ctrl-C while the poster holds the bundle: the poster is stopped
    /// (it gets no blocked or ignored signals from pumpctl), the visit is
    /// unconfirmed on the screen and in the audit row, and pumpctl exits 130.
    @Test func ctrlCStopsAPosterThatHoldsTheBundle() async throws {
        defer { try? FileManager.default.removeItem(atPath: folder) }
        try await visit()
        // The masks are read from the poster once it has exec'd sleep: a
        // shell blocks signals for a moment around each child it waits for.
        _ = try poster("cat > /dev/null; echo $$ > '\(folder)/pid.part'; mv '\(folder)/pid.part' '\(folder)/poster-pid'; exec sleep 100", mode: 0o700)
        let child = try await ChildProcess.start(folder + "/pumpctl", ["--simulator", "--state-dir", stateDir, "--operator", "nurse.a",
                                                                       "export", "fhir", "--include-simulated", "--post", "http://127.0.0.1:9/fhir"])
        let started = ContinuousClock.now
        func sleeping() -> Int32? {
            guard let text = try? String(contentsOfFile: folder + "/poster-pid", encoding: .utf8),
                  let pid = Int32(text.trimmingCharacters(in: .whitespacesAndNewlines)),
                  (try? String(contentsOfFile: "/proc/\(pid)/comm", encoding: .utf8)) == "sleep\n" else { return nil }
            return pid
        }
        while sleeping() == nil, ContinuousClock.now - started < .seconds(30) {
            try await Task.sleep(for: .milliseconds(20))
        }
        let pid = try #require(sleeping(), "the poster did not start")
        let signals = try String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8)
        // Signals 1 to 31 neither blocked nor ignored (glibc keeps its own 32 and 33 as it likes).
        func mask(_ name: String) -> UInt64? {
            signals.split(separator: "\n").first { $0.hasPrefix(name + ":") }
                .flatMap { UInt64($0.dropFirst(name.count + 1).trimmingCharacters(in: .whitespaces), radix: 16) }
        }
        #expect(mask("SigBlk").map { $0 & 0x7fff_ffff } == 0 && mask("SigIgn").map { $0 & 0x7fff_ffff } == 0, "\(signals)")
        kill(child.processIdentifier, SIGINT)
        let run = try await child.finish(within: .seconds(30))
        #expect(run.status == 130, "\(run)")
        #expect(run.stderr.contains("the FHIR poster was stopped (Ctrl-C) after it took the bundle"), "\(run.stderr)")
        #expect(run.stderr.contains("Cancelled: 0 visit(s) stored, 1 sent but not confirmed"), "\(run.stderr)")
        #expect(kill(pid, 0) != 0 && errno == ESRCH, "the poster outlived pumpctl")
        try await expectOutcomeRow("sent, not confirmed", unconfirmed: 1)
    }

    /// A poster in a folder others may write to, however deep, is not
    /// taken, even beside pumpctl: whoever can rename that folder can put
    /// another program in its place.
    @Test func aPosterBelowAFolderOthersMayWriteIsNotTrusted() async throws {
        defer { try? FileManager.default.removeItem(atPath: folder) }
        try await visit()
        _ = try poster("cat > /dev/null; exit 0", mode: 0o700)
        #expect(chmod(folder, 0o770) == 0)
        let run = try await pumpctl(["export", "fhir", "--include-simulated", "--post", "http://127.0.0.1:9/fhir"])
        #expect(chmod(folder, 0o700) == 0)
        #expect(run.status == 74, "\(run.stderr)")
        #expect(run.stderr.contains("\(folder) may be written by others than its owner"), "\(run.stderr)")
        #expect(!FileManager.default.fileExists(atPath: folder + "/poster-ran"), "the poster was started")
    }

    /// The real poster dies with pumpctl, however pumpctl ends: killed
    /// outright while the poster waits on a server that never answers, it
    /// leaves no poster behind still holding the bundle.
    @Test func theRealPosterDoesNotOutliveAKilledPumpctl() async throws {
        defer { try? FileManager.default.removeItem(atPath: folder) }
        try await visit()
        try FileManager.default.copyItem(atPath: PumpctlRun.binary("pumpwand-fhir-post").path, toPath: folder + "/pumpwand-fhir-post")
        // A server that takes the connection and never answers.
        let silent = try await ChildProcess.start(try PythonTools.systemPython(), ["-c", """
            import socket, time
            s = socket.socket(); s.bind(("127.0.0.1", 0)); s.listen(8)
            print("PORT %d" % s.getsockname()[1], flush=True)
            held = []
            while True:
                c, _ = s.accept(); held.append(c)
            """])
        let line = try #require(await silent.line(startingWith: "PORT "), "the silent server did not start")
        let url = "http://127.0.0.1:" + line.dropFirst(5).trimmingCharacters(in: .whitespaces) + "/fhir"
        let child = try await ChildProcess.start(folder + "/pumpctl", ["--simulator", "--state-dir", stateDir, "--operator", "nurse.a",
                                                                       "export", "fhir", "--include-simulated", "--post", url])
        func posters() -> [Int32] {
            ((try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []).compactMap { Int32($0) }.filter { pid in
                guard let command = try? Data(contentsOf: URL(fileURLWithPath: "/proc/\(pid)/cmdline")) else { return false }
                let text = String(decoding: command, as: UTF8.self)
                return text.contains("pumpwand-fhir-post") && text.contains(url)
            }
        }
        let started = ContinuousClock.now
        while posters().isEmpty, ContinuousClock.now - started < .seconds(30) { try await Task.sleep(for: .milliseconds(50)) }
        try #require(!posters().isEmpty, "the poster did not start")
        let result = await child.kill()
        #expect(result.signalled && result.status == SIGKILL, "\(result)")
        let killed = ContinuousClock.now
        while !posters().isEmpty, ContinuousClock.now - killed < .seconds(10) { try await Task.sleep(for: .milliseconds(50)) }
        #expect(posters().isEmpty, "a poster outlived pumpctl: \(posters())")
        _ = await silent.terminate()
    }
}
