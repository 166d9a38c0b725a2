import Foundation
import Testing
import TestSupport

/// `pumpctl audit`: each row's change in words and numbers (old -> new
/// daily dose with units, the bolus dose, the refill volumes), SIMULATED,
/// refusals with their reason, the patient's record number and the time in
/// the clinic's zone; JSON keeps RFC 3339 and gives the change typed.
@Suite(.serialized, .tags(.process), .childProcesses) struct AuditViewTests {
    /// Removed when the test ends.
    let temporary = TemporaryDirectory.make(prefix: "pumpwand-link")
    var stateDir: String { temporary.path }

    func pumpctl(_ arguments: [String]) async throws -> PumpctlRun.Result {
        try await PumpctlRun.run(["--simulator", "--state-dir", stateDir, "--operator", "nurse.a", "--tz", "America/Los_Angeles"] + arguments,
                                 environment: ["COLUMNS": "400"])
    }

    @Test func theAuditViewShowsTheChangeThePatientSimulatedAndLocalTimes() async throws {
        #expect(try await pumpctl(["patient", "set"] + PatientCommandTests.patient).status == 0)
        let program = try await pumpctl(["--yes", "program", VisitCommandTests.prescriptions + "/baclofen-continuous-450.json"])
        #expect(program.status == 0, "\(program.stderr)")
        let refused = try await pumpctl(["--yes", "program", VisitCommandTests.prescriptions + "/baclofen-tenfold-error.json"])
        #expect(refused.status == 65, "\(refused.stderr)")
        #expect(try await pumpctl(["--yes", "bolus", "--dose", "50mcg"]).status == 0)
        #expect(try await pumpctl(["--yes", "refill", "--withdrawn", "12mL", "--added", "18mL", "--concentration", "2000mcg/mL"]).status == 0)

        let audit = try await pumpctl(["audit"])
        #expect(audit.status == 0, "\(audit.stderr)")
        let lines = audit.stdout.split(separator: "\n")
        let intent = try #require(lines.first { $0.contains(" program ") && $0.contains(" intent ") }, "\(audit.stdout)")
        #expect(intent.contains("daily dose 400 mcg/day -> 450 mcg/day (continuous)"), "\(intent)")
        #expect(intent.contains("SIMULATED"), "\(intent)")
        #expect(intent.contains("MRN-0042"), "\(intent)")
        #expect(intent.range(of: #"\d{4}-\d\d-\d\d \d\d:\d\d -0[78]:00"#, options: .regularExpression) != nil, "\(intent)")
        let refusal = try #require(lines.first { $0.contains("refused by policy") }, "\(audit.stdout)")
        #expect(refusal.contains("-> 4000 mcg/day") || refusal.contains("daily dose"), "the refused change in numbers: \(refusal)")
        #expect(refusal.contains("refused by policy: "), "with its reason: \(refusal)")
        #expect(lines.contains { $0.contains("bolus 50 mcg over") }, "\(audit.stdout)")
        #expect(lines.contains { $0.contains("refill: withdrawn 12 mL") && $0.contains("added 18 mL of baclofen 2000 mcg/mL") }, "\(audit.stdout)")

        let json = try await pumpctl(["--json", "audit"])
        let problems = try await JSONContractTests.violations(of: json.stdout, schema: "audit-list.json")
        #expect(problems.isEmpty, "audit-list.json: \(problems)")
        let rows = try #require(BringupLinkTests.object(json.stdout)?["entries"] as? [[String: Any]])
        let row = try #require(rows.first { $0["command"] as? String == "program" && $0["phase"] as? String == "intent" })
        #expect((row["time"] as? String)?.hasSuffix("Z") == true, "JSON keeps the stored RFC 3339 time")
        #expect(row["simulated"] as? Bool == true)
        #expect(row["patient_record_number"] as? String == "MRN-0042")
        let dose = (row["change"] as? [String: Any])?["daily_dose"] as? [String: Any]
        #expect((dose?["from"] as? [String: Any])?["value"] as? Int == 400)
        #expect((dose?["to"] as? [String: Any])?["value"] as? Int == 450)
        #expect((dose?["to"] as? [String: Any])?["unit"] as? String == "mcg/day")
    }
}
