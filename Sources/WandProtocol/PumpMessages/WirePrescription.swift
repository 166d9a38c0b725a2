/// A prescription as the pump stores and executes it, in base units.
///
/// Canonical layout (little-endian; the hash is SHA-256 over these bytes):
/// ```
/// offset size field
///  0     1    drug (1 baclofen, 2 morphine, 3 ziconotide)
///  1     4    concentration, ng/mL, 1 ... 100 000 000
///  5     1    indication (1 spasticity of spinal origin, 2 spasticity of
///             cerebral origin, 3 chronic pain)
///  6     1    mode (0 stopped, 1 continuous, 2 flex, 3 minimum rate)
///  7     4    continuous volume rate, nL/day  (0 unless continuous/minimum rate)
/// 11     4    continuous dose rate, ng/day    (0 unless continuous/minimum rate)
/// 15     1    flex cycle (0 none, 1 daily, 7 weekly; non-zero only for flex)
/// 16     1    step count n (0 unless flex; 1 ... 13 per day of the cycle)
/// 17     10n  steps: start minute from cycle start UInt16, volume rate
///             nL/day UInt32, dose rate ng/day UInt32; starts strictly
///             increasing, the first at 0, all before the cycle's end
/// 17+10n 1    patient bolus present (0 or 1)
///        17   if present: dose ng UInt32, volume nL UInt32, duration s
///             UInt32, lockout s UInt32, maximum per 24 h UInt8 (1 ... 24)
/// then   4    catheter volume, nL
/// ```
/// Every field has exactly one encoding, so equal prescriptions have equal
/// hashes; decoding refuses anything that would re-encode differently.
public struct WirePrescription: Sendable, Equatable, Hashable, WireFields {
    /// How the pump delivers.
    public enum Mode: UInt8, Sendable, CaseIterable {
        case stopped = 0
        case continuous = 1
        case flex = 2
        case minimumRate = 3
    }

    /// How long a flex schedule runs before it repeats.
    public enum Cycle: UInt8, Sendable, CaseIterable {
        case daily = 1
        case weekly = 7

        /// Minutes in one cycle.
        public var minutes: Int { Int(rawValue) * 1440 }
    }

    /// One step of a flex schedule: from `startMinute` until the next step.
    public struct Step: Sendable, Equatable, Hashable {
        public var startMinute: UInt16
        public var volumeRateNanolitresPerDay: UInt32
        public var doseRateNanogramsPerDay: UInt32

        public init(startMinute: UInt16, volumeRateNanolitresPerDay: UInt32, doseRateNanogramsPerDay: UInt32) {
            self.startMinute = startMinute
            self.volumeRateNanolitresPerDay = volumeRateNanolitresPerDay
            self.doseRateNanogramsPerDay = doseRateNanogramsPerDay
        }
    }

    /// A patient-activated bolus allowance.
    public struct PatientBolus: Sendable, Equatable, Hashable {
        public var doseNanograms: UInt32
        public var volumeNanolitres: UInt32
        public var durationSeconds: UInt32
        public var lockoutSeconds: UInt32
        public var maximumPer24Hours: UInt8

        public init(doseNanograms: UInt32, volumeNanolitres: UInt32, durationSeconds: UInt32, lockoutSeconds: UInt32, maximumPer24Hours: UInt8) {
            self.doseNanograms = doseNanograms
            self.volumeNanolitres = volumeNanolitres
            self.durationSeconds = durationSeconds
            self.lockoutSeconds = lockoutSeconds
            self.maximumPer24Hours = maximumPer24Hours
        }
    }

    public static let maximumConcentration: UInt32 = 100_000_000
    public static let maximumStepsPerDay = 13

    public var drug: WireDrug
    public var concentrationNanogramsPerMillilitre: UInt32
    public var indication: WireIndication
    public var mode: Mode
    public var continuousVolumeRateNanolitresPerDay: UInt32
    public var continuousDoseRateNanogramsPerDay: UInt32
    /// Set only in flex mode.
    public var cycle: Cycle?
    /// Non-empty only in flex mode.
    public var steps: [Step]
    public var patientBolus: PatientBolus?
    public var catheterVolumeNanolitres: UInt32

    public init(
        drug: WireDrug, concentrationNanogramsPerMillilitre: UInt32, indication: WireIndication, mode: Mode,
        continuousVolumeRateNanolitresPerDay: UInt32 = 0, continuousDoseRateNanogramsPerDay: UInt32 = 0,
        cycle: Cycle? = nil, steps: [Step] = [], patientBolus: PatientBolus? = nil, catheterVolumeNanolitres: UInt32
    ) {
        self.drug = drug
        self.concentrationNanogramsPerMillilitre = concentrationNanogramsPerMillilitre
        self.indication = indication
        self.mode = mode
        self.continuousVolumeRateNanolitresPerDay = continuousVolumeRateNanolitresPerDay
        self.continuousDoseRateNanogramsPerDay = continuousDoseRateNanogramsPerDay
        self.cycle = cycle
        self.steps = steps
        self.patientBolus = patientBolus
        self.catheterVolumeNanolitres = catheterVolumeNanolitres
    }

