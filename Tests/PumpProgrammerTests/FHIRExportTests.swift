import Foundation
import Testing
@testable import PumpProgrammer
@testable import StateFiles

/// The FHIR mapping of visits from audit rows (the process tests validate
/// the output with fhir.resources): what a command's outcome makes of its
/// MedicationAdministration, visits, and stable ids.
@Suite struct FHIRExportTests {
    let directory = temporaryStateDirectory()
    static let serial = "RP20-000001"

    func log(simulated: Bool = false, patient: Bool = true) throws -> AuditLog {
        if patient {
            try PatientRecords(directory: directory).save(try PatientRecord(
                pumpSerial: Self.serial, name: "Ada Lovelace", recordNumber: "MRN-0042", birthDate: "1980-02-29",
                prescriber: "Dr. Grace Hopper", simulated: simulated, recordedBy: "nurse.a", recordedAt: Date()))
        }
        return try AuditLog(directory: directory)
    }

    func append(_ log: AuditLog, _ command: String, _ phase: AuditPhase, id: String? = nil, outcome: AuditOutcome? = nil,
                _ parameters: [String: String] = [:], simulated: Bool = false, second: String? = nil,
                overrides: [AuditOverride] = []) throws {
        var parameters = parameters
        if simulated { parameters["simulated"] = "true" }
        try log.append(AuditRecord(operatorName: "nurse.a", secondOperator: second, pumpSerial: Self.serial, command: command,
                                   phase: phase, commandID: id, parameters: parameters, outcome: outcome?.rawValue, overrides: overrides))
    }

    static let read: [String: String] = [
        "drug": "baclofen", "concentration_value": "2000", "concentration_unit": "mcg/mL", "daily_dose_value": "450",
        "daily_dose_unit": "mcg/day", "mode": "continuous", "reservoir_ml": "11.999983", "battery": "ok", "battery_mv": "3050",
        "low_reservoir_alarm_date": "2027-01-20T06:10:00Z", "model": "RP-20", "firmware": "1.0.0", "prescription_hash": "ab12",
    ]

    /// A visit with three boluses: carried out, left UNCERTAIN, refused by the pump.
    func visitWithThreeBoluses(simulated: Bool = false) throws -> AuditLog {
        let log = try log(simulated: simulated)
        try append(log, "session", .event, outcome: .sessionOpened, ["simulated": simulated ? "true" : "false"], simulated: simulated)
        try append(log, "interrogate", .event, outcome: .read, Self.read, simulated: simulated)
        for (id, outcome) in [("aa01", AuditOutcome.done), ("aa02", .uncertain), ("aa03", .refusedByPump)] {
            try append(log, "bolus", .intent, id: id, ["dose_to_patient": "50mcg", "duration": "10min"], simulated: simulated,
                       second: id == "aa01" ? "dr.b" : nil,
                       overrides: id == "aa01" ? [AuditOverride(code: "bolus.above-soft-max", reason: "consultant order")] : [])
            try append(log, "bolus", .outcome, id: id, outcome: outcome, simulated: simulated)
        }
        try append(log, "session", .event, outcome: .sessionClosed, simulated: simulated)
        return log
    }

    func administrations(_ bundle: FHIR.Bundle) -> [String: FHIR.MedicationAdministration] {
        var found: [String: FHIR.MedicationAdministration] = [:]
        for entry in bundle.entry {
            if case .medicationAdministration(let given) = entry.resource { found[given.identifier[0].value] = given }
        }
        return found
    }

