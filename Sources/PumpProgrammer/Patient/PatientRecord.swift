import Foundation
import StateFiles
import SystemPackage

/// Who the pump with this serial is implanted in, and who prescribes its
/// therapy: what makes an audit row or a report a clinical record.
///
/// Kept per pump serial in the state directory (`patients/<serial>.json`,
/// mode 0600, written atomically), set by `pumpctl patient set`. Every
/// audit row with that pump serial carries it (`AuditLog.append`), and so
/// does every session report.
public struct PatientRecord: Codable, Sendable, Equatable {
    /// The serial of the implanted pump the record is linked to.
    public var pumpSerial: String
    /// The patient's name as the chart writes it.
    public var name: String
    /// The clinic's medical record number.
    public var recordNumber: String
    /// The system (URI) of the clinic that assigned the record number: a
    /// record number alone may name another clinic's patient. Nil in a
    /// record set before it was asked for; such a record is not exported.
    public var recordSystem: String?
    /// A calendar date, `YYYY-MM-DD` (no time, no zone).
    public var birthDate: String
    /// The clinician who prescribes the pump's therapy.
    public var prescriber: String
    /// True when set against the simulator (`--simulator`): a training or
    /// test record, never a patient's, and every record of it says so.
    public var simulated: Bool
    /// Who set it, and when (RFC 3339, UTC).
    public var recordedBy: String
    public var recordedAt: String

    enum CodingKeys: String, CodingKey {
        case pumpSerial = "pump_serial", name, recordNumber = "record_number", recordSystem = "record_system", birthDate = "birth_date"
        case prescriber, simulated, recordedBy = "recorded_by", recordedAt = "recorded_at"
    }

    /// Longest name (patient, prescriber, operator) kept, in characters.
    public static let nameLimit = 120
    /// Longest medical record number.
    public static let recordNumberLimit = 40
    /// Longest pump serial.
    public static let serialLimit = 32
    /// Largest record file read.
    static let fileLimit = 8 * 1024

    /// A validated record. Throws the first problem found, naming the field.
    public init(pumpSerial: String, name: String, recordNumber: String, birthDate: String, prescriber: String,
                simulated: Bool, recordedBy: String, recordedAt: Date, today: Date = Date(),
                recordSystem: String? = nil) throws(PatientRecordError) {
        try self.init(pumpSerial: pumpSerial, name: name, recordNumber: recordNumber, birthDate: birthDate, prescriber: prescriber,
                      simulated: simulated, recordedBy: recordedBy, recordedAt: recordedAt, today: today, recordSystem: recordSystem,
                      refusingFiller: true)
    }

    /// `refusingFiller`: a placeholder record number is refused when a
    /// record is set, not when one set before that rule is read back: an
    /// unusable record stops every audit row of its pump, and a stop or a
    /// read of that pump must not be refused for an old record's number
    /// (the export and `patient set` are where it is put right).
    init(pumpSerial: String, name: String, recordNumber: String, birthDate: String, prescriber: String,
         simulated: Bool, recordedBy: String, recordedAt: Date, today: Date, recordSystem: String?,
         refusingFiller: Bool) throws(PatientRecordError) {
        self.pumpSerial = try Self.checkedSerial(pumpSerial)
        self.name = try Self.checkedName(name, field: "name")
        self.recordNumber = try Self.checkedRecordNumber(recordNumber)
        if refusingFiller, Self.isFiller(self.recordNumber) { throw .fillerRecordNumber(Self.printable(self.recordNumber)) }
        if let recordSystem { self.recordSystem = try Self.checkedRecordSystem(recordSystem) } else { self.recordSystem = nil }
        self.birthDate = try Self.checkedBirthDate(birthDate, today: today)
        self.prescriber = try Self.checkedName(prescriber, field: "prescriber")
        self.simulated = simulated
        self.recordedBy = try Self.checkedName(recordedBy, field: "operator")
        self.recordedAt = recordedAt.formatted(Date.ISO8601FormatStyle(timeZone: .gmt))
    }

