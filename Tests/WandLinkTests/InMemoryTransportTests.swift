import Testing
@testable import WandLink

@Suite struct InMemoryTransportTests {
    static func soon() -> ContinuousClock.Instant { .now + .seconds(60) }

    /// Receives until `count` bytes have arrived.
    static func receive(_ count: Int, from end: InMemoryTransport) async throws -> [UInt8] {
        var bytes: [UInt8] = []
        while bytes.count < count { bytes += try await end.receive(deadline: soon()) }
        return bytes
    }

    @Test func bytesCrossInBothDirectionsUnchanged() async throws {
        let (host, wand) = InMemoryTransport.pair()
        let request: [UInt8] = [0x00, 0x11, 0x13, 0x0D, 0x7F, 0xFF]
        try await host.send(request)
        #expect(try await wand.receive(deadline: Self.soon()) == request)
        try await wand.send([0xA5, 0x5A])
        #expect(try await host.receive(deadline: Self.soon()) == [0xA5, 0x5A])
    }

    @Test func receiveTimesOutWhenNothingArrives() async {
        let (host, _wand) = InMemoryTransport.pair()
        await #expect(throws: WandTransportError.timedOut) {
            _ = try await host.receive(deadline: .now + .milliseconds(20))
        }
        _ = _wand
    }

    @Test func closingOneEndIsAnUnplugForTheOtherAfterBufferedBytes() async throws {
        let (host, wand) = InMemoryTransport.pair()
        try await wand.send([1, 2, 3])
        await wand.close()
        // Bytes sent before the close are still delivered, then the unplug.
        #expect(try await host.receive(deadline: Self.soon()) == [1, 2, 3])
        await #expect(throws: WandTransportError.unplugged) {
            _ = try await host.receive(deadline: Self.soon())
        }
        await #expect(throws: WandSendError(failure: .unplugged, bytesSent: 0)) { try await host.send([4]) }
        await #expect(throws: WandSendError(failure: .closed, bytesSent: 0)) { try await wand.send([5]) }
    }

    @Test func closeWakesAWaitingReceiveOnTheOtherEnd() async throws {
        let (host, wand) = InMemoryTransport.pair()
        let waiting = Task { try await host.receive(deadline: .now + .seconds(30)) }
        await wand.close()
        await #expect(throws: WandTransportError.unplugged) { _ = try await waiting.value }
    }

    @Test func droppingAnEndIsAnUnplug() async {
        var pair: (host: InMemoryTransport, wand: InMemoryTransport)? = InMemoryTransport.pair()
        let host = pair?.host
        pair = nil
        await #expect(throws: WandTransportError.unplugged) {
            _ = try await host?.receive(deadline: Self.soon())
        }
    }

    @Test func sendWaitsForRoomAndTimesOutWhenNobodyReads() async throws {
        // Capacity 8: the first 8 bytes fit, the 9th cannot, nobody reads.
        let (host, wand) = InMemoryTransport.pair(capacity: 8, sendTimeout: .milliseconds(20))
        // The error counts the 8 that fitted: they left, the 9th did not.
        await #expect(throws: WandSendError(failure: .timedOut, bytesSent: 8)) { try await host.send(Array(0..<9)) }
        // The 8 that fitted were delivered: a send that throws may have sent part.
        #expect(try await wand.receive(deadline: Self.soon()) == Array(0..<8))
    }

    @Test func aLargeSendCompletesThroughASmallBufferWhenTheOtherEndReads() async throws {
        // The timeout only bounds a test that would hang: the 143 hand-offs
        // can take seconds on a loaded 2-core machine running the suite.
        let (host, wand) = InMemoryTransport.pair(capacity: 7, sendTimeout: .seconds(120))
        let message = (0..<1000).map { UInt8(truncatingIfNeeded: $0 &* 31) }
        async let received = Self.receive(message.count, from: wand)
        try await host.send(message)
        #expect(try await received == message)
    }

    @Test func operationsAfterCloseThrowClosed() async {
        let (host, _wand) = InMemoryTransport.pair()
        await host.close()
        await host.close()  // idempotent
        await #expect(throws: WandSendError(failure: .closed, bytesSent: 0)) { try await host.send([1]) }
        await #expect(throws: WandTransportError.closed) { _ = try await host.receive(deadline: Self.soon()) }
        _ = _wand
    }

    @Test func cancellingAReceiveThrowsCancelledAndLosesNoBytes() async throws {
        let (host, wand) = InMemoryTransport.pair()
        let waiting = Task { try await host.receive(deadline: .now + .seconds(30)) }
        waiting.cancel()
        await #expect(throws: WandTransportError.cancelled) { _ = try await waiting.value }
        try await wand.send([9])
        #expect(try await host.receive(deadline: Self.soon()) == [9])
    }

    @Test func aSendToAnEndAlreadyGoneLeavesNoByteAndSaysSo() async throws {
        let (host, wand) = InMemoryTransport.pair()
        await wand.close()
        do {
            try await host.send([1, 2, 3])
            Issue.record("a send to a closed end succeeded")
        } catch {
            #expect(error == WandSendError(failure: .unplugged, bytesSent: 0))
            #expect(error.anyByteLeft == false)
        }
    }

    @Test func aSendThatLeftSomeBytesSaysAnyByteLeft() async throws {
        let (host, _wand) = InMemoryTransport.pair(capacity: 4, sendTimeout: .milliseconds(10))
        do {
            try await host.send(Array(0..<10))
            Issue.record("a send larger than the buffer completed with nobody reading")
        } catch {
            #expect(error.failure == .timedOut)
            #expect(error.bytesSent == 4)
            #expect(error.anyByteLeft)
        }
        _ = _wand
    }
}
