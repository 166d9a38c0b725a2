import Foundation
import StateFiles
import SystemPackage
import Therapy

extension Programmer {
    /// Writes the report of a change: what it was, the pump after it, and
    /// whether it was read back. `verified` false says so on the report.
    /// `readBackDiffers` tells a read-back that found another prescription
    /// from one that could not be read.
    func writeReport(_ plan: ChangePlan, status: PumpStatus, overrides: [AcceptedPrescription.OverriddenFinding],
                     verified: Bool, readBackDiffers: Bool = false) -> [String] {
        var extra: [SessionReport.Section] = []
        var verdict: ReportVerdict?
        if !verified {
            verdict = readBackDiffers ? .readBackDiffers : .readBackFailed
        }
        var review: Review?
        var title = "Programming"
        switch plan.change {
        case .program(let change):
            review = change.review
        case .refill(let refill):
            title = "Refill"
            review = refill.program?.review
            extra.append(.init(title: "Refill", fields: [
                // To the display precision (Shown), as on the screen: the
                // expected residual is figured to the nanolitre.
                .init("Expected residual", refill.residualUnknown ? "UNKNOWN (refill abandoned, alarm 0x0008; the pump's estimate was \(Shown.volume(refill.check.expected)))" : Shown.volume(refill.check.expected)),
                .init("Withdrawn", Shown.volume(refill.check.withdrawn)),
                .init("Difference", refill.residualUnknown ? "not checked: the expected residual is unknown" : Shown.volume(refill.check.difference)),
                .init("Tolerance", Shown.volume(refill.check.tolerance)),
                .init("Discrepancy", refill.residualUnknown ? "not checked" : refill.check.discrepancy ? "YES: \(refill.discrepancyAcknowledgement ?? "")" : "no"),
                .init("Added", Shown.volume(refill.added)), .init("Drug", "\(refill.drug.rawValue) \(refill.units.text(refill.concentration))"),
            ]))
            if let transition = refill.transition {
                let lines = Shown.transition(transition, reservoir: .drug(refill.drug, refill.concentration), time: calendar.dateTime)
                extra.append(.init(title: "What the line delivers first", fields: lines.enumerated().map {
                    .init($0.offset + 1 == lines.count && transition.reservoirDrugArrives != nil ? "New drug arrives" : "Line", $0.element)
                }))
            }
        default:
            break
        }
        return writeReport(title: title, review: review, status: status, overrides: overrides, extra: extra, before: plan.before,
                           verdict: verdict)
    }