    /// Re-checks a record read from a file: the file is input like any other.
    func validated() throws(PatientRecordError) -> PatientRecord {
        guard let time = try? Date(recordedAt, strategy: Date.ISO8601FormatStyle(timeZone: .gmt)) else {
            throw .invalid(field: "recorded_at", reason: "is not an RFC 3339 UTC time")
        }
        return try PatientRecord(pumpSerial: pumpSerial, name: name, recordNumber: recordNumber, birthDate: birthDate,
                                 prescriber: prescriber, simulated: simulated, recordedBy: recordedBy, recordedAt: time,
                                 today: .distantFuture, recordSystem: recordSystem, refusingFiller: false)
    }

    // MARK: Validation

    /// A pump serial: letters, digits and `-`, as the pumps print them
    /// (`PW-SIM-000001`, `RP40-DEMO-0001`). It names a file, so nothing else.
    public static func checkedSerial(_ text: String) throws(PatientRecordError) -> String {
        guard !text.isEmpty else { throw .invalid(field: "serial", reason: "is empty") }
        guard text.count <= serialLimit else { throw .invalid(field: "serial", reason: "is longer than \(serialLimit) characters") }
        guard text.unicodeScalars.allSatisfy({ $0.isASCII && (CharacterSet.alphanumerics.contains($0) || $0 == "-") }),
              text.first != "-" else {
            throw .invalid(field: "serial", reason: "may hold only letters, digits and '-'")
        }
        return text
    }

    /// A person's name: printable, one line, bounded, not blank. Letters of
    /// any script are kept as typed.
    public static func checkedName(_ text: String, field: String) throws(PatientRecordError) -> String {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        guard !trimmed.isEmpty else { throw .invalid(field: field, reason: "is empty") }
        guard trimmed.count <= nameLimit else { throw .invalid(field: field, reason: "is longer than \(nameLimit) characters") }
        try checkPrintable(trimmed, field: field)
        guard trimmed.unicodeScalars.contains(where: { CharacterSet.letters.contains($0) }) else {
            throw .invalid(field: field, reason: "has no letter")
        }
        return trimmed
    }

    /// A medical record number: printable, no spaces, bounded.
    public static func checkedRecordNumber(_ text: String) throws(PatientRecordError) -> String {
        guard !text.isEmpty else { throw .invalid(field: "record number", reason: "is empty") }
        guard text.count <= recordNumberLimit else {
            throw .invalid(field: "record number", reason: "is longer than \(recordNumberLimit) characters")
        }
        try checkPrintable(text, field: "record number")
        guard !text.unicodeScalars.contains(where: { CharacterSet.whitespaces.contains($0) }) else {
            throw .invalid(field: "record number", reason: "has a space")
        }
        return text
    }

    /// Words typed when the number is not at hand, once case and
    /// punctuation are set aside (`N/A`, `n.a.`, `Unknown`).
    static let fillerWords: Set<String> = [
        "unknown", "unk", "na", "none", "null", "nil", "tbd", "tba", "pending", "missing", "notknown", "notavailable",
        "notgiven", "noid", "nomrn", "mrn", "void", "blank", "empty", "test", "dummy", "xxx", "x",
    ]

    /// A placeholder where a record number belongs: only punctuation (`-`,
    /// `?`, `--`), only zeros (`0`, `000`), one character repeated after
    /// the first letters and digits are gone (`xxxx`), or a filler word.
    /// On an audit row or an exported Patient it would join unrelated
    /// patients under one number, so it is refused when the record is set.
    public static func isFiller(_ text: String) -> Bool {
        let kept = text.unicodeScalars.filter { CharacterSet.alphanumerics.contains($0) }
        let folded = String(String.UnicodeScalarView(kept)).lowercased()
        if folded.isEmpty { return true }
        if folded.allSatisfy({ $0 == "0" }) { return true }
        if fillerWords.contains(folded) { return true }
        if folded.count > 1, let first = folded.first, first.isLetter, folded.allSatisfy({ $0 == first }) { return true }
        return false
    }

