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

    /// Where `time` falls in the cycle, in seconds from its start. Any
    /// time, valid or not, gives a position in 0..<cycle length.
    func cyclePosition(of time: PumpTime) -> Int64 {
        switch cycle {
        case .daily:
            return time.localPosition(inCycleOf: 86_400, anchor: 0)
        case .weekly:
            // 1970-01-01 was a Thursday, day 3 counting from Monday: the
            // week's position is that of local time plus three days.
            return time.localPosition(inCycleOf: 604_800, anchor: 3 * 86_400)
        }
    }

    /// Steps that start at 0, in strictly increasing order, each inside
    /// the cycle: what the projection's arithmetic is bounded by.
    var isWellFormed: Bool {
        guard let first = steps.first, first.start == 0 else { return false }
        for (index, step) in steps.enumerated() {
            guard step.start >= 0, step.start < cycle.seconds else { return false }
            if index > 0, step.start <= steps[index - 1].start { return false }
        }
        return true
    }
}

/// Worst-case patient bolus use for a projection.
///
/// With a duration or a lockout given, this is the exact worst case a pump
/// allows: the patient presses as soon as the pump lets them, so the
/// allotted boluses of each 24 h (counted from the projection's start)
/// start at that window's start + i x max(lockout, bolus duration), and
/// each runs over its duration at the pump's bolus rate (volume x 86400 /
/// duration nL/day, rounded up, so it never takes longer than its
/// duration). Starting every bolus as early as allowed drains the
/// reservoir at least as fast as any other pattern, at every moment.
///
/// Without them (both zero), the day's boluses are all counted at once at
/// the start of each 24 h: more pessimistic than any pump allows, kept for
/// callers that know only the volume and the count.
public struct BolusAllowance: Sendable, Equatable {
    public let volumePerBolus: Volume
    public let maximumPer24h: Int
    /// How long one bolus runs; zero counts it as instantaneous.
    public let duration: Duration
    /// Shortest time from the start of one bolus to the start of the next.
    public let lockout: Duration

    public init(volumePerBolus: Volume, maximumPer24h: Int, duration: Duration = .seconds(0), lockout: Duration = .seconds(0)) {
        self.volumePerBolus = volumePerBolus
        self.maximumPer24h = maximumPer24h
        self.duration = duration
        self.lockout = lockout
    }

    /// True when boluses are spread as a pump spreads them.
    var isTimed: Bool { duration.baseValue > 0 || lockout.baseValue > 0 }
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
    public var daysToAlarm: Int64? {
        lowReservoirAlarm.flatMap { Exact.subtract($0.utcSeconds, start.utcSeconds) }.map { $0 / 86_400 }
    }

    /// Projections stop ten years out.
    public static let horizonSeconds: Int64 = 3_650 * 86_400

