import Foundation
import Testing
import TestSupport

/// Every error line of `pumpctl serve` carries what every pumpctl JSON
/// error carries: a stable code to decide on, the exit status, the message
/// and what the pump was left in, and matches serve.json.
@Suite(.serialized, .tags(.process), .childProcesses) struct ServeErrorObjectTests {
    /// Removed when the test ends.
    let temporary = TemporaryDirectory.make(prefix: "pumpwand-link")

    @Test func everyServeErrorNamesItsCodeAndThePumpState() async throws {
        let dir = BringupLinkTests.stateDir(in: temporary)
        let lines = ["not json", #"{"id":2,"command":"bolus"}"#, #"{"id":3,"command":"loopback","size":999}"#,
                     #"{"id":4,"command":"event-log","since":"yesterday"}"#]
        let run = try await PumpctlRun.run(["--simulator", "--state-dir", dir, "serve"], stdin: lines.joined(separator: "\n") + "\n")
        #expect(run.status == 0, "\(run.stderr)")
        let responses = run.stdout.split(separator: "\n").map(String.init)
        try #require(responses.count == 4, "\(run.stdout)")
        let errors = responses.compactMap { BringupLinkTests.object($0)?["error"] as? [String: Any] }
        try #require(errors.count == 4)
        #expect(errors.map { $0["code"] as? String } == ["malformed_request", "unknown_command", "usage", "usage"])
        for error in errors {
            #expect(error["exit_status"] as? Int == 64)
            #expect(error["pump"] as? String == "nothing_sent")
            #expect((error["message"] as? String)?.isEmpty == false)
            #expect(error["status"] == nil, "one name for the exit status, as in error.json")
        }
        for line in responses {
            let problems = try await JSONContractTests.violations(of: line, schema: "serve.json")
            #expect(problems.isEmpty, "serve.json: \(problems) in \(line)")
        }
    }
}