    /// Longest record-number system URI.
    public static let recordSystemLimit = 200

    /// The assigning system of a record number: an absolute URI (`urn:`,
    /// `https://`, `http://`), printable ASCII, no spaces, bounded. Kept
    /// exactly as given: nothing is folded or normalised.
    public static func checkedRecordSystem(_ text: String) throws(PatientRecordError) -> String {
        guard !text.isEmpty else { throw .invalid(field: "record number system", reason: "is empty") }
        guard text.count <= recordSystemLimit else {
            throw .invalid(field: "record number system", reason: "is longer than \(recordSystemLimit) characters")
        }
        guard text.unicodeScalars.allSatisfy({ $0.isASCII && $0.value > 0x20 && $0.value < 0x7F }) else {
            throw .invalid(field: "record number system", reason: "may hold only printable ASCII without spaces")
        }
        let lower = text.lowercased()
        guard ["urn:", "https://", "http://"].contains(where: { lower.hasPrefix($0) && lower.count > $0.count }) else {
            throw .invalid(field: "record number system", reason: "'\(text)' is not an absolute URI (urn:..., https://...)")
        }
        return text
    }

    /// A real calendar date `YYYY-MM-DD`, not after today and not before 1900.
    public static func checkedBirthDate(_ text: String, today: Date) throws(PatientRecordError) -> String {
        let parts = text.split(separator: "-", omittingEmptySubsequences: false)
        guard parts.count == 3, parts[0].count == 4, parts[1].count == 2, parts[2].count == 2,
              parts.allSatisfy({ $0.allSatisfy(\.isASCII) && $0.allSatisfy(\.isNumber) }),
              let year = Int(parts[0]), let month = Int(parts[1]), let day = Int(parts[2]) else {
            throw .invalid(field: "date of birth", reason: "'\(printable(text))' is not a date YYYY-MM-DD")
        }
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = .gmt
        let components = DateComponents(year: year, month: month, day: day)
        // The calendar would roll 2001-02-30 over to March: a real date
        // comes back with the same fields.
        guard (1...12).contains(month), let date = calendar.date(from: components),
              calendar.dateComponents([.year, .month, .day], from: date) == components else {
            throw .invalid(field: "date of birth", reason: "\(text) is not a real date")
        }
        guard year >= 1900 else { throw .invalid(field: "date of birth", reason: "\(text) is before 1900") }
        // Compared as dates in the latest zone on Earth, so a birth today
        // anywhere is accepted.
        guard date <= today.addingTimeInterval(14 * 3600) else {
            throw .invalid(field: "date of birth", reason: "\(text) is in the future")
        }
        return text
    }

    static func checkPrintable(_ text: String, field: String) throws(PatientRecordError) {
        for scalar in text.unicodeScalars {
            let category = scalar.properties.generalCategory
            if [.control, .format, .lineSeparator, .paragraphSeparator, .unassigned, .surrogate, .privateUse].contains(category) {
                throw .invalid(field: field, reason: "has a control or invisible character (U+\(String(scalar.value, radix: 16, uppercase: true)))")
            }
        }
    }

    static func printable(_ text: String) -> String {
        String(text.unicodeScalars.prefix(40).map { $0.properties.generalCategory == .control ? "?" : Character($0) })
    }
}

/// Why a patient record was refused or could not be used.
public enum PatientRecordError: Error, Equatable, Sendable, CustomStringConvertible {
    case invalid(field: String, reason: String)
    /// A placeholder (`0`, `000`, `unknown`, `n/a`, `-`) where the clinic's
    /// medical record number belongs.
    case fillerRecordNumber(String)
    /// The file is there but cannot be trusted or read.
    case unusable(path: String, reason: String)

    public var description: String {
        switch self {
        case let .invalid(field, reason): return "The patient's \(field) \(reason)."
        case let .fillerRecordNumber(text):
            return "The patient's record number '\(text)' is a placeholder, not a record number: give the number the clinic's chart assigned the patient (letters and digits such as MRN-0042 or 004512), with the --mrn-system of the clinic that assigned it. Without one, set no record until the chart has it."
        case let .unusable(path, reason): return "The patient record \(path) cannot be used: \(reason)"
        }
    }
}

