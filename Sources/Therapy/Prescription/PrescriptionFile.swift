import Foundation

/// The prescription file format: JSON whose quantities are unit strings,
/// e.g. `{"drug":"baclofen","concentration":"2000mcg/mL","indication":"spinal",
/// "mode":"continuous","daily_dose":"400mcg/day"}`. Unknown fields are
/// refused so a misspelt `patient_bolus` is never silently ignored.
extension Prescription {
    /// Reads a prescription document.
    public static func decode(_ data: Data) throws(PrescriptionError) -> Prescription {
        guard data.count <= ClinicPolicy.maximumFileBytes else {
            throw .tooLarge(bytes: data.count, limit: ClinicPolicy.maximumFileBytes)
        }
        if let duplicate = JSONDuplicateKeys.first(in: data) { throw .duplicateKey(duplicate) }
        let object: Any
        do {
            object = try JSONSerialization.jsonObject(with: data)
        } catch {
            throw .notJSON("\(error.localizedDescription)")
        }
        guard let root = object as? [String: Any] else { throw .notJSON("the top level must be an object") }
        return try Prescription(fields: Fields(root, path: ""))
    }

    init(fields: Fields) throws(PrescriptionError) {
        try fields.refuseUnknown(["drug", "concentration", "indication", "mode", "daily_dose", "cycle", "steps",
                                  "patient_bolus", "catheter", "opioid_tolerance"])
        guard let drug = Drug(rawValue: try fields.string("drug")) else {
            throw .invalidField("drug", "one of \(Drug.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        let concentration: Concentration = try fields.quantity("concentration")
        guard let indication = Indication(rawValue: try fields.string("indication")) else {
            throw .invalidField("indication", "one of \(Indication.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        let modeName = try fields.string("mode")
        let mode: InfusionMode
        let modeFields: Set<String>
        switch modeName {
        case "continuous":
            mode = .continuous(dailyDose: try fields.quantity("daily_dose"))
            modeFields = ["daily_dose"]
        case "flex":
            guard let cycle = ScheduleCycle(rawValue: try fields.string("cycle")) else {
                throw .invalidField("cycle", "daily or weekly")
            }
            let stepObjects = try fields.array("steps")
            var steps: [FlexStep] = []
            for (index, element) in stepObjects.enumerated() {
                let path = "steps[\(index)]"
                guard let object = element as? [String: Any] else { throw .invalidField(path, "each step is an object") }
                let step = Fields(object, path: path + ".")
                try step.refuseUnknown(["start", "dose_rate"])
                let startText = try step.string("start")
                guard let start = FlexStep.parseStart(startText, cycle: cycle) else {
                    throw .invalidField(path + ".start", cycle == .daily ? "write HH:MM, e.g. 07:00" : "write a day and HH:MM, e.g. Mon 07:00")
                }
                steps.append(FlexStep(start: start, doseRate: try step.quantity("dose_rate")))
            }
            mode = .flex(try FlexSchedule(cycle: cycle, steps: steps))
            modeFields = ["cycle", "steps"]
        case "minimum-rate":
            mode = .minimumRate
            modeFields = []
        case "stopped":
            mode = .stopped
            modeFields = []
        default:
            throw .invalidField("mode", "one of continuous, flex, minimum-rate, stopped")
        }
        for key in ["daily_dose", "cycle", "steps"] where fields.has(key) && !modeFields.contains(key) {
            throw .invalidField(key, "does not belong to mode \(modeName)")
        }
        var bolus: PatientBolus?
        if let object = try fields.optionalObject("patient_bolus") {
            try object.refuseUnknown(["dose", "duration", "lockout", "max_per_24h"])
            let count = try object.integer("max_per_24h")
            let allowed = PatientBolus.allowedPerDay
            guard allowed.contains(count) else {
                throw .invalidField("patient_bolus.max_per_24h", "\(count) is outside \(allowed.lowerBound) to \(allowed.upperBound), the boluses per 24 h the pump holds")
            }
            let duration: Duration = try object.quantity("duration")
            guard duration.baseValue > 0 else { throw .invalidField("patient_bolus.duration", "must be longer than zero") }
            bolus = PatientBolus(dose: try object.quantity("dose"), duration: duration,
                                 lockout: try object.quantity("lockout"), maximumPer24h: count)
        }
        var catheter: Catheter?
        if let object = try fields.optionalObject("catheter") {
            try object.refuseUnknown(["length", "volume_per_cm", "volume"])
            if object.has("volume") {
                guard !object.has("length"), !object.has("volume_per_cm") else {
                    throw .invalidField("catheter", "give either volume, or length and volume_per_cm, not both")
                }
                catheter = .volume(try object.quantity("volume"))
            } else {
                catheter = .measured(length: try object.quantity("length"), volumePerLength: try object.quantity("volume_per_cm"))
            }
        }
        var tolerance: OpioidTolerance?
        if fields.has("opioid_tolerance") {
            guard drug.isOpioid else {
                throw .invalidField("opioid_tolerance", "only an opioid (morphine) has an opioid tolerance; leave it out for \(drug.rawValue)")
            }
            guard let declared = OpioidTolerance(rawValue: try fields.string("opioid_tolerance")) else {
                throw .invalidField("opioid_tolerance", "naive or tolerant")
            }
            tolerance = declared
        }
        self.init(drug: drug, concentration: concentration, indication: indication, mode: mode,
                  patientBolus: bolus, catheter: catheter, opioidTolerance: tolerance)
    }

    /// The document form, with masses in `massUnit` (the drug library's unit).
    public func fileObject(massUnit: QuantityUnit<MassDimension> = .mcg) -> [String: Any] {
        let rateUnit: QuantityUnit<DoseRateDimension> = massUnit == .mg ? .mgPerDay : .mcgPerDay
        let concentrationUnit: QuantityUnit<ConcentrationDimension> = massUnit == .mg ? .mgPerML : .mcgPerML
        var object: [String: Any] = [
            "drug": drug.rawValue,
            "concentration": concentration.formatted(in: concentrationUnit),
            "indication": indication.rawValue,
            "mode": mode.name,
        ]
        if let opioidTolerance { object["opioid_tolerance"] = opioidTolerance.rawValue }
        switch mode {
        case .continuous(let dose):
            object["daily_dose"] = dose.formatted(in: rateUnit)
        case .flex(let schedule):
            object["cycle"] = schedule.cycle.rawValue
            object["steps"] = schedule.steps.map {
                ["start": $0.startText(cycle: schedule.cycle), "dose_rate": $0.doseRate.formatted(in: rateUnit)]
            }
        case .minimumRate, .stopped:
            break
        }
        if let bolus = patientBolus {
            object["patient_bolus"] = [
                "dose": bolus.dose.formatted(in: massUnit), "duration": bolus.duration.description,
                "lockout": bolus.lockout.description, "max_per_24h": bolus.maximumPer24h,
            ] as [String: Any]
        }
        switch catheter {
        case .volume(let volume):
            object["catheter"] = ["volume": volume.description]
        case .measured(let length, let perCm):
            object["catheter"] = ["length": length.description, "volume_per_cm": perCm.description]
        case nil:
            break
        }
        return object
    }

    /// The prescription as a file, keys sorted.
    public func encodedFile(massUnit: QuantityUnit<MassDimension> = .mcg) -> Data {
        (try? JSONSerialization.data(withJSONObject: fileObject(massUnit: massUnit),
                                     options: [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes])) ?? Data()
    }
}

/// Typed access to a JSON object with the field path in every error.
struct Fields {
    let object: [String: Any]
    let path: String

    init(_ object: [String: Any], path: String) {
        self.object = object
        self.path = path
    }

    func has(_ key: String) -> Bool { object[key] != nil }

    func refuseUnknown(_ known: Set<String>) throws(PrescriptionError) {
        if let unknown = object.keys.sorted().first(where: { !known.contains($0) }) { throw .unknownField(path + unknown) }
    }

    func string(_ key: String) throws(PrescriptionError) -> String {
        guard let value = object[key] else { throw .missingField(path + key) }
        guard let text = value as? String else { throw .invalidField(path + key, "must be a string") }
        return text
    }

    func integer(_ key: String) throws(PrescriptionError) -> Int {
        guard let value = object[key] else { throw .missingField(path + key) }
        // JSONSerialization yields NSNumber; a fraction (or, on Linux, a Bool) does not print as a whole number.
        guard let number = value as? NSNumber, let exact = Int(exactly: number.doubleValue),
              "\(number)" == "\(exact)" else { throw .invalidField(path + key, "must be a whole number") }
        return exact
    }

    func quantity<D: PhysicalDimension>(_ key: String) throws(PrescriptionError) -> Quantity<D> {
        let text = try string(key)
        do {
            return try Quantity<D>(parsing: text)
        } catch {
            throw .invalidField(path + key, error.description)
        }
    }

    func array(_ key: String) throws(PrescriptionError) -> [Any] {
        guard let value = object[key] else { throw .missingField(path + key) }
        guard let array = value as? [Any] else { throw .invalidField(path + key, "must be a list") }
        return array
    }

    func optionalObject(_ key: String) throws(PrescriptionError) -> Fields? {
        guard let value = object[key], !(value is NSNull) else { return nil }
        guard let nested = value as? [String: Any] else { throw .invalidField(path + key, "must be an object") }
        return Fields(nested, path: path + key + ".")
    }
}
