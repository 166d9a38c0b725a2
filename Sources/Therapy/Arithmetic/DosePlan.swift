/// A prescription turned into what the pump runs: one rate setting per
/// step of a repeating cycle, with the daily figures people check.
public struct DosePlan: Sendable, Equatable {
    public struct Step: Sendable, Equatable {
        /// Seconds from the start of the cycle (local time; Monday 00:00 for weekly).
        public let start: Int64
        public let seconds: Int64
        public let setting: RateSetting

        public init(start: Int64, seconds: Int64, setting: RateSetting) {
            self.start = start
            self.seconds = seconds
            self.setting = setting
        }
    }

    public let cycle: ScheduleCycle
    public let steps: [Step]

    public init(cycle: ScheduleCycle, steps: [Step]) {
        self.cycle = cycle
        self.steps = steps
    }

    /// One setting all day.
    public static func continuous(_ setting: RateSetting) -> DosePlan {
        DosePlan(cycle: .daily, steps: [Step(start: 0, seconds: 86_400, setting: setting)])
    }

    /// Delivered drug per day averaged over the cycle, rounded down.
    public var averageDailyDose: DoseRate {
        DoseRate(baseValue: weightedAverage { $0.setting.delivered.baseValue })
    }

    /// Prescribed drug per day averaged over the cycle, rounded down.
    public var averagePrescribedDose: DoseRate {
        DoseRate(baseValue: weightedAverage { $0.setting.prescribed.baseValue })
    }

    /// Programmed volume per day averaged over the cycle, rounded down.
    public var averageVolumeRate: VolumeRate {
        VolumeRate(baseValue: weightedAverage { $0.setting.programmed.baseValue })
    }

    /// The largest prescribed total of any one local day of the cycle,
    /// rounded up: what limits are checked against.
    ///
    /// Summed in 128 bits: a day of a large prescribed rate is more than
    /// 64 bits of ng/day x s, and a saturated sum would understate it.
    /// Exact for every plan `dosePlan(on:)` makes (at most the largest
    /// step's rate); a hand-built plan whose total leaves 64 bits gets
    /// Int64.max, which every limit refuses.
    public var largestDailyPrescribedDose: DoseRate {
        var largest: Int64 = 0
        for day in 0..<(cycle.seconds / 86_400) {
            let dayStart = day * 86_400, dayEnd = dayStart + 86_400
            var total: Int128 = 0  // ng/day x s
            for step in steps {
                let stepEnd = step.start.saturatingAdd(step.seconds)
                guard step.start < dayEnd, stepEnd > dayStart else { continue }
                // Both ends inside the day: the overlap is at most 86_400 s.
                let overlap = min(dayEnd, stepEnd) - max(dayStart, step.start)
                // |rate| < 2^63 times 2^17 s, at most 91 steps: far inside 128 bits.
                total += Int128(step.setting.prescribed.baseValue) * Int128(overlap)
            }
            let (quotient, remainder) = total.quotientAndRemainder(dividingBy: 86_400)
            largest = max(largest, Int64(clamping: quotient + (remainder == 0 ? 0 : 1)))
        }
        return DoseRate(baseValue: largest)
    }

    /// The largest prescribed total of any 24 h window (not only calendar
    /// days), rounded up: what a cumulative 24 h limit is checked against.
    /// A daily cycle's windows all hold one whole cycle; a weekly cycle's
    /// largest window starts or ends at a step boundary, so only those are
    /// tried. Summed in 128 bits like `largestDailyPrescribedDose`.
    public var largestPrescribedIn24h: DoseRate {
        guard cycle == .weekly else { return largestDailyPrescribedDose }
        let length = cycle.seconds
        var starts = Set<Int64>()
        for step in steps {
            starts.insert(step.start.floorMod(length))
            starts.insert((step.start - 86_400).floorMod(length))
        }
        var largest: Int64 = 0
        for start in starts {
            var total: Int128 = 0
            // The window [start, start + 24 h) may wrap past the cycle's end.
            for (from, to) in [(start, min(length, start + 86_400)), (0, max(0, start + 86_400 - length))] where to > from {
                for step in steps {
                    let stepEnd = step.start.saturatingAdd(step.seconds)
                    let overlap = min(to, stepEnd) - max(from, step.start)
                    guard overlap > 0 else { continue }
                    total += Int128(step.setting.prescribed.baseValue) * Int128(overlap)
                }
            }
            let (quotient, remainder) = total.quotientAndRemainder(dividingBy: 86_400)
            largest = max(largest, Int64(clamping: quotient + (remainder == 0 ? 0 : 1)))
        }
        return DoseRate(baseValue: largest)
    }

