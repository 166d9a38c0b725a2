import Foundation
import Testing
@testable import PumpProgrammer
@testable import StateFiles

/// One Procedure per refill the visit asked for, with the status that is
/// true, whether or not the refill reached refill-complete (docs/fhir.md).
@Suite struct FHIRRefillProcedureTests {
    let base = FHIRExportTests()

    func procedures(_ log: AuditLog) throws -> [FHIR.Procedure] {
        let entries = try log.entries()
        let bundle = try FHIRExport.bundle(AuditVisit.visits(in: entries)[0], log: entries)
        return base.resources(bundle) { (r: FHIR.Resource) -> FHIR.Procedure? in if case .procedure(let p) = r { return p }; return nil }
    }

    static let asked = ["added": "20mL", "withdrawn": "12mL", "drug": "baclofen", "concentration": "2000mcg/mL"]

    /// The pump's read after it ended an open refill (alarm 0x0008).
    static var abandonedRead: [String: String] {
        var read = FHIRExportTests.read
        read["reservoir_ml"] = nil
        read["reservoir_contents_unknown"] = "true"
        read["alarms"] = "refill-abandoned"
        return read
    }

    @Test func aRefillBegunThenUncertainAndAbandonedByThePumpIsAStoppedProcedure() throws {
        let log = try base.log()
        try base.append(log, "session", .event, outcome: .sessionOpened)
        try base.append(log, "interrogate", .event, outcome: .read, FHIRExportTests.read)
        try base.append(log, "refill-begin", .intent, id: "rb01", Self.asked)
        try base.append(log, "refill-begin", .outcome, id: "rb01", outcome: .uncertain)
        try base.append(log, "interrogate", .event, outcome: .read, Self.abandonedRead)
        let found = try procedures(log)
        #expect(found.count == 1, "the refill asked is filed even though refill-complete was never sent")
        #expect(found.first?.status == "stopped")
        #expect(found.first?.statusReason?.text?.contains("0x0008") == true)
        #expect(found.first?.identifier.first == FHIR.Identifier(system: FHIRExport.commandSystem, value: "rb01"))
        #expect(found.first?.note?.first?.text.contains("asked to be put into") == true, "nothing is said to have been put in")
    }

    @Test func aRefillBeginThePumpRefusedIsNotDone() throws {
        let log = try base.log()
        try base.append(log, "session", .event, outcome: .sessionOpened)
        try base.append(log, "interrogate", .event, outcome: .read, FHIRExportTests.read)
        try base.append(log, "refill-begin", .intent, id: "rb02", Self.asked)
        try base.append(log, "refill-begin", .outcome, id: "rb02", outcome: .refusedByPump)
        let found = try procedures(log)
        #expect(found.map(\.status) == ["not-done"])
    }

    @Test func aCompletedRefillIsFiledOnceNotAlsoForItsBegin() throws {
        let log = try base.log()
        try base.append(log, "session", .event, outcome: .sessionOpened)
        try base.append(log, "interrogate", .event, outcome: .read, FHIRExportTests.read)
        try base.append(log, "refill-begin", .intent, id: "rb03", Self.asked)
        try base.append(log, "refill-begin", .outcome, id: "rb03", outcome: .done)
        try base.append(log, "refill", .intent, id: "rc03", Self.asked)
        try base.append(log, "refill", .outcome, id: "rc03", outcome: .done)
        let found = try procedures(log)
        #expect(found.map(\.status) == ["completed"])
        #expect(found.first?.identifier.first?.value == "rc03")
    }

    @Test func aRefillOverrideIsOneProvenanceNamingBothRequests() throws {
        let log = try base.log()
        let override = [AuditOverride(code: "refill.discrepancy", reason: "syringe misread, re-measured")]
        try base.append(log, "session", .event, outcome: .sessionOpened)
        try base.append(log, "interrogate", .event, outcome: .read, FHIRExportTests.read)
        try base.append(log, "refill-begin", .intent, id: "rb05", Self.asked, overrides: override)
        try base.append(log, "refill-begin", .outcome, id: "rb05", outcome: .done)
        try base.append(log, "refill", .intent, id: "rc05", Self.asked, overrides: override)
        try base.append(log, "refill", .outcome, id: "rc05", outcome: .done)
        let entries = try log.entries()
        let bundle = try FHIRExport.bundle(AuditVisit.visits(in: entries)[0], log: entries)
        let provenances = base.resources(bundle) { (r: FHIR.Resource) -> FHIR.Provenance? in if case .provenance(let p) = r { return p }; return nil }
        #expect(provenances.count == 1, "one refill, one authorisation")
        let targets = provenances.first?.target.compactMap(\.reference) ?? []
        #expect(targets.count == 3, "both requests' AuditEvents and the Procedure: \(targets)")
    }

    @Test func aRefillRefusedForAnUnacknowledgedDiscrepancyIsNotDone() throws {
        let log = try base.log()
        try base.append(log, "session", .event, outcome: .sessionOpened)
        try base.append(log, "interrogate", .event, outcome: .read, FHIRExportTests.read)
        try base.append(log, "refill", .event, outcome: .refusedByPolicy, Self.asked)
        let found = try procedures(log)
        #expect(found.map(\.status) == ["not-done"])
        #expect(found.first?.identifier.first?.system == FHIRExport.auditRowSystem)
        #expect(found.first?.statusReason?.text?.contains("nothing was sent") == true)
    }

    @Test func aReadDuringAnOpenRefillFilesNoLowReservoirDate() throws {
        let log = try base.log()
        var open = FHIRExportTests.read
        open["not_delivering"] = "refill-in-progress"
        try base.append(log, "session", .event, outcome: .sessionOpened)
        try base.append(log, "interrogate", .event, outcome: .read, open)
        let entries = try log.entries()
        let bundle = try FHIRExport.bundle(AuditVisit.visits(in: entries)[0], log: entries)
        let dates = base.resources(bundle) { (r: FHIR.Resource) -> FHIR.Observation? in
            if case .observation(let o) = r, o.code.coding?.first?.code == "low-reservoir-alarm-date" { return o }; return nil
        }
        #expect(dates.isEmpty)
    }
}
