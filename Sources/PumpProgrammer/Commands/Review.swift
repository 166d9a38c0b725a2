import Therapy

/// Current beside pending, every changed field marked, every finding with
/// its code: what the technician reviews before anything is written.
public struct Review: Sendable, Encodable {
    public struct Row: Sendable, Encodable, Equatable {
        public var field: String
        /// The values as the screen and the report show them.
        public var current: String
        public var pending: String
        public var changed: Bool
        /// The same values typed, for JSON: quantities as `{value, unit}`.
        public var currentValue: Value = .none
        public var pendingValue: Value = .none

        /// A reviewed value as JSON gives it: a word, a count, a quantity,
        /// a flex step's dose rate and pump rate, or null when a side has none.
        public enum Value: Sendable, Equatable, Encodable {
            case none
            case text(String)
            case count(Int)
            case quantity(QuantityValue)
            case step(dose: QuantityValue, rate: QuantityValue)

            enum StepKeys: String, CodingKey { case dose, rate }

            public func encode(to encoder: any Encoder) throws {
                switch self {
                case .none:
                    var container = encoder.singleValueContainer()
                    try container.encodeNil()
                case .text(let text):
                    var container = encoder.singleValueContainer()
                    try container.encode(text)
                case .count(let count):
                    var container = encoder.singleValueContainer()
                    try container.encode(count)
                case .quantity(let quantity):
                    var container = encoder.singleValueContainer()
                    try container.encode(quantity)
                case .step(let dose, let rate):
                    var container = encoder.container(keyedBy: StepKeys.self)
                    try container.encode(dose, forKey: .dose)
                    try container.encode(rate, forKey: .rate)
                }
            }
        }

        /// Also given for the pending daily dose when the pump's resolution
        /// rounds the prescribed one down.
        public var pendingPrescribed: QuantityValue?

        enum CodingKeys: String, CodingKey { case field, current, pending, changed, pendingPrescribed }

