import Foundation
import Therapy
import WandProtocol

/// What interrogation tells the technician, in Therapy's terms.
///
/// Alarms come first; the low-reservoir alarm date and the refill date
/// are computed from the pump's own volume, schedule and threshold.
public struct PumpStatus: Sendable, Encodable {
    public struct Alarm: Sendable, Encodable, Equatable {
        public var code: UInt16
        public var name: String
        /// Whether this alarm means the pump is not delivering.
        public var stopsDelivery: Bool
    }

    public var simulated: Bool
    public var serial: String
    public var model: String
    public var firmware: String
    /// Pump clock, ISO 8601 with the pump's offset.
    public var clock: String
    /// Pump clock minus host clock, seconds (positive: the pump is ahead).
    public var clockDriftSeconds: Int64
    public var battery: String
    public var batteryMillivolts: Int
    public var alarms: [Alarm]
    public var drug: String
    public var concentration: Concentration
    public var mode: String
    public var infusion: String
    public var dailyDose: DoseRate
    public var rate: VolumeRate
    public var reservoirVolume: Volume
    public var reservoirCapacity: Volume
    public var lowReservoirThreshold: Volume
    public var prescriptionHash: String
    public var stagedHash: String?
    public var lastChange: String
    /// When the pump will sound its low-reservoir alarm at its programmed
    /// rates (nil when it will not within ten years, e.g. stopped).
    public var lowReservoirAlarmDate: String?
    /// The latest day to refill: when the reservoir reaches the alarm
    /// threshold if the patient takes every allotted bolus.
    public var refillDate: String?
    public var daysToAlarm: Int64?
    public var unresolvedCommand: PendingCommand?
    /// The prescription as the pump holds it.
    public var prescription: Prescription

    enum CodingKeys: String, CodingKey {
        case simulated, serial, model, firmware, clock, clockDriftSeconds, battery, batteryMillivolts, alarms, drug
        case concentration, mode, infusion, dailyDose, rate, reservoirVolume, reservoirCapacity, lowReservoirThreshold
        case prescriptionHash, stagedHash, lastChange, lowReservoirAlarmDate, refillDate, daysToAlarm, unresolvedCommand
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(simulated, forKey: .simulated)
        try container.encode(serial, forKey: .serial)
        try container.encode(model, forKey: .model)
        try container.encode(firmware, forKey: .firmware)
        try container.encode(clock, forKey: .clock)
        try container.encode(clockDriftSeconds, forKey: .clockDriftSeconds)
        try container.encode(battery, forKey: .battery)
        try container.encode(batteryMillivolts, forKey: .batteryMillivolts)
        try container.encode(alarms, forKey: .alarms)
        try container.encode(drug, forKey: .drug)
        try container.encode(concentration, forKey: .concentration)
        try container.encode(mode, forKey: .mode)
        try container.encode(infusion, forKey: .infusion)
        try container.encode(dailyDose, forKey: .dailyDose)
        try container.encode(rate, forKey: .rate)
        try container.encode(reservoirVolume, forKey: .reservoirVolume)
        try container.encode(reservoirCapacity, forKey: .reservoirCapacity)
        try container.encode(lowReservoirThreshold, forKey: .lowReservoirThreshold)
        try container.encode(prescriptionHash, forKey: .prescriptionHash)
        try container.encode(stagedHash, forKey: .stagedHash)
        try container.encode(lastChange, forKey: .lastChange)
        try container.encode(lowReservoirAlarmDate, forKey: .lowReservoirAlarmDate)
        try container.encode(refillDate, forKey: .refillDate)
        try container.encode(daysToAlarm, forKey: .daysToAlarm)
        try container.encode(unresolvedCommand, forKey: .unresolvedCommand)
    }

    /// The alarm date as a day, for the sentence the scheduler needs.
    public var schedulerSentence: String {
        guard let date = lowReservoirAlarmDate else {
            return "No low-reservoir alarm is due within ten years at the current settings."
        }
        return "Tell the scheduler: low-reservoir alarm on \(date.prefix(10))"
            + (refillDate.map { $0 == date ? "" : "; refill by \($0.prefix(10))" } ?? "")
    }
}

