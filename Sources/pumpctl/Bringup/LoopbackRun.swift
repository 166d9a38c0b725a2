import Foundation
import WandProtocol

/// Echoes payloads through the wand one at a time and measures the link.
///
/// Payload `i` (1-based) byte `j` (0-based) is `(31 * i + j) mod 256`: every
/// echo differs from the one before (so a late echo of an earlier request
/// is never mistaken for this one), and zero bytes occur, which exercises
/// COBS on both sides.
struct LoopbackRun {
    var count: Int
    var size: Int

    /// Counts and timings of one run.
    struct Result: Sendable {
        var sent = 0
        var received = 0
        var lost = 0
        var corrupted = 0
        /// Refused by the wand with a NAK proving it did not handle the
        /// echo (busy, malformed): not lost on the line.
        var refused = 0
        var latencies: [Duration] = []
        var intactBytes = 0
        var elapsed: Duration = .zero
    }

    /// Why the run stopped early.
    struct LinkGone: Error {
        let message: String
    }

    static func payload(index: Int, size: Int) -> [UInt8] {
        (0..<size).map { UInt8(truncatingIfNeeded: 31 &* index &+ $0) }
    }

    /// Runs the echoes on `channel`; `progress` is called with the result
    /// so far at most about once a second.
    func run(on channel: WandChannel, progress: (Result) -> Void = { _ in }) async throws(LinkGone) -> Result {
        var result = Result()
        let clock = ContinuousClock()
        let start = clock.now
        var lastProgress = start
        guard count > 0 else { return result }
        for index in 1...count {
            let data = Self.payload(index: index, size: size)
            let sentAt = clock.now
            let outcome = await channel.wand(.loopback(data))
            let took = clock.now - sentAt
            result.sent += 1
            switch outcome {
            case .replied(.loopback(let echo), _) where echo == data:
                result.received += 1
                result.latencies.append(took)
                result.intactBytes += data.count
            case .replied:
                // The frame passed its CRC but the echo differs, or the wand
                // answered with another reply: a firmware fault, not line noise.
                result.received += 1
                result.corrupted += 1
                result.latencies.append(took)
            case .notSent(.wandRefused):
                result.refused += 1
            case .notSent(let reason):
                result.elapsed = clock.now - start
                throw LinkGone(message: "the link to the wand refused the echo (\(reason)) after \(result.sent - 1) echoes")
            case .unacknowledged(_, _, let linkError?):
                result.elapsed = clock.now - start
                throw LinkGone(message: "the link to the wand failed (\(linkError)) after \(result.sent) echoes")
            case .unacknowledged:
                result.lost += 1
            }
            if clock.now - lastProgress >= .seconds(1) {
                lastProgress = clock.now
                result.elapsed = clock.now - start
                progress(result)
            }
        }
        result.elapsed = clock.now - start
        return result
    }

    /// Nearest-rank percentile of sorted values: the smallest value with at
    /// least `percent`% of the values at or below it.
    static func percentile(_ sorted: [Duration], _ percent: Int) -> Duration? {
        guard !sorted.isEmpty else { return nil }
        // rank = ceil(percent * n / 100), 1-based
        let rank = (percent * sorted.count + 99) / 100
        return sorted[min(sorted.count, max(1, rank)) - 1]
    }

    static func milliseconds(_ duration: Duration) -> Double {
        let (seconds, attoseconds) = duration.components
        let exact = Double(seconds) * 1000 + Double(attoseconds) / 1e15
        return (exact * 1000).rounded() / 1000
    }
}

/// The JSON (and text) report of `pumpctl link loopback`.
struct LoopbackReport: Encodable {
    struct Latency: Encodable {
        var p50: Double
        var p95: Double
        var p99: Double
        var max: Double
    }

    var simulated: Bool
    var wand: WandIdentity
    var count: Int
    var size: Int
    var sent: Int
    var received: Int
    var lost: Int
    var corrupted: Int
    var refused: Int
    /// Null when no echo came back.
    var latencyMs: Latency?
    var throughputBytesPerS: Double
    var elapsedS: Double

    init(_ result: LoopbackRun.Result, run: LoopbackRun, wand: WandIdentity, simulated: Bool) {
        self.simulated = simulated
        self.wand = wand
        count = run.count
        size = run.size
        sent = result.sent
        received = result.received
        lost = result.lost
        corrupted = result.corrupted
        refused = result.refused
        let sorted = result.latencies.sorted()
        if let p50 = LoopbackRun.percentile(sorted, 50), let p95 = LoopbackRun.percentile(sorted, 95),
           let p99 = LoopbackRun.percentile(sorted, 99), let top = sorted.last {
            latencyMs = Latency(p50: LoopbackRun.milliseconds(p50), p95: LoopbackRun.milliseconds(p95),
                                p99: LoopbackRun.milliseconds(p99), max: LoopbackRun.milliseconds(top))
        }
        let seconds = LoopbackRun.milliseconds(result.elapsed) / 1000
        elapsedS = (seconds * 1_000_000).rounded() / 1_000_000
        throughputBytesPerS = seconds > 0 ? (Double(result.intactBytes) / seconds).rounded() : 0
    }

    // Written by hand so `latency_ms` is `null`, not missing, when nothing
    // came back: scripts can rely on every key being present.
    enum CodingKeys: String, CodingKey {
        case simulated, wand, count, size, sent, received, lost, corrupted, refused, latencyMs, throughputBytesPerS, elapsedS
    }

    func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(simulated, forKey: .simulated)
        try container.encode(wand, forKey: .wand)
        try container.encode(count, forKey: .count)
        try container.encode(size, forKey: .size)
        try container.encode(sent, forKey: .sent)
        try container.encode(received, forKey: .received)
        try container.encode(lost, forKey: .lost)
        try container.encode(corrupted, forKey: .corrupted)
        try container.encode(refused, forKey: .refused)
        try container.encode(latencyMs, forKey: .latencyMs)
        try container.encode(throughputBytesPerS, forKey: .throughputBytesPerS)
        try container.encode(elapsedS, forKey: .elapsedS)
    }

    var text: String {
        var lines: [String] = []
        if simulated { lines.append("SIMULATED WAND (not a real one)") }
        lines.append("Wand \(wand.serial), firmware \(wand.firmware)")
        lines.append("Loopback: \(count) echoes of \(size) bytes")
        lines.append("sent \(sent)  received \(received)  lost \(lost)  corrupted \(corrupted)  refused \(refused)")
        if let latencyMs {
            lines.append("latency ms: p50 \(latencyMs.p50)  p95 \(latencyMs.p95)  p99 \(latencyMs.p99)  max \(latencyMs.max)")
        } else {
            lines.append("latency ms: no echo came back")
        }
        lines.append("throughput: \(Int(throughputBytesPerS)) bytes/s of intact echoes over \(elapsedS) s")
        return lines.joined(separator: "\n")
    }
}
