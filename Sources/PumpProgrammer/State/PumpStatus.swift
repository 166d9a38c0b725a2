import Foundation
import Therapy
import WandProtocol

/// What interrogation tells the technician, as typed values.
///
/// Every decision the pipeline takes reads these fields (the infusion
/// state, the alarms, the prescription hash, the pump's clock); strings
/// are made only when the status is rendered, here for the JSON contract
/// and in pumpctl for people.
public struct PumpStatus: Sendable, Encodable {
    public struct Alarm: Sendable, Encodable, Equatable {
        public var alarm: PumpAlarm
        /// Whether this alarm means the pump is not delivering.
        public var stopsDelivery: Bool

        public var code: UInt16 { alarm.rawValue }
        public var name: String { alarm.description }

        enum CodingKeys: String, CodingKey { case code, name, stopsDelivery }

        public func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(code, forKey: .code)
            try container.encode(name, forKey: .name)
            try container.encode(stopsDelivery, forKey: .stopsDelivery)
        }
    }

    public var simulated: Bool
    public var serial: String
    /// The reference pump the reported capacity matches; nil when none does.
    public var profile: PumpProfile?
    public var firmware: String
    /// Pump clock, with the pump's zone offset.
    public var clock: PumpTime
    /// Pump clock minus host clock, seconds (positive: the pump is ahead).
    public var clockDriftSeconds: Int64
    public var battery: BatteryState
    public var batteryMillivolts: Int
    /// Alarms that stop delivery first.
    public var alarms: [Alarm]
    public var concentration: Concentration
    public var infusion: InfusionState
    /// What the pump delivers per day on average (zero when stopped).
    public var dailyDose: DoseRate
    public var rate: VolumeRate
    public var reservoirVolume: Volume
    public var reservoirCapacity: Volume
    public var lowReservoirThreshold: Volume
    public var prescriptionHash: PrescriptionHash
    public var stagedHash: PrescriptionHash?
    public var lastChange: PumpTime
    /// When the pump will sound its low-reservoir alarm at its programmed
    /// rates (nil when it will not within ten years, e.g. stopped).
    public var lowReservoirAlarmDate: PumpTime?
    /// The latest day to refill: when the reservoir reaches the alarm
    /// threshold if the patient takes every allotted bolus.
    public var refillDate: PumpTime?
    public var daysToAlarm: Int64?
    /// A command of this pump whose outcome is still unknown.
    public var unresolvedCommand: PendingCommand?
    /// The prescription as the pump holds it, in Therapy's terms.
    public var prescription: Prescription
    /// The prescription exactly as the pump stores it.
    public var wirePrescription: WirePrescription
    /// What the line holds, tip first, as the pump reports it.
    public var fluidPath: FluidPath
    /// After a drug change: the prescription the pump runs for the old drug
    /// still in the line, until it has left the tip.
    public var outgoingPrescription: Prescription?
    /// The outgoing prescription exactly as the pump stores it.
    public var outgoingWire: WirePrescription?
    /// A bolus running now: its kind, the volume still to go and how long.
    public var bolusInProgress: WireFluidPath.BolusInProgress?
    /// The drug library's unit for this drug's doses, when a library was at
    /// hand; otherwise the drug's own (morphine in mg).
    public var libraryDoseUnit: QuantityUnit<MassDimension>? = nil

    /// The unit doses of the pump's drug are shown in, on every screen and report.
    public var doseUnit: QuantityUnit<MassDimension> { libraryDoseUnit ?? drug.defaultDoseUnit }
    public var doseRateUnit: QuantityUnit<DoseRateDimension> { doseUnit == .mg ? .mgPerDay : .mcgPerDay }
    public var concentrationUnit: QuantityUnit<ConcentrationDimension> { doseUnit == .mg ? .mgPerML : .mcgPerML }
    /// The drug's display units, for every screen and report.
    public var units: DisplayUnits { DisplayUnits(mass: doseUnit) }

    /// Each flex step as the pump runs it (start, dose rate, volume rate); empty unless flex.
    public var steps: [ScheduleStep] {
        guard case .flex(let schedule) = prescription.mode else { return [] }
        return zip(schedule.steps, wirePrescription.steps).map { step, wire in
            ScheduleStep(start: step.startText(cycle: schedule.cycle), doseRate: step.doseRate,
                         rate: .nLPerDay(Int64(wire.volumeRateNanolitresPerDay)))
        }
    }

    /// A flex step for the screen and the JSON contract.
    public struct ScheduleStep: Sendable, Equatable {
        public var start: String
        public var doseRate: DoseRate
        public var rate: VolumeRate
    }

    public var drug: Drug { prescription.drug }
    public var model: String { profile?.model ?? "unknown" }
    /// After an abandoned refill (alarm 0x0008) the reported volume is an
    /// estimate of a reservoir that may have been emptied: shown as unknown.
    public var reservoirContentsUnknown: Bool { alarms.contains { $0.alarm == .refillAbandoned } }

    /// An alarm that stops delivery, if one is active.
    public var deliveryStoppingAlarm: Alarm? { alarms.first(where: \.stopsDelivery) }

    enum CodingKeys: String, CodingKey {
        case simulated, serial, model, firmware, clock, clockDriftSeconds, battery, batteryMillivolts, alarms, drug
        case concentration, mode, infusion, dailyDose, rate, reservoirVolume, reservoirCapacity, lowReservoirThreshold
        case prescriptionHash, stagedHash, lastChange, lowReservoirAlarmDate, refillDate, daysToAlarm, unresolvedCommand
        case reservoirContentsUnknown
        case steps, patientBolus
        case notDelivering, prescribedDailyDose, line, lineTransition
    }

    private struct NotDeliveringJSON: Encodable {
        var reason: String
        var sentence: String
    }

    private struct SegmentJSON: Encodable {
        var volume: QuantityValue
        var drug: String?
        var concentration: QuantityValue?

        // A segment without drug says so (`null`), never by a missing key:
        // docs/schemas/interrogate.json requires every key.
        func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(volume, forKey: .volume)
            try container.encode(drug, forKey: .drug)
            try container.encode(concentration, forKey: .concentration)
        }

        enum CodingKeys: String, CodingKey { case volume, drug, concentration }
    }

    private struct LineJSON: Encodable {
        var pathway: QuantityValue
        var catheter: QuantityValue
        var segments: [SegmentJSON]
    }

    private struct TransitionJSON: Encodable {
        var ahead: QuantityValue
        var reservoirDrugArrives: String?
        /// After a drug change: the drug the patient receives now, from the line.
        var nowDelivering: NowJSON?

        // No arrival time (nothing delivered) and no drug from the line are
        // `null`, as the schema requires, never a missing key.
        func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(ahead, forKey: .ahead)
            try container.encode(reservoirDrugArrives, forKey: .reservoirDrugArrives)
            try container.encode(nowDelivering, forKey: .nowDelivering)
        }

        enum CodingKeys: String, CodingKey { case ahead, reservoirDrugArrives, nowDelivering }
    }

    private struct NowJSON: Encodable {
        var drug: String
        var dailyDose: QuantityValue
    }

    private struct StepJSON: Encodable {
        var start: String
        var doseRate: QuantityValue
        var rate: QuantityValue
    }

    private struct PatientBolusJSON: Encodable {
        var dose: QuantityValue
        var duration: Duration
        var lockout: Duration
        var maximumPer24h: Int

        enum CodingKeys: String, CodingKey {
            case dose, duration, lockout
            case maximumPer24h = "max_per_24h"
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(simulated, forKey: .simulated)
        try container.encode(serial, forKey: .serial)
        try container.encode(model, forKey: .model)
        try container.encode(firmware, forKey: .firmware)
        try container.encode(clock.iso8601, forKey: .clock)
        try container.encode(clockDriftSeconds, forKey: .clockDriftSeconds)
        try container.encode(Self.batteryName(battery), forKey: .battery)
        try container.encode(batteryMillivolts, forKey: .batteryMillivolts)
        try container.encode(alarms, forKey: .alarms)
        try container.encode(drug.rawValue, forKey: .drug)
        try container.encode(concentration.valueAndUnit(in: concentrationUnit), forKey: .concentration)
        try container.encode(prescription.mode.name, forKey: .mode)
        try container.encode(Self.infusionName(infusion), forKey: .infusion)
        try container.encode(dailyDose.valueAndUnit(in: doseRateUnit), forKey: .dailyDose)
        try container.encode(rate, forKey: .rate)
        try container.encode(reservoirVolume, forKey: .reservoirVolume)
        try container.encode(reservoirCapacity, forKey: .reservoirCapacity)
        try container.encode(lowReservoirThreshold, forKey: .lowReservoirThreshold)
        try container.encode(prescriptionHash.description, forKey: .prescriptionHash)
        try container.encode(stagedHash?.description, forKey: .stagedHash)
        try container.encode(lastChange.iso8601, forKey: .lastChange)
        try container.encode(lowReservoirAlarmDate?.iso8601, forKey: .lowReservoirAlarmDate)
        try container.encode(refillDate?.iso8601, forKey: .refillDate)
        try container.encode(daysToAlarm, forKey: .daysToAlarm)
        try container.encode(reservoirContentsUnknown, forKey: .reservoirContentsUnknown)
        try container.encode(unresolvedCommand, forKey: .unresolvedCommand)
        try container.encode(steps.map { StepJSON(start: $0.start, doseRate: $0.doseRate.valueAndUnit(in: doseRateUnit),
                                                  rate: $0.rate.valueAndUnit()) }, forKey: .steps)
        try container.encode(prescription.patientBolus.map {
            PatientBolusJSON(dose: $0.dose.valueAndUnit(in: doseUnit), duration: $0.duration, lockout: $0.lockout,
                             maximumPer24h: $0.maximumPer24h)
        }, forKey: .patientBolus)
        try container.encode(notDelivering.map { NotDeliveringJSON(reason: $0.code, sentence: Self.notDeliveringSentence($0)) },
                             forKey: .notDelivering)
        try container.encode(prescribedDailyDose.valueAndUnit(in: doseRateUnit), forKey: .prescribedDailyDose)
        try container.encode(LineJSON(
            pathway: fluidPath.pathway.valueAndUnit(), catheter: fluidPath.catheter.valueAndUnit(),
            segments: fluidPath.segments.map { segment in
                switch segment.contents {
                case .noDrug: return SegmentJSON(volume: segment.volume.valueAndUnit(), drug: nil, concentration: nil)
                case let .drug(drug, held):
                    return SegmentJSON(volume: segment.volume.valueAndUnit(), drug: drug.rawValue,
                                       concentration: held.valueAndUnit(in: DisplayUnits.of(drug, policy: nil).concentration))
                }
            }), forKey: .line)
        try container.encode(lineTransition.map {
            TransitionJSON(ahead: fluidPath.volumeAhead(of: reservoirContents).valueAndUnit(),
                           reservoirDrugArrives: $0.reservoirDrugArrives?.iso8601,
                           nowDelivering: deliveringFromTheLine.map { line in
                               NowJSON(drug: line.drug.rawValue,
                                       dailyDose: line.dailyDose.valueAndUnit(in: DisplayUnits.of(line.drug, policy: nil).mass == .mg ? .mgPerDay : .mcgPerDay))
                           })
        }, forKey: .lineTransition)
    }

    /// The pump pathway plus the catheter, as the pump records them: what
    /// still holds the drug already on its way to the patient.
    public var lineVolume: Volume { fluidPath.volume }

    /// This computer's clock when the pump was read, in the pump's zone:
    /// true time, which every window and projected date is judged in.
    public var hostClock: PumpTime { clock.adding(seconds: -clockDriftSeconds) ?? clock }

    /// The drugs that reach the patient, the line's first: after a drug
    /// change the old drug still in the line, then the reservoir's.
    public var drugsReachingThePatient: [Drug] {
        var drugs: [Drug] = []
        for segment in fluidPath.segments {
            if let drug = segment.contents.drug, !drugs.contains(drug) { drugs.append(drug) }
        }
        if !drugs.contains(drug) { drugs.append(drug) }
        return drugs
    }

    /// After a drug change, while the line's old drug is at the tip: that
    /// drug and the daily dose the pump gives of it (its outgoing prescription).
    public var deliveringFromTheLine: (drug: Drug, dailyDose: DoseRate)? {
        guard let tip = fluidPath.tip?.drug, tip != drug, let wire = outgoingWire,
              wire.drug.rawValue == tip.wireCode else { return nil }
        return (tip, Self.deliveredDailyDose(of: wire))
    }

    /// The strongest concentration of the reservoir's drug in the line or
    /// the reservoir: a bolus still running is counted at it (what it
    /// pushes out of the line may be stronger than what it draws in).
    public var strongestConcentration: Concentration {
        fluidPath.segments.reduce(concentration) { strongest, segment in
            if case .drug(let held, let at) = segment.contents, held == drug, at > strongest { return at }
            return strongest
        }
    }

    /// The reservoir's contents, as fluid path contents.
    public var reservoirContents: FluidPath.Contents { .drug(drug, concentration) }

    /// What still reaches the patient before the reservoir's drug does:
    /// nil when the line holds the reservoir's fluid throughout.
    public var lineTransition: LineTransition? {
        let ahead = fluidPath.ahead(of: reservoirContents)
        guard !ahead.isEmpty else { return nil }
        return LineTransition(ahead: ahead, status: self)
    }

    /// The names of the JSON contract (`infusion` and `battery` keys): lowercase
    /// words; screens emphasise them in pumpctl.
    public static func infusionName(_ state: InfusionState) -> String {
        switch state {
        case .infusing: return "infusing"
        case .stopped: return "stopped"
        case .bolusInProgress: return "bolus in progress"
        case .refillInProgress: return "refill in progress"
        }
    }

    public static func batteryName(_ state: BatteryState) -> String {
        switch state {
        case .ok: return "ok"
        case .electiveReplacement: return "elective replacement indicator (replace within 90 days)"
        case .endOfService: return "end of service"
        }
    }
}

