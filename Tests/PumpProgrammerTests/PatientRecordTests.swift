import Foundation
import Glibc
import Testing
import TestSupport
@testable import PumpProgrammer
@testable import StateFiles

/// The patient record kept per pump serial: what is refused as input, how
/// the file is trusted, and that every audit row of the pump carries it.
@Suite struct PatientRecordTests {
    /// Removed when the test ends.
    let temporary = TemporaryDirectory.make(prefix: "pumpwand-test")
    var directory: StateDirectory { temporary.state }
    let today = Date(timeIntervalSince1970: 1_796_000_000)  // 2026-11-30

    func make(serial: String = "RP20-000001", name: String = "Ada Lovelace", mrn: String = "MRN-0042",
              dob: String = "1980-02-29", prescriber: String = "Dr. Grace Hopper", simulated: Bool = false)
        throws(PatientRecordError) -> PatientRecord
    {
        try PatientRecord(pumpSerial: serial, name: name, recordNumber: mrn, birthDate: dob, prescriber: prescriber,
                          simulated: simulated, recordedBy: "nurse.a", recordedAt: today, today: today)
    }

    func refusal(_ body: () throws(PatientRecordError) -> PatientRecord) -> (field: String, reason: String)? {
        do {
            _ = try body()
            return nil
        } catch {
            if case let .invalid(field, reason) = error { return (field, reason) }
            return nil
        }
    }

    @Test func aWellFormedRecordIsKeptAsTyped() throws {
        let record = try make(name: "  Zoë Ødegård-Núñez ")
        #expect(record.name == "Zoë Ødegård-Núñez")
        #expect(record.birthDate == "1980-02-29", "a leap day of a leap year is a real date")
        #expect(record.recordedAt == "2026-11-30T00:53:20Z")
    }

    @Test func datesThatAreNotRealOrNotPlausibleAreRefused() {
        #expect(refusal { () throws(PatientRecordError) in try make(dob: "1981-02-29") }?.reason.contains("not a real date") == true)
        #expect(refusal { () throws(PatientRecordError) in try make(dob: "1980-13-01") }?.reason.contains("not a real date") == true)
        #expect(refusal { () throws(PatientRecordError) in try make(dob: "1980-04-31") }?.reason.contains("not a real date") == true)
        #expect(refusal { () throws(PatientRecordError) in try make(dob: "29/02/1980") }?.reason.contains("not a date YYYY-MM-DD") == true)
        #expect(refusal { () throws(PatientRecordError) in try make(dob: "1980-2-29") }?.field == "date of birth")
        #expect(refusal { () throws(PatientRecordError) in try make(dob: "١٩٨٠-٠٢-٢٩") }?.field == "date of birth", "only ASCII digits")
        #expect(refusal { () throws(PatientRecordError) in try make(dob: "1899-12-31") }?.reason.contains("before 1900") == true)
        #expect(refusal { () throws(PatientRecordError) in try make(dob: "2026-12-25") }?.reason.contains("in the future") == true)
        #expect(refusal { () throws(PatientRecordError) in try make(dob: "2026-11-30") } == nil, "born today")
    }

    @Test func controlCharactersLengthsAndBlanksAreRefusedPerField() {
        #expect(refusal { () throws(PatientRecordError) in try make(name: "Ada\u{1B}[2JLovelace") }?.field == "name")
        #expect(refusal { () throws(PatientRecordError) in try make(name: "Ada\nLovelace") }?.reason.contains("control") == true)
        #expect(refusal { () throws(PatientRecordError) in try make(name: "Ada\u{202E}ecalevol") }?.reason.contains("invisible") == true)
        #expect(refusal { () throws(PatientRecordError) in try make(name: String(repeating: "a", count: 121)) }?.reason.contains("longer than 120") == true)
        #expect(refusal { () throws(PatientRecordError) in try make(name: "   ") }?.reason == "is empty")
        #expect(refusal { () throws(PatientRecordError) in try make(name: "12345") }?.reason == "has no letter")
        #expect(refusal { () throws(PatientRecordError) in try make(prescriber: "Dr\tX") }?.field == "prescriber")
        #expect(refusal { () throws(PatientRecordError) in try make(mrn: "MRN 42") }?.reason == "has a space")
        #expect(refusal { () throws(PatientRecordError) in try make(mrn: String(repeating: "9", count: 41)) }?.field == "record number")
        #expect(refusal { () throws(PatientRecordError) in try make(serial: "../audit") }?.field == "serial", "a serial names a file")
        #expect(refusal { () throws(PatientRecordError) in try make(serial: "") }?.reason == "is empty")
        #expect(refusal { () throws(PatientRecordError) in try make(serial: "-rf") }?.field == "serial")
    }

    @Test func aSavedRecordIsPrivateAndReadsBack() throws {
        let records = PatientRecords(directory: directory)
        let record = try make()
        try records.save(record)
        #expect(try records.record(forPump: "RP20-000001") == record)
        #expect(try records.record(forPump: "RP20-000002") == nil)
        var info = stat()
        #expect(stat(directory.file("patients/RP20-000001.json").string, &info) == 0)
        #expect(info.st_mode & 0o777 == 0o600)
        #expect(try records.all() == [record])
    }

