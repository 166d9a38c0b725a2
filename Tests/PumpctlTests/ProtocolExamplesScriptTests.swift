import Foundation
import Testing
import TestSupport

/// scripts/protocol_examples.py, the independent Python implementation of
/// PROTOCOL.md, prints exactly the worked examples the document holds (and
/// `ProtocolExampleTests` checks the Swift implementation against the same
/// blocks), so the three cannot drift apart.
@Suite(.serialized, .tags(.process), .childProcesses) struct ProtocolExamplesScriptTests {
    static let root = PythonTools.root

    /// name -> hex digits (upper case, no spaces) of every example block in PROTOCOL.md.
    static func documentExamples() throws -> [String: String] {
        let text = try String(contentsOfFile: root.appendingPathComponent("hardware/PROTOCOL.md").path, encoding: .utf8)
        var result: [String: String] = [:]
        var rest = Substring(text)
        // Whole frames (`example: NAME`) and plaintexts before sealing
        // (`plaintext example: NAME`, which the script prints as "plaintext NAME").
        while let start = rest.range(of: #"<!-- (plaintext )?example: "#, options: .regularExpression) {
            let prefix = rest[start].hasPrefix("<!-- plaintext ") ? "plaintext " : ""
            rest = rest[start.upperBound...]
            guard let nameEnd = rest.range(of: " -->"), let open = rest.range(of: "```hex\n"),
                  let close = rest[open.upperBound...].range(of: "```") else { break }
            result[prefix + String(rest[..<nameEnd.lowerBound])] = rest[open.upperBound..<close.lowerBound].filter(\.isHexDigit).uppercased()
            rest = rest[close.upperBound...]
        }
        return result
    }

    @Test func thePythonImplementationPrintsEveryWorkedExampleOfTheDocument() async throws {
        let python = try PythonTools.systemPython()
        let probe = try await ChildProcess.run(python, ["-c", "import cryptography.hazmat.primitives.asymmetric.x25519"],
                                               mergingStandardError: true, timeLimit: .seconds(60))
        guard probe.status == 0 else {
            try Requirements.skip("python3-cryptography is not installed (scripts/install-deps.sh): \(probe.stdout)")
        }
        let run = try await ChildProcess.run(python, [Self.root.appendingPathComponent("scripts/protocol_examples.py").path],
                                             timeLimit: .seconds(120))
        #expect(run.status == 0, "\(run.stderr)")
        var printed: [String: String] = [:]
        for line in run.stdout.split(separator: "\n") {
            guard let colon = line.firstIndex(of: ":") else { continue }
            printed[String(line[..<colon])] = line[line.index(after: colon)...].filter(\.isHexDigit).uppercased()
        }
        let document = try Self.documentExamples()
        #expect(printed.count == 33)
        #expect(Set(printed.keys) == Set(document.keys))
        for (name, hex) in printed {
            #expect(document[name] == hex, "PROTOCOL.md example \(name) differs from scripts/protocol_examples.py")
        }
    }
}