extension PumpStatus {
    /// Builds the status from an interrogate report, checked by Therapy.
    public init(report: InterrogateReport, hostNow: Date, simulated: Bool, unresolved: PendingCommand?) throws(ProgrammerError) {
        let prescription = try WirePrescriptionMapping.therapy(report.prescription)
        let outgoing = try report.fluidPath.outgoingPrescription.map { wire throws(ProgrammerError) in
            try WirePrescriptionMapping.therapy(wire)
        }
        let fluidPath = Self.fluidPath(of: report.fluidPath)
        let profile = PumpProfile.referencePumps.first { $0.capacity.baseValue == Int64(report.reservoirCapacityNanolitres) }
        let offset = Int(report.clock.zoneOffsetMinutes)
        guard let time = (try? PumpTime(checkedUTCSeconds: report.clock.utcSeconds, offsetMinutes: offset)),
              let lastChange = (try? PumpTime(checkedUTCSeconds: report.lastChangeUTCSeconds, offsetMinutes: offset)) else {
            throw .deviceFault("the pump reported a clock or last-change time outside any real date")
        }
        let host = Int64(hostNow.timeIntervalSince1970.rounded(.down))
        let (drift, driftOverflow) = time.utcSeconds.subtractingReportingOverflow(host)
        guard !driftOverflow else { throw .deviceFault("the pump's clock is outside any real date") }
        let schedule = Self.schedule(of: report.prescription)
        let stopped = report.infusionState == .stopped || report.prescription.mode == .stopped
        let threshold = Volume.nL(Int64(report.lowReservoirThresholdNanolitres))
        let reservoir = Volume.nL(Int64(report.reservoirVolumeNanolitres))
        // Projected from what the reservoir will really hold: a running
        // bolus takes its remaining volume first, and while the line still
        // holds a weaker fluid the pump runs faster than the schedule
        // (delivery by dose at the tip), draining the extra volume.
        let concentration = Concentration(baseValue: Int64(report.reservoirConcentrationNanogramsPerMillilitre))
        let extraDrain = Self.extraDrain(line: fluidPath, reservoir: .drug(prescription.drug, concentration),
                                         prescription: report.prescription, outgoing: report.fluidPath.outgoingPrescription)
        // Both are bounded by the wire's UInt32 volumes: the sum cannot overflow.
        let committed = Int64(report.fluidPath.bolus?.remainingNanolitres ?? 0) + extraDrain
        let projected = Volume.nL(max(0, reservoir.baseValue - committed))
        var alarmDate: PumpTime?
        var refillDate: PumpTime?
        var daysToAlarm: Int64?
        // After an abandoned refill the reported volume is the pump's
        // pre-refill estimate of a reservoir that may be empty: no date is
        // projected from it (PROTOCOL.md 5, refill time limit).
        let reservoirUnknown = report.activeAlarms.contains(.refillAbandoned)
        if !stopped, !reservoirUnknown {
            if let projection = try? ReservoirProjection.project(reservoir: projected, from: time, schedule: schedule, alarmThreshold: threshold) {
                // Projected on the pump's clock (its schedule steps follow
                // it), shown in true time: a pump clock a week ahead must
                // not move the scheduler's date a week later.
                alarmDate = projection.lowReservoirAlarm?.adding(seconds: -drift)
                daysToAlarm = projection.daysToAlarm
            }
            let allowance = report.prescription.patientBolus.map {
                BolusAllowance(volumePerBolus: .nL(Int64($0.volumeNanolitres)), maximumPer24h: Int($0.maximumPer24Hours),
                               duration: .seconds(Int64($0.durationSeconds)), lockout: .seconds(Int64($0.lockoutSeconds)))
            }
            if let allowance,
               let worst = try? ReservoirProjection.project(reservoir: projected, from: time, schedule: schedule, alarmThreshold: threshold, bolus: allowance) {
                refillDate = worst.lowReservoirAlarm?.adding(seconds: -drift)
            } else {
                refillDate = alarmDate
            }
        }
        let dailyVolume = Self.averageVolumeRate(of: report.prescription)
        let dailyDose = DoseArithmetic.doseRate(of: dailyVolume, at: prescription.concentration) ?? .zero
        self.init(
            simulated: simulated, serial: report.serial, profile: profile,
            firmware: "\(report.firmwareMajor).\(report.firmwareMinor).\(report.firmwarePatch)",
            clock: time, clockDriftSeconds: drift,
            battery: report.batteryState, batteryMillivolts: Int(report.batteryMillivolts),
            alarms: report.activeAlarms.map { Alarm(alarm: $0, stopsDelivery: Self.stopsDelivery($0)) }
                .sorted { $0.stopsDelivery && !$1.stopsDelivery },
            concentration: .init(baseValue: Int64(report.reservoirConcentrationNanogramsPerMillilitre)),
            infusion: report.infusionState,
            dailyDose: stopped ? .zero : dailyDose, rate: stopped ? .zero : dailyVolume,
            reservoirVolume: reservoir, reservoirCapacity: .nL(Int64(report.reservoirCapacityNanolitres)),
            lowReservoirThreshold: threshold, prescriptionHash: report.prescriptionHash,
            stagedHash: report.stagedHash, lastChange: lastChange,
            lowReservoirAlarmDate: alarmDate, refillDate: refillDate, daysToAlarm: daysToAlarm,
            unresolvedCommand: unresolved, prescription: prescription, wirePrescription: report.prescription,
            fluidPath: fluidPath, outgoingPrescription: outgoing, outgoingWire: report.fluidPath.outgoingPrescription,
            bolusInProgress: report.fluidPath.bolus)
    }

