import Foundation
import Testing
import TestSupport

/// `patient show` and `sim status` show times in the clinic's zone with
/// its offset, like every other screen; their JSON keeps RFC 3339. And a
/// filler record number is refused when the record is set.
@Suite(.serialized, .tags(.process), .childProcesses) struct ClinicZoneScreensTests {
    /// Removed when the test ends.
    let temporary = TemporaryDirectory.make(prefix: "pumpwand-link")
    var stateDir: String { temporary.path }

    func pumpctl(_ arguments: [String]) async throws -> PumpctlRun.Result {
        try await PumpctlRun.run(["--simulator", "--state-dir", stateDir, "--operator", "nurse.a", "--tz", "America/Los_Angeles"] + arguments,
                                 environment: ["COLUMNS": "200"])
    }

    /// `2026-12-01 04:59 -08:00` (or -07:00 in summer): a local time with the zone's offset.
    static func isLocalLosAngeles(_ text: Substring) -> Bool {
        text.range(of: #"\d{4}-\d\d-\d\d \d\d:\d\d -0[78]:00"#, options: .regularExpression) != nil
    }

    @Test func patientShowGivesTheRecordingTimeInTheClinicsZone() async throws {
        let set = try await pumpctl(["patient", "set"] + PatientCommandTests.patient)
        #expect(set.status == 0, "\(set.stderr)")
        let show = try await pumpctl(["patient", "show"])
        let row = try #require(show.stdout.split(separator: "\n").first { $0.contains("Recorded by") }, "\(show.stdout)")
        #expect(Self.isLocalLosAngeles(row), "\(row)")
        #expect(!row.contains("Z"), "no UTC time on the screen: \(row)")
        let json = try await pumpctl(["--json", "patient", "show"])
        let record = (BringupLinkTests.object(json.stdout)?["patients"] as? [[String: Any]])?.first
        #expect((record?["recorded_at"] as? String)?.hasSuffix("Z") == true, "JSON keeps RFC 3339: \(json.stdout)")
    }

    @Test func simStatusGivesThePumpClockInTheClinicsZone() async throws {
        let status = try await pumpctl(["sim", "status"])
        #expect(status.status == 0, "\(status.stderr)")
        let row = try #require(status.stdout.split(separator: "\n").first { $0.hasPrefix("SIMULATED clock: ") }, "\(status.stdout)")
        #expect(Self.isLocalLosAngeles(row), "\(row)")
    }

    @Test func aFillerRecordNumberIsRefusedAtRecordTime() async throws {
        var arguments = PatientCommandTests.patient
        let index = try #require(arguments.firstIndex(of: "--mrn"))
        arguments[index + 1] = "000"
        let set = try await pumpctl(["patient", "set"] + arguments)
        #expect(set.status == 64)
        #expect(set.stderr.contains("'000' is a placeholder, not a record number"), "\(set.stderr)")
        #expect(set.stderr.contains("The record was not changed."))
        let show = try await pumpctl(["patient", "show"])
        #expect(show.stdout.contains("No patient records."), "\(show.stdout)")
    }
}
