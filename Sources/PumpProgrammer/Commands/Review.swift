import Therapy

/// Current beside pending, every changed field marked, every finding with
/// its code: what the technician reviews before anything is written.
public struct Review: Sendable, Encodable {
    public struct Row: Sendable, Encodable, Equatable {
        public var field: String
        public var current: String
        public var pending: String
        public var changed: Bool
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
        let drugPolicy = policy.policy(for: pending.drug)
        let massUnit = drugPolicy?.massUnit ?? pending.drug.defaultDoseUnit
        let doseUnit: QuantityUnit<DoseRateDimension> = massUnit == .mg ? .mgPerDay : .mcgPerDay
        let concentrationUnit: QuantityUnit<ConcentrationDimension> = massUnit == .mg ? .mgPerML : .mcgPerML
        let pendingPlan = try? pending.dosePlan(on: profile)
        let currentPlan = try? current?.dosePlan(on: profile)
        let prescribed = pendingPlan?.averagePrescribedDose ?? pendingDelivered
        func fields(_ p: Prescription?, delivered: DoseRate?, isPending: Bool) -> [(String, String)] {
            guard let p else { return [] }
            let plan = isPending ? pendingPlan : nil
            var dose = delivered.map { $0.formatted(in: doseUnit) } ?? "-"
            if isPending, prescribed != pendingDelivered {
                dose += " (prescribed \(prescribed.formatted(in: doseUnit)), rounded down to the pump's resolution)"
            }
            var list: [(String, String)] = [
                ("drug", p.drug.rawValue),
                ("concentration", p.concentration.formatted(in: concentrationUnit)),
                ("indication", p.indication.rawValue),
                ("mode", p.mode.name),
                ("daily dose", dose),
            ]
            if let plan {
                list.append(("rate", plan.averageVolumeRate.formatted(in: VolumeRateDimension.defaultUnit)))
            } else if let currentRate {
                list.append(("rate", currentRate.formatted(in: VolumeRateDimension.defaultUnit)))
            }
            if case .flex(let schedule) = p.mode {
                list.append(("cycle", "\(schedule.cycle.rawValue), \(schedule.steps.count) steps"))
            }
            if p.drug.isOpioid {
                list.append(("opioid tolerance", isPending
                    ? (p.opioidTolerance.map(\.words) ?? "opioid-naive (not declared)")
                    : "not held by the pump"))
            }
            if let bolus = p.patientBolus {
                list.append(("patient bolus dose", bolus.dose.formatted(in: massUnit)))
                list.append(("patient bolus duration", bolus.duration.description))
                list.append(("patient bolus lockout", bolus.lockout.description))
                list.append(("patient boluses per 24h", "\(bolus.maximumPer24h)"))
            } else {
                list.append(("patient bolus", "none"))
            }
            list.append(("catheter volume", p.catheter?.volume?.formatted(in: VolumeDimension.defaultUnit) ?? "-"))
            return list
        }
        var before = fields(current, delivered: currentDelivered, isPending: false)
        var after = fields(pending, delivered: pendingDelivered, isPending: true)
        // Every time of day at which either schedule changes: what runs then now, and what will.
        let stepRows = Self.stepRows(current: current, currentPlan: currentPlan, pending: pending, pendingPlan: pendingPlan, unit: doseUnit)
        before += stepRows.map { ($0.field, $0.current) }
        after += stepRows.map { ($0.field, $0.pending) }
        var names: [String] = after.map(\.0)
        for (name, _) in before where !names.contains(name) { names.append(name) }
        let rows = names.map { name in
            let old = before.first { $0.0 == name }?.1 ?? "-"
            let new = after.first { $0.0 == name }?.1 ?? "-"
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
            return Row(field: name, current: current == nil ? "-" : old, pending: new, changed: current == nil || changed)
        }
        return Review(rows: rows, report: report, pendingPrescribed: prescribed)
    }

    /// One row per time at which either schedule changes, when either is
    /// flex: the dose rate (and pump rate) in force then on each side.
    /// Compared by the pump's delivered figures, like the daily dose.
    static func stepRows(current: Prescription?, currentPlan: DosePlan?, pending: Prescription, pendingPlan: DosePlan?,
                         unit: QuantityUnit<DoseRateDimension>) -> [(field: String, current: String, pending: String, changed: Bool)] {
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
        let pieces: [(start: Int64, now: DosePlan.Step?, next: DosePlan.Step)]
        if let currentPlan {
            pieces = DosePlan.aligned(pendingPlan, currentPlan).map { ($0.start, $0.second, $0.first) }
        } else {
            pieces = pendingPlan.steps.map { ($0.start, nil, $0) }
        }
        return pieces.map { piece in
            let field = "at " + FlexStep(start: piece.start, doseRate: .zero).startText(cycle: cycle)
            let changed = piece.now?.setting.delivered != piece.next.setting.delivered
            return (field, text(piece.now), text(piece.next), changed)
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