    /// The volume the pump drains beyond its schedule while the line's old
    /// fluid leaves by dose at the tip: a weaker concentration of the same
    /// drug, or another drug at its outgoing prescription, is pumped faster
    /// than the schedule alone would pump in the same time.
    static func extraDrain(line: FluidPath, reservoir: FluidPath.Contents, prescription: WirePrescription,
                           outgoing: WirePrescription?) -> Int64 {
        let rate = averageVolumeRate(of: prescription)
        guard rate.baseValue > 0 else { return 0 }
        let transition = LineTransition.figure(
            ahead: line.ahead(of: reservoir), reservoir: reservoir, dose: deliveredDailyDose(of: prescription),
            outgoingDose: outgoing.map(deliveredDailyDose(of:)), volumeRate: rate, from: PumpTime(utcSeconds: 0))
        return transition.extraDrain(volumeRate: rate)
    }

    /// The fluid path in Therapy's terms.
    static func fluidPath(of wire: WireFluidPath) -> FluidPath {
        FluidPath(
            segments: wire.segments.map { segment in
                let contents: FluidPath.Contents
                switch segment.contents {
                case .noDrug:
                    contents = .noDrug
                case let .drug(drug, concentration):
                    // Every wire drug code has a Therapy drug (WireDrug and Drug list the same three).
                    contents = Drug(wireCode: drug.rawValue).map { .drug($0, Concentration(baseValue: Int64(concentration))) } ?? .noDrug
                }
                return FluidPath.Segment(volume: .nL(Int64(segment.volumeNanolitres)), contents: contents)
            },
            pathway: .nL(Int64(wire.pathwayNanolitres)), catheter: .nL(Int64(wire.catheterNanolitres)))
    }



