import Foundation
import Testing
@testable import WandProtocol

/// The re-key request (0x15) against the plaintext examples of
/// hardware/PROTOCOL.md 10.9, made by the independent implementation in
/// scripts/protocol_examples.py.
@Suite("Re-key message (0x15)")
struct RekeyMessageTests {
    /// The `<!-- plaintext example: NAME -->` hex blocks of PROTOCOL.md.
    static func plaintextExamples() throws -> [String: [UInt8]] { try ProtocolDocument.blocks(marked: "plaintext example") }

    static let newKey = (0xA0..<0xC0).map { UInt8($0) }

    @Test("The request, its receipt and the logged key id are PROTOCOL.md 10.9 byte for byte")
    func matchesTheWorkedExample() throws {
        let doc = try Self.plaintextExamples()
        let request = try #require(Rekey(commandId: Fixture.commandId, expiry: Fixture.expiry, newKey: Self.newKey))
        #expect(doc["rekey-request"] == PumpRequest.rekey(request).encoded)
        #expect(try PumpRequest(decoding: try #require(doc["rekey-request"])).encoded == request.encoded)

        let receipt = PumpReply.executed(.rekey, CommandReceipt(commandId: Fixture.commandId, executedAtUTCSeconds: 1_700_000_000))
        #expect(doc["rekey-reply"] == receipt.encoded)
        #expect(try PumpReply(decoding: try #require(doc["rekey-reply"])) == receipt)

        let id = try #require(doc["rekey-key-id"])
        #expect(Rekey.keyId(Self.newKey) == UInt32(id[0]) << 24 | UInt32(id[1]) << 16 | UInt32(id[2]) << 8 | UInt32(id[3]))
        #expect(Rekey.keyIdHex(Self.newKey) == "63d7118d")
    }

    @Test("An all-zero or short key is refused: on the wire and when built")
    func zeroKeyRefused() throws {
        #expect(Rekey(commandId: Fixture.commandId, expiry: Fixture.expiry, newKey: [UInt8](repeating: 0, count: 32)) == nil)
        #expect(Rekey(commandId: Fixture.commandId, expiry: Fixture.expiry, newKey: [UInt8](repeating: 1, count: 31)) == nil)
        let zero = [0x15] + Fixture.commandId.bytes + Fixture.expiry.encodedFields + [UInt8](repeating: 0, count: 32)
        #expect(throws: WireError.invalidValue(field: "rekey.newKey", value: 0)) { try PumpRequest(decoding: zero) }
        let short = [0x15] + Fixture.commandId.bytes + Fixture.expiry.encodedFields + [UInt8](repeating: 7, count: 31)
        #expect(throws: WireError.self) { try PumpRequest(decoding: short) }
    }

    @Test("It changes pump state (exactly once under its command id) and never prints the key")
    func stateChangingAndRedacted() throws {
        #expect(PumpOpcode.rekey.changesState)
        let request = try #require(Rekey(commandId: Fixture.commandId, expiry: Fixture.expiry, newKey: Self.newKey))
        #expect(PumpRequest.rekey(request).commandId == Fixture.commandId)
        #expect(!request.description.contains("a0a1"))
        #expect(!String(describing: request).lowercased().contains("a0a1a2"))
        #expect(request.description.contains("63d7118d"))
    }
}

/// The interrogate and close forms of PROTOCOL.md 10.12 and 10.13 (the
/// newest event page asked for; the close carrying the audit head).
@Suite struct VisitExchangeMessageTests {
    @Test("Interrogate with the newest event page and its report tail are PROTOCOL.md 10.12 byte for byte")
    func interrogateWithEvents() throws {
        let doc = try RekeyMessageTests.plaintextExamples()
        let request = PumpRequest.interrogate(InterrogateRequest(includesNewestEvents: true))
        #expect(doc["interrogate-with-events-request"] == request.encoded)
        var report = Fixture.interrogateReport
        let page = EventLogPage(page: 0, pageCount: 1, totalEvents: 1,
                                events: [PumpEvent(index: 7, utcSeconds: 1_700_000_000, code: 0x0091, detail: 42)])
        report.newestEvents = page
        let plain = Fixture.interrogateReport.encodedFields
        let withPage = report.encodedFields
        // The same report up to its last byte, which becomes the page.
        #expect(Array(withPage.prefix(plain.count - 1)) == Array(plain.dropLast()))
        #expect(doc["interrogate-events-tail"] == Array(withPage.dropFirst(plain.count - 1)))
        #expect(try InterrogateReport(decodingFields: withPage) == report)
        // A page other than 0 does not decode.
        var wrong = report
        wrong.newestEvents?.page = 1
        #expect(throws: WireError.invalidValue(field: "interrogate.newestEvents.page", value: 1)) {
            try InterrogateReport(decodingFields: wrong.encodedFields)
        }
    }

    @Test("Close session, plain and with the audit head, is PROTOCOL.md 10.13 byte for byte")
    func closeWithAnchor() throws {
        let doc = try RekeyMessageTests.plaintextExamples()
        #expect(doc["close-request"] == PumpRequest.closeSession(CloseSession()).encoded)
        let mac = try #require(doc["audit-anchor-request"]).suffix(32)
        let logID = try #require(doc["audit-log-id"])
        let close = PumpRequest.closeSession(CloseSession(anchor: RecordAuditAnchor(logID: logID, rowCount: 42, rowMAC: Array(mac))))
        #expect(doc["close-with-anchor-request"] == close.encoded)
        #expect(doc["close-reply"] == PumpReply.sessionClosed.encoded)
        // A row count of 0 is no head: it does not decode.
        var zero = try #require(doc["close-with-anchor-request"])
        for index in 18..<26 { zero[index] = 0 }
        #expect(throws: WireError.invalidValue(field: "closeSession.rowCount", value: 0)) {
            try PumpRequest(decoding: zero)
        }
    }
}
