import Foundation
import Testing
import TestSupport
@testable import PumpProgrammer
@testable import StateFiles

/// The FHIR mapping of visits from audit rows (the process tests validate
/// the output with fhir.resources): what a command's outcome makes of its
/// MedicationAdministration, visits, and stable ids.
@Suite struct FHIRExportTests {
    /// Removed when the test ends.
    let temporary = TemporaryDirectory.make(prefix: "pumpwand-test")
    var directory: StateDirectory { temporary.state }
    static let serial = "RP20-000001"

    static let clinic = "urn:oid:2.16.840.1.113883.19.5"

    func log(simulated: Bool = false, patient: Bool = true, system: String? = clinic) throws -> AuditLog {
        if patient {
            try PatientRecords(directory: directory).save(try PatientRecord(
                pumpSerial: Self.serial, name: "Ada Lovelace", recordNumber: "MRN-0042", birthDate: "1980-02-29",
                prescriber: "Dr. Grace Hopper", simulated: simulated, recordedBy: "nurse.a", recordedAt: Date(), recordSystem: system))
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
        // The pump's event log, read later in the visit: the carried-out bolus finished.
        try append(log, "bolus", .event, id: "aa01", ["bolus_end": "finished", "drug_delivered_ng": "50000"], simulated: simulated)
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

    @Test func aLaterResolutionUpdatesTheSameAdministrationOnReExport() throws {
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
        #expect(administrations(again)["aa02"]?.status == "in-progress", "carried out means started: its end is not in the log")
        #expect(administrations(again)["aa02"]?.id == administrations(first)["aa02"]?.id)
        let second = try FHIRExport.bundle(visits[1], log: after)
        #expect(second.id != first.id)
        let firstPatient = first.entry.first { $0.resource.type == "Patient" }?.resource.id
        #expect(second.entry.first { $0.resource.type == "Patient" }?.resource.id == firstPatient, "one patient, not a copy per visit")
        #expect(second.entry.allSatisfy { $0.request.method == (["Patient", "Device"].contains($0.resource.type) ? "POST" : "PUT") })
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
        #expect(id != FHIRExport.stableID("Patient", "SIMULATED", "MRN-0042"))
        #expect(id == FHIRExport.stableID("Patient", "MRN-0042"))
        #expect(id != FHIRExport.stableID("Patient", "MRN-0043"))
        #expect(id.count == 36 && id.allSatisfy { $0.isHexDigit || $0 == "-" })
    }

    func resources<T>(_ bundle: FHIR.Bundle, _ pick: (FHIR.Resource) -> T?) -> [T] { bundle.entry.compactMap { pick($0.resource) } }

    /// A bolus whose receipt came back, then (or not) its logged end.
    func bolusVisit(end: [String: String]?) throws -> FHIR.MedicationAdministration? {
        let log = try log()
        try append(log, "session", .event, outcome: .sessionOpened)
        try append(log, "interrogate", .event, outcome: .read, Self.read)
        try append(log, "bolus", .intent, id: "bb01", ["dose_to_patient": "50mcg", "duration": "10min"])
        try append(log, "bolus", .outcome, id: "bb01", outcome: .done)
        if let end { try append(log, "bolus", .event, id: "bb01", end) }
        try append(log, "session", .event, outcome: .sessionClosed)
        let entries = try log.entries()
        return administrations(try FHIRExport.bundle(AuditVisit.visits(in: entries)[0], log: entries))["bb01"]
    }

    @Test func aStartedBolusIsInProgressUntilThePumpLogsItsEndAndThenHasTheLoggedDose() throws {
        let started = try #require(try bolusVisit(end: nil))
        #expect(started.status == "in-progress", "the receipt means started, never completed")
        #expect(started.dosage?.dose == nil, "the asked dose is not given as given")
        let finished = try #require(try bolusVisit(end: ["bolus_end": "finished", "drug_delivered_ng": "49500"]))
        #expect(finished.status == "completed")
        #expect(finished.dosage?.dose == FHIR.Quantity(value: Decimal(string: "49.5")!, unit: "mcg", code: "ug"))
    }

    @Test func aBolusCutShortIsStoppedWithTheDoseThatReachedThePatient() throws {
        let cut = try #require(try bolusVisit(end: ["bolus_end": "cancelled", "drug_delivered_ng": "12000"]))
        #expect(cut.status == "stopped")
        #expect(cut.dosage?.dose == FHIR.Quantity(value: 12, unit: "mcg", code: "ug"))
    }

    @Test func aRefillIsAProcedureOnThePumpNotAnAdministration() throws {
        let log = try log()
        try append(log, "session", .event, outcome: .sessionOpened)
        try append(log, "interrogate", .event, outcome: .read, Self.read)
        try append(log, "refill", .intent, id: "rf01", ["added": "18mL", "withdrawn": "12mL", "drug": "baclofen"])
        try append(log, "refill", .outcome, id: "rf01", outcome: .done)
        let entries = try log.entries()
        let bundle = try FHIRExport.bundle(AuditVisit.visits(in: entries)[0], log: entries)
        #expect(administrations(bundle).isEmpty, "drug put into the reservoir is not drug given")
        let procedures = resources(bundle) { (r: FHIR.Resource) -> FHIR.Procedure? in if case .procedure(let p) = r { return p }; return nil }
        #expect(procedures.count == 1)
        #expect(procedures.first?.status == "completed")
        #expect(procedures.first?.focalDevice?.first?.manipulated.reference?.hasPrefix("urn:uuid:") == true)
        #expect(procedures.first?.identifier.first?.value == "rf01")
    }

    @Test func simulatedAndClinicalVisitsNeverShareAResourceID() throws {
        let real = try visitWithThreeBoluses().entries()
        let realIDs = Set(try FHIRExport.bundle(AuditVisit.visits(in: real)[0], log: real).entry.map(\.resource.id))
        let other = FHIRExportTests()
        let simulated = try other.visitWithThreeBoluses(simulated: true).entries()
        let simulatedIDs = Set(try FHIRExport.bundle(AuditVisit.visits(in: simulated)[0], log: simulated).entry.map(\.resource.id))
        #expect(realIDs.isDisjoint(with: simulatedIDs))
    }

    @Test func aTrainingRecordStopsARealPumpsAuditRow() throws {
        let log = try log(simulated: true)
        #expect(throws: AuditError.simulatedRecordOnRealPump(serial: Self.serial)) {
            try log.append(AuditRecord(operatorName: "nurse.a", pumpSerial: Self.serial, command: "session", phase: .event,
                                       parameters: ["simulated": "false"], outcome: AuditOutcome.sessionOpened.rawValue))
        }
        // A simulated session may use it.
        try append(log, "session", .event, outcome: .sessionOpened, simulated: true)
    }

    @Test func aRecordNumberWithoutItsSystemIsNotExportedAndTheSystemIsInTheID() throws {
        let log = try log(system: nil)
        try append(log, "session", .event, outcome: .sessionOpened)
        try append(log, "interrogate", .event, outcome: .read, Self.read)
        let entries = try log.entries()
        let visit = try #require(AuditVisit.visits(in: entries).first)
        #expect(throws: FHIRExportError.noRecordSystem(visit: visit.id, pump: Self.serial)) { try FHIRExport.bundle(visit, log: entries) }
        #expect(FHIRExport.stableID("Patient", "clinical", "urn:a", "MRN-1") != FHIRExport.stableID("Patient", "clinical", "urn:b", "MRN-1"))
        #expect(throws: PatientRecordError.self) { try PatientRecord.checkedRecordSystem("clinic a") }
    }

    @Test func aStopKeepsThePrescriptionAndExportsDeliveryStoppedAndAReplacedOneIsEnded() throws {
        let log = try log()
        try append(log, "session", .event, outcome: .sessionOpened)
        try append(log, "interrogate", .event, outcome: .read, Self.read)
        try append(log, "session", .event, outcome: .sessionClosed)
        var stopped = Self.read
        stopped["daily_dose_value"] = "0"
        stopped["infusion"] = "stopped"
        stopped["not_delivering"] = "stopped"
        stopped["prescribed_daily_dose_value"] = "450"
        stopped["prescribed_daily_dose_unit"] = "mcg/day"
        try append(log, "session", .event, outcome: .sessionOpened)
        try append(log, "interrogate", .event, outcome: .read, stopped)
        try append(log, "session", .event, outcome: .sessionClosed)
        var entries = try log.entries()
        var visits = AuditVisit.visits(in: entries)
        let stopBundle = try FHIRExport.bundle(visits[1], log: entries)
        let request = try #require(resources(stopBundle) { (r: FHIR.Resource) -> FHIR.MedicationRequest? in if case .medicationRequest(let r) = r { return r }; return nil }.first)
        #expect(request.status == "active")
        #expect(request.dosageInstruction.first?.doseAndRate?.first?.rateQuantity?.value == 450, "a read while stopped is not a 0 prescription")
        let delivery = resources(stopBundle) { (r: FHIR.Resource) -> FHIR.Observation? in if case .observation(let o) = r, o.code.coding?.first?.code == "delivery-status" { return o }; return nil }
        #expect(delivery.first?.valueCodeableConcept?.text == "not delivering: stopped")
        // A later commit replaces it: the old one is ended.
        var replaced = Self.read
        replaced["prescription_hash"] = "cd34"
        try append(log, "session", .event, outcome: .sessionOpened)
        try append(log, "interrogate", .event, outcome: .read, replaced)
        try append(log, "session", .event, outcome: .sessionClosed)
        entries = try log.entries()
        visits = AuditVisit.visits(in: entries)
        let old = try FHIRExport.bundle(visits[0], log: entries)
        #expect(resources(old) { (r: FHIR.Resource) -> FHIR.MedicationRequest? in if case .medicationRequest(let r) = r { return r }; return nil }.first?.status == "ended")
        let newest = try FHIRExport.bundle(visits[2], log: entries)
        #expect(resources(newest) { (r: FHIR.Resource) -> FHIR.MedicationRequest? in if case .medicationRequest(let r) = r { return r }; return nil }.first?.status == "active")
    }

    @Test func reExportingAnOldVisitWritesTheNewestSharedResources() throws {
        let log = try log()
        try append(log, "session", .event, outcome: .sessionOpened)
        try append(log, "interrogate", .event, outcome: .read, Self.read)
        try append(log, "session", .event, outcome: .sessionClosed)
        var newer = Self.read
        newer["firmware"] = "1.1.0"
        newer["battery"] = "low"
        try append(log, "session", .event, outcome: .sessionOpened)
        try append(log, "interrogate", .event, outcome: .read, newer)
        try append(log, "session", .event, outcome: .sessionClosed)
        let entries = try log.entries()
        let visits = AuditVisit.visits(in: entries)
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        func shared(_ bundle: FHIR.Bundle) throws -> [String: Data] {
            var found: [String: Data] = [:]
            for entry in bundle.entry where ["Patient", "Device", "MedicationRequest"].contains(entry.resource.type) {
                found[entry.request.url] = try encoder.encode(entry.resource)
            }
            return found
        }
        let old = try shared(try FHIRExport.bundle(visits[0], log: entries))
        let new = try shared(try FHIRExport.bundle(visits[1], log: entries))
        #expect(old.count == 3)
        #expect(old == new, "sending the old visit again puts the same, newest, data")
        let device = try FHIRExport.bundle(visits[0], log: entries).entry.compactMap { (e: FHIR.Bundle.Entry) -> FHIR.Device? in if case .device(let d) = e.resource { return d }; return nil }.first
        #expect(device?.version?.first?.value == "1.1.0")
    }
}