    /// The volume schedule the pump runs, in Therapy's terms.
    static func schedule(of wire: WirePrescription) -> DeliverySchedule {
        switch wire.mode {
        case .stopped:
            return .continuous(.zero)
        case .continuous, .minimumRate:
            return .continuous(.nLPerDay(Int64(wire.continuousVolumeRateNanolitresPerDay)))
        case .flex:
            return DeliverySchedule(
                cycle: wire.cycle == .weekly ? .weekly : .daily,
                steps: wire.steps.map { .init(start: Int64($0.startMinute) * 60, rate: .nLPerDay(Int64($0.volumeRateNanolitresPerDay))) })
        }
    }

    static func averageVolumeRate(of wire: WirePrescription) -> VolumeRate {
        switch wire.mode {
        case .stopped: return .zero
        case .continuous, .minimumRate: return .nLPerDay(Int64(wire.continuousVolumeRateNanolitresPerDay))
        case .flex:
            // Rates are UInt32 and minutes at most a week's, so the sum fits Int64.
            let cycle = Int64((wire.cycle ?? .daily).minutes)
            var total: Int64 = 0
            for (index, step) in wire.steps.enumerated() {
                let end = index + 1 < wire.steps.count ? Int64(wire.steps[index + 1].startMinute) : cycle
                total += Int64(step.volumeRateNanolitresPerDay) * max(0, end - Int64(step.startMinute))
            }
            return .nLPerDay(cycle > 0 ? total / cycle : 0)
        }
    }

