import Foundation
import Testing
@testable import WandProtocol

/// Checks the worked examples of hardware/PROTOCOL.md byte for byte against
/// this implementation. The examples in the document were produced by an
/// independent implementation (scripts/protocol_examples.py); agreement
/// means both follow the text.
@Suite("PROTOCOL.md worked examples")
struct ProtocolExampleTests {
    /// The hex blocks of PROTOCOL.md, by example name.
    static func examples() throws -> [String: [UInt8]] { try ProtocolDocument.blocks(marked: "example") }

    static let cid2 = CommandID(unchecked: (16..<32).map { UInt8($0) })
    static let cid3 = CommandID(unchecked: (32..<48).map { UInt8($0) })
    static let cid4 = CommandID(unchecked: (48..<64).map { UInt8($0) })
    /// What the faulty pump of 10.8 puts in its receipt.
    static let zeroId = CommandID(unchecked: [UInt8](repeating: 0, count: 16))

    /// The pump side of the examples: fixed answers per request.
    static func pumpAnswer(_ request: PumpRequest) -> PumpReply {
        switch request {
        case .interrogate: return .interrogate(Fixture.interrogateReport)
        case .stagePrescription(let stage): return .staged(StageReceipt(commandId: stage.commandId, stagedHash: stage.prescription.hash))
        case .commitStagedPrescription(let commit):
            return .executed(.commitStagedPrescription, CommandReceipt(commandId: commit.commandId, executedAtUTCSeconds: 1_700_000_000))
        case .refillCancel(let cancel):
            return .executed(.refillCancel, CommandReceipt(commandId: cancel.commandId, executedAtUTCSeconds: 1_700_000_000))
        case .stopInfusion:
            // 10.8: a faulty pump that reports the reserved all-zero id.
            return .executed(.stopInfusion, CommandReceipt(commandId: zeroId, executedAtUTCSeconds: 1_700_000_000))
        default: return .refused(request.opcode, .unknownOpcode)
        }
    }

    @Test("Every example in PROTOCOL.md is what this implementation sends and answers")
    func examplesMatch() throws {
        let doc = try Self.examples()
        #expect(doc.count == 19)

        // 10.1 Wand info.
        let infoRequest = try FrameEncoder.encode(FrameHeader(kind: .wandCommand, sequence: 1).encoded + WandRequest.info.encoded)
        #expect(doc["wand-info-request"] == infoRequest)
        let info = WandInfo(firmwareMajor: 1, firmwareMinor: 4, firmwarePatch: 2, serial: "PW-00042", supportedVersions: [2])
        // 10.11 The wand's info with the session opening, under its sequence.
        #expect(doc["wand-info-with-opening-reply"]
            == (try FrameEncoder.encode(FrameHeader(kind: .wandResponse, sequence: 2).encoded + info.encoded)))
        #expect(doc["wand-info-reply"] == (try FrameEncoder.encode(FrameHeader(kind: .wandResponse, sequence: 1).encoded + info.encoded)))

