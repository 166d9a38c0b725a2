import Foundation
import Testing
import TestSupport

/// `pumpctl raw` on the built binary against the simulated wand.
@Suite(.serialized, .tags(.process), .childProcesses) struct BringupRawTests {
    /// Removed when the test ends.
    let temporary = TemporaryDirectory.make(prefix: "pumpwand-link")
    func raw(_ arguments: [String], json: Bool = false) async throws -> PumpctlRun.Result {
        let dir = BringupLinkTests.stateDir(in: temporary)
        return try await PumpctlRun.run(["--simulator", "--state-dir", dir] + (json ? ["--json"] : []) + ["raw"] + arguments)
    }

    @Test func aWandInfoBodyIsAnsweredWithTheDecodedInfo() async throws {
        // PROTOCOL.md 10.1: version 2, kind 01, sequence 1, flags 0, opcode 01 (info).
        let run = try await raw(["02", "01", "01", "00", "00", "01"])
        #expect(run.status == 0, "\(run.stderr)")
        #expect(run.stdout.contains("sent     wand_command seq 1 flags 0x00 info"))
        #expect(run.stdout.contains("received wand_response seq 1 flags 0x00 info serial=PW1-900001 firmware=1.0.0 protocol_versions=2"))
    }

    @Test func wandCommandFillsInTheHeaderWithTheGivenSequence() async throws {
        // Loopback 03 with data 00 ff under sequence 0x0102 = 258: header 02 01 02 01 00.
        let run = try await raw(["--wand-command", "03 00 ff", "--sequence", "258"], json: true)
        #expect(run.status == 0, "\(run.stderr)")
        let report = try #require(BringupLinkTests.object(run.stdout))
        #expect(report["sent"] as? String == "02 01 02 01 00 03 00 ff")
        #expect(report["answered"] as? Bool == true)
        let reply = try #require((report["received"] as? [[String: Any]])?.first)
        #expect(reply["kind"] as? String == "wand_response")
        #expect(reply["sequence"] as? Int == 258)
        #expect(reply["message"] as? String == "loopback")
        #expect((reply["fields"] as? [String: Any])?["data"] as? String == "00 ff")
    }

    @Test func anUnknownWandOpcodeIsNakedAndTheReasonIsNamed() async throws {
        let run = try await raw(["--wand-command", "09", "--sequence", "7"])
        #expect(run.status == 0, "\(run.stderr)")
        #expect(run.stdout.contains("received nak seq 7 flags 0x00 nak reason=unknown_wand_opcode code=7"))
    }

    @Test func aBodyWithAnUnknownKindGetsTheWandsNak() async throws {
        let run = try await raw(["02 07 05 00 00"], json: true)
        #expect(run.status == 0, "\(run.stderr)")
        let report = try #require(BringupLinkTests.object(run.stdout))
        let sent = try #require(report["sent_frame"] as? [String: Any])
        #expect(sent["message"] as? String == "unparsed")
        let reply = try #require((report["received"] as? [[String: Any]])?.last)
        #expect(reply["kind"] as? String == "nak")
    }

    @Test func bytesWithoutFramingAreSentAsTheyAreAndTheReplyShownAsHex() async throws {
        // The complete wire bytes of PROTOCOL.md 10.1, written unframed: the
        // wand decodes them itself and answers its info.
        let run = try await raw(["--no-frame", "--timeout", "500", "00 04 02 01 01 01 06 01 5E 9A 99 9B 00"])
        #expect(run.status == 0, "\(run.stderr)")
        #expect(run.stdout.contains("sent     00 04 02 01 01 01 06 01 5e 9a 99 9b 00"))
        #expect(run.stdout.contains("bytes    00 "))
        #expect(run.stdout.contains("received wand_response seq 1 flags 0x00 info serial=PW1-900001"))

        // Noise without delimiters: the wand has nothing to answer.
        let noise = try await raw(["--no-frame", "--timeout", "200", "11 22 33"])
        #expect(noise.status == 0)
        #expect(noise.stdout.contains("nothing received within 200 ms"))
    }

    @Test func badHexIsAUsageErrorThatSendsNothing() async throws {
        let letter = try await raw(["01", "0g"])
        #expect(letter.status == 64)
        #expect(letter.stderr.contains("'g' at position 5 is not a hex digit"))  // fifth character of "01 0g"
        let odd = try await raw(["012"])
        #expect(odd.status == 64)
        #expect(odd.stderr.contains("3 hex digits do not make whole bytes"))
        // 2049 bytes: one more than a frame body may hold.
        let long = try await raw([String(repeating: "01", count: 2049)])
        #expect(long.status == 64)
        #expect(long.stderr.contains("more than the 2048"))
        let both = try await raw(["01", "--wand-command", "01"])
        #expect(both.status == 64)
    }
}
