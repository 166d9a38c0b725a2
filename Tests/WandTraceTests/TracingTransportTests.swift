import Foundation
import SystemPackage
import Testing
import WandLink
import WandProtocol
@testable import WandTrace

/// One Enhanced Packet Block read back from a file.
struct RecordedPacket: Equatable {
    var timestamp: UInt64
    var data: [UInt8]
    var flags: UInt32?
    var comment: String?
}

/// A minimal pcapng reader for the tests: walks the blocks by their
/// lengths and decodes the Enhanced Packet Blocks' fields and options.
enum PcapngReader {
    static func packets(_ bytes: [UInt8]) -> [RecordedPacket] {
        func u16(_ at: Int) -> Int { Int(bytes[at]) | Int(bytes[at + 1]) << 8 }
        func u32(_ at: Int) -> UInt32 { (0..<4).reduce(0) { $0 | UInt32(bytes[at + $1]) << (8 * UInt32($1)) } }
        var packets: [RecordedPacket] = []
        var offset = 0
        while offset + 12 <= bytes.count {
            let type = u32(offset)
            let total = Int(u32(offset + 4))
            guard total >= 12, offset + total <= bytes.count else { break }
            if type == 6 {
                let timestamp = UInt64(u32(offset + 12)) << 32 | UInt64(u32(offset + 16))
                let length = Int(u32(offset + 20))
                let data = Array(bytes[(offset + 28)..<(offset + 28 + length)])
                var packet = RecordedPacket(timestamp: timestamp, data: data)
                var option = offset + 28 + (length + 3) / 4 * 4
                while option + 4 <= offset + total - 4 {
                    let code = u16(option), size = u16(option + 2)
                    if code == 0 { break }
                    let value = Array(bytes[(option + 4)..<(option + 4 + size)])
                    if code == 2 { packet.flags = u32(option + 4) }
                    if code == 1 { packet.comment = String(decoding: value, as: UTF8.self) }
                    option += 4 + (size + 3) / 4 * 4
                }
                packets.append(packet)
            }
            offset += total
        }
        return packets
    }
}

@Suite struct TracingTransportTests {
    func tracePath() -> String { NSTemporaryDirectory() + "pumpwand-tracing-\(UUID().uuidString).pcapng" }

    @Test func framesInBothDirectionsAreRecordedOnceWithDirectionAndTime() async throws {
        let path = tracePath()
        defer { try? FileManager.default.removeItem(atPath: path) }
        let (host, wand) = InMemoryTransport.pair()
        let tracer = try TracingTransport.recording(host, to: FilePath(path), application: "test", clock: { 1_700_000_000_000_000 })

        // The wand-info request of PROTOCOL.md 10.1, sent in two pieces: one frame.
        let request: [UInt8] = [0x01, 0x01, 0x01, 0x00, 0x00, 0x01]
        let wire = try FrameEncoder.encode(request)
        try await tracer.send(Array(wire.prefix(4)))
        try await tracer.send(Array(wire.dropFirst(4)))
        let reachedWand = try await wand.receive(deadline: .now + .seconds(2))
        #expect(reachedWand.count == wire.count)  // the tracer passes the bytes through unchanged

        // Line noise (a run whose CRC fails), then the reply.
        var corrupted = try FrameEncoder.encode([0x01, 0x02, 0x01, 0x00, 0x00, 0x84])
        corrupted[3] ^= 0x40
        let reply: [UInt8] = [0x01, 0x02, 0x01, 0x00, 0x00, 0x84]
        let encodedReply = try FrameEncoder.encode(reply)
        try await wand.send(corrupted + encodedReply)
        var received: [UInt8] = []
        while received.count < corrupted.count + encodedReply.count {
            received += try await tracer.receive(deadline: .now + .seconds(2))
        }
        await tracer.close()
        #expect(tracer.failure == nil)

        let packets = PcapngReader.packets(try [UInt8](Data(contentsOf: URL(fileURLWithPath: path))))
        #expect(packets.count == 2)
        #expect(packets.first?.data == request)
        #expect(packets.first?.flags == 2)  // outbound
        #expect(packets.first?.comment == nil)
        #expect(packets.first?.timestamp == 1_700_000_000_000_000)
        #expect(packets.last?.data == reply)
        #expect(packets.last?.flags == 1)  // inbound
        #expect(packets.last?.comment?.contains("1 run(s) dropped") == true)
        #expect(packets.last?.comment?.contains("checksum 1,") == true)
    }

    @Test func aTraceFileThatCannotBeCreatedLeavesTheTransportUntouched() async {
        let (host, wand) = InMemoryTransport.pair()
        #expect(throws: TraceError.self) {
            _ = try TracingTransport.recording(host, to: "/nonexistent-dir/x.pcapng", application: "test")
        }
        // Still usable: nothing was wrapped or closed.
        await #expect(throws: Never.self) { try await host.send([0]) }
        let arrived = try? await wand.receive(deadline: .now + .seconds(2))
        #expect(arrived == [0])
    }

    /// The tracer must not turn "nothing left" into "possibly sent" or the
    /// other way round: the wrapped transport's count comes through as is.
    @Test func aFailedSendReportsTheWrappedTransportsCountUnchanged() async throws {
        let path = tracePath()
        defer { try? FileManager.default.removeItem(atPath: path) }
        let (host, wand) = InMemoryTransport.pair(capacity: 4, sendTimeout: .milliseconds(10))
        let tracer = try TracingTransport.recording(host, to: FilePath(path), application: "test", clock: { 1 })
        let wire = try FrameEncoder.encode([0x01, 0x01, 0x01, 0x00, 0x00, 0x01])
        // Only 4 bytes fit and nobody reads: a partial send.
        await #expect(throws: WandSendError(failure: .timedOut, bytesSent: 4)) { try await tracer.send(wire) }
        // The other end goes away: the next send leaves nothing.
        await wand.close()
        await #expect(throws: WandSendError(failure: .unplugged, bytesSent: 0)) { try await tracer.send(wire) }
        await tracer.close()
        let packets = PcapngReader.packets(try [UInt8](Data(contentsOf: URL(fileURLWithPath: path))))
        // Both frames were recorded before sending; the second one's
        // comment says how much of the first send really left.
        #expect(packets.count == 2)
        #expect(packets.last?.comment?.contains("the previous send failed after 4 of \(wire.count) bytes left the host") == true)
    }
}