    @Test func onlyACarriedOutBolusIsACompletedAdministration() throws {
        let entries = try visitWithThreeBoluses().entries()
        let visits = AuditVisit.visits(in: entries)
        #expect(visits.count == 1)
        let bundle = try FHIRExport.bundle(try #require(visits.first), log: entries)
        let given = administrations(bundle)
        #expect(given["aa01"]?.status == "completed")
        #expect(given["aa02"]?.status == "unknown", "an UNCERTAIN bolus is never completed")
        #expect(given["aa02"]?.statusReason?.first?.text?.contains("UNCERTAIN") == true)
        #expect(given["aa03"]?.status == "not-done")
        #expect(given["aa01"]?.dosage?.dose == FHIR.Quantity(value: 50, unit: "mcg", code: "ug"))
        #expect(bundle.meta == nil, "a real visit carries no test label")
        // The reservoir exact, in UCUM mL.
        let reservoir = bundle.entry.compactMap { entry -> FHIR.Observation? in
            if case .observation(let o) = entry.resource, o.code.coding?.first?.code == "reservoir-volume" { return o }
            return nil
        }.first
        #expect(reservoir?.valueQuantity == FHIR.Quantity(value: Decimal(string: "11.999983")!, unit: "mL", code: "mL"))
        // The override and the second provider as Provenance on that bolus.
        let provenance = bundle.entry.compactMap { entry -> FHIR.Provenance? in
            if case .provenance(let p) = entry.resource { return p }
            return nil
        }
        #expect(provenance.count == 1)
        #expect(provenance.first?.agent.map(\.who.display) == ["nurse.a", "dr.b"])
        #expect(provenance.first?.target.contains { $0.reference == "MedicationAdministration/\(given["aa01"]?.id ?? "")" } == true)
        #expect(provenance.first?.authorization?.first?.concept?.text == "override bolus.above-soft-max: consultant order")
        // One AuditEvent per row.
        #expect(bundle.entry.filter { $0.resource.type == "AuditEvent" }.count == visits[0].rows.count)
    }

    @Test func aLaterResolutionMakesTheSameAdministrationCompletedOnReExport() throws {
        let log = try visitWithThreeBoluses()
        let before = try log.entries()
        let first = try FHIRExport.bundle(AuditVisit.visits(in: before)[0], log: before)
        // The next visit asks the pump about the uncertain bolus: carried out.
        try append(log, "session", .event, outcome: .sessionOpened)
        try append(log, "bolus", .outcome, id: "aa02", outcome: .resolvedExecuted)
        try append(log, "interrogate", .event, outcome: .read, Self.read)
        try append(log, "session", .event, outcome: .sessionClosed)
        let after = try log.entries()
        let visits = AuditVisit.visits(in: after)
        #expect(visits.count == 2)
        let again = try FHIRExport.bundle(visits[0], log: after)
        #expect(again.id == first.id)
        #expect(first.entry.map(\.request.url) == again.entry.map(\.request.url), "the same resources, updated")
        #expect(administrations(again)["aa02"]?.status == "completed")
        #expect(administrations(again)["aa02"]?.id == administrations(first)["aa02"]?.id)
        let second = try FHIRExport.bundle(visits[1], log: after)
        #expect(second.id != first.id)
        let firstPatient = first.entry.first { $0.resource.type == "Patient" }?.resource.id
        #expect(second.entry.first { $0.resource.type == "Patient" }?.resource.id == firstPatient, "one patient, not a copy per visit")
        #expect(second.entry.allSatisfy { $0.request.method == "PUT" })
    }

    @Test func aSimulatedVisitIsLabelledTestDataOnEveryResource() throws {
        let entries = try visitWithThreeBoluses(simulated: true).entries()
        let bundle = try FHIRExport.bundle(AuditVisit.visits(in: entries)[0], log: entries)
        #expect(AuditVisit.visits(in: entries)[0].simulated)
        #expect(bundle.meta?.security?.first?.code == "HTEST")
        let encoder = JSONEncoder()
        for entry in bundle.entry {
            let object = try JSONSerialization.jsonObject(with: try encoder.encode(entry.resource)) as? [String: Any]
            let security = (object?["meta"] as? [String: Any])?["security"] as? [[String: Any]]
            #expect(security?.first?["code"] as? String == "HTEST", "\(entry.resource.type)")
        }
    }

    @Test func aVisitWithoutAPatientIsRefusedNotFiledUnderNobody() throws {
        let log = try log(patient: false)
        try append(log, "session", .event, outcome: .sessionOpened)
        try append(log, "interrogate", .event, outcome: .read, Self.read)
        let entries = try log.entries()
        let visit = try #require(AuditVisit.visits(in: entries).first)
        #expect(throws: FHIRExportError.noPatient(visit: visit.id, pump: Self.serial)) { try FHIRExport.bundle(visit, log: entries) }
    }

    @Test func stableIDsAreFHIRIDsThatDependOnlyOnTheirParts() {
        let id = FHIRExport.stableID("Patient", "MRN-0042")
        #expect(id == FHIRExport.stableID("Patient", "MRN-0042"))
        #expect(id != FHIRExport.stableID("Patient", "MRN-0043"))
        #expect(id.count == 36 && id.allSatisfy { $0.isHexDigit || $0 == "-" })
    }
}
