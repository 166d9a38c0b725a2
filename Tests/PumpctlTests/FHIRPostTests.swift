import FHIRPosting
import Foundation
import Testing

/// What pumpctl and its FHIR poster agree on: which URLs patient data may
/// go to, what answer counts as a stored visit, and the outcome document
/// between them.
@Suite struct FHIRPostTests {
    @Test(arguments: [
        ("https://fhir.clinic.example/fhir", nil),
        ("http://localhost:8080/fhir", nil),
        ("http://127.0.0.1:8080/fhir", nil),
        ("http://[::1]:8080/fhir", nil),
        ("ftp://fhir.clinic.example/fhir", FHIRPost.URLProblem.notHTTP),
        ("fhir.clinic.example/fhir", .notHTTP),
        ("https:///fhir", .notHTTP),
        ("https://nurse:secret@fhir.clinic.example/fhir", .credentials),
        ("https://nurse@fhir.clinic.example/fhir", .credentials),
        ("http://fhir.clinic.example/fhir", .plainHTTPElsewhere(host: "fhir.clinic.example")),
        ("http://127.0.0.1.example/fhir", .plainHTTPElsewhere(host: "127.0.0.1.example")),
        ("http://10.0.0.5/fhir", .plainHTTPElsewhere(host: "10.0.0.5")),
    ] as [(String, FHIRPost.URLProblem?)])
    func onlyHTTPSOrLoopbackWithoutCredentialsIsABase(text: String, problem: FHIRPost.URLProblem?) {
        do {
            let url = try FHIRPost.checkedBase(text)
            #expect(problem == nil, "\(text) was taken as \(url)")
        } catch {
            #expect(error == problem, "\(text)")
        }
    }

    static func response(_ statuses: [String], type: String = "transaction-response") -> Data {
        let entries = statuses.map { #"{"response":{"status":"\#($0)"}}"# }.joined(separator: ",")
        return Data(#"{"resourceType":"Bundle","type":"\#(type)","entry":[\#(entries)]}"#.utf8)
    }

    @Test func aTransactionResponseWithEveryEntryStoredIsAStoredVisit() throws {
        #expect(try FHIRPost.entryStatuses(Self.response(["201 Created", "200 OK"]), visit: "v1", sent: 2) == ["201 Created", "200 OK"])
    }

    @Test func anAnswerThatDoesNotConfirmEveryEntryIsNotAStoredVisit() {
        #expect(throws: FHIRPost.Failure.entryCount(visit: "v1", sent: 3, answered: 2)) {
            try FHIRPost.entryStatuses(Self.response(["201 Created", "201 Created"]), visit: "v1", sent: 3)
        }
        #expect(throws: FHIRPost.Failure.entryFailed(visit: "v1", entry: "422 Unprocessable Entity")) {
            try FHIRPost.entryStatuses(Self.response(["201 Created", "422 Unprocessable Entity"]), visit: "v1", sent: 2)
        }
        #expect(throws: FHIRPost.Failure.malformedResponse(visit: "v1", detail: "resourceType Bundle, type batch-response")) {
            try FHIRPost.entryStatuses(Self.response(["201 Created"], type: "batch-response"), visit: "v1", sent: 1)
        }
        let large = Data(repeating: 0x20, count: FHIRPost.responseLimit + 1)
        #expect(throws: FHIRPost.Failure.malformedResponse(visit: "v1", detail: "larger than \(FHIRPost.responseLimit) bytes")) {
            try FHIRPost.entryStatuses(large, visit: "v1", sent: 1)
        }
    }

    /// Every failure that may have reached the server is unconfirmed, never
    /// "not sent"; the poster that never took the bundle did not send it.
    @Test func onlyFailuresBeforeTheBundleLeftAreNotSent() {
        let notSent: [FHIRPost.Failure] = [
            .refused(visit: "v", status: 400, body: ""), .unreachable(visit: "v", attempts: 4, detail: ""),
            .redirected(visit: "v", status: 307, location: ""), .posterUnavailable(visit: "v", detail: ""),
        ]
        let unconfirmed: [FHIRPost.Failure] = [
            .entryFailed(visit: "v", entry: ""), .malformedResponse(visit: "v", detail: ""),
            .entryCount(visit: "v", sent: 2, answered: 1), .posterFailed(visit: "v", detail: ""),
        ]
        #expect(notSent.allSatisfy { !$0.sentUnconfirmed })
        #expect(unconfirmed.allSatisfy { $0.sentUnconfirmed })
    }

    @Test func theOutcomeDocumentRoundTrips() throws {
        let outcomes: [FHIRPost.Outcome] = [
            .sent(.init(visit: "v1", status: 200, attempts: 2, entries: ["201 Created"])),
            .failed(.entryCount(visit: "v2", sent: 7, answered: 6)),
        ]
        for outcome in outcomes {
            #expect(try JSONDecoder().decode(FHIRPost.Outcome.self, from: JSONEncoder().encode(outcome)) == outcome)
        }
    }

    @Test(arguments: [("201 Created", true), ("200", true), ("204 No Content", true), ("299", true),
                      ("2", false), ("2xx", false), ("2 but actually 500", false), ("20", false), ("200OK", false),
                      ("500 Internal Server Error", false), ("", false), ("no status", false)])
    func onlyAThreeDigit2xxStatusIsAStoredEntry(status: String, stored: Bool) {
        #expect(FHIRPost.storedStatus(status) == stored, "\(status)")
    }
}