extension PumpStatus {
    /// Builds the status from an interrogate report, checked by Therapy.
    public init(report: InterrogateReport, hostNow: Date, simulated: Bool, unresolved: PendingCommand?) throws(ProgrammerError) {
        let prescription = try WirePrescriptionMapping.therapy(report.prescription)
        let profile = PumpProfile.referencePumps.first { $0.capacity.baseValue == Int64(report.reservoirCapacityNanolitres) }
        let time = PumpTime(utcSeconds: report.clock.utcSeconds, offsetMinutes: Int(report.clock.zoneOffsetMinutes))
        let schedule = Self.schedule(of: report.prescription)
        let stopped = report.infusionState == .stopped || report.prescription.mode == .stopped
        let threshold = Volume.nL(Int64(report.lowReservoirThresholdNanolitres))
        let reservoir = Volume.nL(Int64(report.reservoirVolumeNanolitres))
        var alarmDate: String?
        var refillDate: String?
        var daysToAlarm: Int64?
        if !stopped {
            if let projection = try? ReservoirProjection.project(reservoir: reservoir, from: time, schedule: schedule, alarmThreshold: threshold) {
                alarmDate = projection.lowReservoirAlarm?.iso8601
                daysToAlarm = projection.daysToAlarm
            }
            let allowance = report.prescription.patientBolus.map {
                BolusAllowance(volumePerBolus: .nL(Int64($0.volumeNanolitres)), maximumPer24h: Int($0.maximumPer24Hours),
                               duration: .seconds(Int64($0.durationSeconds)), lockout: .seconds(Int64($0.lockoutSeconds)))
            }
            if let allowance,
               let worst = try? ReservoirProjection.project(reservoir: reservoir, from: time, schedule: schedule, alarmThreshold: threshold, bolus: allowance) {
                refillDate = worst.lowReservoirAlarm?.iso8601
            } else {
                refillDate = alarmDate
            }
        }
        let dailyVolume = Self.averageVolumeRate(of: report.prescription)
        let dailyDose = DoseArithmetic.doseRate(of: dailyVolume, at: prescription.concentration) ?? .zero
        self.init(
            simulated: simulated, serial: report.serial, model: profile?.model ?? "unknown",
            firmware: "\(report.firmwareMajor).\(report.firmwareMinor).\(report.firmwarePatch)",
            clock: time.iso8601, clockDriftSeconds: report.clock.utcSeconds - Int64(hostNow.timeIntervalSince1970.rounded(.down)),
            battery: Self.batteryName(report.batteryState), batteryMillivolts: Int(report.batteryMillivolts),
            alarms: report.activeAlarms.map { Alarm(code: $0.rawValue, name: $0.description, stopsDelivery: Self.stopsDelivery($0)) }
                .sorted { $0.stopsDelivery && !$1.stopsDelivery },
            drug: prescription.drug.rawValue,
            concentration: .init(baseValue: Int64(report.reservoirConcentrationNanogramsPerMillilitre)),
            mode: prescription.mode.name, infusion: Self.infusionName(report.infusionState),
            dailyDose: stopped ? .zero : dailyDose, rate: stopped ? .zero : dailyVolume,
            reservoirVolume: reservoir, reservoirCapacity: .nL(Int64(report.reservoirCapacityNanolitres)),
            lowReservoirThreshold: threshold, prescriptionHash: report.prescriptionHash.description,
            stagedHash: report.stagedHash?.description,
            lastChange: PumpTime(utcSeconds: report.lastChangeUTCSeconds, offsetMinutes: Int(report.clock.zoneOffsetMinutes)).iso8601,
            lowReservoirAlarmDate: alarmDate, refillDate: refillDate, daysToAlarm: daysToAlarm,
            unresolvedCommand: unresolved, prescription: prescription)
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
            let cycle = Int64((wire.cycle ?? .daily).minutes)
            var total: Int64 = 0
            for (index, step) in wire.steps.enumerated() {
                let end = index + 1 < wire.steps.count ? Int64(wire.steps[index + 1].startMinute) : cycle
                total += Int64(step.volumeRateNanolitresPerDay) * (end - Int64(step.startMinute))
            }
            return .nLPerDay(cycle > 0 ? total / cycle : 0)
        }
    }

    static func stopsDelivery(_ alarm: PumpAlarm) -> Bool {
        switch alarm {
        case .lowReservoir, .electiveReplacement: return false
        // Unknown codes count as stopping delivery: the safe assumption.
        default: return true
        }
    }

    static func batteryName(_ state: BatteryState) -> String {
        switch state {
        case .ok: return "ok"
        case .electiveReplacement: return "elective replacement indicator (replace within 90 days)"
        case .endOfService: return "END OF SERVICE"
        }
    }

    static func infusionName(_ state: InfusionState) -> String {
        switch state {
        case .infusing: return "infusing"
        case .stopped: return "STOPPED"
        case .bolusInProgress: return "bolus in progress"
        case .refillInProgress: return "refill in progress"
        }
    }
}

extension Programmer {
    /// Interrogates the pump, resolving first any command left uncertain.
    public func interrogate() async throws(ProgrammerError) -> (status: PumpStatus, resolution: Resolution?) {
        var resolution: Resolution?
        var unresolved: PendingCommand?
        do {
            resolution = try await resolvePending()
        } catch .unresolved(let entry, _) {
            unresolved = entry
        }
        let report = try await interrogateReport()
        let status = try PumpStatus(report: report, hostNow: context.now(), simulated: context.simulated, unresolved: unresolved)
        try record(command: "interrogate", phase: .event, parameters: [
            "reservoir_volume": status.reservoirVolume.description, "alarms": status.alarms.map(\.name).joined(separator: ","),
        ], outcome: "read")
        return (status, resolution)
    }
}
