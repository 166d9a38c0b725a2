import Testing
import WandLink
import WandProtocol
@testable import PumpProgrammer

/// The link adapter decides "not sent" from the transport's byte count
/// alone, never from the kind of failure.
@Suite struct TransportFrameLinkTests {
    @Test func aSendOfWhichNoByteLeftIsNotSent() async throws {
        let (host, wand) = InMemoryTransport.pair()
        await wand.close()
        let link = TransportFrameLink(transport: host)
        do {
            try await link.send([0, 1, 2, 0])
            Issue.record("a send to a closed wand succeeded")
        } catch let error as FrameLinkError {
            guard case .notSent(let reason) = error else { Issue.record("expected notSent, got \(error)"); return }
            #expect(reason.contains("None of this send left the host"))
        }
    }

    /// A timeout usually reads as "nothing happened"; here 4 bytes had left,
    /// so the request may have reached the wand and must not be "not sent".
    @Test func aSendOfWhichSomeBytesLeftIsPossiblyDelivered() async throws {
        let (host, wand) = InMemoryTransport.pair(capacity: 4, sendTimeout: .milliseconds(10))
        let link = TransportFrameLink(transport: host)
        do {
            try await link.send(Array(0..<10))
            Issue.record("a send larger than the buffer completed with nobody reading")
        } catch let error as WandSendError {
            #expect(error == WandSendError(failure: .timedOut, bytesSent: 4))
        }
        _ = wand
    }
}
