import ArgumentParser
import Foundation
import PumpProgrammer
import StateFiles

/// `pumpctl patient set|show`: who the pump with a serial is implanted in,
/// and who prescribes for it. The record goes on every audit row and
/// report of that pump (PumpProgrammer's `PatientRecords`).
struct Patient: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "patient",
        abstract: "Set or show the patient record of a pump (name, record number, date of birth, prescriber).",
        discussion: """
            The record is kept per pump serial in the state directory (patients/SERIAL.json, mode 0600) and is put on every audit row and session report of that pump. With --simulator the record is marked SIMULATED: a training record, never a patient's.
            """,
        subcommands: [SetRecord.self, Show.self],
        defaultSubcommand: Show.self
    )

    struct SetRecord: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "set", abstract: "Set (or replace) the patient record of the pump with this serial.")
        @OptionGroup(visibility: .hidden) var global: GlobalOptions

        @Option(name: .long, help: ArgumentHelp("The serial of the implanted pump (as interrogate prints it).", valueName: "serial"))
        var serial: String
        @Option(name: .long, help: ArgumentHelp("The patient's name as the chart writes it.", valueName: "name"))
        var name: String
        @Option(name: .long, help: ArgumentHelp("The patient's medical record number.", valueName: "number"))
        var mrn: String
        @Option(name: .customLong("mrn-system"), help: ArgumentHelp(
            "The system (URI) of the clinic that assigned the record number, e.g. urn:oid:... or https://clinic.example/mrn: a number alone may name another clinic's patient.",
            valueName: "uri"))
        var mrnSystem: String
        @Option(name: .long, help: ArgumentHelp("The patient's date of birth, YYYY-MM-DD.", valueName: "date"))
        var dob: String
        @Option(name: .long, help: ArgumentHelp("The clinician who prescribes the pump's therapy.", valueName: "name"))
        var prescriber: String
        @Flag(name: .long, help: "Link the pump to another patient (a different record number) than its record names.")
        var replace = false

        func run() async throws {
            let operatorName = try global.resolvedOperator()
            let directory = try global.stateDirectory()
            let record: PatientRecord
            do {
                record = try PatientRecord(pumpSerial: serial, name: name, recordNumber: mrn, birthDate: dob, prescriber: prescriber,
                                           simulated: global.simulator, recordedBy: operatorName, recordedAt: Date(),
                                           recordSystem: mrnSystem)
            } catch {
                throw Output.fail(CommandFailure(status: .usage, message: "\(error.description) The record was not changed."))
            }
            // Not while a session of this state directory is writing rows
            // that should name the patient as they were.
            let lock: StateDirectoryLock
            do { lock = try StateDirectoryLock.acquire(directory, command: "pumpctl patient set") } catch {
                throw Output.fail(CommandFailure(status: .stateDirectoryBusy, message: "\(error.description) The record was not changed."))
            }
            defer { lock.release() }
            let records = PatientRecords(directory: directory)
            let previous = try? records.record(forPump: record.pumpSerial)
            // Another patient for the same pump is a re-implant or a typo:
            // which one is for the technician to say, never a silent overwrite.
            if let previous, previous.recordNumber != record.recordNumber, !replace {
                throw Output.fail(CommandFailure(status: .refusedByPolicy, message:
                    "REFUSED: pump \(record.pumpSerial) is linked to record number \(previous.recordNumber) (\(previous.name)), not \(record.recordNumber). Check the record number; to link the pump to another patient, add --replace. The record was not changed."))
            }
            // One record number names one person: the same number on another
            // pump with another name or birth date, or a number that differs
            // from another pump's only in letter case, is a typo or two
            // patients, and nothing is folded to decide which.
            let others: [PatientRecord]
            do { others = try records.all().filter { $0.pumpSerial != record.pumpSerial && $0.recordSystem == record.recordSystem } } catch {
                throw Output.fail(CommandFailure(status: .internalError, message: "\(error.description) The record was not changed."))
            }
            if let other = others.first(where: { $0.recordNumber == record.recordNumber && ($0.name != record.name || $0.birthDate != record.birthDate) }) {
                throw Output.fail(CommandFailure(status: .refusedByPolicy, message:
                    "REFUSED: record number \(record.recordNumber) is linked to pump \(other.pumpSerial) for \(other.name), born \(other.birthDate), not \(record.name), born \(record.birthDate). Check the chart. The record was not changed."))
            }
            if let other = others.first(where: { $0.recordNumber != record.recordNumber && $0.recordNumber.lowercased() == record.recordNumber.lowercased() }) {
                throw Output.fail(CommandFailure(status: .refusedByPolicy, message:
                    "REFUSED: record number \(record.recordNumber) differs only in letter case from \(other.recordNumber) (pump \(other.pumpSerial), \(other.name)): ambiguous. Check the chart. The record was not changed."))
            }
            do {
                try records.save(record)
                // Who set or changed the record is itself on the record.
                var parameters = ["replaced": previous == nil ? "false" : "true"]
                if global.simulator { parameters["simulated"] = "true" }
                let log = try AuditLog(directory: directory)
                try log.append(AuditRecord(
                    operatorName: operatorName, pumpSerial: record.pumpSerial, command: "patient", phase: .event,
                    parameters: parameters, outcome: AuditOutcome.patientRecordSet.rawValue))
                try log.sealHead()
            } catch let error as PatientRecordError {
                throw Output.fail(CommandFailure(status: .internalError, message: error.description))
            } catch let error as AuditError {
                throw Output.fail(CommandFailure(status: .internalError, message: error.description))
            }
            if global.json {
                try Output.json(record)
            } else {
                if record.simulated { Output.line("SIMULATED patient record (set with --simulator): not a patient's.") }
                Output.line("Patient record \(previous == nil ? "set" : "replaced") for pump \(record.pumpSerial):")
                Output.line(PatientText.describe(record))
            }
        }
    }

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "show", abstract: "Show the patient record of one pump, or of every pump.")
        @OptionGroup(visibility: .hidden) var global: GlobalOptions

        @Option(name: .long, help: ArgumentHelp("Only this pump's record.", valueName: "serial"))
        var serial: String?

        func run() async throws {
            let records = PatientRecords(directory: try global.stateDirectory())
            let found: [PatientRecord]
            do {
                if let serial {
                    let checked: String
                    do { checked = try PatientRecord.checkedSerial(serial) } catch {
                        throw Output.fail(CommandFailure(status: .usage, message: error.description))
                    }
                    guard let record = try records.record(forPump: checked) else {
                        throw Output.fail(CommandFailure(status: .notFound, message:
                            "No patient record for pump \(checked): set one with pumpctl patient set --serial \(checked) ..."))
                    }
                    found = [record]
                } else {
                    found = try records.all()
                }
            } catch let error as PatientRecordError {
                throw Output.fail(CommandFailure(status: .internalError, message: error.description))
            }
            if global.json {
                try Output.json(PatientListing(patients: found))
                return
            }
            guard !found.isEmpty else {
                Output.line("No patient records.")
                return
            }
            for (index, record) in found.enumerated() {
                if index > 0 { Output.line() }
                Output.line("Pump \(record.pumpSerial)" + (record.simulated ? "  SIMULATED record" : ""))
                Output.line(PatientText.describe(record))
            }
        }
    }
}

