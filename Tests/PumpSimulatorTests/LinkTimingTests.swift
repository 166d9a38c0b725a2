import Testing
import WandProtocol
@testable import PumpSimulator

/// The simulated link charges each direction its own bytes: a reply leaves
/// after the request's transit (latency plus its wire bytes at the link
/// rate) and its own, so the simulator's floor is the wire's.
@Suite struct LinkTimingTests {
    @Test("A reply is held for the request's transit plus its own, not twice its own")
    func eachDirectionItsOwnBytes() throws {
        var simulation = PumpSimulation.fresh(hostNow: 1_800_000_000)
        // 1000 B/s: one millisecond per byte, so the figures are byte counts.
        simulation.link = LinkModel(latencyMilliseconds: 7, bytesPerSecond: 1000)
        // A loopback of 200 bytes makes the request far longer than a short
        // answer would be, and the answer as long as the request.
        let request = try FrameEncoder.encode(
            FrameHeader(kind: .wandCommand, sequence: 9).encoded + WandRequest.loopback([UInt8](repeating: 0x41, count: 200)).encoded)
        let outgoing = simulation.receive(fromHost: request)
        let reply = try #require(outgoing.first)
        #expect(reply.delayMilliseconds == 7 + request.count + 7 + reply.bytes.count)

        // A short request with a short answer: the total follows both lengths.
        let info = try FrameEncoder.encode(FrameHeader(kind: .wandCommand, sequence: 10).encoded + WandRequest.info.encoded)
        let infoReply = try #require(simulation.receive(fromHost: info).first)
        #expect(infoReply.delayMilliseconds == 7 + info.count + 7 + infoReply.bytes.count)
        #expect(infoReply.bytes.count != info.count)
    }
}