    /// The daily dose the pump delivers by its own figures (the dose fields
    /// it stores beside each rate), averaged over the cycle: what a new
    /// prescription's delivered dose is compared with.
    static func deliveredDailyDose(of wire: WirePrescription) -> DoseRate {
        switch wire.mode {
        case .stopped, .minimumRate: return .zero
        case .continuous: return DoseRate(baseValue: Int64(wire.continuousDoseRateNanogramsPerDay))
        case .flex:
            let cycle = Int64((wire.cycle ?? .daily).minutes)
            var total: Int64 = 0
            for (index, step) in wire.steps.enumerated() {
                let end = index + 1 < wire.steps.count ? Int64(wire.steps[index + 1].startMinute) : cycle
                total += Int64(step.doseRateNanogramsPerDay) * max(0, end - Int64(step.startMinute))
            }
            return DoseRate(baseValue: cycle > 0 ? total / cycle : 0)
        }
    }

    static func stopsDelivery(_ alarm: PumpAlarm) -> Bool {
        switch alarm {
        case .lowReservoir, .electiveReplacement: return false
        // The pump runs again after an abandoned refill (PROTOCOL.md 5):
        // it IS delivering, from a reservoir that may have been emptied
        // with nothing added. That is `reservoirContentsUnknown`, which
        // withholds the alarm date; calling it "not delivering" would
        // tell the technician the opposite of what the pump does.
        case .refillAbandoned: return false
        // Unknown codes count as stopping delivery: the safe assumption.
        default: return true
        }
    }
}