/// The patient records of a state directory, one file per pump serial.
public struct PatientRecords: Sendable {
    public static let folderName = "patients"
    public let directory: StateDirectory

    public init(directory: StateDirectory) {
        self.directory = directory
    }

    func path(_ folder: FilePath, serial: String) -> FilePath { folder.appending("\(serial).json") }

    /// The record of the pump `serial`, or nil when none was set. A record
    /// readable by others, a link in its place, or one that does not parse
    /// or validate is refused, never used in part.
    public func record(forPump serial: String) throws(PatientRecordError) -> PatientRecord? {
        // A serial that cannot name a record has none.
        guard (try? PatientRecord.checkedSerial(serial)) != nil else { return nil }
        let folder: FilePath?
        do { folder = try directory.subdirectory(Self.folderName, creating: false) } catch {
            throw .unusable(path: directory.file(Self.folderName).string, reason: error.description)
        }
        guard let folder else { return nil }
        let file = path(folder, serial: serial)
        guard AtomicFile.exists(file) else { return nil }
        let bytes: [UInt8]
        do {
            try AtomicFile.requirePrivate(file)
            bytes = try AtomicFile.read(file, limit: PatientRecord.fileLimit)
        } catch {
            throw .unusable(path: file.string, reason: error.description)
        }
        let record: PatientRecord
        do { record = try JSONDecoder().decode(PatientRecord.self, from: Data(bytes)) } catch {
            throw .unusable(path: file.string, reason: "it is not a patient record (\(error))")
        }
        let checked: PatientRecord
        do { checked = try record.validated() } catch { throw .unusable(path: file.string, reason: error.description) }
        guard checked.pumpSerial == serial else {
            throw .unusable(path: file.string, reason: "it names pump \(checked.pumpSerial), not \(serial).")
        }
        return checked
    }

    /// Every record, by serial.
    public func all() throws(PatientRecordError) -> [PatientRecord] {
        let folder: FilePath?
        do { folder = try directory.subdirectory(Self.folderName, creating: false) } catch {
            throw .unusable(path: directory.file(Self.folderName).string, reason: error.description)
        }
        guard let folder, let names = try? FileManager.default.contentsOfDirectory(atPath: folder.string) else { return [] }
        var records: [PatientRecord] = []
        for name in names.sorted() where name.hasSuffix(".json") && !name.hasPrefix(".") {
            if let record = try record(forPump: String(name.dropLast(5))) { records.append(record) }
        }
        return records
    }

    /// Writes (or replaces) the record of its pump, atomically, mode 0600.
    public func save(_ record: PatientRecord) throws(PatientRecordError) {
        let folder: FilePath?
        do { folder = try directory.subdirectory(Self.folderName, creating: true) } catch {
            throw .unusable(path: directory.file(Self.folderName).string, reason: error.description)
        }
        guard let folder else { throw .unusable(path: directory.file(Self.folderName).string, reason: "the folder is missing") }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        let file = path(folder, serial: record.pumpSerial)
        do {
            let data = try encoder.encode(record)
            try AtomicFile.write(Array(data) + [0x0A], to: file)
        } catch let error as StateFileError {
            throw .unusable(path: file.string, reason: error.description)
        } catch {
            throw .unusable(path: file.string, reason: "it could not be encoded (\(error))")
        }
    }
}

extension PatientRecord {
    /// What every audit row of this pump carries (parameters, hashed with the row).
    public var auditParameters: [String: String] {
        var parameters = [
            "patient_name": name, "patient_record_number": recordNumber, "patient_birth_date": birthDate,
            "prescriber": prescriber,
        ]
        if let recordSystem { parameters["patient_mrn_system"] = recordSystem }
        if simulated { parameters["patient_record"] = "simulated" }
        return parameters
    }
}
