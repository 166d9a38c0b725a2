import Testing
@testable import pumpctl

/// The loopback figures computed by hand.
@Suite struct BringupLoopbackStatisticsTests {
    @Test func nearestRankPercentiles() {
        // 1 ... 100 ms: rank ceil(p * 100 / 100) = p, so p50 = 50 ms, p95 = 95 ms, p99 = 99 ms.
        let hundred = (1...100).map { Duration.milliseconds($0) }
        #expect(LoopbackRun.percentile(hundred, 50) == .milliseconds(50))
        #expect(LoopbackRun.percentile(hundred, 95) == .milliseconds(95))
        #expect(LoopbackRun.percentile(hundred, 99) == .milliseconds(99))
        // 3 values: p50 rank ceil(1.5) = 2, p95 rank ceil(2.85) = 3.
        let three: [Duration] = [.milliseconds(1), .milliseconds(2), .milliseconds(3)]
        #expect(LoopbackRun.percentile(three, 50) == .milliseconds(2))
        #expect(LoopbackRun.percentile(three, 95) == .milliseconds(3))
        #expect(LoopbackRun.percentile([], 50) == nil)
    }

    @Test func payloadPatternChangesPerEchoAndContainsZeros() {
        // echo 1: (31 * 1 + j) mod 256 -> 31, 32, 33 ...; echo 2 starts at 62.
        #expect(LoopbackRun.payload(index: 1, size: 3) == [31, 32, 33])
        #expect(LoopbackRun.payload(index: 2, size: 2) == [62, 63])
        // echo 1, j = 225: 31 + 225 = 256 -> 0, so a 256-byte echo carries a zero.
        #expect(LoopbackRun.payload(index: 1, size: 256)[225] == 0)
    }

    @Test func millisecondsRoundToMicroseconds() {
        // 1.2345678 ms -> 1.235 (rounded to three decimals)
        #expect(LoopbackRun.milliseconds(.nanoseconds(1_234_567)) == 1.235)
    }
}