extension PumpStatus {
    /// Why a pump is not delivering.
    public enum NotDelivering: Sendable, Equatable {
        case alarm(PumpAlarm)
        case stopped
        case refillInProgress
        /// The catheter tip holds no drug (after an implant or a catheter
        /// replacement): the pump runs but delivers nothing until primed.
        case lineHoldsNoDrug(primeVolume: Volume)

        /// A stable name for scripts (the JSON contract).
        public var code: String {
            switch self {
            case .alarm: "alarm"
            case .stopped: "stopped"
            case .refillInProgress: "refill-in-progress"
            case .lineHoldsNoDrug: "line-holds-no-drug"
            }
        }
    }

    /// What the prescription in the pump prescribes per day (its average),
    /// whether or not the pump delivers it now.
    public var prescribedDailyDose: DoseRate { Self.deliveredDailyDose(of: wirePrescription) }

    /// The volume per day the prescription in the pump programs (its
    /// average), whether or not the pump delivers it now.
    public var prescribedRate: VolumeRate { Self.averageVolumeRate(of: wirePrescription) }

    /// Set when the pump is not delivering: then it has no alarm date to
    /// give, and saying none is due would tell the scheduler no refill is
    /// needed.
    public var notDelivering: NotDelivering? {
        if let alarm = deliveryStoppingAlarm { return .alarm(alarm.alarm) }
        switch infusion {
        case .stopped: return .stopped
        case .refillInProgress: return .refillInProgress
        case .infusing, .bolusInProgress: break
        }
        if prescription.mode == .stopped { return .stopped }
        if fluidPath.tipHoldsNoDrug { return .lineHoldsNoDrug(primeVolume: fluidPath.primeVolume) }
        return nil
    }

