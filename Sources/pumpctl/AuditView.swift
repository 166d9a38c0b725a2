import Foundation
import PumpProgrammer
import Therapy

/// What an audit row says to a technician reading the log: the change in
/// words and numbers (old -> new daily dose with units, the bolus dose,
/// the refill volumes), SIMULATED for a simulated pump, refusals and
/// cancellations with their reason, the patient's record number when the
/// row names one, and the time in the clinic's zone. Decided on the rows'
/// typed parts (outcome codes, parameter keys and quantities with units),
/// never on display text.
struct AuditRowView {
    let entry: AuditEntry
    /// The pump's read before this row (for the old side of a change).
    let previousRead: AuditEntry?

    var simulated: Bool { entry.parameters["simulated"] == "true" }
    var patientRecordNumber: String? { entry.parameters["patient_record_number"] }

    /// The quantities of the change, typed, for JSON.
    struct Change: Encodable {
        struct Step: Encodable { var from: QuantityValue?; var to: QuantityValue }
        var mode: String?
        var dailyDose: Step?
        var concentration: Step?
        var bolusDose: QuantityValue?
        var bolusDuration: QuantityValue?
        var bolusVolume: QuantityValue?
        var withdrawn: QuantityValue?
        var expected: QuantityValue?
        var added: QuantityValue?
        var drugDelivered: QuantityValue?
        var bolusEnd: String?

        var isEmpty: Bool {
            mode == nil && dailyDose == nil && concentration == nil && bolusDose == nil && withdrawn == nil && added == nil
                && drugDelivered == nil && bolusEnd == nil
        }
    }

    static func quantity<D: PhysicalDimension>(_ text: String?, _: D.Type) -> QuantityValue? {
        guard let text, let (parsed, unit) = try? Quantity<D>.parseWithUnit(text) else { return nil }
        return parsed.valueAndUnit(in: unit)
    }

    /// A read's `NAME_value` / `NAME_unit` pair as a quantity.
    static func quantity<D: PhysicalDimension>(_ read: AuditEntry?, _ name: String, _ dimension: D.Type) -> QuantityValue? {
        guard let read, let value = read.parameters["\(name)_value"], let unit = read.parameters["\(name)_unit"] else { return nil }
        return quantity(value + unit, dimension)
    }

    var change: Change? {
        let p = entry.parameters
        var change = Change()
        if p["mode"] != nil, let dose = Self.quantity(p["daily_dose"], DoseRateDimension.self) {
            change.mode = p["mode"]
            let before = Self.quantity(previousRead, "prescribed_daily_dose", DoseRateDimension.self)
                ?? Self.quantity(previousRead, "daily_dose", DoseRateDimension.self)
            change.dailyDose = .init(from: before, to: dose)
            if let strength = Self.quantity(p["concentration"], ConcentrationDimension.self) {
                change.concentration = .init(from: Self.quantity(previousRead, "concentration", ConcentrationDimension.self), to: strength)
            }
        }
        if let dose = Self.quantity(p["dose_to_patient"], MassDimension.self) {
            change.bolusDose = dose
            change.bolusDuration = Self.quantity(p["duration"], DurationDimension.self)
            change.bolusVolume = Self.quantity(p["volume"], VolumeDimension.self)
        }
        if let added = Self.quantity(p["added"], VolumeDimension.self) {
            change.added = added
            change.withdrawn = Self.quantity(p["withdrawn"], VolumeDimension.self)
            change.expected = Self.quantity(p["expected"], VolumeDimension.self)
            change.concentration = Self.quantity(p["concentration"], ConcentrationDimension.self).map { .init(from: nil, to: $0) }
        }
        if let end = p["bolus_end"] {
            change.bolusEnd = end
            change.drugDelivered = p["drug_delivered_ng"].flatMap { Int64($0) }.map { Mass(baseValue: $0).valueAndUnit(in: .mcg) }
        }
        return change.isEmpty ? nil : change
    }

    /// A stored quantity as the screens show it: volumes to 0.01 mL (the
    /// display precision every screen uses), other quantities as stored.
    static func text(_ quantity: QuantityValue?) -> String {
        guard let quantity else { return "?" }
        guard quantity.unit == "mL" else { return "\(quantity.value) \(quantity.unit)" }
        var exact = quantity.value
        var rounded = Decimal()
        NSDecimalRound(&rounded, &exact, 2, .plain)
        return "\(rounded) mL"
    }

