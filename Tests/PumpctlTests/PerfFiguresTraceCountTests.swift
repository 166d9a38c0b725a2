import Foundation
import Testing
import TestSupport

/// scripts/perf_figures.py counts the exchanges and bytes of a `--trace`
/// file, and docs/performance.md's physical limits rest on that count. The
/// trace here is built by hand, block by block from the pcapng draft, so
/// every answer is known: an answered wand command, a handshake answered
/// twice (a duplicate counts once) with an event in between, a sealed
/// request sent three times (lost, NAKed, answered), a late answer to a
/// sequence never sent, and a close whose answer is never read.
@Suite(.serialized, .tags(.process), .childProcesses) struct PerfFiguresTraceCountTests {
    static let script = PythonTools.root.appendingPathComponent("scripts/perf_figures.py").path

    /// Little-endian pcapng, as pumpctl writes it.
    struct Trace {
        var bytes: [UInt8] = []

        static func le32(_ value: UInt32) -> [UInt8] { (0..<4).map { UInt8(truncatingIfNeeded: value >> (8 * $0)) } }
        static func le16(_ value: UInt16) -> [UInt8] { [UInt8(truncatingIfNeeded: value), UInt8(truncatingIfNeeded: value >> 8)] }

        mutating func block(_ type: UInt32, _ body: [UInt8]) {
            let total = UInt32(12 + body.count)
            bytes += Self.le32(type) + Self.le32(total) + body + Self.le32(total)
        }

        init() {
            // Section header: byte-order magic, version 1.0, section length unknown.
            block(0x0A0D_0D0A, Self.le32(0x1A2B_3C4D) + Self.le16(1) + Self.le16(0) + [UInt8](repeating: 0xFF, count: 8))
            // Interface description: LINKTYPE_USER0, no snap length.
            block(0x0000_0001, Self.le16(147) + Self.le16(0) + Self.le32(0))
        }

        /// An enhanced packet block with epb_flags 10 (outbound) or 01 (inbound).
        mutating func frame(_ outbound: Bool, kind: UInt8, sequence: UInt16, flags: UInt8 = 0, payload: [UInt8]) {
            let data: [UInt8] = [2, kind] + Self.le16(sequence) + [flags] + payload
            let padding = [UInt8](repeating: 0, count: (4 - data.count % 4) % 4)
            let options = Self.le16(2) + Self.le16(4) + Self.le32(outbound ? 2 : 1) + Self.le16(0) + Self.le16(0)
            block(0x0000_0006, Self.le32(0) + Self.le32(0) + Self.le32(1_000) + Self.le32(UInt32(data.count))
                  + Self.le32(UInt32(data.count)) + data + padding + options)
        }
    }

    static func visit() -> Trace {
        var trace = Trace()
        trace.frame(true, kind: 0x01, sequence: 1, payload: [0x01])                        // wand info: 6-byte body
        trace.frame(false, kind: 0x02, sequence: 1, payload: [0x01, 1, 2, 3])              // its answer: 9
        trace.frame(true, kind: 0x03, sequence: 2, payload: [UInt8](repeating: 0x11, count: 40))   // handshake: 45
        trace.frame(false, kind: 0x04, sequence: 0, payload: [0x01])                       // event, no answer: 6
        let reply = [UInt8](repeating: 0x55, count: 300)                                   // 305-byte body
        trace.frame(false, kind: 0x03, sequence: 2, flags: 0x02, payload: reply)           // handshake reply
        trace.frame(false, kind: 0x03, sequence: 2, flags: 0x02, payload: reply)           // duplicated on the link
        let sealed = [UInt8](repeating: 0x22, count: 30)
        trace.frame(true, kind: 0x03, sequence: 3, flags: 0x01, payload: sealed)           // 35, lost
        trace.frame(true, kind: 0x03, sequence: 3, flags: 0x01, payload: sealed)           // retransmitted
        trace.frame(false, kind: 0x05, sequence: 3, payload: [0x04])                       // NAK pump not in range: 6
        trace.frame(true, kind: 0x03, sequence: 3, flags: 0x01, payload: sealed)           // third attempt
        trace.frame(false, kind: 0x03, sequence: 3, flags: 0x03, payload: [UInt8](repeating: 0x33, count: 20))  // 25
        trace.frame(false, kind: 0x02, sequence: 99, payload: [0x01])                      // answers nothing sent: 6
        trace.frame(true, kind: 0x03, sequence: 4, flags: 0x01, payload: [UInt8](repeating: 0x44, count: 10))   // close, 15
        return trace
    }

    func count(_ bytes: [UInt8], _ name: String) async throws -> (ChildProcess.Result, [String: Any]) {
        let python = try PythonTools.systemPython()
        let pathFolder = try TemporaryDirectory(prefix: "pumpwand-perf-count")
        defer { pathFolder.remove() }
        let path = pathFolder.file("perf-count.pcapng")
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        let run = try await ChildProcess.run(python, [Self.script, "count", "--json", "--byte-rate", "11520", "--latency-ms", "20", path],
                                             timeLimit: .seconds(60))
        let object = (try? JSONSerialization.jsonObject(with: Data(run.stdout.utf8))) as? [String: Any] ?? [:]
        return (run, object)
    }

    @Test func answeredAttemptsAreExchangesAndEveryFrameCountsItsWireBytes() async throws {
        let (run, counted) = try await count(Self.visit().bytes, "visit")
        #expect(run.status == 0, "\(run.stderr)")
        #expect(counted["frames_out"] as? Int == 6)
        #expect(counted["frames_in"] as? Int == 7)
        #expect(counted["attempts"] as? Int == 6)
        // Info, handshake, the NAKed second attempt and the answered third.
        #expect(counted["exchanges"] as? Int == 4)
        // The lost first attempt and the close.
        #expect(counted["unanswered"] as? Int == 2)
        #expect(counted["retransmissions"] as? Int == 2)
        #expect(counted["naks"] as? Int == 1)
        #expect(counted["events"] as? Int == 1)
        let bodies = [6, 9, 45, 6, 305, 305, 35, 35, 6, 35, 25, 6, 15]
        #expect(counted["body_bytes"] as? Int == bodies.reduce(0, +))
        // On the wire each body gains its CRC (4), one COBS code byte and two
        // delimiters; a body of 305 also a second code byte after 254
        // non-zero bytes (its CRC, 0x7d8e8b31, holds no zero byte).
        #expect(counted["wire_bytes"] as? Int == bodies.reduce(0) { $0 + $1 + 7 } + 2)
        // bytes / 11520 + 4 x 2 x 20 ms.
        let limit = try #require(counted["limit_seconds"] as? Double)
        #expect(abs(limit - (Double(bodies.reduce(0) { $0 + $1 + 7 } + 2) / 11_520 + 0.160)) < 1e-9)
    }

    @Test func aTruncatedLastBlockEndsTheCountAtTheLastWholeFrame() async throws {
        var trace = Trace()
        trace.frame(true, kind: 0x01, sequence: 1, payload: [0x01])
        trace.frame(false, kind: 0x02, sequence: 1, payload: [0x01, 1, 2, 3])
        var cut = trace.bytes
        trace.frame(true, kind: 0x01, sequence: 2, payload: [0x02])
        cut += trace.bytes[cut.count..<(cut.count + 20)]
        let (run, counted) = try await count(cut, "truncated")
        #expect(run.status == 0, "\(run.stderr)")
        #expect(counted["attempts"] as? Int == 1)
        #expect(counted["exchanges"] as? Int == 1)
    }

    @Test func aFileThatIsNotATraceIsRefusedWithStatus65() async throws {
        let (run, counted) = try await count(Array("not a pcapng file, just text\n".utf8), "text")
        #expect(run.status == 65)
        #expect(counted.isEmpty)
        #expect(run.stderr.contains("not a pcapng file"), "\(run.stderr)")
    }
}
