/// The volume rates a pump runs over a repeating cycle, anchored to the
/// pump's local midnight (Monday 00:00 for a weekly cycle).
public struct DeliverySchedule: Sendable, Equatable {
    public struct Step: Sendable, Equatable {
        public let start: Int64
        public let rate: VolumeRate
        public init(start: Int64, rate: VolumeRate) {
            self.start = start
            self.rate = rate
        }
    }

    public let cycle: ScheduleCycle
    /// In time order; the first starts at 0.
    public let steps: [Step]

    public init(cycle: ScheduleCycle, steps: [Step]) {
        self.cycle = cycle
        self.steps = steps
    }

    /// One rate all day.
    public static func continuous(_ rate: VolumeRate) -> DeliverySchedule {
        DeliverySchedule(cycle: .daily, steps: [.init(start: 0, rate: rate)])
    }

    /// Where `time` falls in the cycle, in seconds from its start.
    func cyclePosition(of time: PumpTime) -> Int64 {
        let local = time.localSeconds
        switch cycle {
        case .daily:
            return local.floorMod(86_400)
        case .weekly:
            // 1970-01-01 was a Thursday, day 3 counting from Monday.
            let days = local.floorDiv(86_400)
            return (days + 3).floorMod(7) * 86_400 + local.floorMod(86_400)
        }
    }
}

/// Worst-case patient bolus use for a projection: every allotted bolus of
/// each 24 h (counted from the projection's start) is taken at the start of
/// that 24 h. No pattern the pump allows drains the reservoir sooner.
public struct BolusAllowance: Sendable, Equatable {
    public let volumePerBolus: Volume
    public let maximumPer24h: Int

    public init(volumePerBolus: Volume, maximumPer24h: Int) {
        self.volumePerBolus = volumePerBolus
        self.maximumPer24h = maximumPer24h
    }
}

/// When the reservoir reaches the low-reservoir alarm threshold and when
/// it runs empty, computed in closed form per schedule step (no
/// per-second simulation), so the simulator can use the same function.
public struct ReservoirProjection: Sendable, Equatable {
    public let start: PumpTime
    /// Nil when the alarm is not reached within `horizon` (stopped pump).
    public let lowReservoirAlarm: PumpTime?
    public let empty: PumpTime?
    /// Whole days from start to the alarm, rounded down.
    public var daysToAlarm: Int64? { lowReservoirAlarm.map { ($0.utcSeconds - start.utcSeconds) / 86_400 } }

    /// Projections stop ten years out.
    public static let horizonSeconds: Int64 = 3_650 * 86_400

    /// Projects `reservoir` drained by `schedule` and worst-case boluses.
    public static func project(reservoir: Volume, from start: PumpTime, schedule: DeliverySchedule,
                               alarmThreshold: Volume, bolus: BolusAllowance? = nil) throws(ArithmeticError) -> ReservoirProjection {
        guard reservoir.baseValue >= 0, reservoir.baseValue <= 1_000_000_000_000 else { throw .outOfRange("the reservoir volume") }
        guard !schedule.steps.isEmpty, schedule.steps[0].start == 0,
              schedule.steps.allSatisfy({ $0.rate.baseValue >= 0 && $0.rate.baseValue <= 1_000_000_000_000 }) else {
            throw .outOfRange("the schedule")
        }
        let alarmTarget = max(0, reservoir.baseValue - max(0, alarmThreshold.baseValue))
        let alarm = try secondsToConsume(alarmTarget, from: start, schedule: schedule, bolus: bolus)
        let empty = try secondsToConsume(reservoir.baseValue, from: start, schedule: schedule, bolus: bolus)
        return ReservoirProjection(start: start,
                                   lowReservoirAlarm: alarm.flatMap { start.adding(seconds: $0) },
                                   empty: empty.flatMap { start.adding(seconds: $0) })
    }

    /// First second at which `target` nL has left the reservoir.
    ///
    /// Consumption is counted in nL x s/day (a rate in nL/day times seconds),
    /// so a step of r nL/day for d seconds uses exactly r x d units and a
    /// volume of V nL is V x 86400 units: no rounding until the final second.
    static func secondsToConsume(_ target: Int64, from start: PumpTime, schedule: DeliverySchedule,
                                 bolus: BolusAllowance?) throws(ArithmeticError) -> Int64? {
        guard target > 0 else { return 0 }
        let day: Int64 = 86_400
        let cycleLength = schedule.cycle.seconds
        guard let scaledTarget = Exact.multiply(target, day) else { throw .outOfRange("the reservoir volume") }
        var bolusPerDay: Int64 = 0
        if let bolus, bolus.maximumPer24h > 0, bolus.volumePerBolus.baseValue > 0 {
            guard let volume = Exact.multiply(bolus.volumePerBolus.baseValue, Int64(bolus.maximumPer24h)),
                  let scaled = Exact.multiply(volume, day) else { throw .outOfRange("the patient bolus allowance") }
            bolusPerDay = scaled
        }
        // Both patterns repeat every cycle (a cycle is whole days), so whole
        // cycles can be skipped in one step.
        var perCycle: Int64 = 0
        for (index, step) in schedule.steps.enumerated() {
            let end = index + 1 < schedule.steps.count ? schedule.steps[index + 1].start : cycleLength
            guard let used = Exact.multiply(step.rate.baseValue, end - step.start),
                  let sum = Exact.add(perCycle, used) else { throw .outOfRange("the schedule") }
            perCycle = sum
        }
        guard let bolusPerCycle = Exact.multiply(bolusPerDay, cycleLength / day),
              let total = Exact.add(perCycle, bolusPerCycle) else { throw .outOfRange("the schedule") }
        perCycle = total
        guard perCycle > 0 else { return nil }
        // k whole cycles use k x perCycle < target, so the crossing is later.
        let wholeCycles = (scaledTarget - 1) / perCycle
        guard let skipped = Exact.multiply(wholeCycles, cycleLength), skipped <= horizonSeconds else { return nil }
        var consumed = wholeCycles * perCycle
        var elapsed = skipped
        var position = (schedule.cyclePosition(of: start) + skipped).floorMod(cycleLength)
        var stepIndex = schedule.steps.lastIndex { $0.start <= position } ?? 0
        // At most one cycle plus one step of boundaries remain.
        let boundaryLimit = 2 * (schedule.steps.count + Int(cycleLength / day)) + 4
        for _ in 0..<boundaryLimit {
            if bolusPerDay > 0, elapsed % day == 0 {
                consumed += bolusPerDay
                if consumed >= scaledTarget { return elapsed }
            }
            let stepEnd = stepIndex + 1 < schedule.steps.count ? schedule.steps[stepIndex + 1].start : cycleLength
            var span = stepEnd - position
            if bolusPerDay > 0 { span = min(span, day - elapsed % day) }
            let rate = schedule.steps[stepIndex].rate.baseValue
            let need = scaledTarget - consumed
            if rate > 0, rate * span >= need {
                // Smallest whole second by which the need is met.
                let seconds = elapsed + (need + rate - 1) / rate
                return seconds <= horizonSeconds ? seconds : nil
            }
            consumed += rate * span
            elapsed += span
            position += span
            if position >= cycleLength { position -= cycleLength }
            if position >= stepEnd || stepEnd == cycleLength && position == 0 {
                stepIndex = position == 0 ? 0 : stepIndex + 1
            }
        }
        return nil
    }
}
