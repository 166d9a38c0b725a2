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
    public var errors: [Finding]
    public var warnings: [Finding]
    /// True when the new daily dose is higher than the current one: the
    /// interactive confirmation asks the technician to type it back.
    public var doseIncrease: Bool
    /// The new daily dose as the technician must type it.
    public var pendingDailyDose: String

    public static func compare(current: Prescription?, pending: Prescription, report: ValidationReport,
                               profile: PumpProfile, policy: ClinicPolicy) -> Review {
        let drugPolicy = policy.policy(for: pending.drug)
        let massUnit = drugPolicy?.massUnit ?? .mcg
        let doseUnit = drugPolicy?.doseRateUnit ?? .mcgPerDay
        let concentrationUnit = drugPolicy?.concentrationUnit ?? .mcgPerML
        func fields(_ p: Prescription?) -> [(String, String)] {
            guard let p else { return [] }
            let plan = try? p.dosePlan(on: profile)
            var list: [(String, String)] = [
                ("drug", p.drug.rawValue),
                ("concentration", p.concentration.formatted(in: concentrationUnit)),
                ("indication", p.indication.rawValue),
                ("mode", p.mode.name),
                ("daily dose", plan.map { $0.averagePrescribedDose.formatted(in: doseUnit) } ?? "-"),
                ("rate", plan.map { $0.averageVolumeRate.formatted(in: VolumeRateDimension.defaultUnit) } ?? "-"),
            ]
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
        let before = fields(current)
        let after = fields(pending)
        var names: [String] = after.map(\.0)
        for (name, _) in before where !names.contains(name) { names.append(name) }
        let rows = names.map { name in
            let old = before.first { $0.0 == name }?.1 ?? "-"
            let new = after.first { $0.0 == name }?.1 ?? "-"
            return Row(field: name, current: current == nil ? "-" : old, pending: new, changed: old != new)
        }
        let currentDose = current.flatMap { try? $0.dosePlan(on: profile).averagePrescribedDose }
        let pendingDose = (try? pending.dosePlan(on: profile).averagePrescribedDose) ?? .zero
        return Review(
            rows: rows, errors: report.errors, warnings: report.warnings,
            doseIncrease: currentDose.map { pendingDose > $0 } ?? true,
            pendingDailyDose: pendingDose.formatted(in: doseUnit))
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
        for finding in errors { lines.append("ERROR   \(finding.code): \(finding.message)") }
        for finding in warnings { lines.append("WARNING \(finding.code): \(finding.message)") }
        return lines.joined(separator: "\n")
    }
}
