import Crypto
import Foundation
import Therapy

/// One visit: the audit rows of one session with a pump, from its
/// "session opened" row to its "session closed" row (or the next opening,
/// when the process died), in order.
public struct AuditVisit: Sendable {
    /// Stable across exports: from the hash of the session's first row.
    public var id: String
    public var pumpSerial: String
    public var rows: [AuditEntry]
    public var simulated: Bool { rows.first?.parameters["simulated"] == "true" }
    public var start: String { rows.first?.time ?? "" }
    public var end: String { rows.last?.time ?? "" }
    /// The patient as the visit's rows recorded them (`AuditLog.append`).
    public var patient: (name: String, recordNumber: String, birthDate: String, prescriber: String, system: String?)? {
        guard let row = rows.first(where: { $0.parameters["patient_record_number"] != nil }),
              let name = row.parameters["patient_name"], let number = row.parameters["patient_record_number"],
              let birth = row.parameters["patient_birth_date"] else { return nil }
        return (name, number, birth, row.parameters["prescriber"] ?? "", row.parameters["patient_mrn_system"])
    }

    /// The visits of an audit log, oldest first.
    public static func visits(in entries: [AuditEntry]) -> [AuditVisit] {
        var visits: [AuditVisit] = []
        var current: AuditVisit?
        for entry in entries {
            if entry.command == "session", entry.outcomeCode == .sessionOpened, let serial = entry.pumpSerial {
                if let open = current { visits.append(open) }
                current = AuditVisit(id: String(entry.hash.prefix(16)), pumpSerial: serial, rows: [entry])
                continue
            }
            guard var open = current, entry.pumpSerial == open.pumpSerial else { continue }
            open.rows.append(entry)
            current = open
            if entry.command == "session", entry.outcomeCode == .sessionClosed {
                visits.append(open)
                current = nil
            }
        }
        if let open = current { visits.append(open) }
        return visits
    }
}

/// Why a visit cannot be exported.
public enum FHIRExportError: Error, Equatable, Sendable, CustomStringConvertible {
    case noPatient(visit: String, pump: String)
    case noRead(visit: String)
    /// The record number has no assigning system: alone it may name
    /// another clinic's patient.
    case noRecordSystem(visit: String, pump: String)
    /// The rows name a placeholder record number (`0`, `unknown`, `n/a`),
    /// set before such numbers were refused: filed, it would join
    /// unrelated patients under one Patient.
    case fillerRecordNumber(visit: String, pump: String, number: String)
    case unreadable(visit: String, detail: String)

    public var description: String {
        switch self {
        case let .noPatient(visit, pump):
            return "Visit \(visit) with pump \(pump) names no patient (its audit rows carry no patient record): it cannot be filed. Set the record with pumpctl patient set for the visits to come."
        case let .noRecordSystem(visit, pump):
            return "Visit \(visit) with pump \(pump) has a record number without the system that assigned it: alone it may name another clinic's patient. Set the record again with pumpctl patient set --mrn-system URI for the visits to come."
        case let .fillerRecordNumber(visit, pump, number):
            return "Visit \(visit) with pump \(pump) names the placeholder record number '\(number)', not a patient's: it cannot be filed. Set the patient's real record number with pumpctl patient set --replace for the visits to come, and file this visit by hand."
        case let .noRead(visit):
            return "Visit \(visit) never read the pump, so there is no device state to export."
        case let .unreadable(visit, detail):
            return "Visit \(visit) cannot be exported: \(detail)"
        }
    }
}

