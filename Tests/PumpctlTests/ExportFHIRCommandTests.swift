import Foundation
import Glibc
import Testing
import TestSupport

/// `pumpctl export fhir` on the built binary: every resource of every
/// bundle validated with the fhir.resources R5 models (PyPI, in the
/// environment scripts/install-deps.sh makes), and its numbers checked
/// against the audit log the visits came from.
@Suite(.serialized, .tags(.process), .childProcesses) struct ExportFHIRCommandTests {
    /// Removed when the test ends.
    let temporary = TemporaryDirectory.make(prefix: "pumpwand-fhir")
    var stateDir: String { temporary.path }
    static let serial = "RP20-DEMO-0001"

    func pumpctl(_ arguments: [String], environment: [String: String] = [:]) async throws -> PumpctlRun.Result {
        try await PumpctlRun.run(["--simulator", "--state-dir", stateDir, "--operator", "nurse.a"] + arguments, environment: environment)
    }

    func object(_ text: String) throws -> [String: Any] {
        try #require(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any], "not a JSON object: \(text)")
    }

    /// Each bundle and each of its resources through its fhir.resources
    /// model; one line per resource refused.
    static let validator = """
        import json, sys
        from fhir.resources import get_fhir_model_class
        from fhir.resources.bundle import Bundle
        problems = []
        document = json.load(open(sys.argv[1]))
        for bundle in document["bundles"]:
            try:
                Bundle.model_validate(bundle)
            except Exception as error:
                problems.append("Bundle/%s: %s" % (bundle.get("id"), str(error).splitlines()[0:3]))
            for entry in bundle.get("entry", []):
                resource = entry["resource"]
                try:
                    get_fhir_model_class(resource["resourceType"]).model_validate(resource)
                except Exception as error:
                    problems.append("%s/%s: %s" % (resource["resourceType"], resource.get("id"), " ".join(str(error).splitlines()[0:3])))
        print("\\n".join(problems))
        sys.exit(1 if problems else 0)
        """

    static func violations(_ json: String) async throws -> [String] {
        let python = try await PythonTools.python(importing: "fhir.resources.bundle", package: "fhir.resources")
        let fileFolder = try TemporaryDirectory(prefix: "pumpwand-fhir")
        defer { fileFolder.remove() }
        let file = fileFolder.file("fhir.json")
        try json.write(toFile: file, atomically: true, encoding: .utf8)
        let run = try await ChildProcess.run(python, ["-c", validator, file], mergingStandardError: true, timeLimit: .seconds(120))
        switch run.status {
        case 0: return []
        case 1: return run.stdout.split(separator: "\n").map(String.init)
        default:
            Issue.record("the validator failed: \(run.stdout)")
            return ["validator failed"]
        }
    }

    func resources(_ bundle: [String: Any], _ type: String) -> [[String: Any]] {
        (bundle["entry"] as? [[String: Any]] ?? []).compactMap { $0["resource"] as? [String: Any] }
            .filter { $0["resourceType"] as? String == type }
    }

    /// A visit: the patient set, a refill, a bolus (three sessions).
    func visits(bolus: Bool = true) async throws {
        #expect(try await pumpctl(["patient", "set", "--serial", Self.serial, "--name", "Ada Lovelace", "--mrn", "MRN-0042", "--mrn-system", "urn:oid:2.16.840.1.113883.19.5",
                                   "--dob", "1980-02-29", "--prescriber", "Dr. Grace Hopper"]).status == 0)
        let refill = try await pumpctl(["--yes", "refill", "--withdrawn", "12mL", "--added", "18mL", "--concentration", "2000mcg/mL"])
        #expect(refill.status == 0, "\(refill.stderr)")
        guard bolus else { return }
        let given = try await pumpctl(["--yes", "bolus", "--dose", "50mcg"])
        #expect(given.status == 0, "\(given.stderr)")
    }

    @Test func everyExportedResourceIsValidR5AndItsNumbersAreTheAuditLogs() async throws {
        try await visits()
        let export = try await pumpctl(["--json", "export", "fhir", "--include-simulated"])
        #expect(export.status == 0, "\(export.stderr)")
        let problems = try await Self.violations(export.stdout)
        #expect(problems.isEmpty, "\(problems)")
        #expect(try await JSONContractTests.violations(of: export.stdout, schema: "export-fhir.json").isEmpty)
        let files = try await pumpctl(["--json", "export", "fhir", "--include-simulated", "--output-dir", stateDir + "/files"])
        #expect(try await JSONContractTests.violations(of: files.stdout, schema: "export-fhir-files.json").isEmpty, "\(files.stdout)")

        let bundles = try #require(try object(export.stdout)["bundles"] as? [[String: Any]])
        #expect(bundles.count == 2, "one bundle per visit")
        let audit = try #require(try object(try await pumpctl(["--json", "audit", "list"]).stdout)["entries"] as? [[String: Any]])
        func parameters(_ row: [String: Any]) -> [String: String] { row["parameters"] as? [String: String] ?? [:] }
        func rows(_ command: String, _ phase: String) -> [[String: Any]] {
            audit.filter { $0["command"] as? String == command && $0["phase"] as? String == phase }
        }

        for bundle in bundles {
            #expect(bundle["type"] as? String == "transaction")
            let patient = try #require(resources(bundle, "Patient").first)
            #expect((patient["identifier"] as? [[String: Any]])?.first?["value"] as? String == "MRN-0042")
            #expect(patient["birthDate"] as? String == "1980-02-29")
            let device = try #require(resources(bundle, "Device").first)
            #expect(device["serialNumber"] as? String == Self.serial)
            #expect(device["modelNumber"] as? String == "RP-20")
            // SIMULATED, as test data, on every resource.
            for entry in bundle["entry"] as? [[String: Any]] ?? [] {
                let resource = entry["resource"] as? [String: Any] ?? [:]
                let security = (resource["meta"] as? [String: Any])?["security"] as? [[String: Any]]
                #expect(security?.first?["code"] as? String == "HTEST", "\(resource["resourceType"] ?? "?")")
                let request = entry["request"] as? [String: Any]
                if ["Patient", "Device"].contains(resource["resourceType"] as? String) {
                    // A conditional create: never a second Patient for one record number, or Device for one serial.
                    #expect(request?["method"] as? String == "POST")
                    #expect(request?["url"] as? String == resource["resourceType"] as? String)
                    #expect((request?["ifNoneExist"] as? String)?.hasPrefix("identifier=") == true)
                } else {
                    #expect(request?["method"] as? String == "PUT")
                    #expect(request?["url"] as? String == "\(resource["resourceType"] ?? "")/\(resource["id"] ?? "")")
                }
            }
            // The reservoir as the visit's last read row recorded it.
            let visitID = (bundle["identifier"] as? [String: Any])?["value"] as? String
            let start = audit.firstIndex { ($0["hash"] as? String)?.hasPrefix(visitID ?? "-") == true }
            let visitRows = start.map { index in Array(audit[index...].prefix { row in
                row["sequence"] as? Int == audit[index]["sequence"] as? Int || !(row["command"] as? String == "session" && parameters(row).isEmpty == false && row["outcome"] as? String == "session opened")
            }) } ?? []
            let lastRead = try #require(visitRows.last { $0["command"] as? String == "interrogate" && parameters($0)["reservoir_ml"] != nil })
            let reservoir = try #require(resources(bundle, "Observation").first {
                (($0["code"] as? [String: Any])?["coding"] as? [[String: Any]])?.first?["code"] as? String == "reservoir-volume"
            })
            let quantity = try #require(reservoir["valueQuantity"] as? [String: Any])
            // JSONSerialization reads numbers as doubles: both sides go through
            // the same conversion (a decimal like 17.999995 has no exact double).
            #expect((quantity["value"] as? NSNumber)?.doubleValue == Double(parameters(lastRead)["reservoir_ml"] ?? ""))
            #expect(quantity["code"] as? String == "mL" && quantity["system"] as? String == "http://unitsofmeasure.org")
            let request = try #require(resources(bundle, "MedicationRequest").first)
            let rate = (((request["dosageInstruction"] as? [[String: Any]])?.first?["doseAndRate"] as? [[String: Any]])?.first?["rateQuantity"]) as? [String: Any]
            #expect((rate?["value"] as? NSNumber)?.doubleValue == Double(parameters(lastRead)["daily_dose_value"] ?? ""))
            #expect(rate?["code"] as? String == "ug/d")
        }

        // The bolus, as the audit log's intent rows give them: the pump's
        // receipt says it started, and no read of its event log says it
        // ended, so it is in progress, without a dose given.
        let administrations = bundles.flatMap { resources($0, "MedicationAdministration") }
        #expect(administrations.count == 1)
        let bolusIntent = try #require(rows("bolus", "intent").first)
        let bolus = try #require(administrations.first {
            ($0["identifier"] as? [[String: Any]])?.first?["value"] as? String == bolusIntent["command_id"] as? String
        })
        #expect(bolus["status"] as? String == "in-progress")
        #expect((bolus["dosage"] as? [String: Any])?["dose"] == nil)
        #expect(parameters(bolusIntent)["dose_to_patient"] == "50mcg")
        // The refill: a procedure on the pump, not drug given.
        let refillIntent = try #require(rows("refill", "intent").first)
        let refill = try #require(bundles.flatMap { resources($0, "Procedure") }.first {
            ($0["identifier"] as? [[String: Any]])?.first?["value"] as? String == refillIntent["command_id"] as? String
        })
        #expect(refill["status"] as? String == "completed")
        #expect(parameters(refillIntent)["added"] == "18mL")
        // Every audit row of the visits is an AuditEvent.
        let events = bundles.flatMap { resources($0, "AuditEvent") }
        let visitRowCount = audit.filter { $0["command"] as? String != "patient" && $0["command"] as? String != "export" }.count
        #expect(events.count == visitRowCount)
        // The export itself is on the record, naming the visits it sent.
        let exported = try #require(audit.last { $0["command"] as? String == "export" })
        #expect(exported["outcome"] as? String == "exported")
        #expect(exported["operator"] as? String == "nurse.a")
        let ids = bundles.compactMap { ($0["identifier"] as? [String: Any])?["value"] as? String }
        #expect(parameters(exported)["visits"] == ids.joined(separator: ","))
    }

    @Test func theValidatorRefusesAResourceMissingWhatR5Requires() async throws {
        try await visits()
        let export = try await pumpctl(["--json", "export", "fhir", "--include-simulated"])
        var document = try object(export.stdout)
        var bundles = try #require(document["bundles"] as? [[String: Any]])
        // The bolus visit's bundle (the refill's holds a Procedure, no administration).
        func isAdministration(_ entry: [String: Any]) -> Bool {
            (entry["resource"] as? [String: Any])?["resourceType"] as? String == "MedicationAdministration"
        }
        let which = try #require(bundles.firstIndex { ($0["entry"] as? [[String: Any]] ?? []).contains(where: isAdministration) })
        var entries = try #require(bundles[which]["entry"] as? [[String: Any]])
        let index = try #require(entries.firstIndex(where: isAdministration))
        var resource = try #require(entries[index]["resource"] as? [String: Any])
        resource.removeValue(forKey: "subject")
        resource["status"] = nil
        entries[index]["resource"] = resource
        bundles[which]["entry"] = entries
        document["bundles"] = bundles
        let text = String(decoding: try JSONSerialization.data(withJSONObject: document), as: UTF8.self)
        let problems = try await Self.violations(text)
        #expect(problems.contains { $0.hasPrefix("MedicationAdministration/") && $0.contains("subject") }, "\(problems)")
    }

    @Test func aReExportWritesTheSameFilesAndAKilledBolusIsNeverCompleted() async throws {
        try await visits(bolus: false)
        // A bolus killed just after its reply: its outcome is not recorded.
        let killed = try await pumpctl(["--yes", "bolus", "--dose", "50mcg"], environment: ["PUMPWAND_SIMULATOR_CRASH_AT": "after-send:1"])
        #expect(killed.signalled && killed.status == SIGKILL, "\(killed.status): \(killed.stderr)")
        let out = stateDir + "/export"
        #expect(try await pumpctl(["export", "fhir", "--include-simulated", "--output-dir", out]).status == 0)
        let files = try FileManager.default.contentsOfDirectory(atPath: out).sorted()
        #expect(files.count == 2)
        func administration(_ file: String) throws -> [String: Any]? {
            let bundle = try object(try String(contentsOfFile: out + "/" + file, encoding: .utf8))
            return resources(bundle, "MedicationAdministration").first
        }
        let unknown = try await administrationOfKilledBolus(files, administration)
        #expect(unknown?["status"] as? String == "unknown", "\(unknown ?? [:])")
        let before = try files.map { try Data(contentsOf: URL(fileURLWithPath: out + "/" + $0)) }
        // Exported again unchanged: byte for byte the same files.
        #expect(try await pumpctl(["export", "fhir", "--include-simulated", "--output-dir", out]).status == 0)
        #expect(try files.map { try Data(contentsOf: URL(fileURLWithPath: out + "/" + $0)) } == before)
        // The next session asks the pump: it was carried out. The same resource is now completed.
        #expect(try await pumpctl(["interrogate"]).status == 0)
        #expect(try await pumpctl(["export", "fhir", "--include-simulated", "--output-dir", out]).status == 0)
        let after = try FileManager.default.contentsOfDirectory(atPath: out).sorted()
        #expect(after.count == 3)
        let resolved = try await administrationOfKilledBolus(after, administration)
        #expect(resolved?["id"] as? String == unknown?["id"] as? String)
        #expect(resolved?["status"] as? String == "in-progress", "carried out means started; its end is not in the audit log")
    }

    /// The MedicationAdministration of the third visit's bolus (the one killed).
    func administrationOfKilledBolus(_ files: [String], _ read: (String) throws -> [String: Any]?) async throws -> [String: Any]? {
        let audit = try #require(try object(try await pumpctl(["--json", "audit", "list"]).stdout)["entries"] as? [[String: Any]])
        let killedID = audit.filter { $0["command"] as? String == "bolus" && $0["phase"] as? String == "intent" }.last?["command_id"] as? String
        for file in files {
            if let found = try read(file), (found["identifier"] as? [[String: Any]])?.first?["value"] as? String == killedID { return found }
        }
        return nil
    }

    /// Nothing to export is not an error, in text as with --json; an
    /// output folder others can write into is refused as a permission (77).
    @Test func nothingToExportIsAnEmptyListingAndAWorldWritableOutputFolderIs77() async throws {
        let text = try await pumpctl(["export", "fhir"])
        #expect(text.status == 0, "\(text.stderr)")
        let json = try await pumpctl(["--json", "export", "fhir"])
        #expect(json.status == 0, "\(json.stderr)")
        #expect(try await JSONContractTests.violations(of: json.stdout, schema: "export-fhir.json").isEmpty, "\(json.stdout)")
        #expect((try object(json.stdout)["bundles"] as? [Any])?.isEmpty == true, "\(json.stdout)")

        try await visits()
        let open = stateDir + "/open"
        try FileManager.default.createDirectory(atPath: open, withIntermediateDirectories: true)
        #expect(chmod(open, 0o777) == 0)
        let unsafe = try await pumpctl(["--json", "export", "fhir", "--include-simulated", "--output-dir", open])
        #expect(unsafe.status == 77, "\(unsafe.stderr)")
        #expect(try object(unsafe.stdout)["error"] != nil)
    }

    @Test func simulatedVisitsAreRefusedUnlessIncluded() async throws {
        try await visits()
        let listed = try await pumpctl(["export", "fhir", "--include-simulated"])
        let visit = try #require(listed.stdout.split(separator: "\n").dropFirst().first?.split(separator: " ").first.map(String.init))
        let one = try await pumpctl(["export", "fhir", "--visit", visit, "--output-dir", stateDir + "/x"])
        #expect(one.status == 65, "\(one.stderr)")
        #expect(one.stderr.contains("was SIMULATED"), "\(one.stderr)")
        #expect(!FileManager.default.fileExists(atPath: stateDir + "/x"))
        let all = try await pumpctl(["--json", "export", "fhir"])
        #expect(all.status == 65, "\(all.stderr)")
        #expect(try await JSONContractTests.violations(of: all.stdout, schema: "error.json").isEmpty, "\(all.stdout)")
        #expect(try object(all.stdout)["error"] != nil)
        let included = try await pumpctl(["--json", "export", "fhir", "--visit", visit, "--include-simulated"])
        #expect(included.status == 0)
        #expect((try object(included.stdout)["bundles"] as? [Any])?.count == 1)
    }

    @Test func flexStepsAndThePatientBolusAreTheDosageOfTheMedicationRequest() async throws {
        #expect(try await pumpctl(["patient", "set", "--serial", Self.serial, "--name", "Ada Lovelace", "--mrn", "MRN-0042", "--mrn-system", "urn:oid:2.16.840.1.113883.19.5",
                                   "--dob", "1980-02-29", "--prescriber", "Dr. Grace Hopper"]).status == 0)
        let file = stateDir + "/flex-with-bolus.json"
        try #"""
            {"drug": "baclofen", "concentration": "2000mcg/mL", "indication": "spinal", "mode": "flex", "cycle": "daily",
             "steps": [{"start": "00:00", "dose_rate": "400mcg/day"}, {"start": "07:00", "dose_rate": "500mcg/day"},
                       {"start": "22:00", "dose_rate": "400mcg/day"}],
             "patient_bolus": {"dose": "20mcg", "duration": "10min", "lockout": "3h", "max_per_24h": 4},
             "catheter": {"volume": "0.26mL"}}
            """#.write(toFile: file, atomically: true, encoding: .utf8)
        let program = try await pumpctl(["--yes", "program", file])
        #expect(program.status == 0, "\(program.stderr)")
        let export = try await pumpctl(["--json", "export", "fhir", "--include-simulated"])
        #expect(export.status == 0, "\(export.stderr)")
        #expect(try await Self.violations(export.stdout).isEmpty)
        let bundle = try #require((try object(export.stdout)["bundles"] as? [[String: Any]])?.first)
        let request = try #require(resources(bundle, "MedicationRequest").first)
        let dosage = try #require(request["dosageInstruction"] as? [[String: Any]])
        #expect(dosage.count == 4, "three steps and the patient bolus")
        func rate(_ entry: [String: Any]) -> Decimal? {
            (((entry["doseAndRate"] as? [[String: Any]])?.first?["rateQuantity"] as? [String: Any])?["value"] as? NSNumber)?.decimalValue
        }
        func time(_ entry: [String: Any]) -> String? {
            (((entry["timing"] as? [String: Any])?["repeat"] as? [String: Any])?["timeOfDay"] as? [String])?.first
        }
        #expect(dosage.prefix(3).map(rate) == [400, 500, 400])
        #expect(dosage.prefix(3).map(time) == ["00:00:00", "07:00:00", "22:00:00"])
        let bolus = dosage[3]
        #expect(bolus["asNeeded"] as? Bool == true)
        let dose = ((bolus["doseAndRate"] as? [[String: Any]])?.first?["doseQuantity"]) as? [String: Any]
        #expect((dose?["value"] as? NSNumber)?.decimalValue == 20 && dose?["code"] as? String == "ug")
        let most = (bolus["maxDosePerPeriod"] as? [[String: Any]])?.first
        #expect(((most?["numerator"] as? [String: Any])?["value"] as? NSNumber)?.decimalValue == 80, "4 boluses of 20 mcg a day")
        #expect((most?["denominator"] as? [String: Any])?["code"] as? String == "d")
    }
}
