import Foundation
import PumpSimulator
import Testing
@testable import PumpProgrammer

/// A bolus exported after a later read of the pump, and no later change,
/// is exported with how it ended: the read (`interrogateRecordingBolusEnds`,
/// what `pumpctl interrogate` runs) records the pump's logged end. Read
/// before its end, it stays `in-progress`: never `completed` without the
/// pump's word.
@Suite struct BolusEndOnReadTests {
    func visitWithABolus() async throws -> SimulatedVisit {
        let visit = SimulatedVisit()
        try PatientRecords(directory: visit.directory).save(try PatientRecord(
            pumpSerial: PumpIdentity.demoSerial, name: "Ada Lovelace", recordNumber: "MRN-0042", birthDate: "1980-02-29",
            prescriber: "Dr. Grace Hopper", simulated: true, recordedBy: "tech.a", recordedAt: Date(),
            recordSystem: "urn:oid:2.16.840.1.113883.19.5"))
        let programmer = try await visit.programmer()
        let bolus = try await programmer.plan(BolusCommand(request: .init(kind: .therapeutic, dose: .mcg(50), duration: .minutes(10))))
        _ = try await programmer.execute(bolus, overrides: [], confirmation: .flag(yes: true))
        await programmer.close()
        return visit
    }

    func exportedBolus(_ visit: SimulatedVisit) throws -> FHIR.MedicationAdministration? {
        let entries = try visit.audit().entries()
        let first = try #require(AuditVisit.visits(in: entries).first)
        let bundle = try FHIRExport.bundle(first, log: entries)
        return bundle.entry.lazy.compactMap { entry -> FHIR.MedicationAdministration? in
            if case .medicationAdministration(let given) = entry.resource { return given }
            return nil
        }.first
    }

    @Test func aReadAfterTheBolusEndedRecordsItAndTheExportSaysCompletedWithTheDose() async throws {
        let visit = try await visitWithABolus()
        #expect(try exportedBolus(visit)?.status == "in-progress", "nothing has read the pump since the bolus started")
        visit.clock.advance(11 * 60)
        let reader = try await visit.programmer()
        _ = try await reader.interrogateRecordingBolusEnds()
        await reader.close()
        let given = try #require(try exportedBolus(visit))
        #expect(given.status == "completed")
        #expect(given.dosage?.dose?.value == 50 && given.dosage?.dose?.code == "ug", "\(String(describing: given.dosage?.dose))")
        // Recorded once: a second read adds no second end.
        let again = try await visit.programmer()
        _ = try await again.interrogateRecordingBolusEnds()
        await again.close()
        #expect(try visit.audit().entries().filter { $0.parameters["bolus_end"] != nil }.count == 1)
    }

    @Test func aReadBeforeTheBolusEndedLeavesItInProgress() async throws {
        let visit = try await visitWithABolus()
        visit.clock.advance(2 * 60)
        let reader = try await visit.programmer()
        _ = try await reader.interrogateRecordingBolusEnds()
        await reader.close()
        #expect(try visit.audit().entries().allSatisfy { $0.parameters["bolus_end"] == nil })
        let given = try #require(try exportedBolus(visit))
        #expect(given.status == "in-progress")
        #expect(given.dosage?.dose == nil, "no dose without the pump's logged end")
    }

    @Test func aPlainInterrogateStillRecordsNothing() async throws {
        // The read that planning does itself: ends are recorded by the plan.
        let visit = try await visitWithABolus()
        visit.clock.advance(11 * 60)
        let reader = try await visit.programmer()
        _ = try await reader.interrogate()
        await reader.close()
        #expect(try visit.audit().entries().allSatisfy { $0.parameters["bolus_end"] == nil })
    }
}
