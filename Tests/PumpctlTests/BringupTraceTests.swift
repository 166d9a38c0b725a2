import Foundation
import Testing
import TestSupport

/// Where the repository is, and where tshark is (if installed).
enum BringupPaths {
    static let repository = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    static let dissector = repository.appendingPathComponent("hardware/wireshark/pumpwand.lua").path

    static let tshark: String? = {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"
        return (path.split(separator: ":").map(String.init) + ["/usr/bin"])
            .map { $0 + "/tshark" }
            .first { FileManager.default.isExecutableFile(atPath: $0) }
    }()

    /// Runs tshark with the dissector over `trace` and returns its stdout.
    static func dissect(_ trace: String, _ extra: [String]) async throws -> (status: Int32, stdout: String, stderr: String) {
        let tshark = try Requirements.require(tshark, "tshark is not installed (apt-get install tshark); the dissector tests need it")
        let result = try await ChildProcess.run(tshark, ["-r", trace, "-X", "lua_script:" + dissector] + extra)
        return (result.status, result.stdout, result.stderr)
    }
}

/// `--trace` on the built binary, and the Wireshark dissector over the
/// recorded trace. CI installs tshark (Debian's package), so these never
/// skip there; on a machine without it each is reported as skipped with the
/// reason (before anything is recorded).
@Suite(.serialized, .tags(.process), .childProcesses)
struct BringupTraceTests {
    /// Removed when the test ends.
    let temporary = TemporaryDirectory.make(prefix: "pumpwand-link")

    func record(_ arguments: [String]) async throws -> String {
        _ = try Requirements.require(BringupPaths.tshark, "tshark is not installed (apt-get install tshark); the dissector tests need it")
        let dir = BringupLinkTests.stateDir(in: temporary)
        let trace = dir + "/t.pcapng"
        let run = try await PumpctlRun.run(["--simulator", "--state-dir", dir, "--trace", trace] + arguments)
        #expect(run.status == 0, "\(run.stderr)")
        return trace
    }

    @Test func theDissectorDecodesALoopbackTraceExactlyAsCommitted() async throws {
        // Frames: info request and reply (sequence 1), then three loopback
        // echoes of 32 bytes (sequences 2-4; echo i carries (31 i + j) mod 256).
        let trace = try await record(["link", "loopback", "--count", "3"])
        let decoded = try await BringupPaths.dissect(trace, ["-O", "pumpwand"])
        #expect(decoded.status == 0, "\(decoded.stderr)")
        let expected = try String(contentsOfFile: BringupPaths.repository.appendingPathComponent(
            "Tests/BringupExpected/loopback-trace.txt").path, encoding: .utf8)
        #expect(decoded.stdout == expected)
    }

    @Test func aPumpSessionTraceShowsTheHandshakeAndSealedEnvelopesOnly() async throws {
        let trace = try await record(["interrogate"])
        let decoded = try await BringupPaths.dissect(trace, ["-T", "fields", "-e", "pumpwand.direction", "-e", "pumpwand.kind",
                                                       "-e", "pumpwand.sequence", "-e", "pumpwand.flags", "-e", "pumpwand.sealed.counter",
                                                       "-e", "pumpwand.pump.handshake.key_id", "-e", "pumpwand.sealed.ciphertext_length"])
        #expect(decoded.status == 0, "\(decoded.stderr)")
        let rows = decoded.stdout.split(separator: "\n").map { $0.split(separator: "\t", omittingEmptySubsequences: false).map(String.init) }
        // Handshake out (asking the wand's info), the wand's info in, the
        // handshake reply in, interrogate out/in, and the close out, whose
        // reply is not awaited (it carries the audit anchor).
        #expect(rows.count == 6)
        guard rows.count == 6 else { return }
        #expect(rows.map { $0[0] } == ["2", "1", "1", "2", "1", "2"])  // outbound 2, inbound 1 (epb_flags)
        #expect(rows[0][1] == "0x03")  // kind: pump message
        #expect(rows[0][3] == "0x04")  // handshake request: unsealed, asking the wand's info
        #expect(rows[1][1] == "0x02")  // the wand's info reply
        #expect(rows[2][3] == "0x02")  // handshake reply: from pump
        // Version 2: a blinded key id where the serial was; the serial is in no byte of the trace.
        #expect(rows[2][5].filter(\.isHexDigit).count == 32)
        let recorded = try [UInt8](Data(contentsOf: URL(fileURLWithPath: trace)))
        let serial = Array("RP20-DEMO-0001".utf8)
        #expect(!(0...(recorded.count - serial.count)).contains { Array(recorded[$0..<($0 + serial.count)]) == serial })
        // Padding: the interrogate and the close (with its anchor) seal to the same length.
        #expect(rows[3][6] == rows[5][6])
        #expect(rows[3][3] == "0x01" && rows[3][4] == "1")  // interrogate: sealed, counter 1
        #expect(rows[4][3] == "0x03" && rows[4][4] == "1")  // its reply: sealed from pump, pump counter 1
        #expect(rows[5][3] == "0x01" && rows[5][4] == "2")  // close session
        // The sequence numbers pair requests with replies.
        #expect(rows.map { $0[2] } == ["1", "1", "1", "2", "2", "3"])
    }
}

/// The trace file itself, without tshark.
@Suite(.serialized, .tags(.process), .childProcesses) struct BringupTraceFileTests {
    /// Removed when the test ends.
    let temporary = TemporaryDirectory.make(prefix: "pumpwand-link")

    @Test func anUnwritableTracePathIsAUsageErrorBeforeAnythingIsSent() async throws {
        let dir = BringupLinkTests.stateDir(in: temporary)
        let run = try await PumpctlRun.run(["--simulator", "--state-dir", dir, "--trace", "/nonexistent-dir/t.pcapng", "link", "status"])
        #expect(run.status == 64)
        #expect(run.stderr.contains("Cannot create the trace file /nonexistent-dir/t.pcapng"))
    }

    @Test func theTraceStartsWithASectionHeaderAndUser0Interface() async throws {
        let dir = BringupLinkTests.stateDir(in: temporary)
        let trace = dir + "/t.pcapng"
        let run = try await PumpctlRun.run(["--simulator", "--state-dir", dir, "--trace", trace, "link", "loopback", "--count", "1"])
        #expect(run.status == 0, "\(run.stderr)")
        let bytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: trace)))
        #expect(Array(bytes.prefix(4)) == [0x0A, 0x0D, 0x0D, 0x0A])
        #expect(Array(bytes[8..<12]) == [0x4D, 0x3C, 0x2B, 0x1A])  // little-endian byte-order magic
        let shbLength = Int(bytes[4]) | Int(bytes[5]) << 8
        #expect(Array(bytes[shbLength..<(shbLength + 4)]) == [1, 0, 0, 0])  // Interface Description Block
        #expect(Array(bytes[(shbLength + 8)..<(shbLength + 10)]) == [147, 0])  // LINKTYPE_USER0
    }
}
