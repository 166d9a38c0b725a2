/// The physical pump on a simulated clock: reservoir, fluid line, motor,
/// battery and the alarms they raise.
///
/// Delivery is event-driven. Between two events (a schedule step boundary,
/// a bolus end, a reservoir or battery threshold, the end of the advance)
/// the volume rate is constant, so each interval is computed in closed form
/// in exact `FineVolume` units: a year of a 13-step flex schedule is a few
/// thousand intervals, never a tick per second.
public struct PumpMechanics: Codable, Sendable, Equatable {
    /// A bolus in progress: the rest of its volume and its rate.
    public struct Bolus: Codable, Sendable, Equatable {
        public enum Kind: String, Codable, Sendable {
            case therapeutic, bridge, prime, patient

            /// A bridge or priming bolus replaces the programmed rate while
            /// it runs: it is sized to move the line volume at its own rate
            /// (a bridge at the old daily dose), and the prescription takes
            /// over when it ends. Therapeutic and patient boluses run on top.
            public var replacesSchedule: Bool { self == .bridge || self == .prime }
        }
        public var kind: Kind
        public var remaining: FineVolume
        /// FineVolume units per second (nL/day), at least 1.
        public var rate: Int64
        public var commandID: UInt64?
        /// Drug this bolus has put into the patient so far, FineVolume
        /// units x ng/mL (its share of what left the tip).
        public var drugDelivered: Int128 = 0

        /// `drugDelivered` in whole ng.
        public var drugDeliveredNanograms: Int64 {
            Int64(clamping: drugDelivered / Int128(FineVolume.perNanolitre * 1_000_000))
        }
    }

    /// Something the mechanics noticed while advancing, for the event log.
    public enum Happening: Equatable, Sendable {
        case alarmRaised(SimulatedAlarm, at: Int64)
        case bolusFinished(Bolus.Kind, at: Int64, delivered: FineVolume)
        case bolusCut(Bolus.Kind, at: Int64, undelivered: FineVolume)
        /// The reservoir's fluid reached the catheter tip.
        case lineTurnedOver(at: Int64, concentration: Int64)
        /// What a bolus that ended (finished or cut) put into the patient, ng.
        case bolusDrug(at: Int64, nanograms: Int64)
    }

    /// After a drug change: the prescription of the drug still in the line,
    /// run at the tip until that drug has left it.
    public struct Outgoing: Codable, Sendable, Equatable {
        public var drug: UInt8
        /// ng/mL the outgoing schedule's volume rates are written for.
        public var concentration: Int64
        public var schedule: DeliverySchedule
        /// The outgoing prescription's canonical encoding, for the report.
        public var prescription: [UInt8]
    }

    /// True simulated time, UTC seconds: what delivery runs on.
    public var clock: Int64
    /// The pump's own clock minus true time, seconds: a drifting pump clock.
    /// Schedule steps follow the pump's clock, as on a real pump.
    public var clockError: Int64 = 0
    /// The pump's zone offset from UTC, seconds.
    public var zoneOffset: Int64
    public var reservoir: FineVolume
    /// ng/mL of what is in the reservoir.
    public var reservoirConcentration: Int64
    /// Wire drug code of what is in the reservoir.
    public var reservoirDrug: UInt8
    /// The prescription of another drug still in the line, after a drug change.
    public var outgoing: Outgoing?
    public var line: FluidLine
    public var schedule: DeliverySchedule
    public var infusionStopped: Bool
    public var bolus: Bolus?
    public var lowReservoirThreshold: FineVolume
    public var battery: BatteryModel
    public private(set) var alarms: Set<SimulatedAlarm>
    /// Everything that left the catheter tip, FineVolume units x ng/mL.
    public private(set) var deliveredDrug: Int128
    /// The same, by wire drug code.
    public private(set) var deliveredByDrug: [UInt8: Int128]
    public private(set) var pumpedVolume: FineVolume

    public init(
        clock: Int64, zoneOffset: Int64, reservoir: FineVolume, reservoirConcentration: Int64, reservoirDrug: UInt8 = 1,
        line: FluidLine, schedule: DeliverySchedule, lowReservoirThreshold: FineVolume, battery: BatteryModel = BatteryModel()
    ) {
        self.clock = clock
        self.zoneOffset = zoneOffset
        self.reservoir = reservoir
        self.reservoirConcentration = reservoirConcentration
        self.reservoirDrug = reservoirDrug
        outgoing = nil
        self.line = line
        self.schedule = schedule
        infusionStopped = false
        bolus = nil
        self.lowReservoirThreshold = lowReservoirThreshold
        self.battery = battery
        alarms = []
        deliveredDrug = 0
        deliveredByDrug = [:]
        pumpedVolume = .zero
        _ = refreshAlarms(at: clock)
    }

    /// Drug delivered to the patient, in whole ng (rounded down).
    public var deliveredNanograms: Int64 {
        Int64(deliveredDrug / Int128(FineVolume.perNanolitre * 1_000_000))
    }

