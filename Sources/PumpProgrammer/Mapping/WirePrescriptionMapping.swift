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
        let plan: DosePlan
        do { plan = try prescription.dosePlan(on: profile) } catch {
            throw .input("The prescription cannot be turned into pump rates: \(error.description)")
        }
        let concentration = try uint32(prescription.concentration.baseValue, "the concentration")
        let catheter = try uint32(prescription.catheter?.volume?.baseValue ?? 0, "the catheter volume")
        var wire = WirePrescription(
            drug: try drug(prescription.drug), concentrationNanogramsPerMillilitre: concentration,
            indication: indication(prescription.indication), mode: .stopped, catheterVolumeNanolitres: catheter)
        switch prescription.mode {
        case .continuous, .minimumRate:
            wire.mode = prescription.mode == .minimumRate ? .minimumRate : .continuous
            guard let step = plan.steps.first else { throw .input("The prescription has no rate.") }
            wire.continuousVolumeRateNanolitresPerDay = try uint32(step.setting.programmed.baseValue, "the rate")
            wire.continuousDoseRateNanogramsPerDay = try uint32(step.setting.delivered.baseValue, "the daily dose")
        case .flex(let schedule):
            wire.mode = .flex
            wire.cycle = schedule.cycle == .daily ? .daily : .weekly
            var steps: [WirePrescription.Step] = []
            for step in plan.steps {
                guard step.start % 60 == 0, let minute = UInt16(exactly: step.start / 60) else {
                    throw .input("A flex step does not start on a whole minute.")
                }
                steps.append(WirePrescription.Step(
                    startMinute: minute, volumeRateNanolitresPerDay: try uint32(step.setting.programmed.baseValue, "a step rate"),
                    doseRateNanogramsPerDay: try uint32(step.setting.delivered.baseValue, "a step dose")))
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
                doseNanograms: try uint32(delivered.baseValue, "the patient bolus dose"),
                volumeNanolitres: try uint32(volume.baseValue, "the patient bolus volume"),
                durationSeconds: try uint32(bolus.duration.baseValue, "the patient bolus duration"),
                lockoutSeconds: try uint32(bolus.lockout.baseValue, "the patient bolus lockout"),
                maximumPer24Hours: UInt8(clamping: bolus.maximumPer24h))
        }
        guard wire.isCanonical else {
            throw .input("The prescription does not fit the pump's format (check the step count and times).")
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

    private static func uint32(_ value: Int64, _ what: String) throws(ProgrammerError) -> UInt32 {
        guard let result = UInt32(exactly: value) else { throw .input("\(what) is outside what the pump can hold") }
        return result
    }
}