/// A visit as an HL7 FHIR R5 transaction Bundle of PUTs with ids derived
/// from the audit log, so exporting the same visit again updates the
/// same resources on the server instead of adding copies.
///
/// What the pump did comes from the audit rows' outcome codes, never from
/// display text: a command whose outcome is UNCERTAIN is a
/// MedicationAdministration with status `unknown`, a refused or cancelled
/// one `not-done`, and only one the pump carried out (its receipt, or a
/// later resolution as executed) `completed`.
public enum FHIRExport {
    public static let mrnSystem = "urn:pumpwand:medical-record-number"
    public static let serialSystem = "urn:pumpwand:pump-serial"
    public static let commandSystem = "urn:pumpwand:command-id"
    public static let visitSystem = "urn:pumpwand:visit"
    public static let auditCommandSystem = "urn:pumpwand:audit-command"
    public static let observationSystem = "urn:pumpwand:observation"
    /// An audit row by its hash (a refill refused before it had a command id).
    public static let auditRowSystem = "urn:pumpwand:audit-row"

    /// Test data marks (HL7 v3 ActReason HTEST) on every resource of a simulated visit.
    static let simulatedMeta = FHIR.Meta(
        security: [.init(system: "http://terminology.hl7.org/CodeSystem/v3-ActReason", code: "HTEST", display: "test health data")],
        tag: [simulatedTag])
    static let simulatedTag = FHIR.Coding(system: "urn:pumpwand:tag", code: "SIMULATED", display: "SIMULATED visit: simulated pump, not a patient's")

    /// A FHIR id (UUID form) that depends only on `parts`.
    static func stableID(_ parts: String...) -> String {
        var bytes = Array(SHA256.hash(data: Data(parts.joined(separator: "\u{1F}").utf8)).prefix(16))
        bytes[6] = (bytes[6] & 0x0F) | 0x80  // version 8: name-based, SHA-256
        bytes[8] = (bytes[8] & 0x3F) | 0x80
        let hex = bytes.map { String(format: "%02x", $0) }.joined()
        let cut = [8, 4, 4, 4, 12]
        var index = hex.startIndex
        return cut.map { length in
            let end = hex.index(index, offsetBy: length)
            defer { index = end }
            return String(hex[index..<end])
        }.joined(separator: "-")
    }

    /// UCUM for the units pumpctl records.
    static func ucum(_ unit: String) -> String? {
        ["mcg": "ug", "mg": "mg", "mL": "mL", "mcg/day": "ug/d", "mg/day": "mg/d", "mcg/mL": "ug/mL", "mg/mL": "mg/mL",
         "mL/day": "mL/d", "mV": "mV", "min": "min", "h": "h", "s": "s"][unit]
    }

    static func quantity(_ value: Decimal, _ unit: String) -> FHIR.Quantity? {
        ucum(unit).map { FHIR.Quantity(value: value, unit: unit, code: $0) }
    }

    /// `50mcg`, `18mL` as recorded in an audit row, as a FHIR quantity.
    static func quantity<D: PhysicalDimension>(_ text: String?, _: D.Type) -> FHIR.Quantity? {
        guard let text, let (parsed, unit) = try? Quantity<D>.parseWithUnit(text) else { return nil }
        return quantity(parsed.decimalValue(in: unit), unit.symbol)
    }

    static let intrathecal = FHIR.CodeableConcept.text("intrathecal")

    /// What became of a command, from every row with its id (a later
    /// visit's resolution included), as a MedicationAdministration status.
    static func administrationStatus(_ rows: [AuditEntry]) -> (status: String, reason: String?) {
        let outcomes = rows.compactMap(\.outcomeCode)
        if outcomes.contains(where: { [.done, .resolvedExecuted, .readBackMatches, .notVerified].contains($0) }) {
            return ("completed", outcomes.contains(.notVerified) ? "carried out; read-back not verified" : nil)
        }
        if let refused = outcomes.last(where: {
            [.refusedByPump, .notSent, .resolvedRefused, .resolvedNeverReceived, .refusedByPolicy, .cancelled, .staleReview].contains($0)
        }) {
            return ("not-done", refused.rawValue)
        }
        if outcomes.contains(.uncertain) || outcomes.contains(.noReply) || outcomes.contains(.unreadableReply) {
            return ("unknown", "UNCERTAIN: sent, and whether the pump carried it out is not known")
        }
        return ("unknown", "no outcome was recorded")
    }

