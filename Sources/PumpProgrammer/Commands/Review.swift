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
    public static func compare(current: Prescription?, currentDelivered: DoseRate?, currentRate: VolumeRate? = nil,
                               pending: Prescription, pendingDelivered: DoseRate, report: ValidationReport,
                               profile: PumpProfile, policy: ClinicPolicy) -> Review {
        let drugPolicy = policy.policy(for: pending.drug)
        let massUnit = drugPolicy?.massUnit ?? .mcg
        let doseUnit = drugPolicy?.doseRateUnit ?? .mcgPerDay
        let concentrationUnit = drugPolicy?.concentrationUnit ?? .mcgPerML
        let pendingPlan = try? pending.dosePlan(on: profile)
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
                for step in schedule.steps {
                    list.append(("step \(step.startText(cycle: schedule.cycle))", step.doseRate.formatted(in: doseUnit)))
                }
            }
            if let bolus = p.patientBolus {
                list.append(("patient bolus", "\(bolus.dose.formatted(in: massUnit)) over \(bolus.duration), lockout \(bolus.lockout), max \(bolus.maximumPer24h)/24h"))
            } else {
                list.append(("patient bolus", "none"))
            }
            list.append(("catheter volume", p.catheter?.volume?.formatted(in: VolumeDimension.defaultUnit) ?? "-"))
            return list
        }
        let before = fields(current, delivered: currentDelivered, isPending: false)
        let after = fields(pending, delivered: pendingDelivered, isPending: true)
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
            default: changed = old != new
            }
            return Row(field: name, current: current == nil ? "-" : old, pending: new, changed: current == nil || changed)
        }
        return Review(rows: rows, report: report, pendingPrescribed: prescribed)
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
