import ArgumentParser
import Therapy

struct Projection: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "projection",
        abstract: "Low-reservoir alarm date and empty date for a reservoir volume and a schedule.",
        discussion: """
            Worst-case patient bolus use is assumed: every allotted bolus of each 24 h is taken at the start
            of that 24 h. Flex steps follow the pump's local time, taken from --from's offset.
            """
    )

    @OptionGroup(visibility: .hidden) var global: GlobalOptions
    @Option(help: "Reservoir volume now, e.g. 20mL.") var reservoir: String
    @Option(help: "Start, ISO 8601 with offset, e.g. 2025-03-01T09:00:00+01:00.") var from: String
    @Option(help: "Prescription file (JSON).") var prescription: String?
    @Option(help: "Concentration, e.g. 2000mcg/mL.") var concentration: String?
    @Option(help: "Daily dose, e.g. 400mcg/day.") var dose: String?
    @Option(name: .customLong("alarm-at"), help: "Low-reservoir alarm volume (1mL to 5mL; default 2mL).") var alarmAt: String?
    @Option(name: .customLong("ptm-dose"), help: "Patient bolus dose, e.g. 50mcg (overrides the prescription's).") var ptmDose: String?
    @Option(name: .customLong("ptm-per-day"), help: "Patient boluses allowed per 24 h.") var ptmPerDay: Int?
    @Option(help: "Pump model: RP-20 or RP-40 (simulated reference pumps).") var pump = "RP-20"

    func validate() throws {
        if prescription != nil {
            guard concentration == nil, dose == nil else { throw ValidationError("Give either --prescription or --concentration with --dose, not both.") }
        } else {
            guard concentration != nil, dose != nil else { throw ValidationError("Give --prescription FILE, or --concentration C with --dose D.") }
        }
        guard (ptmDose == nil) == (ptmPerDay == nil) else { throw ValidationError("Give --ptm-dose and --ptm-per-day together.") }
        if let ptmPerDay, !(0...96).contains(ptmPerDay) { throw ValidationError("--ptm-per-day must be 0 to 96.") }
    }

    struct Result: Encodable {
        var daysToAlarm: Int64?
        var lowReservoirAlarmDate: String?
        var emptyDate: String?
        var reservoir: QuantityValue
        var alarmAt: QuantityValue
        var averageRate: QuantityValue
        var worstCaseBolusVolumePerDay: QuantityValue
    }

    func run() async throws {
        let profile = try CalcInput.profile(pump)
        let volume: Volume = try CalcInput.quantity(reservoir, option: "--reservoir")
        guard volume <= profile.capacity else {
            throw CalcInput.usage("--reservoir: \(volume) is more than the \(profile.model) holds (\(profile.capacity))")
        }
        let start = try CalcInput.time(from, option: "--from", dateAlone: .midnightUTC)
        let threshold: Volume = try alarmAt.map { try CalcInput.quantity($0, option: "--alarm-at") } ?? profile.defaultLowReservoirAlarm
        guard profile.lowReservoirAlarmRange.contains(threshold) else {
            throw CalcInput.usage("--alarm-at: \(threshold) is outside the \(profile.model) range \(profile.lowReservoirAlarmRange.lowerBound) to \(profile.lowReservoirAlarmRange.upperBound)")
        }
        let plan: DosePlan
        let drugConcentration: Concentration
        var bolus: PatientBolus?
        do {
            if let prescription {
                let value = try CalcInput.prescription(prescription)
                plan = try value.dosePlan(on: profile)
                drugConcentration = value.concentration
                bolus = value.patientBolus
            } else {
                drugConcentration = try CalcInput.quantity(concentration ?? "", option: "--concentration")
                plan = .continuous(try profile.rateSetting(for: try CalcInput.quantity(dose ?? "", option: "--dose"), at: drugConcentration))
            }
        } catch let error as ArithmeticError {
            throw CalcInput.usage(error.description)
        }
        var allowance: BolusAllowance?
        if let ptmDose, let ptmPerDay {
            let dose: Mass = try CalcInput.quantity(ptmDose, option: "--ptm-dose")
            guard let volume = DoseArithmetic.volume(holding: dose, at: drugConcentration, roundingUp: true) else {
                throw CalcInput.usage("--ptm-dose: cannot convert \(dose) at \(drugConcentration)")
            }
            allowance = BolusAllowance(volumePerBolus: volume, maximumPer24h: ptmPerDay)
        } else if let bolus, let volume = DoseArithmetic.volume(holding: bolus.dose, at: drugConcentration, roundingUp: true) {
            // The prescription gives the run time and lockout: the exact worst case the pump allows.
            allowance = BolusAllowance(volumePerBolus: volume, maximumPer24h: bolus.maximumPer24h,
                                       duration: bolus.duration, lockout: bolus.lockout)
        }
        let projection: ReservoirProjection
        do {
            projection = try ReservoirProjection.project(reservoir: volume, from: start, schedule: plan.deliverySchedule,
                                                         alarmThreshold: threshold, bolus: allowance)
        } catch {
            throw CalcInput.usage(error.description)
        }
        let bolusPerDay = Volume(baseValue: (allowance?.volumePerBolus.baseValue ?? 0) * Int64(allowance?.maximumPer24h ?? 0))
        let result = Result(
            daysToAlarm: projection.daysToAlarm, lowReservoirAlarmDate: projection.lowReservoirAlarm?.iso8601,
            emptyDate: projection.empty?.iso8601, reservoir: volume.valueAndUnit(), alarmAt: threshold.valueAndUnit(),
            averageRate: plan.averageVolumeRate.valueAndUnit(in: .mLPerDay), worstCaseBolusVolumePerDay: bolusPerDay.valueAndUnit())
        if global.json {
            try Output.json(result)
            return
        }
        let never = "not within 10 years (no delivery)"
        Output.line(Output.table(header: ["", ""], rows: [
            ["low reservoir alarm", projection.lowReservoirAlarm?.iso8601 ?? never],
            ["days to alarm", projection.daysToAlarm.map(String.init) ?? "-"],
            ["empty", projection.empty?.iso8601 ?? never],
            ["reservoir", "\(volume), alarm at \(threshold)"],
            ["average rate", plan.averageVolumeRate.formatted(in: .mLPerDay)],
            ["patient boluses", allowance == nil ? "none" : "\(bolusPerDay) a day, worst case"],
        ]).split(separator: "\n").dropFirst().joined(separator: "\n"))
    }
}