    @Test func aRecordReadableByOthersALinkOrAnEditedFileIsRefused() throws {
        let records = PatientRecords(directory: directory)
        try records.save(try make())
        let path = directory.file("patients/RP20-000001.json").string
        chmod(path, 0o644)
        #expect(throws: PatientRecordError.self) { try records.record(forPump: "RP20-000001") }
        do { _ = try records.record(forPump: "RP20-000001") } catch {
            guard case let .unusable(_, reason) = error else { Issue.record("\(error)"); return }
            #expect(reason.contains("mode 644"), "\(reason)")
        }
        chmod(path, 0o600)

        // The file moved to another pump's name: it names its own pump.
        try FileManager.default.moveItem(atPath: path, toPath: directory.file("patients/RP20-000009.json").string)
        do { _ = try records.record(forPump: "RP20-000009") } catch {
            guard case let .unusable(_, reason) = error else { Issue.record("\(error)"); return }
            #expect(reason.contains("names pump RP20-000001"), "\(reason)")
        }

        // A control character written into the file by hand.
        let edited = try String(contentsOfFile: directory.file("patients/RP20-000009.json").string, encoding: .utf8)
            .replacingOccurrences(of: "Ada Lovelace", with: "Ada\\u0007Lovelace")
        try AtomicFile.write(Array(edited.utf8), to: directory.file("patients/RP20-000009.json"))
        do { _ = try records.record(forPump: "RP20-000009") } catch {
            guard case let .unusable(_, reason) = error else { Issue.record("\(error)"); return }
            #expect(reason.contains("control"), "\(reason)")
        }

        // A symbolic link in place of the record.
        symlink("/etc/passwd", directory.file("patients/RP20-000003.json").string)
        do { _ = try records.record(forPump: "RP20-000003") } catch {
            guard case let .unusable(_, reason) = error else { Issue.record("\(error)"); return }
            #expect(reason.contains("symbolic link") || reason.contains("mode"), "\(reason)")
        }
    }

    @Test func everyAuditRowOfThePumpCarriesItsPatientAndNoOtherPumpsRowDoes() throws {
        try PatientRecords(directory: directory).save(try make(simulated: true))
        let log = try AuditLog(directory: directory)
        // A training record: only on a simulated session's rows.
        let mine = try log.append(AuditRecord(operatorName: "nurse.a", pumpSerial: "RP20-000001", command: "bolus", phase: .intent,
                                              parameters: ["simulated": "true"]))
        let other = try log.append(AuditRecord(operatorName: "nurse.a", pumpSerial: "RP20-000002", command: "bolus", phase: .intent))
        let none = try log.append(AuditRecord(operatorName: "nurse.a", pumpSerial: nil, command: "wands", phase: .event))
        #expect(mine.parameters["patient_name"] == "Ada Lovelace")
        #expect(mine.parameters["patient_record_number"] == "MRN-0042")
        #expect(mine.parameters["patient_birth_date"] == "1980-02-29")
        #expect(mine.parameters["prescriber"] == "Dr. Grace Hopper")
        #expect(mine.parameters["patient_record"] == "simulated")
        #expect(other.parameters["patient_name"] == nil)
        #expect(none.parameters.isEmpty)
        // MAC'd with the row: changing the patient on a stored row breaks the chain.
        try log.sealHead()
        #expect(try log.verify().intact)
        #expect(log.mac(of: mine) == mine.hash)
        var forged = mine
        forged.parameters["patient_record_number"] = "MRN-9999"
        #expect(log.mac(of: forged) != mine.hash)
    }

    @Test func anUnusableRecordStopsTheAuditRowRatherThanDroppingThePatient() throws {
        try PatientRecords(directory: directory).save(try make())
        chmod(directory.file("patients/RP20-000001.json").string, 0o666)
        let log = try AuditLog(directory: directory)
        do {
            try log.append(AuditRecord(operatorName: "nurse.a", pumpSerial: "RP20-000001", command: "bolus", phase: .intent))
            Issue.record("the row was written without its patient")
        } catch {
            guard case let .storage(detail) = error else { Issue.record("\(error)"); return }
            #expect(detail.contains("patient record"), "\(detail)")
        }
        #expect(try log.entries().isEmpty)
    }

    @Test func anUnusableRecordNeverStopsAReadOrAStop() throws {
        try PatientRecords(directory: directory).save(try make())
        chmod(directory.file("patients/RP20-000001.json").string, 0o644)
        let log = try AuditLog(directory: directory)
        for command in ["interrogate", CommandKind.stop.rawValue] {
            let row = try log.append(AuditRecord(operatorName: "nurse.a", pumpSerial: "RP20-000001", command: command, phase: .intent))
            #expect(row.parameters["patient_record"] == "unusable", "\(command)")
            #expect(row.parameters["patient_record_problem"]?.isEmpty == false)
            #expect(row.parameters["patient_name"] == nil)
        }
        // A change still needs a patient it can trust.
        #expect(throws: AuditError.self) {
            try log.append(AuditRecord(operatorName: "nurse.a", pumpSerial: "RP20-000001", command: CommandKind.bolus.rawValue, phase: .intent))
        }
    }
}