    /// One drug's share of what was delivered, in whole ng (rounded down).
    public func deliveredNanograms(ofDrug drug: UInt8) -> Int64 {
        Int64((deliveredByDrug[drug] ?? 0) / Int128(FineVolume.perNanolitre * 1_000_000))
    }

    public var deliveryStopped: Bool { alarms.contains { $0.stopsDelivery } }

    /// The volume rate now, nL/day: schedule plus any bolus, or zero.
    public func currentRate(at time: Int64) -> (rate: Int64, until: Int64) {
        let rates = rates(at: time)
        return (rates.basal + rates.bolus, rates.until)
    }

    /// The schedule's share and the bolus's share of the rate now, and
    /// when either next changes. A bolus runs at its rate until its last
    /// second, which delivers only what is left.
    func rates(at time: Int64) -> (basal: Int64, bolus: Int64, until: Int64) {
        guard !deliveryStopped, reservoir.units > 0 else { return (0, 0, Int64.max) }
        let scheduleRuns = !infusionStopped && !(bolus?.kind.replacesSchedule ?? false)
        var (basal, until) = scheduleRuns ? tipRate(at: time) : (0, Int64.max)
        var bolusRate: Int64 = 0
        if let bolus {
            bolusRate = bolus.rate
            let end = time + (bolus.remaining.units + bolus.rate - 1) / bolus.rate
            until = min(until, end)
        }
        if !scheduleRuns { basal = 0 }
        return (basal, bolusRate, until)
    }

    /// The programmed rate now, delivered by dose at the catheter tip: the
    /// schedule is written for the reservoir's concentration, and while the
    /// tip still holds the same drug at another concentration (after a
    /// concentration change) the volume rate is scaled so that the patient
    /// receives the prescribed dose; while it holds another drug (after a
    /// drug change), that drug's outgoing prescription is run the same way.
    /// A line holding no drug is filled at the schedule's own rate.
    func tipRate(at time: Int64) -> (rate: Int64, until: Int64) {
        let pumpClockOffset = zoneOffset + clockError
        guard let tip = line.tip, !tip.holdsNoDrug, tip.concentration > 0 else {
            return schedule.segment(at: time, zoneOffset: pumpClockOffset)
        }
        if tip.drug == reservoirDrug {
            let (rate, until) = schedule.segment(at: time, zoneOffset: pumpClockOffset)
            return (Self.scaled(rate, from: reservoirConcentration, to: tip.concentration), until)
        }
        if let outgoing, tip.drug == outgoing.drug {
            let (rate, until) = outgoing.schedule.segment(at: time, zoneOffset: pumpClockOffset)
            return (Self.scaled(rate, from: outgoing.concentration, to: tip.concentration), until)
        }
        return schedule.segment(at: time, zoneOffset: pumpClockOffset)
    }

    /// A volume rate written for `from` ng/mL that delivers the same dose at
    /// `to` ng/mL, rounded to the nearest nL/day.
    static func scaled(_ rate: Int64, from: Int64, to: Int64) -> Int64 {
        guard from != to, to > 0 else { return rate }
        let product = Int128(rate) * Int128(from)
        return Int64(clamping: (product + Int128(to / 2)) / Int128(to))
    }

    /// Runs the pump until `target`, returning what happened on the way.
    public mutating func advance(to target: Int64) -> [Happening] {
        var intervals = 0
        return advance(to: target, intervals: &intervals)
    }