    /// What to do about a pump that does not deliver, for the screen and the
    /// report: the reason, the prescribed dose the patient is not getting,
    /// and for baclofen the withdrawal warning.
    public var notDeliveringAdvice: [String] {
        guard let reason = notDelivering else { return [] }
        var lines: [String] = []
        let prescribed = prescribedDailyDose
        if let line = deliveringFromTheLine {
            lines.append("The patient is not receiving the \(Shown.doseRate(line.dailyDose, drug: line.drug)) of \(line.drug.rawValue) still in the line (after the drug change), nor later the prescribed \(Shown.doseRate(prescribed, drug: drug)) of \(drug.rawValue).")
        } else if prescribed.baseValue > 0 {
            lines.append("The patient is not receiving the prescribed \(Shown.doseRate(prescribed, drug: drug)) of \(drug.rawValue).")
        }
        switch reason {
        case .alarm(let alarm):
            switch alarm {
            case .emptyReservoir: lines.append("What to do: refill the pump now (pumpctl refill).")
            case .endOfService: lines.append("What to do: the battery is spent and the pump will not deliver again; arrange the pump replacement now.")
            case .refillAbandoned: lines.append("What to do: a refill was left open and the pump ended it, resuming delivery as it was before the refill; the residual may have been withdrawn with nothing added, so the reservoir may be EMPTY and the volume shown is not known. Refill now (pumpctl refill): withdraw and measure the residual, then add the new drug.")
            case .motorStall, .memoryFault: lines.append("What to do: the pump has a fault and cannot deliver; contact the implanting physician and the manufacturer now, and cover the drug by another route.")
            default: lines.append("What to do: read the alarm in the pump's manual and act on it now.")
            }
        case .stopped:
            lines.append("What to do: if the stop was not intended, resume infusion (pumpctl resume) or program a prescription.")
        case .refillInProgress:
            lines.append("What to do: finish the refill (pumpctl refill) or cancel it (pumpctl refill --cancel); delivery is paused until then.")
        case .lineHoldsNoDrug(let volume):
            lines.append("What to do: prime the line (pumpctl bolus --kind prime): \(Shown.volume(volume)) of it holds no drug.")
        }
        if drugsReachingThePatient.contains(.baclofen) {
            lines.append("WITHDRAWAL WARNING: intrathecal baclofen that stops abruptly can cause high fever, altered mental status, rebound spasticity and muscle rigidity, and can be fatal. Watch the patient and give oral baclofen cover until delivery resumes.")
        }
        return lines
    }