struct PatientListing: Encodable {
    var patients: [PatientRecord]
}

enum PatientText {
    static func describe(_ record: PatientRecord) -> String {
        Output.table(header: ["", ""], rows: [
            ["Name", record.name], ["Record number", record.recordNumber], ["Record number system", record.recordSystem ?? "not given"], ["Date of birth", record.birthDate],
            ["Prescriber", record.prescriber], ["Recorded by", "\(record.recordedBy) at \(Screen.shared.zone.dateTime(rfc3339: record.recordedAt))"],
        ]).split(separator: "\n").dropFirst().map { "  " + $0 }.joined(separator: "\n")
    }
}

/// `--patient MRN` on a pump command: the pump serial the patient's record
/// links, so the session refuses any other pump before sending anything.
enum PatientSelection {
    static func expectedPump(_ session: SessionOptions, directory: StateDirectory) throws -> String? {
        guard let number = session.patient else { return session.expectPump }
        let records: [PatientRecord]
        do { records = try PatientRecords(directory: directory).all() } catch {
            throw Output.fail(CommandFailure(status: .internalError, message: "\(error.description) Nothing was sent to the pump."))
        }
        let linked = records.filter { $0.recordNumber == number }
        guard let record = linked.first else {
            throw Output.fail(CommandFailure(status: .usage, message:
                "No pump is linked to record number \(number): set it with pumpctl patient set --serial SERIAL --mrn \(number) .... Nothing was sent to the pump."))
        }
        if let expected = session.expectPump, linked.contains(where: { $0.pumpSerial == expected }) { return expected }
        guard linked.count == 1 else {
            throw Output.fail(CommandFailure(status: .usage, message:
                "Record number \(number) is linked to \(linked.count) pumps (\(linked.map(\.pumpSerial).joined(separator: ", "))): give --expect-pump SERIAL too. Nothing was sent to the pump."))
        }
        if let expected = session.expectPump, expected != record.pumpSerial {
            throw Output.fail(CommandFailure(status: .usage, message:
                "--expect-pump \(expected) is not the pump linked to record number \(number) (\(record.pumpSerial)). Nothing was sent to the pump."))
        }
        return record.pumpSerial
    }
}
