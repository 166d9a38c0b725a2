import Foundation
import Testing
import TestSupport
@testable import PumpProgrammer
@testable import StateFiles

/// A placeholder typed where the medical record number belongs (`0`,
/// `000`, `unknown`, `n/a`, `-`) would file unrelated patients under one
/// number: it is refused, typed, when the record is set.
@Suite struct FillerRecordNumberTests {
    func record(_ number: String) throws(PatientRecordError) -> PatientRecord {
        try PatientRecord(pumpSerial: "RP20-000001", name: "Ada Lovelace", recordNumber: number, birthDate: "1980-02-29",
                          prescriber: "Dr. Grace Hopper", simulated: false, recordedBy: "nurse.a",
                          recordedAt: Date(timeIntervalSince1970: 1_796_000_000), today: Date(timeIntervalSince1970: 1_796_000_000),
                          recordSystem: "urn:oid:2.16.840.1.113883.19.5")
    }

    @Test(arguments: ["0", "000", "0000000", "unknown", "UNKNOWN", "n/a", "N/A", "na", "-", "--", "?", "none", "null", "tbd", "xxxx", "n.a."])
    func aFillerIsRefusedWithItsOwnError(_ filler: String) {
        #expect(throws: PatientRecordError.fillerRecordNumber(filler)) { try record(filler) }
    }

    @Test(arguments: ["MRN-0042", "004512", "10", "A1", "X-1", "unknown-7"])
    func aRealLookingNumberIsKept(_ number: String) throws {
        #expect(try record(number).recordNumber == number)
    }

    @Test func theRefusalSaysWhatARecordNumberLooksLike() {
        let text = PatientRecordError.fillerRecordNumber("n/a").description
        #expect(text.contains("'n/a' is a placeholder"))
        #expect(text.contains("such as MRN-0042"))
    }

    /// A record set before fillers were refused still reads (a stop or a
    /// read of its pump is never refused for it), but its visits are not
    /// filed under the placeholder.
    @Test func anOldFillerRecordStillReadsButItsVisitsAreNotFiled() throws {
        let folder = try TemporaryDirectory(prefix: "pumpwand-test")
        defer { folder.remove() }
        let directory = folder.state
        let old = try PatientRecord(pumpSerial: "RP20-000001", name: "Ada Lovelace", recordNumber: "unknown", birthDate: "1980-02-29",
                                    prescriber: "Dr. Grace Hopper", simulated: false, recordedBy: "nurse.a", recordedAt: Date(),
                                    today: Date(), recordSystem: "urn:oid:2.16.840.1.113883.19.5", refusingFiller: false)
        try PatientRecords(directory: directory).save(old)
        #expect(try PatientRecords(directory: directory).record(forPump: "RP20-000001")?.recordNumber == "unknown")
        let log = try AuditLog(directory: directory)
        try log.append(AuditRecord(operatorName: "nurse.a", pumpSerial: "RP20-000001", command: "session", phase: .event,
                                   outcome: AuditOutcome.sessionOpened.rawValue))
        try log.append(AuditRecord(operatorName: "nurse.a", pumpSerial: "RP20-000001", command: "interrogate", phase: .event,
                                   parameters: FHIRExportTests.read, outcome: AuditOutcome.read.rawValue))
        let entries = try log.entries()
        let visit = try #require(AuditVisit.visits(in: entries).first)
        #expect(throws: FHIRExportError.fillerRecordNumber(visit: visit.id, pump: "RP20-000001", number: "unknown")) {
            try FHIRExport.bundle(visit, log: entries)
        }
    }
}