    static func auditOutcome(_ code: AuditOutcome) -> String {
        switch code {
        case .sessionOpened, .sessionClosed, .read, .done, .readBackMatches, .unchanged, .resolvedExecuted, .patientRecordSet, .exported:
            return "0"
        case .exportUnconfirmed, .wrongPump, .refusedByPump, .notSent, .resolvedRefused, .resolvedNeverReceived, .refusedByPolicy, .cancelled,
             .staleReview, .reportNotWritten:
            return "4"
        case .uncertain, .readBackMismatch, .notVerified, .noReply, .unreadableReply:
            return "8"
        }
    }

    /// The newest audit row of the pump (simulated or not, as the visit)
    /// that satisfies `match`, from the whole log.
    static func newest(_ log: [AuditEntry], pump: String, simulated: Bool, _ match: (AuditEntry) -> Bool) -> AuditEntry? {
        log.last { $0.pumpSerial == pump && ($0.parameters["simulated"] == "true") == simulated && match($0) }
    }

    static func isRead(_ row: AuditEntry) -> Bool {
        row.command == "interrogate" && row.outcomeCode == .read && row.parameters["drug"] != nil
    }

    /// Whether the read found the pump not delivering (stopped, an alarm
    /// that stops delivery, a refill under way, a line without drug).
    static func notDelivering(_ state: [String: String]) -> String? {
        if let reason = state["not_delivering"], !reason.isEmpty { return reason }
        if state["infusion"] == "stopped" || state["mode"] == "stopped" { return "stopped" }
        return nil
    }

