import Testing
import WandProtocol
@testable import PumpSimulator

/// The simulated wand answers frames it cannot handle with the NAK reason
/// PROTOCOL.md gives, under the frame's own sequence number.
@Suite struct SimulatedWandNegativeAcknowledgementTests {
    func answer(to body: [UInt8]) throws -> Frame {
        var simulation = PumpSimulation.fresh(hostNow: 1_800_000_000)
        let outgoing = simulation.receive(fromHost: try FrameEncoder.encode(body))
        var decoder = FrameDecoder()
        let frames = decoder.feed(outgoing.flatMap(\.bytes))
        #expect(frames.count == 1)
        return try Frame(body: try #require(frames.first))
    }

    @Test(arguments: [
        // version 2, kind 0x07 (unknown), sequence 0x1234
        ([0x02, 0x07, 0x34, 0x12, 0x00], NegativeAcknowledgement.unknownKind, UInt16(0x1234)),
        // version 9
        ([0x09, 0x01, 0x02, 0x00, 0x00], .unsupportedVersion, 0x0002),
        // version 1: the retired handshake's version
        ([0x01, 0x01, 0x03, 0x00, 0x00], .unsupportedVersion, 0x0003),
        // reserved flag bit set
        ([0x02, 0x01, 0x05, 0x00, 0x80], .malformedFrame, 0x0005),
        // too short for a header
        ([0x02, 0x01], .malformedFrame, 0x0000),
    ])
    func badHeadersGetTheRightReason(body: [UInt8], reason: NegativeAcknowledgement, sequence: UInt16) throws {
        let frame = try answer(to: body)
        #expect(frame.header.kind == .negativeAcknowledgement)
        #expect(frame.header.sequence == sequence)
        #expect(try NegativeAcknowledgement(decoding: frame.payload) == reason)
    }
}
