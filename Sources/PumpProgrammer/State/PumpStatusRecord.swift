import Foundation
import Therapy

extension PumpStatus {
    /// What the audit row of a read keeps of the pump: enough to file the
    /// visit elsewhere (the FHIR export's Device and Observations) from the
    /// audit log alone. Quantities are exact decimals beside their unit,
    /// never display text, so an export can compare them as numbers.
    public var readParameters: [String: String] {
        func exact(_ value: QuantityValue) -> String { "\(value.value)" }
        let volume = reservoirVolume.valueAndUnit(in: VolumeDimension.defaultUnit)
        let capacity = reservoirCapacity.valueAndUnit(in: VolumeDimension.defaultUnit)
        let threshold = lowReservoirThreshold.valueAndUnit(in: VolumeDimension.defaultUnit)
        let dose = dailyDose.valueAndUnit(in: doseRateUnit)
        let strength = concentration.valueAndUnit(in: concentrationUnit)
        let prescribed = prescribedDailyDose.valueAndUnit(in: doseRateUnit)
        var parameters = [
            "reservoir_volume": reservoirVolume.description,
            "alarms": alarms.map(\.name).joined(separator: ","),
            "reservoir_ml": exact(volume), "reservoir_capacity_ml": exact(capacity), "low_reservoir_threshold_ml": exact(threshold),
            "low_reservoir_alarm_date": lowReservoirAlarmDate?.iso8601 ?? "",
            "daily_dose_value": exact(dose), "daily_dose_unit": dose.unit,
            "concentration_value": exact(strength), "concentration_unit": strength.unit,
            "drug": drug.rawValue, "mode": prescription.mode.name, "infusion": Self.infusionName(infusion),
            "battery": Self.batteryName(battery), "battery_mv": "\(batteryMillivolts)",
            "model": model, "firmware": firmware, "pump_clock": clock.iso8601,
            "prescription_hash": prescriptionHash.description,
            // What the prescription prescribes even while the pump is not
            // delivering it (the daily dose then reads 0), and why not.
            "prescribed_daily_dose_value": exact(prescribed), "prescribed_daily_dose_unit": prescribed.unit,
            "not_delivering": notDelivering?.code ?? "",
        ]
        if reservoirContentsUnknown {
            // After an abandoned refill the volume is an estimate of a
            // reservoir that may be empty: never filed as a measurement.
            parameters["reservoir_ml"] = nil
            parameters["reservoir_volume"] = "unknown (the pump's estimate \(reservoirVolume))"
            parameters["reservoir_contents_unknown"] = "true"
        }
        // Flex steps as `start=dose` in the daily dose unit, `;` between
        // steps (a start is `06:00`, or `Mon 06:00` in a weekly cycle).
        if !steps.isEmpty {
            parameters["flex_steps"] = steps.map { "\($0.start)=\(exact($0.doseRate.valueAndUnit(in: doseRateUnit)))" }
                .joined(separator: ";")
        }
        if let bolus = prescription.patientBolus {
            let dose = bolus.dose.valueAndUnit(in: doseUnit)
            parameters["patient_bolus_dose_value"] = exact(dose)
            parameters["patient_bolus_dose_unit"] = dose.unit
            parameters["patient_bolus_duration_s"] = "\(bolus.duration.decimalValue(in: DurationDimension.defaultUnit))"
            parameters["patient_bolus_lockout_s"] = "\(bolus.lockout.decimalValue(in: DurationDimension.defaultUnit))"
            parameters["patient_bolus_max_per_24h"] = "\(bolus.maximumPer24h)"
        }
        return parameters
    }
}
