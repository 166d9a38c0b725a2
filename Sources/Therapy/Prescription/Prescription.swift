/// What the pump is told to deliver: one drug at one concentration, in one
/// infusion mode, with an optional patient-activated bolus.
public struct Prescription: Sendable, Equatable {
    public var drug: Drug
    public var concentration: Concentration
    public var indication: Indication
    public var mode: InfusionMode
    public var patientBolus: PatientBolus?
    public var catheter: Catheter?
    /// For an opioid: whether the patient is opioid-tolerant, as the
    /// prescriber declared it. Nil (not declared) is treated as
    /// opioid-naive. The pump does not store it; it decides which limits
    /// the prescription is checked against.
    public var opioidTolerance: OpioidTolerance?

    public init(drug: Drug, concentration: Concentration, indication: Indication, mode: InfusionMode,
                patientBolus: PatientBolus? = nil, catheter: Catheter? = nil, opioidTolerance: OpioidTolerance? = nil) {
        self.drug = drug
        self.concentration = concentration
        self.indication = indication
        self.mode = mode
        self.patientBolus = patientBolus
        self.catheter = catheter
        self.opioidTolerance = opioidTolerance
    }

    /// The tolerance the limits use: for an opioid, the declared one or
    /// opioid-naive when none is declared; nil for other drugs.
    public var effectiveOpioidTolerance: OpioidTolerance? {
        drug.isOpioid ? (opioidTolerance ?? .naive) : nil
    }
}

/// How the basal dose is delivered.
public enum InfusionMode: Sendable, Equatable {
    /// One dose rate all day.
    case continuous(dailyDose: DoseRate)
    /// Steps of dose rate repeating daily or weekly.
    case flex(FlexSchedule)
    /// The pump's minimum rate (keeps the catheter open).
    case minimumRate
    /// No delivery.
    case stopped

    /// The name used in prescription files.
    public var name: String {
        switch self {
        case .continuous: return "continuous"
        case .flex: return "flex"
        case .minimumRate: return "minimum-rate"
        case .stopped: return "stopped"
        }
    }
}

/// Whether a flex schedule repeats every day or every week.
public enum ScheduleCycle: String, Sendable, Codable, Equatable, CaseIterable {
    case daily, weekly

    public var seconds: Int64 { self == .daily ? 86_400 : 604_800 }
}

/// Flex steps: each lasts until the next starts; the last lasts until the
/// cycle repeats. The first step starts at the start of the cycle
/// (00:00, or Mon 00:00 for a weekly cycle), so every moment is covered.
public struct FlexSchedule: Sendable, Equatable {
    public let cycle: ScheduleCycle
    public let steps: [FlexStep]

    /// Most steps a file may hold (13 a day for a week); the pump's own
    /// per-day limit is checked by validation.
    public static let maximumSteps = 91

    public init(cycle: ScheduleCycle, steps: [FlexStep]) throws(PrescriptionError) {
        guard !steps.isEmpty else { throw .invalidField("steps", "a flex schedule needs at least one step") }
        guard steps.count <= Self.maximumSteps else {
            throw .invalidField("steps", "\(steps.count) steps; a schedule holds 1 to \(Self.maximumSteps) (13 a day for a week)")
        }
        guard steps[0].start == 0 else {
            throw .invalidField("steps", "the first step must start at \(cycle == .daily ? "00:00" : "Mon 00:00") so the whole cycle is covered")
        }
        for (index, step) in steps.enumerated() {
            guard step.start >= 0, step.start < cycle.seconds, step.start % 60 == 0 else {
                throw .invalidField("steps[\(index)].start", "outside the \(cycle.rawValue) cycle")
            }
            if index > 0, step.start <= steps[index - 1].start {
                throw .invalidField("steps[\(index)].start", "steps must be in time order with no two at the same time")
            }
        }
        self.cycle = cycle
        self.steps = steps
    }

    /// Each step with its length in seconds.
    public var stepDurations: [(step: FlexStep, seconds: Int64)] {
        steps.enumerated().map { index, step in
            let end = index + 1 < steps.count ? steps[index + 1].start : cycle.seconds
            return (step, end - step.start)
        }
    }
}

/// One flex step.
public struct FlexStep: Sendable, Equatable {
    /// Seconds from the start of the cycle in the pump's local time
    /// (for a weekly cycle, from Monday 00:00).
    public let start: Int64
    public let doseRate: DoseRate

    public init(start: Int64, doseRate: DoseRate) {
        self.start = start
        self.doseRate = doseRate
    }

