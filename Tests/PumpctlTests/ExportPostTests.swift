import Foundation
import Testing
import TestSupport

/// `pumpctl export fhir --post URL` against a local FHIR stand-in on
/// 127.0.0.1 that records every request, keeps the resources it was sent
/// by type and id (as a FHIR server does with PUT), and can fail the first
/// requests or refuse all of them.
@Suite(.serialized, .tags(.process), .childProcesses) struct ExportPostTests {
    /// Removed when the test ends.
    let temporary = TemporaryDirectory.make(prefix: "pumpwand-post")
    var stateDir: String { temporary.path }

    func pumpctl(_ arguments: [String]) async throws -> PumpctlRun.Result {
        try await PumpctlRun.run(["--simulator", "--state-dir", stateDir, "--operator", "nurse.a"] + arguments)
    }

    /// argv: request log file, then how many first requests get 503, then
    /// the status every later request gets (200 answers a transaction).
    static let server = """
        import json, sys
        from urllib.parse import unquote
        from http.server import HTTPServer, BaseHTTPRequestHandler
        log_path, fail_first, status = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
        store, seen = {}, [0]
        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args): pass
            def do_POST(self):
                seen[0] += 1
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                record = {"path": self.path, "content_type": self.headers.get("Content-Type"), "n": seen[0]}
                if status == 307:
                    record["answered"] = 307
                    open(log_path, "a").write(json.dumps(record) + "\\n")
                    self.send_response(307); self.send_header("Location", "/elsewhere"); self.send_header("Content-Length", "0"); self.end_headers()
                    return
                if seen[0] <= fail_first or status not in (200, 1):
                    code = 503 if seen[0] <= fail_first else status
                    record["answered"] = code
                    open(log_path, "a").write(json.dumps(record) + "\\n")
                    self.send_response(code); self.send_header("Content-Length", "0"); self.end_headers()
                    return
                bundle = json.loads(body)
                entries = []
                for entry in bundle["entry"]:
                    request, resource = entry["request"], entry["resource"]
                    if request["method"] == "POST":
                        # A create: conditional on ifNoneExist (identifier=system|value, _tag, _tag:not) as a
                        # FHIR server searches it; without one, or with no match, a new server-assigned id.
                        found = None
                        if request.get("ifNoneExist"):
                            params = dict(part.split("=", 1) for part in request["ifNoneExist"].split("&"))
                            system, value = (unquote(p) for p in params["identifier"].split("|", 1))
                            def tags(r): return {t["system"] + "|" + t["code"] for t in r.get("meta", {}).get("tag", [])}
                            for key, held in store.items():
                                if held["resourceType"] != request["url"]: continue
                                if not any(i["system"] == system and i["value"] == value for i in held.get("identifier", [])): continue
                                if "_tag" in params and unquote(params["_tag"]) not in tags(held): continue
                                if "_tag:not" in params and unquote(params["_tag:not"]) in tags(held): continue
                                found = key
                        if found:
                            entries.append({"response": {"status": "200 OK", "location": found}})
                        else:
                            key = "%s/server-%d" % (request["url"], len(store) + 1)
                            store[key] = resource
                            entries.append({"response": {"status": "201 Created", "location": key}})
                        continue
                    key = request["url"]
                    entries.append({"response": {"status": "200 OK" if key in store else "201 Created"}})
                    store[key] = resource
                counts = {}
                for held in store.values(): counts[held["resourceType"]] = counts.get(held["resourceType"], 0) + 1
                record.update({"answered": 200, "type": bundle["type"], "visit": bundle["identifier"]["value"],
                               "entries": len(bundle["entry"]), "stored": len(store), "counts": counts,
                               "methods": sorted({e["request"]["method"] for e in bundle["entry"]})})
                open(log_path, "a").write(json.dumps(record) + "\\n")
                if status == 1: entries = entries[:-1]  # a server that answers for fewer entries than it was sent
                answer = json.dumps({"resourceType": "Bundle", "type": "transaction-response", "entry": entries}).encode()
                self.send_response(200); self.send_header("Content-Type", "application/fhir+json")
                self.send_header("Content-Length", str(len(answer))); self.end_headers(); self.wfile.write(answer)
        server = HTTPServer(("127.0.0.1", 0), Handler)
        print("PORT %d" % server.server_address[1], flush=True)
        server.serve_forever()
        """

    func startServer(failFirst: Int = 0, status: Int = 200) async throws -> (RunningChild, Int, String) {
        let log = stateDir + "/requests-\(UUID().uuidString).jsonl"
        let child = try await ChildProcess.start(try PythonTools.systemPython(), ["-c", Self.server, log, "\(failFirst)", "\(status)"])
        let line = try #require(await child.line(startingWith: "PORT "), "the local server did not start: \(child.stderr)")
        let port = try #require(Int(line.dropFirst(5).trimmingCharacters(in: .whitespaces)))
        return (child, port, log)
    }

    func requests(_ log: String) throws -> [[String: Any]] {
        let text = (try? String(contentsOfFile: log, encoding: .utf8)) ?? ""
        return try text.split(separator: "\n").map {
            try #require(try JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any])
        }
    }

    func visits() async throws {
        #expect(try await pumpctl(["patient", "set", "--serial", "RP20-DEMO-0001", "--name", "Ada Lovelace", "--mrn", "MRN-0042", "--mrn-system", "urn:oid:2.16.840.1.113883.19.5",
                                   "--dob", "1980-02-29", "--prescriber", "Dr. Grace Hopper"]).status == 0)
        #expect(try await pumpctl(["--yes", "refill", "--withdrawn", "12mL", "--added", "18mL", "--concentration", "2000mcg/mL"]).status == 0)
        #expect(try await pumpctl(["--yes", "bolus", "--dose", "50mcg"]).status == 0)
    }

    @Test func aLostRequestIsRetriedAndASecondExportUpdatesRatherThanDuplicates() async throws {
        try await visits()
        let (server, port, log) = try await startServer(failFirst: 1)
        let url = "http://127.0.0.1:\(port)/fhir"
        let first = try await pumpctl(["--json", "export", "fhir", "--include-simulated", "--post", url])
        #expect(first.status == 0, "\(first.stderr)")
        let sent = try #require((try JSONSerialization.jsonObject(with: Data(first.stdout.utf8)) as? [String: Any])?["sent"] as? [[String: Any]])
        #expect(sent.map { $0["attempts"] as? Int } == [2, 1], "the 503 is retried once")
        // The retry is shown as it happens, not only counted afterwards.
        #expect(first.stderr.contains("try 1 of 4 failed (HTTP 503); trying again in 0.5 s"), "\(first.stderr)")
        #expect(try await JSONContractTests.violations(of: first.stdout, schema: "export-fhir-post.json").isEmpty, "\(first.stdout)")
        var seen = try requests(log)
        #expect(seen.map { $0["answered"] as? Int } == [503, 200, 200])
        #expect(seen.allSatisfy { $0["path"] as? String == "/fhir" && $0["content_type"] as? String == "application/fhir+json" })
        // Patient and Device are conditional creates, the visit's own resources updates by id.
        #expect(seen.dropFirst().allSatisfy { $0["type"] as? String == "transaction" && $0["methods"] as? [String] == ["POST", "PUT"] })
        let stored = try #require(seen.last?["stored"] as? Int)

        let again = try await pumpctl(["export", "fhir", "--include-simulated", "--post", url])
        #expect(again.status == 0, "\(again.stderr)")
        #expect(again.stdout.contains("Sent visit"), "\(again.stdout)")
        seen = try requests(log)
        #expect(seen.count == 5)
        #expect(seen.last?["stored"] as? Int == stored, "the same resources updated, no copies")
        // Two visits, each sent twice: one Patient and one Device on the server.
        let counts = seen.last?["counts"] as? [String: Int]
        #expect(counts?["Patient"] == 1 && counts?["Device"] == 1, "\(String(describing: counts))")
        _ = await server.terminate()
    }

    @Test func aRefusalIsNotRetriedAndAnUnreachableServerFailsAfterItsRetries() async throws {
        try await visits()
        let (server, port, log) = try await startServer(status: 400)
        let refused = try await pumpctl(["export", "fhir", "--include-simulated", "--post", "http://127.0.0.1:\(port)/fhir"])
        #expect(refused.status == 74, "\(refused.stderr)")
        #expect(refused.stderr.contains("refused visit") && refused.stderr.contains("HTTP 400"), "\(refused.stderr)")
        #expect(try requests(log).count == 2, "one request per visit, no retry of a 400")
        _ = await server.terminate()

        let unreachable = try await pumpctl(["export", "fhir", "--include-simulated", "--retries", "1", "--post", "http://127.0.0.1:\(port)/fhir"])
        #expect(unreachable.status == 74, "\(unreachable.stderr)")
        #expect(unreachable.stderr.contains("was not sent after 2 attempt(s)"), "\(unreachable.stderr)")
        let audit = try await pumpctl(["--json", "audit", "list"])
        let rows = (try JSONSerialization.jsonObject(with: Data(audit.stdout.utf8)) as? [String: Any])?["entries"] as? [[String: Any]] ?? []
        #expect(rows.last?["command"] as? String == "export" && rows.last?["outcome"] as? String == "not sent")
    }

    @Test func onlyAnHTTPURLIsAccepted() async throws {
        let bad = try await pumpctl(["export", "fhir", "--post", "file:///etc/passwd"])
        #expect(bad.status == 64, "\(bad.stderr)")
        #expect(bad.stderr.contains("base URL"))
    }

    @Test func anAnswerForFewerEntriesIsNotSuccessAndARedirectIsNotFollowed() async throws {
        try await visits()
        let (short, port, log) = try await startServer(status: 1)
        let partial = try await pumpctl(["export", "fhir", "--include-simulated", "--retries", "0", "--post", "http://127.0.0.1:\(port)/fhir"])
        #expect(partial.status == 74, "\(partial.stderr)")
        #expect(partial.stderr.contains("entries for the"), "\(partial.stderr)")
        #expect(!partial.stdout.contains("Sent visit"), "\(partial.stdout)")
        _ = await short.terminate()
        let (redirecting, redirectPort, redirectLog) = try await startServer(status: 307)
        let moved = try await pumpctl(["export", "fhir", "--include-simulated", "--post", "http://127.0.0.1:\(redirectPort)/fhir"])
        #expect(moved.status == 74, "\(moved.stderr)")
        #expect(moved.stderr.contains("redirect (HTTP 307"), "\(moved.stderr)")
        let seen = try requests(redirectLog)
        #expect(seen.count == 2 && seen.allSatisfy { $0["path"] as? String == "/fhir" }, "one request per visit, not retried, not followed: \(seen)")
        _ = await redirecting.terminate()
        _ = log
    }

    @Test func aBadAnswerWithJSONIsOneDocumentAndSaysSentButNotConfirmed() async throws {
        try await visits()
        let (short, port, _) = try await startServer(status: 1)
        let url = "http://127.0.0.1:\(port)/fhir"
        let partial = try await pumpctl(["--json", "export", "fhir", "--include-simulated", "--retries", "0", "--post", url])
        #expect(partial.status == 74, "\(partial.stderr)")
        // Exactly one JSON document on stdout, the listing, valid against its schema.
        let document = try #require(try JSONSerialization.jsonObject(with: Data(partial.stdout.utf8)) as? [String: Any], "\(partial.stdout)")
        #expect(document["error"] == nil)
        #expect((document["sent"] as? [Any])?.isEmpty == true)
        #expect((document["unconfirmed"] as? [String])?.count == 2, "\(partial.stdout)")
        #expect(try await JSONContractTests.violations(of: partial.stdout, schema: "export-fhir-post.json").isEmpty, "\(partial.stdout)")
        #expect(partial.stderr.contains("Sent, but the server's answer did not confirm it was stored"), "\(partial.stderr)")
        #expect(!partial.stderr.contains("Not sent:"), "\(partial.stderr)")
        _ = await short.terminate()
    }

    @Test func credentialsInTheURLAndPlainHTTPToAnotherComputerAreRefused() async throws {
        let secret = try await pumpctl(["export", "fhir", "--post", "https://nurse:hunter2@fhir.clinic.example/fhir"])
        #expect(secret.status == 64, "\(secret.stderr)")
        #expect(secret.stderr.contains("holds credentials"), "\(secret.stderr)")
        #expect(!secret.stderr.contains("hunter2"), "the password is never echoed")
        let clear = try await pumpctl(["export", "fhir", "--post", "http://fhir.clinic.example/fhir"])
        #expect(clear.status == 64, "\(clear.stderr)")
        #expect(clear.stderr.contains("plain http only to this computer"), "\(clear.stderr)")
    }
}