    /// The change in words and numbers.
    var changeText: String {
        guard let change else { return "" }
        var parts: [String] = []
        if let dose = change.dailyDose {
            parts.append("daily dose \(dose.from.map { Self.text($0) + " -> " } ?? "")\(Self.text(dose.to))" + (change.mode.map { " (\($0))" } ?? ""))
        }
        if let dose = change.bolusDose {
            parts.append("bolus \(Self.text(dose))" + (change.bolusDuration.map { " over \(Self.text($0))" } ?? "")
                         + (change.bolusVolume.map { " (\(Self.text($0)))" } ?? ""))
        }
        if let added = change.added {
            parts.append("refill: withdrawn \(Self.text(change.withdrawn))" + (change.expected.map { " (expected \(Self.text($0)))" } ?? "")
                         + ", added \(Self.text(added))" + (entry.parameters["drug"].map { " of \($0)" } ?? "")
                         + (change.concentration.map { " \(Self.text($0.to))" } ?? ""))
        } else if let strength = change.concentration, strength.from != strength.to {
            // Shown only when it changes; JSON has it either way.
            parts.append("concentration \(strength.from.map { Self.text($0) + " -> " } ?? "")\(Self.text(strength.to))")
        }
        if let end = change.bolusEnd {
            parts.append("bolus ended: \(end)" + (change.drugDelivered.map { ", \(Self.text($0)) delivered" } ?? ""))
        }
        return parts.joined(separator: "; ")
    }

    /// The outcome, with the reason of a refusal or cancellation.
    var outcomeText: String {
        guard let outcome = entry.outcome else { return "-" }
        let withReason: Set<AuditOutcome> = [.refusedByPolicy, .refusedByPump, .cancelled, .staleReview, .wrongPump, .notSent,
                                             .uncertain, .noReply, .resolvedRefused, .resolvedNeverReceived]
        guard let code = entry.outcomeCode, withReason.contains(code), let detail = entry.parameters["detail"], !detail.isEmpty else {
            return outcome
        }
        return "\(outcome): \(detail)"
    }

    /// The views of a log's rows, each with its pump's read before it.
    static func views(_ entries: [AuditEntry]) -> [AuditRowView] {
        var lastRead: [String: AuditEntry] = [:]
        return entries.map { entry in
            let view = AuditRowView(entry: entry, previousRead: entry.pumpSerial.flatMap { lastRead[$0] })
            if entry.command == "interrogate", entry.outcomeCode == .read, let serial = entry.pumpSerial { lastRead[serial] = entry }
            return view
        }
    }

    static func table(_ entries: [AuditEntry]) -> String {
        let zone = Screen.shared.zone
        return Output.table(
            header: ["#", "TIME", "", "PUMP", "PATIENT", "OPERATOR", "COMMAND", "PHASE", "CHANGE", "OUTCOME", "OVERRIDES"],
            rows: views(entries).map { view in
                let row = view.entry
                return ["\(row.sequence)", zone.dateTime(rfc3339: row.time), view.simulated ? "SIMULATED" : "",
                        row.pumpSerial ?? "-", view.patientRecordNumber ?? "-",
                        row.operatorName + (row.secondOperator.map { " + \($0)" } ?? ""), row.command, row.phase.rawValue,
                        view.changeText.isEmpty ? "-" : view.changeText, view.outcomeText,
                        row.overrides.isEmpty ? "-" : row.overrides.map { "\($0.code): \($0.reason)" }.joined(separator: "; ")]
            })
    }
}

/// `audit list --json`: each row as stored (its RFC 3339 UTC time, its
/// parameters and hash chain), and beside it what the screen shows, typed:
/// `simulated`, the patient's `patient_record_number` when the row names
/// one, and the `change` with quantities as {value, unit}.
struct AuditListingRow: Encodable {
    let view: AuditRowView

    enum ExtraKeys: String, CodingKey { case simulated, patientRecordNumber, change }

    func encode(to encoder: any Encoder) throws {
        try view.entry.encode(to: encoder)
        var container = encoder.container(keyedBy: ExtraKeys.self)
        try container.encode(view.simulated, forKey: .simulated)
        try container.encodeIfPresent(view.patientRecordNumber, forKey: .patientRecordNumber)
        try container.encodeIfPresent(view.change, forKey: .change)
    }
}