    /// The visit's bundle. `log` is the whole audit log, for outcomes
    /// resolved after the visit and for the shared resources (Patient,
    /// Device, MedicationRequest): those are written from the newest rows
    /// the log holds for them, whichever visit is exported, so sending an
    /// old visit again never puts older data over newer.
    public static func bundle(_ visit: AuditVisit, log: [AuditEntry]) throws(FHIRExportError) -> FHIR.Bundle {
        guard let person = visit.patient else { throw .noPatient(visit: visit.id, pump: visit.pumpSerial) }
        guard let recordSystem = person.system else { throw .noRecordSystem(visit: visit.id, pump: visit.pumpSerial) }
        guard !PatientRecord.isFiller(person.recordNumber) else {
            throw .fillerRecordNumber(visit: visit.id, pump: visit.pumpSerial, number: PatientRecord.printable(person.recordNumber))
        }
        let reads = visit.rows.filter(isRead)
        guard let last = reads.last else { throw .noRead(visit: visit.id) }
        let meta = visit.simulated ? simulatedMeta : nil
        // Test data and clinical data never share a resource id.
        let mark = visit.simulated ? "SIMULATED" : "clinical"
        let serial = visit.pumpSerial
        let state = last.parameters
        let newestRead = newest(log, pump: serial, simulated: visit.simulated, isRead) ?? last

        let patientRow = newest(log, pump: serial, simulated: visit.simulated) {
            $0.parameters["patient_record_number"] == person.recordNumber && $0.parameters["patient_mrn_system"] == recordSystem
        }
        let patientName = patientRow?.parameters["patient_name"] ?? person.name
        let patientBirth = patientRow?.parameters["patient_birth_date"] ?? person.birthDate
        let patientID = stableID("Patient", mark, recordSystem, person.recordNumber)
        let subject = FHIR.Reference.entry(patientID)
        let patient = FHIR.Patient(id: patientID, meta: meta, identifier: [.init(system: recordSystem, value: person.recordNumber)],
                                   name: [.init(text: patientName)], birthDate: patientBirth)

        let deviceID = stableID("Device", mark, serial)
        let deviceReference = FHIR.Reference.entry(deviceID)
        let deviceState = newestRead.parameters
        let model = deviceState["model"] ?? "unknown"
        var deviceProperties: [FHIR.Device.Property] = deviceState["battery"].map { [.init(type: .text("battery"), valueCodeableConcept: .text($0))] } ?? []
        deviceProperties.append(.init(type: .text("delivery"), valueCodeableConcept: .text(
            notDelivering(deviceState).map { "not delivering: \($0)" } ?? "delivering")))
        let device = FHIR.Device(
            id: deviceID, meta: meta, identifier: [.init(system: serialSystem, value: serial)], status: "active",
            displayName: "implanted intrathecal drug pump \(model) \(serial)", serialNumber: serial,
            modelNumber: model, version: deviceState["firmware"].map { [.init(type: .text("firmware"), value: $0)] },
            property: deviceProperties, type: [.text("implantable intrathecal infusion pump")])

        guard let drug = state["drug"], let strengthValue = state["concentration_value"].flatMap({ Decimal(string: $0) }),
              let strengthUnit = state["concentration_unit"] else {
            throw .unreadable(visit: visit.id, detail: "row \(last.sequence) lacks the drug or concentration")
        }
        let medication = FHIR.CodeableReference(
            concept: .text("\(drug) \(strengthValue) \(strengthUnit) intrathecal solution"), reference: nil)
        let hash = state["prescription_hash"] ?? ""
        let requestID = stableID("MedicationRequest", mark, serial, hash)
        var resources: [FHIR.Resource] = [.patient(patient), .device(device)]
        // The prescription as the pump holds it, never as a read while
        // stopped shows it (0 per day): its prescribed dose, or the newest
        // read of it while it was delivering.
        let prescriptionReads = log.filter { $0.pumpSerial == serial && ($0.parameters["simulated"] == "true") == visit.simulated && isRead($0)
            && $0.parameters["prescription_hash"] == hash }
        let delivering = prescriptionReads.last { notDelivering($0.parameters) == nil }
        let source = prescriptionReads.last { $0.parameters["prescribed_daily_dose_value"] != nil } ?? delivering
        var requestReference: FHIR.Reference?
        if let source, let prescribed = source.parameters["prescribed_daily_dose_value"].flatMap({ Decimal(string: $0) })
                ?? source.parameters["daily_dose_value"].flatMap({ Decimal(string: $0) }),
           let doseUnit = source.parameters["prescribed_daily_dose_unit"] ?? source.parameters["daily_dose_unit"],
           let dose = quantity(prescribed, doseUnit) {
            // Replaced when a later read of the pump holds another prescription.
            let lastOfIt = prescriptionReads.last?.sequence ?? last.sequence
            let superseded = log.contains { $0.sequence > lastOfIt && $0.pumpSerial == serial
                && ($0.parameters["simulated"] == "true") == visit.simulated && isRead($0) && $0.parameters["prescription_hash"] != hash }
            let programmed = log.last { $0.pumpSerial == serial && $0.command == "program" && $0.phase == .outcome && $0.outcomeCode == .done
                && $0.sequence <= (prescriptionReads.first?.sequence ?? last.sequence) }
            let request = FHIR.MedicationRequest(
                id: requestID, meta: meta, identifier: [.init(system: "urn:pumpwand:prescription-hash", value: hash)],
                status: superseded ? "ended" : "active", intent: "order", medication: medication, subject: subject,
                authoredOn: programmed?.time, requester: person.prescriber.isEmpty ? nil : .named(person.prescriber),
                device: [.init(concept: nil, reference: deviceReference)],
                dosageInstruction: dosage(source.parameters, mode: source.parameters["mode"] ?? "continuous", dailyDose: dose),
                note: [.init(text: "As read from pump \(serial) at \(source.time); prescription hash \(hash).")])
            resources.append(.medicationRequest(request))
            requestReference = .to("MedicationRequest", requestID)
        }
        resources += observations(visit, read: last, subject: subject, device: deviceReference, meta: meta, mark: mark)

        // Each bolus the visit asked for, as what became of it; each refill
        // as a procedure on the pump (drug put into the reservoir is not
        // drug given to the patient).
        var targets: [String: FHIR.Reference] = [:]
        for refill in refillsAsked(visit, log: log) {
            let intent = refill.row
            let id = refillProcedureID(refill, mark: mark)
            targets[intent.commandID ?? intent.hash] = .to("Procedure", id)
            let (status, reason) = (refill.status, refill.reason)
            // A refill refused before it had a command id is named by its audit row.
            let identifier = intent.commandID.map { FHIR.Identifier(system: commandSystem, value: $0) }
                ?? FHIR.Identifier(system: auditRowSystem, value: intent.hash)
            let done = status == "completed"
            let text = "reservoir refill: \(intent.parameters["added"] ?? "?") of \(intent.parameters["drug"] ?? drug) \(intent.parameters["concentration"] ?? "") \(done ? "put into" : "asked to be put into") the pump's reservoir; withdrawn \(intent.parameters["withdrawn"] ?? "?") (expected \(intent.parameters["expected"] ?? "?"))"
                resources.append(.procedure(FHIR.Procedure(
                    id: id, meta: meta, identifier: [identifier], status: status,
                    statusReason: reason.map { .text($0) }, category: [.text("pump reservoir refill")],
                    code: .text("refill of implanted drug pump reservoir"), subject: subject, occurrenceDateTime: intent.time,
                    recorded: intent.time, performer: [.init(actor: .named(intent.operatorName))],
                    focalDevice: [.init(manipulated: deviceReference)], note: [.init(text: text)])))
        }
        for intent in visit.rows where intent.phase == .intent && intent.command == "bolus" {
            guard let commandID = intent.commandID else { continue }
            let rows = log.filter { $0.commandID == commandID }
            let (status, reason, given) = bolusStatus(rows)
            let id = stableID("MedicationAdministration", mark, commandID)
            targets[commandID] = .to("MedicationAdministration", id)
            let text = "\(intent.parameters["kind"] ?? "") bolus of \(intent.parameters["dose_to_patient"] ?? "?") asked, over \(intent.parameters["duration"] ?? "?") (\(intent.parameters["volume"] ?? "?"))"
            let asked = quantity(intent.parameters["dose_to_patient"], MassDimension.self)
            let dose = given.flatMap { nanograms in asked.flatMap { delivered(nanograms, like: $0) } }
            resources.append(.medicationAdministration(FHIR.MedicationAdministration(
                id: id, meta: meta, identifier: [.init(system: commandSystem, value: commandID)], status: status,
                statusReason: reason.map { [.text($0)] }, category: [.text("intrathecal bolus")],
                medication: medication, subject: subject, occurenceDateTime: intent.time, recorded: intent.time,
                performer: [.init(actor: .init(concept: nil, reference: .named(intent.operatorName)))],
                request: requestReference, device: [.init(concept: nil, reference: deviceReference)],
                note: [.init(text: text)], dosage: .init(text: text, route: intrathecal, dose: dose))))
        }

        // Overrides and the second provider, on the command they belong to.
        let sharedBegins = beginsSharingProvenance(visit, log: log)
        let folded = Set(sharedBegins.values.joined().map(\.hash))
        for row in visit.rows where (!row.overrides.isEmpty || row.secondOperator != nil) && !folded.contains(row.hash) {
            var provenanceTargets = [FHIR.Reference.to("AuditEvent", stableID("AuditEvent", mark, row.hash))]
            provenanceTargets += (sharedBegins[row.hash] ?? []).map { .to("AuditEvent", stableID("AuditEvent", mark, $0.hash)) }
            if let target = row.commandID.flatMap({ targets[$0] }) { provenanceTargets.append(target) }
            if row.command == "program", let requestReference { provenanceTargets.append(requestReference) }
            var agents = [FHIR.Provenance.Agent(type: .init(coding: [.init(system: "http://terminology.hl7.org/CodeSystem/provenance-participant-type", code: "author", display: "Author")], text: nil),
                                                who: .named(row.operatorName))]
            if let second = row.secondOperator {
                agents.append(.init(type: .init(coding: [.init(system: "http://terminology.hl7.org/CodeSystem/provenance-participant-type", code: "verifier", display: "Verifier")], text: "second provider"),
                                    who: .named(second)))
            }
            resources.append(.provenance(FHIR.Provenance(
                id: stableID("Provenance", mark, row.hash), meta: meta, target: provenanceTargets, recorded: row.time, patient: subject,
                activity: .text(row.command),
                authorization: row.overrides.isEmpty ? nil : row.overrides.map { .init(concept: .text("override \($0.code): \($0.reason)"), reference: nil) },
                agent: agents)))
        }

        // Every row as an AuditEvent.
        for row in visit.rows {
            resources.append(.auditEvent(auditEvent(row, subject: subject, device: deviceReference, meta: meta, mark: mark)))
        }

        return FHIR.Bundle(
            id: stableID("Bundle", mark, visit.id), meta: meta, identifier: .init(system: visitSystem, value: visit.id),
            type: "transaction", timestamp: visit.end,
            entry: resources.map { .init(fullUrl: "urn:uuid:\($0.id)", resource: $0, request: request(for: $0, simulated: visit.simulated)) })
    }