    /// Writes the session report (Markdown and HTML) into `reports/` of the
    /// state directory and returns the paths. A report that cannot be
    /// written is recorded in the audit log; the programming itself stands.
    ///
    /// Every report names the patient (from the pump's patient record), the
    /// software and drug library that made it, and ends with signature
    /// lines; `before` (the pump as read for the plan) is shown beside the
    /// pump after the change.
    func writeReport(title: String, review: Review?, status: PumpStatus, overrides: [AcceptedPrescription.OverriddenFinding],
                     extra: [SessionReport.Section] = [], before: PumpStatus? = nil, verdict: ReportVerdict? = nil) -> [String] {
        let doseUnit = status.doseRateUnit
        let (patientSection, patient) = patientSection(serial: status.serial)
        var sections: [SessionReport.Section] = []
        // The verdict and what to do come before the patient and the
        // scheduler's dates: the dates are figured from a pump whose
        // state this visit could not confirm.
        if let verdict {
            sections.append(.init(title: "NOT VERIFIED", fields: [
                .init("Outcome", verdict.outcome), .init("What to do", verdict.action),
            ]))
        }
        sections += [
            patientSection,
            // What the scheduler books from, first: never the alarm date
            // alone when patient boluses can bring the refill earlier.
            RefillDates.section(status, calendar: calendar),
            .init(title: "Pump", fields: [
                .init("Serial", status.serial), .init("Model", status.model), .init("Firmware", status.firmware),
                .init("Clock", calendar.dateTime(status.clock)),
                .init("Battery", PumpStatus.batteryName(status.battery)), .init("Operator", context.operatorName),
                .init("Second operator", context.secondOperator ?? "-"),
            ]),
            // The policy is the drug library the checks used: its name and
            // the SHA-256 of its bytes identify its version.
            .init(title: "Software and drug library", fields: [
                .init("Programmer", "\(PumpWandSoftware.name) \(PumpWandSoftware.version)"),
                .init("Policy", context.policyIdentity.summary),
            ]),
        ]
        if let before {
            let old = Self.summary(before, calendar: calendar), new = Self.summary(status, calendar: calendar)
            sections.append(.init(title: "Before -> after this visit", fields: zip(old, new).map { old, new in
                old.value == new.value ? .init(old.label, "\(old.value) (unchanged)") : .init(old.label, "\(old.value) -> \(new.value)")
            }))
        }
        sections.append(.init(title: "Now programmed", fields: Self.summary(status, calendar: calendar)))
        if let review {
            sections.append(.init(title: "Changes (current -> pending)", fields: review.rows.filter(\.changed).map {
                .init($0.field, "\($0.current) -> \($0.pending)")
            }))
        }
        if !overrides.isEmpty {
            sections.append(.init(title: "Overrides", fields: overrides.map { .init($0.finding.code.rawValue, $0.reason) }))
        }
        sections += extra
        let report = SessionReport(
            title: "\(title), pump \(status.serial)", headline: calendar.schedulerSentence(status), sections: sections,
            doseUnit: doseUnit.symbol, schedule: doseSteps(status.prescription, unit: doseUnit),
            projection: projectionPoints(status), alarmThresholdML: millilitres(status.lowReservoirThreshold),
            simulated: context.simulated || patient?.simulated == true,
            attestations: [.init(role: "Operator", name: context.operatorName)]
                + (context.secondOperator.map { [.init(role: "Second provider", name: $0)] } ?? [])
                + [.init(role: "Prescriber", name: patient?.prescriber ?? "-")],
            previousSchedule: before.map { doseSteps($0.prescription, unit: doseUnit) } ?? [],
            markers: projectionMarkers(status), verdict: verdict?.headline)
        let stamp = AuditLog.format(context.now()).replacingOccurrences(of: ":", with: "")
        let base = "\(stamp)-\(status.serial)-\(title.lowercased().replacingOccurrences(of: " ", with: "-"))"
        var paths: [String] = []
        do {
            // A planted symlink in place of reports/ is refused, not followed.
            guard let folder = try context.stateDirectory.subdirectory("reports", creating: true) else {
                throw StateFileError.notFound(path: context.stateDirectory.file("reports").string)
            }
            for (suffix, text) in [("md", report.markdown), ("html", report.html)] {
                let path = folder.appending("\(base).\(suffix)")
                try AtomicFile.write(Array(text.utf8), to: path)
                paths.append(path.string)
            }
        } catch {
            try? record(command: "report", phase: .event, outcome: .reportNotWritten, detail: "\(error)")
        }
        return paths
    }

    /// The clinic's calendar, for every day and time on the report.
    var calendar: ClinicCalendar { ClinicCalendar(zone: context.clinicZone) }

    /// The pump's therapy state as the report lists it, before and after.
    static func summary(_ status: PumpStatus, calendar: ClinicCalendar) -> [SessionReport.Field] {
        let doseUnit = status.doseRateUnit
        // The report files what is PROGRAMMED (the prescription, before
        // beside after) and says separately whether it is delivered: a
        // stopped pump's delivered 0 mcg/day would hide the prescription
        // a refill programmed, and list no dose change where there was one.
        let delivery = status.notDelivering.map { " prescribed, NOT DELIVERED (\($0.code))" } ?? ""
        // After an abandoned refill the pump's volume is an estimate of a
        // reservoir that may be empty: no volume, no date from it.
        let unknown = status.reservoirContentsUnknown
        return [
            .init("Drug", status.drug.rawValue), .init("Concentration", status.units.text(status.concentration)),
            .init("Mode", status.prescription.mode.name),
            .init("Daily dose", status.prescribedDailyDose.formatted(in: doseUnit) + delivery),
            // Volumes to the display precision (Shown): the pump delivers
            // between reads, and 11.999983 mL beside 12 mL helps nobody.
            .init("Rate", Shown.volumeRate(status.prescribedRate) + delivery),
            .init("Reservoir", unknown
                  ? "UNKNOWN after an abandoned refill (the pump's estimate \(Shown.volume(status.reservoirVolume)) may be wrong: it may be empty)"
                  : Shown.volume(status.reservoirVolume)),
            .init("Low-reservoir alarm at", Shown.volume(status.lowReservoirThreshold)),
            .init("Low-reservoir alarm date", status.lowReservoirAlarmDate.map(calendar.dateTime)
                  ?? (status.notDelivering != nil ? "none (not delivering)" : unknown ? "UNKNOWN (reservoir contents unknown)" : "none within ten years")),
            // The worst case (every allowed bolus taken): the date the
            // Next refill section books from, here before beside after.
            .init("Latest refill", status.refillDate.map(calendar.dateTime) ?? "-"),
        ]
    }