    public init(reading reader: inout ByteReader) throws(WireError) {
        drug = try readEnum(WireDrug.self, &reader, "prescription.drug")
        concentrationNanogramsPerMillilitre = try reader.uint32("prescription.concentration")
        guard (1...Self.maximumConcentration).contains(concentrationNanogramsPerMillilitre) else {
            throw .invalidValue(field: "prescription.concentration", value: Int64(concentrationNanogramsPerMillilitre))
        }
        indication = try readEnum(WireIndication.self, &reader, "prescription.indication")
        mode = try readEnum(Mode.self, &reader, "prescription.mode")
        continuousVolumeRateNanolitresPerDay = try reader.uint32("prescription.continuousVolumeRate")
        continuousDoseRateNanogramsPerDay = try reader.uint32("prescription.continuousDoseRate")
        let cycleByte = try reader.uint8("prescription.cycle")
        let stepCount = Int(try reader.uint8("prescription.stepCount"))
        let continuousLike = mode == .continuous || mode == .minimumRate
        if !continuousLike, continuousVolumeRateNanolitresPerDay != 0 || continuousDoseRateNanogramsPerDay != 0 {
            throw .invalidValue(field: "prescription.continuousVolumeRate", value: Int64(continuousVolumeRateNanolitresPerDay))
        }
        if mode == .flex {
            guard let parsedCycle = Cycle(rawValue: cycleByte) else {
                throw .invalidValue(field: "prescription.cycle", value: Int64(cycleByte))
            }
            cycle = parsedCycle
            let maximumSteps = Self.maximumStepsPerDay * Int(parsedCycle.rawValue)
            guard (1...maximumSteps).contains(stepCount) else {
                throw .tooMany(field: "prescription.steps", count: stepCount, maximum: maximumSteps)
            }
            var parsed: [Step] = []
            parsed.reserveCapacity(stepCount)
            for _ in 0..<stepCount {
                parsed.append(Step(
                    startMinute: try reader.uint16("prescription.step.startMinute"),
                    volumeRateNanolitresPerDay: try reader.uint32("prescription.step.volumeRate"),
                    doseRateNanogramsPerDay: try reader.uint32("prescription.step.doseRate")))
            }
            steps = parsed
            try Self.checkSchedule(parsed, cycle: parsedCycle)
        } else {
            guard cycleByte == 0 else { throw .invalidValue(field: "prescription.cycle", value: Int64(cycleByte)) }
            guard stepCount == 0 else { throw .tooMany(field: "prescription.steps", count: stepCount, maximum: 0) }
            cycle = nil
            steps = []
        }
        if try reader.flag("prescription.patientBolus.present") {
            let bolus = PatientBolus(
                doseNanograms: try reader.uint32("prescription.patientBolus.dose"),
                volumeNanolitres: try reader.uint32("prescription.patientBolus.volume"),
                durationSeconds: try reader.uint32("prescription.patientBolus.duration"),
                lockoutSeconds: try reader.uint32("prescription.patientBolus.lockout"),
                maximumPer24Hours: try reader.uint8("prescription.patientBolus.maximumPer24Hours"))
            guard (1...24).contains(bolus.maximumPer24Hours) else {
                throw .invalidValue(field: "prescription.patientBolus.maximumPer24Hours", value: Int64(bolus.maximumPer24Hours))
            }
            patientBolus = bolus
        } else {
            patientBolus = nil
        }
        catheterVolumeNanolitres = try reader.uint32("prescription.catheterVolume")
    }

    /// Steps start at minute 0, strictly increase, end before the cycle does,
    /// and no calendar day of the cycle holds more than 13 of them.
    static func checkSchedule(_ steps: [Step], cycle: Cycle) throws(WireError) {
        var previous: Int = -1
        var perDay = [Int](repeating: 0, count: Int(cycle.rawValue))
        for (index, step) in steps.enumerated() {
            let start = Int(step.startMinute)
            if index == 0, start != 0 { throw .invalidValue(field: "prescription.step.startMinute", value: Int64(start)) }
            guard start > previous, start < cycle.minutes else {
                throw .invalidValue(field: "prescription.step.startMinute", value: Int64(start))
            }
            previous = start
            perDay[start / 1440] += 1
            if perDay[start / 1440] > maximumStepsPerDay {
                throw .tooMany(field: "prescription.steps(day \(start / 1440))", count: perDay[start / 1440], maximum: maximumStepsPerDay)
            }
        }
    }

    public func write(to writer: inout ByteWriter) {
        writer.uint8(drug.rawValue)
        writer.uint32(concentrationNanogramsPerMillilitre)
        writer.uint8(indication.rawValue)
        writer.uint8(mode.rawValue)
        writer.uint32(continuousVolumeRateNanolitresPerDay)
        writer.uint32(continuousDoseRateNanogramsPerDay)
        writer.uint8(cycle?.rawValue ?? 0)
        writer.uint8(UInt8(truncatingIfNeeded: steps.count))
        for step in steps {
            writer.uint16(step.startMinute)
            writer.uint32(step.volumeRateNanolitresPerDay)
            writer.uint32(step.doseRateNanogramsPerDay)
        }
        if let bolus = patientBolus {
            writer.flag(true)
            writer.uint32(bolus.doseNanograms)
            writer.uint32(bolus.volumeNanolitres)
            writer.uint32(bolus.durationSeconds)
            writer.uint32(bolus.lockoutSeconds)
            writer.uint8(bolus.maximumPer24Hours)
        } else {
            writer.flag(false)
        }
        writer.uint32(catheterVolumeNanolitres)
    }

    /// The canonical encoding; the bytes the hash covers.
    public var canonicalEncoding: [UInt8] { encodedFields }

    /// SHA-256 of the canonical encoding.
    public var hash: PrescriptionHash { PrescriptionHash.of(canonicalEncoding) }

    /// Whether this value survives its own encoding (a locally built value
    /// can break the layout's rules; check before staging).
    public var isCanonical: Bool {
        (try? WirePrescription(decodingFields: canonicalEncoding)) == self
    }
}