    /// How an entry is written. The Patient (by its record number under the
    /// assigning system) and the Device (by its serial) are conditional
    /// creates: the clinic's server may hold them already, under its own ids
    /// (registered by the clinic, or sent by another programmer), and a PUT
    /// by the export's id would add a second Patient for the same record
    /// number. Everything else is the visit's own record, written by its
    /// stable id (PUT), so sending again updates it.
    ///
    /// A SIMULATED visit's Patient carries the same record number as the
    /// patient's own, so the search also names the SIMULATED tag: test data
    /// is matched only to test data, and clinical data never to it.
    static func request(for resource: FHIR.Resource, simulated: Bool) -> FHIR.Bundle.Request {
        let identifier: FHIR.Identifier?
        switch resource {
        case .patient(let patient): identifier = patient.identifier.first
        case .device(let device): identifier = device.identifier.first
        default: identifier = nil
        }
        guard let identifier else { return .init(method: "PUT", url: "\(resource.type)/\(resource.id)") }
        let tag = "\(searchEscaped(simulatedTag.system ?? ""))|\(searchEscaped(simulatedTag.code ?? ""))"
        return .init(method: "POST", url: resource.type,
                     ifNoneExist: "identifier=\(searchEscaped(identifier.system))|\(searchEscaped(identifier.value))"
                        + (simulated ? "&_tag=\(tag)" : "&_tag:not=\(tag)"))
    }

