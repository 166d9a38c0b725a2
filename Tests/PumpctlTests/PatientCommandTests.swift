import Foundation
import Glibc
import Testing
import TestSupport

/// `pumpctl patient set|show`, and the patient on every audit row and on
/// the report of a visit (the built binary against the simulator).
@Suite(.serialized, .tags(.process), .childProcesses) struct PatientCommandTests {
    /// Removed when the test ends.
    let temporary = TemporaryDirectory.make(prefix: "pumpwand-patient")
    var stateDir: String { temporary.path }
    static let serial = "RP20-DEMO-0001"  // the simulated pump's
    static let patient = ["--serial", serial, "--name", "Ada Lovelace", "--mrn", "MRN-0042", "--mrn-system", "urn:oid:2.16.840.1.113883.19.5", "--dob", "1980-02-29",
                          "--prescriber", "Dr. Grace Hopper"]

    func pumpctl(_ arguments: [String], environment: [String: String] = [:]) async throws -> PumpctlRun.Result {
        try await PumpctlRun.run(["--simulator", "--state-dir", stateDir, "--operator", "nurse.a"] + arguments, environment: environment)
    }

    func json(_ text: String) throws -> [String: Any] {
        try #require(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any], "not a JSON object: \(text)")
    }

    @Test func theRecordIsOnEveryAuditRowAndTheRefillReportOfThatPump() async throws {
        let set = try await pumpctl(["patient", "set"] + Self.patient)
        #expect(set.status == 0, "\(set.stderr)")
        #expect(set.stdout.contains("SIMULATED patient record"), "\(set.stdout)")
        let setJSON = try await pumpctl(["--json", "patient", "set"] + Self.patient)
        #expect(try await JSONContractTests.violations(of: setJSON.stdout, schema: "patient.json").isEmpty, "\(setJSON.stdout)")
        let showJSON = try await pumpctl(["--json", "patient", "show"])
        #expect(try await JSONContractTests.violations(of: showJSON.stdout, schema: "patient-list.json").isEmpty, "\(showJSON.stdout)")
        let shown = try json(try await pumpctl(["--json", "patient", "show", "--serial", Self.serial]).stdout)
        let record = try #require((shown["patients"] as? [[String: Any]])?.first)
        #expect(record["record_number"] as? String == "MRN-0042")
        #expect(record["birth_date"] as? String == "1980-02-29")
        #expect(record["recorded_by"] as? String == "nurse.a")
        #expect(record["simulated"] as? Bool == true)

        let refill = try await pumpctl(["--yes", "refill", "--withdrawn", "12mL", "--added", "18mL", "--concentration", "2000mcg/mL"])
        #expect(refill.status == 0, "\(refill.stderr)")
        let reportLine = try #require(refill.stdout.split(separator: "\n").first { $0.hasPrefix("Report: ") && $0.hasSuffix(".md") })
        let markdown = try String(contentsOfFile: String(reportLine.dropFirst("Report: ".count)), encoding: .utf8)
        for line in ["| Name | Ada Lovelace |", "| Medical record number | MRN-0042 |", "| Date of birth | 1980-02-29 |",
                     "| Prescriber | Dr. Grace Hopper |", "| Programmer | PumpWand pumpctl 0.1.0 |",
                     "| Reservoir | 12mL -> 18mL |", "| Drug | baclofen (unchanged) |",
                     "| Operator | nurse.a | ____________________ | ____________ |",
                     "| Prescriber | Dr. Grace Hopper | ____________________ | ____________ |"] {
            #expect(markdown.contains(line), "\(line) is not on the report:\n\(markdown)")
        }
        #expect(markdown.contains("SIMULATED patient record"))
        #expect(markdown.contains("| Policy | PumpWand shipped defaults"), "the drug library and its hash")
        let html = try String(contentsOfFile: String(reportLine.dropFirst("Report: ".count).dropLast(3)) + ".html", encoding: .utf8)
        #expect(html.contains("<h2>Attestation</h2>"))
        #expect(html.contains("<td>Ada Lovelace</td>"))

        let audit = try json(try await pumpctl(["--json", "audit", "list"]).stdout)
        let rows = try #require(audit["entries"] as? [[String: Any]])
        let pumpRows = rows.filter { $0["pump_serial"] as? String == Self.serial }
        #expect(pumpRows.count >= 4, "patient, session, reads, the refill")
        for row in pumpRows {
            let parameters = row["parameters"] as? [String: String] ?? [:]
            #expect(parameters["patient_record_number"] == "MRN-0042", "row \(row["sequence"] ?? "?")")
            #expect(parameters["patient_name"] == "Ada Lovelace")
            #expect(parameters["prescriber"] == "Dr. Grace Hopper")
            #expect(parameters["patient_record"] == "simulated")
        }
        #expect(rows.contains { $0["command"] as? String == "patient" && $0["outcome"] as? String == "patient record set" })
        #expect(try await pumpctl(["audit", "verify"]).status == 0)
    }

    @Test func aBadFieldIsRefusedWithItsReasonAndTheRecordStays() async throws {
        #expect(try await pumpctl(["patient", "set"] + Self.patient).status == 0)
        var wrong = Self.patient
        wrong[wrong.firstIndex(of: "--dob")! + 1] = "2001-02-30"
        let refused = try await pumpctl(["patient", "set"] + wrong)
        #expect(refused.status == 64, "\(refused.stderr)")
        #expect(refused.stderr.contains("date of birth 2001-02-30 is not a real date"), "\(refused.stderr)")
        var escape = Self.patient
        escape[escape.firstIndex(of: "--name")! + 1] = "Ada\u{1B}[2J"
        let control = try await pumpctl(["--json", "patient", "set"] + escape)
        #expect(control.status == 64)
        #expect(try await JSONContractTests.violations(of: control.stdout, schema: "error.json").isEmpty, "\(control.stdout)")
        #expect(try json(control.stdout)["error"] != nil, "\(control.stdout)")
        let shown = try await pumpctl(["patient", "show", "--serial", Self.serial])
        #expect(shown.stdout.contains("1980-02-29"), "\(shown.stdout)")
        // Another record number for the same pump only with --replace.
        var other = Self.patient
        other[other.firstIndex(of: "--mrn")! + 1] = "MRN-0043"
        let relinked = try await pumpctl(["patient", "set"] + other)
        #expect(relinked.status == 65, "\(relinked.stderr)")
        #expect(relinked.stderr.contains("is linked to record number MRN-0042"), "\(relinked.stderr)")
        #expect(try await pumpctl(["patient", "show", "--serial", Self.serial]).stdout.contains("MRN-0042"))
        #expect(try await pumpctl(["patient", "set", "--replace"] + other).status == 0)
        #expect(try await pumpctl(["patient", "show", "--serial", Self.serial]).stdout.contains("MRN-0043"))
        let missing = try await pumpctl(["patient", "show", "--serial", "RP20-OTHER-0002"])
        #expect(missing.status == 69)
        #expect(missing.stderr.contains("No patient record for pump RP20-OTHER-0002"))
    }

    /// With no --operator and no login name (an account the password
    /// database does not know, LOGNAME and USER empty) nothing is recorded
    /// under a made-up name: the command is refused before the pump is read.
    @Test func theOperatorIsRequiredWhenThereIsNoLoginName() async throws {
        guard getuid() == 0 else {
            try Requirements.skip("needs root to run pumpctl as an account without a name (setpriv --reuid)")
        }
        let setpriv = try Requirements.tool("setpriv", "apt-get install util-linux")
        let unnamed: UInt32 = 47_113
        #expect(getpwuid(unnamed) == nil, "uid \(unnamed) must have no password entry")
        // The account makes its own state and configuration folders, so
        // their parent is writable by anyone and sticky, as /tmp is; it is
        // removed, with what the account made in it, when the test ends.
        let parent = try TemporaryDirectory(prefix: "pumpwand-unnamed")
        defer { parent.remove() }
        #expect(chmod(parent.path, 0o1777) == 0)
        let directory = parent.file("state")
        let wrapper = [setpriv, "--reuid=\(unnamed)", "--regid=\(unnamed)", "--clear-groups", "--"]
        let environment = ["LOGNAME": "", "USER": ""]
        for arguments in [["interrogate"], ["patient", "set"] + Self.patient] {
            let run = try await PumpctlRun.run(["--simulator", "--state-dir", directory] + arguments, wrapper: wrapper, environment: environment)
            #expect(run.status == 64, "\(arguments): \(run.stderr)")
            #expect(run.stderr.contains("There is no login name: give --operator NAME"), "\(run.stderr)")
        }
        #expect(!FileManager.default.fileExists(atPath: directory + "/audit.sqlite"), "no row under a made-up name")
        // Given, it is used. The audit key goes in a configuration folder
        // this user can make (its HOME is not its own).
        let named = try await PumpctlRun.run(["--simulator", "--state-dir", directory, "--operator", "nurse.b", "patient", "set"] + Self.patient,
                                             wrapper: wrapper, environment: environment.merging(["PUMPWAND_CONFIG_DIR": directory + "-config"]) { $1 })
        #expect(named.status == 0, "\(named.stderr)")
    }

    @Test func aVisitForAPatientRefusesAnyOtherPumpBeforeSendingAnything() async throws {
        // The patient's record links another pump than the simulated one in range.
        var other = Self.patient
        other[other.firstIndex(of: "--serial")! + 1] = "RP20-OTHER-0002"
        #expect(try await pumpctl(["patient", "set"] + other).status == 0)
        let refused = try await pumpctl(["--json", "--yes", "bolus", "--dose", "50mcg", "--patient", "MRN-0042"])
        #expect(refused.status == 69, "\(refused.stderr)")
        #expect(refused.stderr.contains("The pump in range is RP20-DEMO-0001, not RP20-OTHER-0002"), "\(refused.stderr)")
        #expect(refused.stdout.contains("\"pump\" : \"nothing_sent\""), "\(refused.stdout)")
        let unknown = try await pumpctl(["interrogate", "--patient", "MRN-9999"])
        #expect(unknown.status == 64)
        #expect(unknown.stderr.contains("No pump is linked to record number MRN-9999"), "\(unknown.stderr)")
        // Linked to the pump in range too: which one is for the technician to say.
        #expect(try await pumpctl(["patient", "set"] + Self.patient).status == 0)
        let both = try await pumpctl(["interrogate", "--patient", "MRN-0042"])
        #expect(both.status == 64)
        #expect(both.stderr.contains("is linked to 2 pumps (RP20-DEMO-0001, RP20-OTHER-0002)"), "\(both.stderr)")
        let chosen = try await pumpctl(["interrogate", "--patient", "MRN-0042", "--expect-pump", "RP20-DEMO-0001"])
        #expect(chosen.status == 0, "\(chosen.stderr)")
        let audit = try json(try await pumpctl(["--json", "audit", "list"]).stdout)
        let rows = audit["entries"] as? [[String: Any]] ?? []
        #expect(rows.contains { $0["outcome"] as? String == "refused: wrong pump" })
        #expect(!rows.contains { $0["command"] as? String == "bolus" }, "no bolus was recorded, let alone sent")
    }

    @Test func aRecordNumberOfAnotherPumpWithAnotherPersonOrOnlyAnotherCaseIsRefused() async throws {
        var other = Self.patient
        other[other.firstIndex(of: "--serial")! + 1] = "RP20-OTHER-0002"
        #expect(try await pumpctl(["patient", "set"] + other).status == 0)
        // The same number for another birth date: two people, or a typo.
        var born = Self.patient
        born[born.firstIndex(of: "--dob")! + 1] = "1981-03-01"
        let different = try await pumpctl(["patient", "set"] + born)
        #expect(different.status == 65, "\(different.stderr)")
        #expect(different.stderr.contains("is linked to pump RP20-OTHER-0002"), "\(different.stderr)")
        // Only the letter case differs: ambiguous, nothing folded.
        var folded = Self.patient
        folded[folded.firstIndex(of: "--mrn")! + 1] = "mrn-0042"
        let ambiguous = try await pumpctl(["patient", "set"] + folded)
        #expect(ambiguous.status == 65, "\(ambiguous.stderr)")
        #expect(ambiguous.stderr.contains("differs only in letter case from MRN-0042"), "\(ambiguous.stderr)")
        #expect(try await pumpctl(["patient", "show", "--serial", Self.serial]).status == 69, "nothing was set")
        // Without the assigning system the record is not taken.
        var bare = Self.patient
        let index = bare.firstIndex(of: "--mrn-system")!
        bare.removeSubrange(index...(index + 1))
        #expect(try await pumpctl(["patient", "set"] + bare).status == 64)
        // The same person on a second pump is fine.
        #expect(try await pumpctl(["patient", "set"] + Self.patient).status == 0)
    }

    @Test func theSecondOperatorIsAnotherPersonWithAPrintableName() async throws {
        let same = try await pumpctl(["--yes", "bolus", "--dose", "50mcg", "--second-operator", "Nurse.A"])
        #expect(same.status == 64, "\(same.stderr)")
        #expect(same.stderr.contains("is the operator"), "\(same.stderr)")
        let hidden = try await pumpctl(["--yes", "bolus", "--dose", "50mcg", "--second-operator", "dr.\u{200B}b"])
        #expect(hidden.status == 64, "\(hidden.stderr)")
        #expect(hidden.stderr.contains("U+200B"), "\(hidden.stderr)")
        let bidi = try await pumpctl(["--yes", "bolus", "--dose", "50mcg", "--second-operator", "dr.\u{202E}b"])
        #expect(bidi.status == 64, "\(bidi.stderr)")
        #expect(!FileManager.default.fileExists(atPath: stateDir + "/audit.sqlite"), "refused before the pump was read")
    }
}