    /// `advance(to:)`, adding the number of closed-form intervals it took to
    /// `intervals` (for the benchmark).
    public mutating func advance(to target: Int64, intervals: inout Int) -> [Happening] {
        var happenings: [Happening] = []
        while clock < target {
            intervals += 1
            let (basalRate, bolusRate, scheduleUntil) = rates(at: clock)
            let rate = basalRate + bolusRate
            var until = min(target, scheduleUntil)
            // Thresholds ahead at this rate: low reservoir, empty, battery.
            if rate > 0 {
                let aboveLow = reservoir.units - lowReservoirThreshold.units
                if aboveLow > 0 && !alarms.contains(.lowReservoir) {
                    until = min(until, clock + (aboveLow + rate - 1) / rate)
                }
                until = min(until, clock + (reservoir.units + rate - 1) / rate)
                // The tip's contents change when its segment has left (to
                // the next segment, or to the reservoir's fluid coming in
                // behind a single one): the rate is figured from the tip,
                // so the interval ends there.
                if let tip = line.tip,
                   line.segments.count > 1 || tip.drug != reservoirDrug || tip.concentration != reservoirConcentration {
                    until = min(until, clock + (tip.volume.units + rate - 1) / rate)
                }
            }
            // The battery's next threshold, at this rate's drain (approximate
            // to the second: pumping cost is one charge unit per 10^6 FineVolume).
            let drainPerMegaSecond = 1_000_000 * BatteryModel.standbyPerSecond + rate
            for threshold in [BatteryModel.replacementReserve, 0] where battery.remaining > threshold {
                until = min(until, clock + max(1, (battery.remaining - threshold) * 1_000_000 / drainPerMegaSecond))
            }
            until = max(until, clock + 1)
            let seconds = until - clock
            // The bolus's share of this interval (its last second may hold
            // less than a full second's worth), then the schedule's.
            var bolusShare = FineVolume.zero
            if let running = bolus, bolusRate > 0 {
                bolusShare = min(running.remaining, FineVolume.delivered(rate: running.rate, seconds: seconds))
            }
            var pumped = FineVolume.delivered(rate: basalRate, seconds: seconds) + bolusShare
            pumped = min(pumped, reservoir)
            reservoir = reservoir - pumped
            pumpedVolume = pumpedVolume + pumped
            let tipBefore = line.tip
            let outflow = line.push(pumped, drug: reservoirDrug, concentration: reservoirConcentration)
            for (drug, amount) in outflow.byDrug {
                deliveredByDrug[drug, default: 0] += amount
                deliveredDrug += amount
            }
            if var running = bolus, bolusRate > 0 {
                let share = min(bolusShare, pumped)
                // The bolus's part of what left the tip, in proportion to its
                // part of what was pumped (both push the same line).
                if pumped.units > 0 {
                    running.drugDelivered += outflow.total * Int128(share.units) / Int128(pumped.units)
                }
                running.remaining = running.remaining - share
                if running.remaining.units == 0 {
                    happenings.append(.bolusFinished(running.kind, at: until, delivered: share))
                    happenings.append(.bolusDrug(at: until, nanograms: running.drugDeliveredNanograms))
                    bolus = nil
                } else {
                    bolus = running
                }
            }
            if let tip = line.tip, tipBefore.map({ $0.drug != tip.drug || $0.concentration != tip.concentration }) ?? false,
               tip.drug == reservoirDrug, tip.concentration == reservoirConcentration {
                happenings.append(.lineTurnedOver(at: until, concentration: tip.concentration))
            }
            if let outgoing, !line.holds(drug: outgoing.drug) { self.outgoing = nil }
            battery.drain(seconds: seconds, pumped: pumped)
            clock = until
            happenings += refreshAlarms(at: clock)
        }
        return happenings
    }

    /// Starts a bolus of `volume` over `duration` seconds. The caller has
    /// checked the pump's limits; this only refuses what cannot run at all.
    public mutating func startBolus(kind: Bolus.Kind, volume: FineVolume, duration: Int64, commandID: UInt64?) {
        // Rounded up, so the bolus never takes longer than its duration:
        // a lockout equal to the duration finds it ended.
        let rate = max(1, (volume.units + max(1, duration) - 1) / max(1, duration))
        bolus = Bolus(kind: kind, remaining: volume, rate: rate, commandID: commandID)
    }

    /// Cancels the bolus in progress, returning what it did not deliver.
    @discardableResult
    public mutating func cancelBolus() -> FineVolume? {
        defer { bolus = nil }
        return bolus?.remaining
    }

    /// Refill: the needle withdraws the residual completely and the new
    /// drug goes in, so the reservoir then holds what was added.
    public mutating func refill(added: FineVolume, concentration: Int64, drug: UInt8) {
        reservoir = added
        reservoirConcentration = concentration
        reservoirDrug = drug
        if let outgoing, !line.holds(drug: outgoing.drug) { self.outgoing = nil }
        alarms.remove(.lowReservoir)
        alarms.remove(.emptyReservoir)
        _ = refreshAlarms(at: clock)
    }

    /// Raises a fault alarm (motor stall, memory fault); one that stops
    /// delivery also cuts a bolus in progress.
    public mutating func raise(_ alarm: SimulatedAlarm) -> [Happening] {
        guard !alarms.contains(alarm) else { return [] }
        var happenings: [Happening] = []
        if alarm.stopsDelivery, let running = bolus {
            happenings.append(.bolusCut(running.kind, at: clock, undelivered: running.remaining))
            happenings.append(.bolusDrug(at: clock, nanograms: running.drugDeliveredNanograms))
            bolus = nil
        }
        alarms.insert(alarm)
        happenings.append(.alarmRaised(alarm, at: clock))
        return happenings
    }

    public mutating func clear(_ alarm: SimulatedAlarm) {
        alarms.remove(alarm)
    }

    /// Raises the alarms the reservoir and battery now call for.
    private mutating func refreshAlarms(at time: Int64) -> [Happening] {
        var happenings: [Happening] = []
        var raised: [SimulatedAlarm] = []
        if reservoir <= lowReservoirThreshold { raised.append(.lowReservoir) }
        if reservoir.units <= 0 { raised.append(.emptyReservoir) }
        if battery.electiveReplacement { raised.append(.electiveReplacement) }
        if battery.endOfService { raised.append(.endOfService) }
        for alarm in raised where !alarms.contains(alarm) {
            if alarm.stopsDelivery, let running = bolus {
                happenings.append(.bolusCut(running.kind, at: time, undelivered: running.remaining))
                happenings.append(.bolusDrug(at: time, nanograms: running.drugDeliveredNanograms))
                bolus = nil
            }
            alarms.insert(alarm)
            happenings.append(.alarmRaised(alarm, at: time))
        }
        return happenings
    }
}