    /// A token search value, percent-encoded but for the characters a
    /// system URI or record number commonly holds: `|`, `,`, `$`, `&`, `=`,
    /// `+` and `#` would change the search (FHIR search escaping, RFC 3986).
    static func searchEscaped(_ text: String) -> String {
        var allowed = CharacterSet.alphanumerics.intersection(CharacterSet(charactersIn: Unicode.Scalar(0)...Unicode.Scalar(127)))
        allowed.insert(charactersIn: "-._~:/")
        return text.addingPercentEncoding(withAllowedCharacters: allowed) ?? text
    }

    /// What became of a bolus. The pump's receipt means it started, not
    /// that it ended: it may be cut short (stop, a motor stall). Only a
    /// row with the pump's logged end (events 0x0021 / 0x0022, and 0x0025
    /// with the drug that reached the patient, recorded with the command
    /// id as `bolus_end` and `drug_delivered_ng`) makes it `completed` or
    /// `stopped`, with that logged dose; without one it is `in-progress`.
    static func bolusStatus(_ rows: [AuditEntry]) -> (status: String, reason: String?, deliveredNanograms: Decimal?) {
        let (status, reason) = administrationStatus(rows)
        guard status == "completed" else { return (status, reason, nil) }
        guard let end = rows.last(where: { ["finished", "cancelled"].contains($0.parameters["bolus_end"] ?? "") }) else {
            return ("in-progress", "started (the pump's receipt); no read of the pump's event log in the audit log shows it ended, so what reached the patient is not known", nil)
        }
        let nanograms = end.parameters["drug_delivered_ng"].flatMap { Decimal(string: $0) }
        if end.parameters["bolus_end"] == "finished" {
            return ("completed", nanograms == nil ? "finished; the pump logged no delivered dose" : reason, nanograms)
        }
        return ("stopped", "cancelled or cut short: the pump logged the drug delivered before it ended", nanograms)
    }

