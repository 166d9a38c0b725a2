import Foundation
import Testing
@testable import WandProtocol

/// Request 0x16 and reply 0x96 against the plaintext examples of
/// PROTOCOL.md 10.10, which scripts/protocol_examples.py produced
/// independently.
@Suite struct AuditAnchorMessageTests {
    /// The `plaintext example` hex blocks of PROTOCOL.md, by name.
    static func plaintextExamples() throws -> [String: [UInt8]] { try ProtocolDocument.blocks(marked: "plaintext example") }

    @Test func theWorkedExamplesAreWhatThisImplementationSendsAndAnswers() throws {
        let doc = try Self.plaintextExamples()
        let request = try #require(doc["audit-anchor-request"])
        let reply = try #require(doc["audit-anchor-reply"])
        let reportOnly = try #require(doc["audit-anchor-report-request"])
        let logID = try #require(doc["audit-log-id"])
        #expect(request.count == 58 && reportOnly.count == 58 && logID.count == 16)

        let decoded = try PumpRequest(decoding: request)
        guard case .recordAuditAnchor(let anchor) = decoded else { Issue.record("\(decoded)"); return }
        #expect(anchor.mode == .record && anchor.rowCount == 42 && anchor.logID == logID)
        let rowMAC = Array(request[26...])
        #expect(PumpRequest.recordAuditAnchor(RecordAuditAnchor(logID: logID, rowCount: 42, rowMAC: rowMAC)).encoded == request)
        #expect(PumpRequest.recordAuditAnchor(.reportOnly).encoded == reportOnly)
        #expect(!PumpOpcode.recordAuditAnchor.changesState, "no command id: it changes no therapy")

        // The second anchor: another laptop's log, its own id.
        let second = 3 + 64
        let otherID = Array(reply[(second + 8)..<(second + 24)])
        let older = Array(reply[(second + 32)...])
        #expect(otherID != logID)
        let expected = PumpReply.auditAnchors(AuditAnchorReport(anchors: [
            WireAuditAnchor(utcSeconds: 1_700_000_600, logID: logID, rowCount: 42, rowMAC: rowMAC),
            WireAuditAnchor(utcSeconds: 1_700_000_000, logID: otherID, rowCount: 17, rowMAC: older),
        ]))
        #expect(try PumpReply(decoding: reply) == expected)
        #expect(expected.encoded == reply)
        #expect(expected.answers(decoded))
    }

    @Test func malformedRequestsAreRefusedByField() throws {
        let mac = [UInt8](repeating: 0xAB, count: 32)
        let zeroID = [UInt8](repeating: 0, count: 16)
        func request(mode: UInt8, logID: [UInt8] = [UInt8](repeating: 0, count: 16), count: UInt64, mac: [UInt8]) -> [UInt8] {
            var writer = ByteWriter()
            writer.uint8(0x16)
            writer.uint8(mode)
            writer.bytes(logID)
            writer.uint64(count)
            writer.bytes(mac)
            return writer.bytes
        }
        #expect(throws: WireError.invalidValue(field: "auditAnchor.mode", value: 2)) {
            _ = try PumpRequest(decoding: request(mode: 2, count: 1, mac: mac))
        }
        #expect(throws: WireError.invalidValue(field: "auditAnchor.rowCount", value: 0)) {
            _ = try PumpRequest(decoding: request(mode: 1, count: 0, mac: mac))
        }
        #expect(throws: WireError.invalidValue(field: "auditAnchor.rowCount", value: -1)) {
            _ = try PumpRequest(decoding: request(mode: 1, count: UInt64.max, mac: mac))
        }
        #expect(throws: WireError.invalidValue(field: "auditAnchor.rowCount", value: 5)) {
            _ = try PumpRequest(decoding: request(mode: 0, count: 5, mac: Array(repeating: 0, count: 32)))
        }
        #expect(throws: WireError.invalidValue(field: "auditAnchor.mac", value: 1)) {
            _ = try PumpRequest(decoding: request(mode: 0, count: 0, mac: mac))
        }
        #expect(throws: WireError.invalidValue(field: "auditAnchor.logId", value: 1)) {
            _ = try PumpRequest(decoding: request(mode: 0, logID: Array(repeating: 7, count: 16), count: 0, mac: Array(repeating: 0, count: 32)))
        }
        #expect(throws: WireError.self) { _ = try PumpRequest(decoding: Array(request(mode: 1, count: 1, mac: mac).dropLast())) }
        _ = zeroID
    }

    @Test func aReplyWithMoreThanEightAnchorsDoesNotDecode() throws {
        var writer = ByteWriter()
        writer.uint8(0x96)
        writer.uint8(0)
        writer.uint8(9)
        for index in 0..<9 {
            WireAuditAnchor(utcSeconds: 1_700_000_000, logID: Array(repeating: UInt8(index), count: 16), rowCount: UInt64(index + 1),
                            rowMAC: Array(repeating: 1, count: 32))
                .write(to: &writer)
        }
        #expect(throws: WireError.tooMany(field: "auditAnchors.anchors", count: 9, maximum: 8)) {
            _ = try PumpReply(decoding: writer.bytes)
        }
    }
}