    /// The step in force `seconds` after the start of the cycle (taken
    /// within the cycle); nil for a plan without steps.
    public func step(at seconds: Int64) -> Step? {
        let position = seconds.floorMod(cycle.seconds)
        return steps.last { $0.start <= position } ?? steps.first
    }

    /// The two plans side by side over one common cycle (a week when either
    /// is weekly): each piece of time with the step of each in force.
    public static func aligned(_ first: DosePlan, _ second: DosePlan) -> [(start: Int64, end: Int64, first: Step, second: Step)] {
        let length = max(first.cycle.seconds, second.cycle.seconds)
        var boundaries = Set<Int64>([0])
        for plan in [first, second] {
            var offset: Int64 = 0
            while offset < length {
                for step in plan.steps { boundaries.insert(offset + step.start) }
                offset += plan.cycle.seconds
            }
        }
        let sorted = boundaries.filter { $0 >= 0 && $0 < length }.sorted()
        var pieces: [(start: Int64, end: Int64, first: Step, second: Step)] = []
        for (index, start) in sorted.enumerated() {
            let end = index + 1 < sorted.count ? sorted[index + 1] : length
            guard let a = first.step(at: start), let b = second.step(at: start) else { continue }
            pieces.append((start, end, a, b))
        }
        return pieces
    }

    /// Flex steps starting in each local day of the cycle, plus the step
    /// carried over midnight (the pump must hold it for that day too).
    public var stepsPerDay: [Int] {
        (0..<Int(cycle.seconds / 86_400)).map { day in
            let dayStart = Int64(day) * 86_400, dayEnd = dayStart + 86_400
            return steps.filter { $0.start < dayEnd && $0.start.saturatingAdd($0.seconds) > dayStart }.count
        }
    }

    /// The volume schedule the pump runs, for reservoir projection.
    public var deliverySchedule: DeliverySchedule {
        DeliverySchedule(cycle: cycle, steps: steps.map { .init(start: $0.start, rate: $0.setting.programmed) })
    }

    /// Sum of value x seconds over the cycle, divided by its length, in
    /// 128 bits: exact for every plan whose steps cover the cycle (the
    /// average is then at most the largest value). Only a hand-built plan
    /// can leave 64 bits; it saturates rather than trapping.
    private func weightedAverage(_ value: (Step) -> Int64) -> Int64 {
        var total: Int128 = 0
        for step in steps {
            let (sum, overflow) = total.addingReportingOverflow(Int128(value(step)) * Int128(step.seconds))
            if overflow { return total < 0 ? .min : .max }
            total = sum
        }
        return Int64(clamping: total / Int128(cycle.seconds))
    }
}

extension Prescription {
    /// What the pump runs for this prescription on `profile`.
    public func dosePlan(on profile: PumpProfile) throws(ArithmeticError) -> DosePlan {
        switch mode {
        case .continuous(let dose):
            let setting = try profile.rateSetting(for: dose, at: concentration)
            return DosePlan(cycle: .daily, steps: [.init(start: 0, seconds: 86_400, setting: setting)])
        case .flex(let schedule):
            var steps: [DosePlan.Step] = []
            for (step, seconds) in schedule.stepDurations {
                steps.append(.init(start: step.start, seconds: seconds, setting: try profile.rateSetting(for: step.doseRate, at: concentration)))
            }
            return DosePlan(cycle: schedule.cycle, steps: steps)
        case .minimumRate:
            let setting = try profile.rateSetting(running: profile.minimumRate, at: concentration)
            return DosePlan(cycle: .daily, steps: [.init(start: 0, seconds: 86_400, setting: setting)])
        case .stopped:
            let setting = RateSetting(prescribed: .zero, programmed: .zero, delivered: .zero)
            return DosePlan(cycle: .daily, steps: [.init(start: 0, seconds: 86_400, setting: setting)])
        }
    }
}

// Saturation is for comparisons against limits, where "beyond any limit"
// is the right answer for a value that does not fit; amounts that are
// shown or programmed use the checked `Exact` functions instead.
extension Int64 {
    func saturatingSubtract(_ other: Int64) -> Int64 {
        let (value, overflow) = subtractingReportingOverflow(other)
        return overflow ? (other < 0 ? .max : .min) : value
    }

    func saturatingAdd(_ other: Int64) -> Int64 {
        let (value, overflow) = addingReportingOverflow(other)
        return overflow ? (other > 0 ? .max : .min) : value
    }

    func saturatingMultiply(_ other: Int64) -> Int64 {
        let (value, overflow) = multipliedReportingOverflow(by: other)
        return overflow ? ((self < 0) == (other < 0) ? .max : .min) : value
    }
}
