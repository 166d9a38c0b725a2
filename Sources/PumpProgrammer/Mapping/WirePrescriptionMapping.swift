import Therapy
import WandProtocol

/// Turns a Therapy prescription into what the pump stores, and back.
///
/// Going to the wire, every rate is the one `Therapy` rounded down to the
/// pump's resolution, and every dose figure on the wire is the dose that
/// volume really delivers (volume x concentration, rounded down), which is
/// what the pump checks. Coming back, doses are those delivered figures.
public enum WirePrescriptionMapping {
    public static func wire(_ prescription: Prescription, profile: PumpProfile) throws(ProgrammerError) -> WirePrescription {
        // The ranges the pump holds, each refused by its field's name
        // before anything is built (the same ranges the file and the
        // validator use).
        if case .flex(let schedule) = prescription.mode {
            let days = Int(schedule.cycle.seconds / 86_400)
            var perDay = [Int](repeating: 0, count: days)
            for step in schedule.steps where step.start >= 0 && Int(step.start / 86_400) < days { perDay[Int(step.start / 86_400)] += 1 }
            let limit = min(WirePrescription.maximumStepsPerDay, profile.maximumFlexStepsPerDay)
            if let busiest = perDay.max(), busiest > limit {
                throw .input("steps: a day of the schedule has \(busiest) steps starting in it; the pump holds 1 to \(limit) a day. Nothing was sent to the pump.")
            }
        }
        if let bolus = prescription.patientBolus, !PatientBolus.allowedPerDay.contains(bolus.maximumPer24h) {
            let allowed = PatientBolus.allowedPerDay
            throw .input("patient_bolus.max_per_24h is \(bolus.maximumPer24h); the pump holds \(allowed.lowerBound) to \(allowed.upperBound). Nothing was sent to the pump.")
        }
        let plan: DosePlan
        do { plan = try prescription.dosePlan(on: profile) } catch {
            throw .input("The prescription cannot be turned into pump rates: \(error.description)")
        }
        let concentration = try uint32(prescription.concentration.baseValue, "concentration")
        let catheter = try uint32(prescription.catheter?.volume?.baseValue ?? 0, "catheter.volume")
        var wire = WirePrescription(
            drug: try drug(prescription.drug), concentrationNanogramsPerMillilitre: concentration,
            indication: indication(prescription.indication), mode: .stopped, catheterVolumeNanolitres: catheter)
        switch prescription.mode {
        case .continuous, .minimumRate:
            wire.mode = prescription.mode == .minimumRate ? .minimumRate : .continuous
            guard let step = plan.steps.first else { throw .input("The prescription has no rate.") }
            wire.continuousVolumeRateNanolitresPerDay = try uint32(step.setting.programmed.baseValue, "the rate (daily_dose)")
            wire.continuousDoseRateNanogramsPerDay = try uint32(step.setting.delivered.baseValue, "daily_dose")
        case .flex(let schedule):
            wire.mode = .flex
            wire.cycle = schedule.cycle == .daily ? .daily : .weekly
            var steps: [WirePrescription.Step] = []
            for step in plan.steps {
                guard step.start % 60 == 0, let minute = UInt16(exactly: step.start / 60) else {
                    throw .input("A flex step does not start on a whole minute.")
                }
                steps.append(WirePrescription.Step(
                    startMinute: minute, volumeRateNanolitresPerDay: try uint32(step.setting.programmed.baseValue, "steps[].dose_rate (its rate)"),
                    doseRateNanogramsPerDay: try uint32(step.setting.delivered.baseValue, "steps[].dose_rate")))
            }
            wire.steps = steps
        case .stopped:
            wire.mode = .stopped
        }
        if let bolus = prescription.patientBolus {
            guard let volume = DoseArithmetic.volume(holding: bolus.dose, at: prescription.concentration),
                  let delivered = DoseArithmetic.dose(in: volume, at: prescription.concentration) else {
                throw .input("The patient bolus volume cannot be computed.")
            }
            wire.patientBolus = WirePrescription.PatientBolus(
                doseNanograms: try uint32(delivered.baseValue, "patient_bolus.dose"),
                volumeNanolitres: try uint32(volume.baseValue, "patient_bolus.dose (its volume)"),
                durationSeconds: try uint32(bolus.duration.baseValue, "patient_bolus.duration"),
                lockoutSeconds: try uint32(bolus.lockout.baseValue, "patient_bolus.lockout"),
                maximumPer24Hours: UInt8(clamping: bolus.maximumPer24h))
        }
        if prescription.concentration.baseValue < 1 || prescription.concentration.baseValue > Int64(WirePrescription.maximumConcentration) {
            throw .input("concentration is outside 1ng/mL to \(Concentration(baseValue: Int64(WirePrescription.maximumConcentration)).formatted(in: .mgPerML)), what the pump holds. Nothing was sent to the pump.")
        }
        guard wire.isCanonical else {
            throw .input("The prescription does not fit the pump's format (steps: 1 to \(WirePrescription.maximumStepsPerDay) a day, each starting on a whole minute within the cycle). Nothing was sent to the pump.")
        }
        return wire
    }