        // 10.2 Session opening.
        var pump = SessionRig().pump
        var outcomes = CommandOutcomeStore()
        var executions = 0
        func deliver(_ wire: [UInt8]) throws -> [UInt8]? {
            var decoder = FrameDecoder()
            let body = try #require(decoder.feed(wire).first)
            let reply = pump.handle(frameBody: body, now: .zero, utcSeconds: 1_700_000_000, outcomes: &outcomes) { request in
                executions += 1
                return Self.pumpAnswer(request)
            }
            return try reply.map { try FrameEncoder.encode($0) }
        }
        let handshake = SessionHandshake(nonces: NonceSource { [UInt8](repeating: 0x11, count: $0) })
        let openRequest = try FrameEncoder.encode(FrameHeader(kind: .pumpMessage, sequence: 2).encoded + handshake.request.encoded)
        #expect(doc["open-session-request"] == openRequest)
        let openReply = try #require(try deliver(openRequest))
        #expect(doc["open-session-reply"] == openReply)
        var decoder = FrameDecoder()
        let openReplyFrame = try Frame(body: try #require(decoder.feed(openReply).first))
        var host = try handshake.complete(replyPayload: openReplyFrame.payload, candidates: SessionRig.candidates)
        // The key schedule's intermediate values, as section 10.2 lists them.
        #expect(doc["key-id"] == Array(openReplyFrame.payload[34..<50]))
        #expect(doc["handshake-hash"] == host.keys.handshakeHash)
        #expect(doc["host-to-pump-key"] == host.keys.hostToPump.withUnsafeBytes { Array($0) })
        #expect(doc["pump-to-host-key"] == host.keys.pumpToHost.withUnsafeBytes { Array($0) })
        #expect(host.pumpSerial == "SP-12345")
        #expect(host.sessionId == 0x0403_0201)
        #expect(host.pumpUTCSeconds == 1_700_000_000)
        #expect(host.pumpIdleTimeout == .seconds(120))

        // 10.3 Sealed interrogate.
        let interrogate = try FrameEncoder.encode(host.seal(.interrogate(InterrogateRequest()), sequence: 3).frameBody)
        #expect(doc["interrogate-request"] == interrogate)
        let interrogateReply = try #require(try deliver(interrogate))
        #expect(doc["interrogate-reply"] == interrogateReply)
        let opened = try host.open(Frame(body: try #require(decoder.feed(interrogateReply).first)), answering: 1)
        #expect(opened == .interrogate(Fixture.interrogateReport))

        // 10.4 Stage and commit.
        let stage = try FrameEncoder.encode(
            host.seal(.stagePrescription(StagePrescription(commandId: Fixture.commandId, expiry: Fixture.expiry, prescription: Fixture.flex)), sequence: 4).frameBody)
        #expect(doc["stage-request"] == stage)
        let stageReply = try #require(try deliver(stage))
        #expect(doc["stage-reply"] == stageReply)
        let flexHash = PrescriptionHash(unchecked: hex(Fixture.flexHashHex))
        let commit = try FrameEncoder.encode(
            host.seal(.commitStagedPrescription(CommitStagedPrescription(commandId: Self.cid2, expiry: Fixture.expiry, stagedHash: flexHash)), sequence: 5).frameBody)
        #expect(doc["commit-request"] == commit)
        let commitReply = try #require(try deliver(commit))
        #expect(doc["commit-reply"] == commitReply)
        #expect(executions == 3)

        // 10.5 Retransmission: same bytes in, same bytes out, no execution.
        #expect(try deliver(commit) == commitReply)
        #expect(executions == 3)
        #expect(pump.statistics.retransmissionsAnswered == 1)

        // 10.6 Rejected replay of the stage and interrogate frames.
        #expect(try deliver(stage) == nil)
        #expect(try deliver(interrogate) == nil)
        #expect(executions == 3)
        #expect(pump.statistics.replaysRejected == 2)

        // 10.7 Refill cancel: the next counters on both sides.
        let cancel = try FrameEncoder.encode(host.seal(.refillCancel(RefillCancel(commandId: Self.cid3, expiry: Fixture.expiry)), sequence: 6).frameBody)
        #expect(doc["refill-cancel-request"] == cancel)
        let cancelReply = try #require(try deliver(cancel))
        #expect(doc["refill-cancel-reply"] == cancelReply)
        #expect(executions == 4)
        #expect(try host.open(Frame(body: try #require(decoder.feed(cancelReply).first)), answering: 4)
                == .executed(.refillCancel, CommandReceipt(commandId: Self.cid3, executedAtUTCSeconds: 1_700_000_000)))

        // 10.8 A receipt naming the all-zero id: authentic, but it does not decode.
        let stop = try FrameEncoder.encode(host.seal(.stopInfusion(StopInfusion(commandId: Self.cid4, expiry: Fixture.expiry)), sequence: 7).frameBody)
        #expect(doc["stop-request"] == stop)
        let zeroIdReply = try #require(try deliver(stop))
        #expect(doc["zero-id-receipt-reply"] == zeroIdReply)
        let zeroIdFrame = try Frame(body: try #require(decoder.feed(zeroIdReply).first))
        #expect(throws: SessionError.malformedReply(.invalidValue(field: "commandId", value: 0))) {
            try host.open(zeroIdFrame, answering: 5)
        }
    }
}