        public func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(field, forKey: .field)
            try container.encode(currentValue, forKey: .current)
            try container.encode(pendingValue, forKey: .pending)
            try container.encode(changed, forKey: .changed)
            try container.encodeIfPresent(pendingPrescribed, forKey: .pendingPrescribed)
        }
    }

    public var rows: [Row]
    public var report: ValidationReport
    public var errors: [Finding] { report.errors }
    public var warnings: [Finding] { report.warnings }
    /// The new average daily dose as prescribed (what the technician types
    /// back to confirm an increase).
    public var pendingPrescribed: DoseRate

    enum CodingKeys: String, CodingKey { case rows, errors, warnings }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(rows, forKey: .rows)
        try container.encode(errors, forKey: .errors)
        try container.encode(warnings, forKey: .warnings)
    }

    /// Compares like with like: daily doses are those the pump delivers by
    /// its own figures on both sides, so the same prescription programmed
    /// twice shows no change.
    ///
    /// A flex schedule on either side gets one row per time of day (or
    /// week) at which either schedule changes, with the rate in force then
    /// now beside the pending one, so a change confined to one step is seen
    /// where it happens; the patient bolus gets one row per setting.
    public static func compare(current: Prescription?, currentDelivered: DoseRate?, currentRate: VolumeRate? = nil,
                               pending: Prescription, pendingDelivered: DoseRate, report: ValidationReport,
                               profile: PumpProfile, policy: ClinicPolicy) -> Review {
        let pendingMassUnit = policy.policy(for: pending.drug)?.massUnit ?? pending.drug.defaultDoseUnit
        // The step rows compare the two schedules in the pending drug's unit.
        let pendingDoseUnit: QuantityUnit<DoseRateDimension> = pendingMassUnit == .mg ? .mgPerDay : .mcgPerDay
        let pendingPlan = try? pending.dosePlan(on: profile)
        let currentPlan = try? current?.dosePlan(on: profile)
        let prescribed = pendingPlan?.averagePrescribedDose ?? pendingDelivered
        typealias Cell = (name: String, text: String, value: Row.Value)
        func fields(_ p: Prescription?, delivered: DoseRate?, isPending: Bool) -> [Cell] {
            guard let p else { return [] }
            let plan = isPending ? pendingPlan : nil
            // Each side in its own drug's units: after a drug change the
            // current baclofen stays in mcg beside the pending morphine in mg.
            let massUnit = policy.policy(for: p.drug)?.massUnit ?? p.drug.defaultDoseUnit
            let doseUnit: QuantityUnit<DoseRateDimension> = massUnit == .mg ? .mgPerDay : .mcgPerDay
            let concentrationUnit: QuantityUnit<ConcentrationDimension> = massUnit == .mg ? .mgPerML : .mcgPerML
            var dose = delivered.map { $0.formatted(in: doseUnit) } ?? "-"
            if isPending, prescribed != pendingDelivered {
                dose += " (prescribed \(prescribed.formatted(in: doseUnit)), rounded down to the pump's resolution)"
            }
            var list: [Cell] = [
                ("drug", p.drug.rawValue, .text(p.drug.rawValue)),
                ("concentration", p.concentration.formatted(in: concentrationUnit), .quantity(p.concentration.valueAndUnit(in: concentrationUnit))),
                ("indication", p.indication.rawValue, .text(p.indication.rawValue)),
                ("mode", p.mode.name, .text(p.mode.name)),
                ("daily dose", dose, delivered.map { .quantity($0.valueAndUnit(in: doseUnit)) } ?? .none),
            ]
            if let plan {
                list.append(("rate", plan.averageVolumeRate.formatted(in: VolumeRateDimension.defaultUnit),
                             .quantity(plan.averageVolumeRate.valueAndUnit(in: VolumeRateDimension.defaultUnit))))
            } else if let currentRate {
                list.append(("rate", currentRate.formatted(in: VolumeRateDimension.defaultUnit),
                             .quantity(currentRate.valueAndUnit(in: VolumeRateDimension.defaultUnit))))
            }
            if case .flex(let schedule) = p.mode {
                list.append(("cycle", "\(schedule.cycle.rawValue), \(schedule.steps.count) steps", .text(schedule.cycle.rawValue)))
            }
            if p.drug.isOpioid {
                let tolerance = isPending ? (p.opioidTolerance.map(\.words) ?? "opioid-naive (not declared)") : "not held by the pump"
                list.append(("opioid tolerance", tolerance, isPending ? .text(tolerance) : .none))
            }
            if let bolus = p.patientBolus {
                list.append(("patient bolus dose", bolus.dose.formatted(in: massUnit), .quantity(bolus.dose.valueAndUnit(in: massUnit))))
                list.append(("patient bolus duration", bolus.duration.description, .quantity(bolus.duration.valueAndUnit(in: QuantityUnit<DurationDimension>("min", basePerUnit: 60)))))
                list.append(("patient bolus lockout", bolus.lockout.description, .quantity(bolus.lockout.valueAndUnit(in: QuantityUnit<DurationDimension>("min", basePerUnit: 60)))))
                list.append(("patient boluses per 24h", "\(bolus.maximumPer24h)", .count(bolus.maximumPer24h)))
            } else {
                list.append(("patient bolus", "none", .text("none")))
            }
            let catheter = p.catheter?.volume
            list.append(("catheter volume", catheter?.formatted(in: VolumeDimension.defaultUnit) ?? "-",
                         catheter.map { .quantity($0.valueAndUnit(in: VolumeDimension.defaultUnit)) } ?? .none))
            return list
        }
        var before = fields(current, delivered: currentDelivered, isPending: false)
        var after = fields(pending, delivered: pendingDelivered, isPending: true)
        // Every time of day at which either schedule changes: what runs then now, and what will.
        let stepRows = Self.stepRows(current: current, currentPlan: currentPlan, pending: pending, pendingPlan: pendingPlan, unit: pendingDoseUnit)
        before += stepRows.map { ($0.field, $0.current, $0.currentValue) }
        after += stepRows.map { ($0.field, $0.pending, $0.pendingValue) }
        var names: [String] = after.map(\.name)
        for cell in before where !names.contains(cell.name) { names.append(cell.name) }
        let rows = names.map { name in
            let oldCell = before.first { $0.name == name }, newCell = after.first { $0.name == name }
            let old = oldCell?.text ?? "-"
            let new = newCell?.text ?? "-"
            let changed: Bool
            switch name {
            case "daily dose": changed = currentDelivered != pendingDelivered
            // The rate follows the dose; it is information beside it.
            case "rate": changed = false
            // The pump does not hold it: nothing to compare.
            case "opioid tolerance": changed = false
            default:
                if let step = stepRows.first(where: { $0.field == name }) { changed = step.changed } else { changed = old != new }
            }
            var row = Row(field: name, current: current == nil ? "-" : old, pending: new, changed: current == nil || changed,
                          currentValue: current == nil ? .none : oldCell?.value ?? .none, pendingValue: newCell?.value ?? .none)
            if name == "daily dose", prescribed != pendingDelivered { row.pendingPrescribed = prescribed.valueAndUnit(in: pendingDoseUnit) }
            return row
        }
        return Review(rows: rows, report: report, pendingPrescribed: prescribed)
    }

    /// One row per time at which either schedule changes, when either is
    /// flex: the dose rate (and pump rate) in force then on each side.
    /// Compared by the pump's delivered figures, like the daily dose.
    static func stepRows(current: Prescription?, currentPlan: DosePlan?, pending: Prescription, pendingPlan: DosePlan?,
                         unit: QuantityUnit<DoseRateDimension>)
        -> [(field: String, current: String, pending: String, changed: Bool, currentValue: Row.Value, pendingValue: Row.Value)]
    {
        func isFlex(_ p: Prescription?) -> Bool {
            if case .flex? = p?.mode { return true }
            return false
        }
        guard isFlex(current) || isFlex(pending), let pendingPlan else { return [] }
        let cycle: ScheduleCycle = pendingPlan.cycle == .weekly || currentPlan?.cycle == .weekly ? .weekly : .daily
        func text(_ step: DosePlan.Step?) -> String {
            guard let step else { return "-" }
            return "\(step.setting.prescribed.formatted(in: unit)) (\(step.setting.programmed.formatted(in: VolumeRateDimension.defaultUnit)))"
        }
        func value(_ step: DosePlan.Step?) -> Row.Value {
            guard let step else { return .none }
            return .step(dose: step.setting.prescribed.valueAndUnit(in: unit),
                         rate: step.setting.programmed.valueAndUnit(in: VolumeRateDimension.defaultUnit))
        }
        let pieces: [(start: Int64, now: DosePlan.Step?, next: DosePlan.Step)]
        if let currentPlan {
            pieces = DosePlan.aligned(pendingPlan, currentPlan).map { ($0.start, $0.second, $0.first) }
        } else {
            pieces = pendingPlan.steps.map { ($0.start, nil, $0) }
        }
        return pieces.map { piece in
            let field = "at " + FlexStep(start: piece.start, doseRate: .zero).startText(cycle: cycle)
            let changed = piece.now?.setting.delivered != piece.next.setting.delivered
            return (field, text(piece.now), text(piece.next), changed, value(piece.now), value(piece.next))
        }
    }

    /// The review as a table for a terminal: changed rows marked with `*`.
    public var table: String {
        let width = max(8, rows.map(\.field.count).max() ?? 8)
        let currentWidth = max(7, rows.map(\.current.count).max() ?? 7)
        var lines = ["  " + "FIELD".padding(toLength: width, withPad: " ", startingAt: 0) + "  "
                     + "CURRENT".padding(toLength: currentWidth, withPad: " ", startingAt: 0) + "  PENDING"]
        for row in rows {
            lines.append((row.changed ? "* " : "  ") + row.field.padding(toLength: width, withPad: " ", startingAt: 0) + "  "
                         + row.current.padding(toLength: currentWidth, withPad: " ", startingAt: 0) + "  " + row.pending)
        }
        return lines.joined(separator: "\n")
    }
}