    /// Nanograms in the unit of `like` (mcg or mg).
    static func delivered(_ nanograms: Decimal, like: FHIR.Quantity) -> FHIR.Quantity? {
        switch like.code {
        case "ug": return quantity(nanograms / 1000, "mcg")
        case "mg": return quantity(nanograms / 1_000_000, "mg")
        default: return nil
        }
    }

    /// The prescription's dosing: the daily dose (continuous), one entry
    /// per flex step at its time of day, and the patient bolus as needed
    /// with its 24-hour maximum.
    static func dosage(_ state: [String: String], mode: String, dailyDose: FHIR.Quantity) -> [FHIR.Dosage] {
        let unit = dailyDose.unit
        var result: [FHIR.Dosage] = []
        let steps = (state["flex_steps"] ?? "").split(separator: ";").compactMap { step -> (String, Decimal)? in
            let parts = step.split(separator: "=", maxSplits: 1)
            guard parts.count == 2, let value = Decimal(string: String(parts[1])) else { return nil }
            return (String(parts[0]), value)
        }
        if steps.isEmpty {
            result.append(.init(sequence: 1, text: "\(mode): \(dailyDose.value) \(unit) intrathecal by implanted pump",
                                timing: nil, asNeeded: false, route: intrathecal,
                                doseAndRate: [.init(type: .text("daily dose (average over 24 h)"), doseQuantity: nil, rateQuantity: dailyDose)],
                                maxDosePerPeriod: nil))
        } else {
            for (index, (start, value)) in steps.enumerated() {
                // A daily step's start is a time of day; a weekly one's ("Mon 06:00") stays in the text.
                let timeOfDay = start.count == 5 && start.dropFirst(2).first == ":" ? ["\(start):00"] : nil
                result.append(.init(sequence: index + 1, text: "flex step from \(start): \(value) \(unit)",
                                    timing: timeOfDay.map { .init(repeating: .init(timeOfDay: $0)) }, asNeeded: false,
                                    route: intrathecal,
                                    doseAndRate: [.init(type: .text("dose rate from this step's start"), doseQuantity: nil,
                                                        rateQuantity: quantity(value, unit))], maxDosePerPeriod: nil))
            }
        }
        if let value = state["patient_bolus_dose_value"].flatMap({ Decimal(string: $0) }), let bolusUnit = state["patient_bolus_dose_unit"],
           let bolus = quantity(value, bolusUnit), let most = state["patient_bolus_max_per_24h"].flatMap({ Int($0) }) {
            let lockout = state["patient_bolus_lockout_s"].flatMap { Decimal(string: $0) }
            let perDay = quantity(value * Decimal(most), bolusUnit)
            result.append(.init(sequence: result.count + 1,
                                text: "patient bolus: \(value) \(bolusUnit) on demand, at most \(most) per 24 h" + (lockout.map { ", lockout \($0) s" } ?? ""),
                                timing: nil, asNeeded: true, route: intrathecal,
                                doseAndRate: [.init(type: .text("patient bolus"), doseQuantity: bolus, rateQuantity: nil)],
                                maxDosePerPeriod: perDay.map { [.init(numerator: $0, denominator: FHIR.Quantity(value: 1, unit: "d", code: "d"))] }))
        }
        return result
    }