    /// The patient of pump `serial` as the report shows it, and the record.
    /// A missing or unusable record is said in capitals on the report,
    /// which is still written (the visit happened).
    private func patientSection(serial: String) -> (SessionReport.Section, PatientRecord?) {
        let patient: PatientRecord?
        do { patient = try PatientRecords(directory: context.stateDirectory).record(forPump: serial) } catch {
            return (.init(title: "Patient", fields: [.init("Patient", "PATIENT RECORD UNUSABLE: \(error.description)")]), nil)
        }
        guard let patient else {
            return (.init(title: "Patient", fields: [
                .init("Patient", "NO PATIENT RECORD for pump \(serial) (pumpctl patient set)"),
            ]), nil)
        }
        var fields: [SessionReport.Field] = [
            .init("Name", patient.name), .init("Medical record number", patient.recordNumber),
            .init("Date of birth", patient.birthDate), .init("Prescriber", patient.prescriber),
        ]
        if patient.simulated { fields.append(.init("Record", "SIMULATED patient record (set with --simulator), not a patient's")) }
        return (.init(title: "Patient", fields: fields), patient)
    }

    private func doseSteps(_ prescription: Prescription, unit: QuantityUnit<DoseRateDimension>) -> [SessionReport.DoseStep] {
        func value(_ dose: DoseRate) -> Double { NSDecimalNumber(decimal: dose.decimalValue(in: unit)).doubleValue }
        switch prescription.mode {
        case .continuous(let dose):
            return [.init(startSeconds: 0, dosePerDay: value(dose))]
        case .flex(let schedule):
            // A weekly schedule is drawn for its first day.
            return schedule.steps.filter { $0.start < 86_400 }.map { .init(startSeconds: Int($0.start), dosePerDay: value($0.doseRate)) }
        case .minimumRate, .stopped:
            return [.init(startSeconds: 0, dosePerDay: 0)]
        }
    }

    /// Days from the moment the pump was read (true time) to `time`.
    private func daysFromRead(_ status: PumpStatus, to time: PumpTime) -> Double {
        let read = Double(status.clock.utcSeconds) - Double(status.clockDriftSeconds)
        return (Double(time.utcSeconds) - read) / 86_400
    }

    /// The reservoir from the read to a little past the alarm date, so the
    /// crossing of the threshold shows; the pump's own alarm date decides
    /// where it crosses (a running bolus or a line change drains first).
    private func projectionPoints(_ status: PumpStatus) -> [SessionReport.ReservoirPoint] {
        let start = millilitres(status.reservoirVolume)
        guard let alarm = status.lowReservoirAlarmDate, status.notDelivering == nil, status.rate.baseValue > 0 else {
            return [.init(day: 0, millilitres: start), .init(day: 30, millilitres: start)]
        }
        let alarmDay = max(0, daysFromRead(status, to: alarm))
        let threshold = millilitres(status.lowReservoirThreshold)
        let perDay = millilitres(Volume(baseValue: status.rate.baseValue))
        let end = max(alarmDay * 1.15, alarmDay + 3)
        var points = [SessionReport.ReservoirPoint(day: 0, millilitres: start)]
        if alarmDay > 0 && start > threshold { points.append(.init(day: alarmDay, millilitres: threshold)) }
        points.append(.init(day: end, millilitres: max(0, threshold - perDay * (end - alarmDay))))
        return points
    }

    /// The alarm date and, when patient boluses bring it earlier, the latest day to refill.
    private func projectionMarkers(_ status: PumpStatus) -> [SessionReport.Marker] {
        guard let dates = RefillDates(status, calendar: calendar) else { return [] }
        var markers = [SessionReport.Marker(day: daysFromRead(status, to: dates.alarm), label: "alarm \(calendar.day(dates.alarm))")]
        if dates.latestRefill < dates.alarm {
            markers.append(.init(day: daysFromRead(status, to: dates.latestRefill),
                                 label: "refill by \(calendar.day(dates.latestRefill))", colour: "#a05a00"))
        }
        return markers
    }

    private func millilitres(_ volume: Volume) -> Double { Double(volume.baseValue) / 1_000_000 }
}
