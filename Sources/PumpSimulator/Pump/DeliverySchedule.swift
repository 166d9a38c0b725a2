/// What the pump's motor is told to do, as the pump sees it: volume rates
/// over a repeating cycle. Doses are the host's business; the pump moves
/// volume.
public struct DeliverySchedule: Codable, Sendable, Equatable {
    public struct Step: Codable, Sendable, Equatable {
        /// Seconds from the start of the cycle (local midnight, or local
        /// Monday 00:00 for a weekly cycle).
        public var start: Int64
        public var rate: Int64 // nL/day
    }

    /// 86400 for a daily cycle, 604800 for a weekly one.
    public var cycleLength: Int64
    /// Sorted by start; the first starts at 0; a step lasts until the next.
    public var steps: [Step]

    /// A constant rate.
    public static func continuous(rate: Int64) -> DeliverySchedule {
        DeliverySchedule(cycleLength: 86_400, steps: [Step(start: 0, rate: rate)])
    }

    public static let stopped = DeliverySchedule.continuous(rate: 0)

    public init(cycleLength: Int64, steps: [Step]) {
        self.cycleLength = cycleLength
        self.steps = steps
    }

    /// The rate at `time` and the time it next changes.
    ///
    /// `zoneOffset` is the pump's offset from UTC in seconds; a weekly cycle
    /// starts on Monday, and 1970-01-01 was a Thursday, hence the 3 days.
    public func segment(at time: Int64, zoneOffset: Int64) -> (rate: Int64, until: Int64) {
        guard cycleLength > 0, let first = steps.first else { return (0, Int64.max) }
        let anchor = zoneOffset + (cycleLength == 604_800 ? 3 * 86_400 : 0)
        let offset = ((time + anchor) % cycleLength + cycleLength) % cycleLength
        let cycleStart = time - offset
        var current = first
        var nextStart = cycleLength
        for (index, step) in steps.enumerated() where step.start <= offset {
            current = step
            nextStart = index + 1 < steps.count ? steps[index + 1].start : cycleLength
        }
        if steps.count == 1 { return (current.rate, Int64.max) }
        return (current.rate, cycleStart + nextStart)
    }

    /// Average volume per cycle, per day.
    public var averageRate: Int64 {
        guard cycleLength > 0 else { return 0 }
        var total: Int64 = 0
        for (index, step) in steps.enumerated() {
            let end = index + 1 < steps.count ? steps[index + 1].start : cycleLength
            total += step.rate * (end - step.start)
        }
        return total / cycleLength
    }
}
