import Foundation
import Testing
import TestSupport

/// `pumpctl serve` on the built binary against the simulated pump: one
/// session, one JSON response per request line, in order.
@Suite(.serialized, .tags(.process), .childProcesses) struct BringupServeTests {
    /// Removed when the test ends.
    let temporary = TemporaryDirectory.make(prefix: "pumpwand-link")
    func serve(_ lines: [String]) async throws -> (PumpctlRun.Result, [[String: Any]]) {
        let dir = BringupLinkTests.stateDir(in: temporary)
        let run = try await PumpctlRun.run(["--simulator", "--state-dir", dir, "serve"], stdin: lines.joined(separator: "\n") + "\n")
        let responses = run.stdout.split(separator: "\n").map { BringupLinkTests.object(String($0)) ?? [:] }
        return (run, responses)
    }

    @Test func everyReadCommandAnswersOnOneLineWithItsId() async throws {
        let (run, responses) = try await serve([
            #"{"id":1,"command":"interrogate"}"#,
            #"{"id":"two","command":"link-status"}"#,
            #"{"id":3,"command":"loopback","size":16,"count":4}"#,
            #"{"id":4,"command":"event-log"}"#,
            #"{"id":5,"command":"read-prescription"}"#,
            #"{"id":6,"command":"close"}"#,
        ])
        #expect(run.status == 0, "\(run.stderr)")
        #expect(responses.count == 6)
        guard responses.count == 6 else { return }
        #expect(responses.map { $0["ok"] as? Bool } == Array(repeating: true, count: 6))
        #expect(responses[0]["id"] as? Int == 1)
        #expect(responses[1]["id"] as? String == "two")
        let status = try #require(responses[0]["result"] as? [String: Any])
        #expect(status["serial"] as? String == "RP20-DEMO-0001")
        #expect(status["drug"] as? String == "baclofen")
        #expect((responses[1]["result"] as? [String: Any])?["pump_in_range"] as? Bool == true)
        let loopback = try #require(responses[2]["result"] as? [String: Any])
        #expect(loopback["sent"] as? Int == 4 && loopback["received"] as? Int == 4 && loopback["size"] as? Int == 16)
        #expect((responses[3]["result"] as? [String: Any])?["events"] is [Any])
        let prescription = try #require(responses[4]["result"] as? [String: Any])
        // The read-back hash is the one interrogate reported for the active prescription.
        #expect(prescription["prescription_hash"] as? String == status["prescription_hash"] as? String)
        #expect((prescription["prescription"] as? [String: Any])?["drug"] as? String == "baclofen")
        #expect((responses[5]["result"] as? [String: Any])?["closed"] as? Bool == true)
    }

    @Test func badRequestsAreAnsweredAndTheSessionGoesOn() async throws {
        let (run, responses) = try await serve([
            "not json",
            #"{"id":2,"command":"bolus"}"#,
            #"{"id":3,"command":"loopback","size":999}"#,
            #"{"id":4,"command":"link-status"}"#,
        ])
        // End of stdin closes the session like "close".
        #expect(run.status == 0, "\(run.stderr)")
        #expect(responses.count == 4)
        guard responses.count == 4 else { return }
        #expect(responses[0]["ok"] as? Bool == false)
        #expect(responses[0]["id"] is NSNull)
        #expect((responses[0]["error"] as? [String: Any])?["exit_status"] as? Int == 64)
        // State-changing commands are not offered here.
        #expect(((responses[1]["error"] as? [String: Any])?["message"] as? String)?.contains("Unknown command \"bolus\"") == true)
        #expect(responses[2]["ok"] as? Bool == false)
        #expect(responses[3]["ok"] as? Bool == true)
    }

    @Test func nothingAfterCloseIsAnswered() async throws {
        let (run, responses) = try await serve([#"{"id":1,"command":"close"}"#, #"{"id":2,"command":"interrogate"}"#])
        #expect(run.status == 0)
        #expect(responses.count == 1)
    }
}