    /// The prescription a pump reports, in Therapy's terms, for review and validation.
    public static func therapy(_ wire: WirePrescription) throws(ProgrammerError) -> Prescription {
        guard let drug = Drug(wireCode: wire.drug.rawValue) else { throw .deviceFault("the pump reported an unknown drug") }
        let concentration = Concentration(baseValue: Int64(wire.concentrationNanogramsPerMillilitre))
        let mode: InfusionMode
        switch wire.mode {
        case .stopped:
            mode = .stopped
        case .continuous:
            mode = .continuous(dailyDose: DoseRate(baseValue: Int64(wire.continuousDoseRateNanogramsPerDay)))
        case .minimumRate:
            mode = .minimumRate
        case .flex:
            let steps = wire.steps.map { FlexStep(start: Int64($0.startMinute) * 60, doseRate: DoseRate(baseValue: Int64($0.doseRateNanogramsPerDay))) }
            do {
                mode = .flex(try FlexSchedule(cycle: wire.cycle == .weekly ? .weekly : .daily, steps: steps))
            } catch {
                throw .deviceFault("the pump reported a flex schedule that cannot be read: \(error.description)")
            }
        }
        let bolus = wire.patientBolus.map {
            PatientBolus(dose: Mass(baseValue: Int64($0.doseNanograms)), duration: .seconds(Int64($0.durationSeconds)),
                         lockout: .seconds(Int64($0.lockoutSeconds)), maximumPer24h: Int($0.maximumPer24Hours))
        }
        return Prescription(
            drug: drug, concentration: concentration, indication: indication(wire.indication), mode: mode,
            patientBolus: bolus, catheter: wire.catheterVolumeNanolitres > 0 ? .volume(.nL(Int64(wire.catheterVolumeNanolitres))) : nil)
    }

    static func drug(_ drug: Drug) throws(ProgrammerError) -> WireDrug {
        guard let wire = WireDrug(rawValue: drug.wireCode) else { throw .input("\(drug) has no wire code") }
        return wire
    }

    static func indication(_ indication: Indication) -> WireIndication {
        switch indication {
        case .spinal: return .spasticitySpinal
        case .cerebral: return .spasticityCerebral
        case .pain: return .chronicPain
        }
    }

    static func indication(_ indication: WireIndication) -> Indication {
        switch indication {
        case .spasticitySpinal: return .spinal
        case .spasticityCerebral: return .cerebral
        case .chronicPain: return .pain
        }
    }

    /// A field as the pump stores it (0 to 4294967295 of its base unit: nL,
    /// ng, ng/mL, nL/day, ng/day or s), or an error naming the field.
    private static func uint32(_ value: Int64, _ field: String) throws(ProgrammerError) -> UInt32 {
        guard let result = UInt32(exactly: value) else {
            throw .input("\(field) is outside what the pump holds (0 to \(UInt32.max) of its base unit). Nothing was sent to the pump.")
        }
        return result
    }
}