    static func observations(_ visit: AuditVisit, read: AuditEntry, subject: FHIR.Reference, device: FHIR.Reference,
                             meta: FHIR.Meta?, mark: String) -> [FHIR.Resource] {
        let state = read.parameters
        func observation(_ code: String, _ text: String) -> FHIR.Observation {
            FHIR.Observation(id: stableID("Observation", mark, visit.id, code), meta: meta, status: "final",
                             code: .init(coding: [.init(system: observationSystem, code: code, display: text)], text: text),
                             subject: subject, effectiveDateTime: read.time, device: device)
        }
        var result: [FHIR.Resource] = []
        // What the pump was doing at the read: a stop is exported as this,
        // never as a prescription of 0 per day.
        var delivery = observation("delivery-status", "pump drug delivery status")
        delivery.valueCodeableConcept = .text(notDelivering(state).map { "not delivering: \($0)" } ?? "delivering")
        result.append(.observation(delivery))
        if let value = state["reservoir_ml"].flatMap({ Decimal(string: $0) }) {
            var reservoir = observation("reservoir-volume", "pump reservoir volume")
            reservoir.valueQuantity = quantity(value, "mL")
            result.append(.observation(reservoir))
        }
        // No date can be projected while a refill is open or after one was
        // abandoned (the reservoir's contents are not known): none is filed.
        if let date = state["low_reservoir_alarm_date"], !date.isEmpty, notDelivering(state) != "refill-in-progress",
           state["reservoir_contents_unknown"] != "true" {
            var alarm = observation("low-reservoir-alarm-date", "projected low-reservoir alarm date")
            alarm.valueDateTime = date
            result.append(.observation(alarm))
        }
        if let battery = state["battery"] {
            var observed = observation("battery-status", "pump battery status")
            observed.valueCodeableConcept = .text(battery)
            if let millivolts = state["battery_mv"].flatMap({ Decimal(string: $0) }), let volts = quantity(millivolts, "mV") {
                observed.component = [.init(code: .text("battery voltage"), valueQuantity: volts)]
            }
            result.append(.observation(observed))
        }
        return result
    }

    static func auditEvent(_ row: AuditEntry, subject: FHIR.Reference, device: FHIR.Reference, meta: FHIR.Meta?,
                           mark: String) -> FHIR.AuditEvent {
        let reads = ["interrogate", "read-back", "log", "alarms", "clock"]
        let details = row.parameters.sorted { $0.key < $1.key }
            .filter { !$0.key.hasPrefix("patient_") && $0.key != "prescriber" && !$0.value.isEmpty }
            .map { FHIR.AuditEvent.Detail(type: .text($0.key), valueString: $0.value) }
            + [.init(type: .text("audit_sequence"), valueString: "\(row.sequence)"), .init(type: .text("audit_hash"), valueString: row.hash),
               .init(type: .text("phase"), valueString: row.phase.rawValue)]
            + (row.commandID.map { [.init(type: .text("command_id"), valueString: $0)] } ?? [])
            + row.overrides.map { .init(type: .text("override \($0.code)"), valueString: $0.reason) }
        var agents = [FHIR.AuditEvent.Agent(role: [.text("operator")], who: .named(row.operatorName), requestor: true)]
        if let second = row.secondOperator { agents.append(.init(role: [.text("second provider")], who: .named(second), requestor: false)) }
        return FHIR.AuditEvent(
            id: stableID("AuditEvent", mark, row.hash), meta: meta, category: [.text(row.phase.rawValue)],
            code: .init(coding: [.init(system: auditCommandSystem, code: row.command, display: nil)], text: "\(row.command) (\(row.phase.rawValue))"),
            action: reads.contains(row.command) ? "R" : "E", occurredDateTime: row.time, recorded: row.time,
            outcome: row.outcomeCode.map {
                .init(code: .init(system: "http://terminology.hl7.org/CodeSystem/audit-event-outcome", code: auditOutcome($0), display: nil),
                      detail: [.text($0.rawValue)])
            },
            patient: subject, agent: agents, source: .init(observer: .named("\(PumpWandSoftware.name) \(PumpWandSoftware.version)")),
            entity: [.init(what: device, detail: details)])
    }
}
