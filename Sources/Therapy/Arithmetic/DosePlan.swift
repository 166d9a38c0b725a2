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
    public var largestDailyPrescribedDose: DoseRate {
        var largest: Int64 = 0
        for day in 0..<(cycle.seconds / 86_400) {
            let dayStart = day * 86_400, dayEnd = dayStart + 86_400
            var total: Int64 = 0  // ng/day x s
            for step in steps {
                let overlap = min(dayEnd, step.start + step.seconds) - max(dayStart, step.start)
                if overlap > 0 { total = total.saturatingAdd(step.setting.prescribed.baseValue.saturatingMultiply(overlap)) }
            }
            largest = max(largest, total / 86_400 + (total % 86_400 == 0 ? 0 : 1))
        }
        return DoseRate(baseValue: largest)
    }

    /// Flex steps starting in each local day of the cycle, plus the step
    /// carried over midnight (the pump must hold it for that day too).
    public var stepsPerDay: [Int] {
        (0..<Int(cycle.seconds / 86_400)).map { day in
            let dayStart = Int64(day) * 86_400, dayEnd = dayStart + 86_400
            return steps.filter { $0.start < dayEnd && $0.start + $0.seconds > dayStart }.count
        }
    }

    /// The volume schedule the pump runs, for reservoir projection.
    public var deliverySchedule: DeliverySchedule {
        DeliverySchedule(cycle: cycle, steps: steps.map { .init(start: $0.start, rate: $0.setting.programmed) })
    }

    private func weightedAverage(_ value: (Step) -> Int64) -> Int64 {
        var total: Int64 = 0
        for step in steps { total = total.saturatingAdd(value(step).saturatingMultiply(step.seconds)) }
        return total / cycle.seconds
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

extension Int64 {
    func saturatingAdd(_ other: Int64) -> Int64 {
        let (value, overflow) = addingReportingOverflow(other)
        return overflow ? (other > 0 ? .max : .min) : value
    }

    func saturatingMultiply(_ other: Int64) -> Int64 {
        let (value, overflow) = multipliedReportingOverflow(by: other)
        return overflow ? ((self < 0) == (other < 0) ? .max : .min) : value
    }
}