    public static func notDeliveringSentence(_ reason: NotDelivering) -> String {
        switch reason {
        case .alarm(let alarm): return "The pump is NOT DELIVERING (\(alarm.description)): no alarm date can be given. Act now."
        case .stopped: return "The pump is NOT DELIVERING (infusion stopped): no alarm date can be given."
        case .refillInProgress: return "The pump is NOT DELIVERING (refill in progress): finish or cancel the refill."
        case .lineHoldsNoDrug: return "The pump is NOT DELIVERING DRUG (the catheter tip holds no drug until the line is primed): no alarm date can be given."
        }
    }

    /// The headline for a pump that delivers from a reservoir whose
    /// contents are unknown (alarm 0x0008, an abandoned refill).
    public static let reservoirUnknownSentence =
        "The pump is DELIVERING, BUT THE RESERVOIR MAY BE EMPTY (refill abandoned: reservoir contents unknown): REFILL NOW. No alarm date can be given."

    /// The scheduler's sentence while the reservoir contents are unknown:
    /// no date is projected from a volume that may be wrong.
    public static let reservoirUnknownSchedulerSentence =
        "No alarm date can be given: the reservoir contents are unknown after an abandoned refill. Refill now."

    /// What to do after an abandoned refill: the pump delivers as before
    /// the refill, but may run dry at any time.
    public var reservoirUnknownAdvice: [String] {
        guard reservoirContentsUnknown else { return [] }
        var lines = ["What to do: a refill was left open and the pump ended it, resuming delivery as it was before the refill (\(Shown.doseRate(prescribedDailyDose, drug: drug)) of \(drug.rawValue)); the residual may have been withdrawn with nothing added, so the reservoir may be EMPTY and the volume shown is not known. Refill now (pumpctl refill): withdraw and measure the residual, then add the new drug."]
        if drug == .baclofen {
            lines.append("WITHDRAWAL WARNING: if the reservoir is empty, intrathecal baclofen stops abruptly, which can cause high fever, altered mental status, rebound spasticity and muscle rigidity, and can be fatal. Refill without delay and watch the patient.")
        }
        return lines
    }

    /// The alarm date as a day, for the sentence the scheduler needs.
    public var schedulerSentence: String {
        if let reason = notDelivering { return Self.notDeliveringSentence(reason) }
        if reservoirContentsUnknown { return Self.reservoirUnknownSchedulerSentence }
        guard let date = lowReservoirAlarmDate else {
            return "No low-reservoir alarm is due within ten years at the current settings."
        }
        let day = String(date.iso8601.prefix(10))
        let refill = refillDate.map { String($0.iso8601.prefix(10)) }
        return "Tell the scheduler: low-reservoir alarm on \(day)" + (refill.map { $0 == day ? "" : "; refill by \($0)" } ?? "")
    }
}