    /// Projects `reservoir` drained by `schedule` and worst-case boluses.
    public static func project(reservoir: Volume, from start: PumpTime, schedule: DeliverySchedule,
                               alarmThreshold: Volume, bolus: BolusAllowance? = nil) throws(ArithmeticError) -> ReservoirProjection {
        guard reservoir.baseValue >= 0, reservoir.baseValue <= 1_000_000_000_000 else { throw .outOfRange("the reservoir volume") }
        // These bounds keep every product below in 64 bits: a target of at
        // most 10^12 nL x 86400, rates of at most 10^12 nL/day over at most
        // a week of seconds.
        guard schedule.isWellFormed,
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
        if let bolus, bolus.isTimed, bolus.maximumPer24h > 0, bolus.volumePerBolus.baseValue > 0 {
            return try secondsToConsume(target, from: start, schedule: schedule, timedBolus: bolus)
        }
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
                // Compared with what is still needed, not added first: a
                // day's boluses may be near Int64.max units on their own.
                if bolusPerDay >= scaledTarget - consumed { return elapsed }
                consumed += bolusPerDay
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

    /// `secondsToConsume` with boluses spread as a pump allows (see
    /// `BolusAllowance`). Consumption is counted in nL x s/day, as above; a
    /// bolus of V nL is V x 86400 units run at rho = ceil(V x 86400 /
    /// duration) units a second, its last second delivering the rest. The
    /// answer is the first whole second at which `target` has left.
    static func secondsToConsume(_ target: Int64, from start: PumpTime, schedule: DeliverySchedule,
                                 timedBolus bolus: BolusAllowance) throws(ArithmeticError) -> Int64? {
        let day: Int64 = 86_400
        let cycleLength = schedule.cycle.seconds
        let count = Int64(bolus.maximumPer24h)
        guard let scaledTarget = Exact.multiply(target, day) else { throw .outOfRange("the reservoir volume") }
        // A bolus of at most 1 L (10^9 nL) is 8.64 x 10^13 units, and its
        // rate at most that per second: with a day's span at most, the
        // products below stay under 7.5 x 10^18.
        guard bolus.volumePerBolus.baseValue <= 1_000_000_000, count <= 1_000, bolus.duration.baseValue >= 0,
              bolus.lockout.baseValue >= 0, let units = Exact.multiply(bolus.volumePerBolus.baseValue, day)
        else { throw .outOfRange("the patient bolus allowance") }
        // Rounded up without `units + duration - 1`, which overflows for a huge duration.
        guard let bolusRate = bolus.duration.baseValue > 0 ? Exact.divideRoundingUp(units, bolus.duration.baseValue) : units,
              let runTime = Exact.divideRoundingUp(units, bolusRate) else {
            throw .outOfRange("the patient bolus allowance")
        }
        let spacing = max(bolus.lockout.baseValue, runTime)
        // The pump grants the next press only when the previous bolus has
        // ended and the lockout has passed; when the day's boluses do not fit
        // in 24 h the pattern is not daily, and no pump profile allows that.
        guard let busy = Exact.multiply(count, spacing), busy <= day else {
            throw .outOfRange("the patient bolus allowance (\(count) boluses every \(spacing) s take more than 24 h)")
        }
        var perCycle: Int64 = 0
        for (index, step) in schedule.steps.enumerated() {
            let end = index + 1 < schedule.steps.count ? schedule.steps[index + 1].start : cycleLength
            guard let used = Exact.multiply(step.rate.baseValue, end - step.start),
                  let sum = Exact.add(perCycle, used) else { throw .outOfRange("the schedule") }
            perCycle = sum
        }
        // Every bolus ends inside its own 24 h, so a cycle (whole days) holds
        // exactly count x days boluses.
        guard let perDay = Exact.multiply(units, count), let perCycleBolus = Exact.multiply(perDay, cycleLength / day),
              let total = Exact.add(perCycle, perCycleBolus) else { throw .outOfRange("the schedule") }
        perCycle = total
        guard perCycle > 0 else { return nil }
        let wholeCycles = (scaledTarget - 1) / perCycle
        guard let skipped = Exact.multiply(wholeCycles, cycleLength), skipped <= horizonSeconds else { return nil }
        var consumed = wholeCycles * perCycle
        var elapsed = skipped
        var position = (schedule.cyclePosition(of: start) + skipped).floorMod(cycleLength)
        var stepIndex = schedule.steps.lastIndex { $0.start <= position } ?? 0
        var nextPress: Int64 = 0
        var bolusLeft: Int64 = 0
        // At most one cycle remains: its step boundaries, and per day the
        // day's start, each press and each bolus end.
        let days = Int(cycleLength / day) + 1
        let boundaryLimit = 2 * (schedule.steps.count + 1) * days + days * (2 * Int(count) + 2) + 8
        for _ in 0..<boundaryLimit {
            let dayOffset = elapsed % day
            if dayOffset == 0 { nextPress = 0 }
            if nextPress < count, dayOffset == nextPress * spacing {
                bolusLeft = units
                nextPress += 1
            }
            let stepEnd = stepIndex + 1 < schedule.steps.count ? schedule.steps[stepIndex + 1].start : cycleLength
            var span = min(stepEnd - position, day - dayOffset)
            if nextPress < count { span = min(span, nextPress * spacing - dayOffset) }
            if bolusLeft > 0 { span = min(span, (bolusLeft + bolusRate - 1) / bolusRate) }
            let basal = schedule.steps[stepIndex].rate.baseValue
            let running = bolusLeft > 0 ? bolusRate : 0
            let bolusUsed = min(bolusLeft, running * span)
            let used = basal * span + bolusUsed
            let need = scaledTarget - consumed
            if used >= need {
                // Linear at basal + rho up to the span's last second, which
                // alone may deliver less: the smallest whole second is exact.
                let seconds = elapsed + min(span, (need + basal + running - 1) / (basal + running))
                return seconds <= horizonSeconds ? seconds : nil
            }
            consumed += used
            bolusLeft -= bolusUsed
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