    /// `07:00` (daily) or `Mon 07:00` (weekly).
    ///
    /// A start outside the cycle (only from a step built by hand, never
    /// from a validated schedule) is shown at its place within the cycle,
    /// with remainders that stay non-negative so the weekday index is
    /// always 0...6.
    public func startText(cycle: ScheduleCycle) -> String {
        let minutes = start.floorDiv(60)
        let time = "\(twoDigits(minutes.floorMod(1440) / 60)):\(twoDigits(minutes.floorMod(60)))"
        guard cycle == .weekly else { return time }
        return "\(Weekday.names[Int(minutes.floorDiv(1440).floorMod(7))]) \(time)"
    }

    /// Parses `07:00` or `Mon 07:00`.
    public static func parseStart(_ text: String, cycle: ScheduleCycle) -> Int64? {
        guard text.utf8.count <= 9 else { return nil }
        var dayOffset: Int64 = 0
        var clock = Substring(text)
        if cycle == .weekly {
            let parts = text.split(separator: " ")
            guard parts.count == 2, let day = Weekday.names.firstIndex(of: String(parts[0])) else { return nil }
            dayOffset = Int64(day) * 86_400
            clock = parts[1]
        }
        let pieces = clock.split(separator: ":", omittingEmptySubsequences: false)
        guard pieces.count == 2, pieces[0].count == 2, pieces[1].count == 2,
              pieces.allSatisfy({ $0.allSatisfy(\.isASCIIDigitCharacter) }),
              let hour = Int64(pieces[0]), let minute = Int64(pieces[1]), hour < 24, minute < 60 else { return nil }
        return dayOffset + hour * 3_600 + minute * 60
    }
}

enum Weekday {
    /// Weekly cycles start on Monday (ISO 8601).
    static let names = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]
}

/// A patient-activated bolus: how much, over how long, how often.
public struct PatientBolus: Sendable, Equatable {
    public var dose: Mass
    public var duration: Duration
    /// Shortest time from the start of one bolus to the start of the next.
    public var lockout: Duration
    public var maximumPer24h: Int

    /// The boluses per 24 h a prescription may allow: the pump's range,
    /// used by the file, the validator and the wire alike.
    public static let allowedPerDay: ClosedRange<Int> = 1...24

    public init(dose: Mass, duration: Duration, lockout: Duration, maximumPer24h: Int) {
        self.dose = dose
        self.duration = duration
        self.lockout = lockout
        self.maximumPer24h = maximumPer24h
    }
}

/// The implanted catheter, measured or given as a volume. Its volume is
/// the drug a concentration change must flush through at the old
/// concentration.
public enum Catheter: Sendable, Equatable {
    case measured(length: Length, volumePerLength: VolumePerLength)
    case volume(Volume)

    /// Catheter volume, rounded up to the next nanolitre: a larger line
    /// volume means a longer bridge, which is the safe side.
    public var volume: Volume? {
        switch self {
        case .volume(let volume):
            return volume
        case .measured(let length, let perCm):
            // um x nL/cm / 10_000 um per cm
            return Exact.mulDiv(length.baseValue, perCm.baseValue, 10_000, rounding: .up).map(Volume.init(baseValue:))
        }
    }
}

/// Why a prescription could not be read or built. Nothing was sent to a pump.
public enum PrescriptionError: Error, Sendable, Equatable, CustomStringConvertible {
    case tooLarge(bytes: Int, limit: Int)
    case notJSON(String)
    case missingField(String)
    case unknownField(String)
    case invalidField(String, String)
    /// A key written twice in one object (its path): which one a parser
    /// keeps is not defined, so neither is used.
    case duplicateKey(String)

    public var description: String {
        let kept = " The prescription was not used; nothing was sent to the pump."
        switch self {
        case .tooLarge(let bytes, let limit):
            return "the prescription file is \(bytes) bytes; the limit is \(limit)." + kept
        case .notJSON(let detail):
            return "the prescription is not readable JSON: \(detail)." + kept
        case .missingField(let name):
            return "the prescription has no '\(name)'." + kept
        case .unknownField(let name):
            return "the prescription has a field '\(name)' this program does not know (a misspelling?)." + kept
        case .invalidField(let name, let reason):
            return "the prescription's '\(name)' is not valid: \(reason)." + kept
        case .duplicateKey(let name):
            return "the prescription has '\(name)' twice; write each field once so the review shows what is programmed." + kept
        }
    }
}

private func twoDigits(_ value: Int64) -> String { value < 10 ? "0\(value)" : "\(value)" }

extension Character {
    var isASCIIDigitCharacter: Bool { ("0"..."9").contains(self) }
}
