import Foundation
import Testing
@testable import PumpProgrammer

/// The Patient and the Device are conditional creates in the transaction
/// (`POST` with `ifNoneExist` on their stable identifier), so the clinic's
/// server never gets a second Patient for one record number or a second
/// Device for one serial; every other resource is still a PUT by its stable
/// id. References to the two point at their entries (`urn:uuid:`), which
/// the server resolves to the resource it created or found.
@Suite struct FHIRConditionalCreateTests {
    let helper = FHIRExportTests()

    func bundle(simulated: Bool) throws -> FHIR.Bundle {
        let entries = try helper.visitWithThreeBoluses(simulated: simulated).entries()
        let visit = try #require(AuditVisit.visits(in: entries).first)
        return try FHIRExport.bundle(visit, log: entries)
    }

    @Test func patientAndDeviceAreCreatedOnlyWhenTheServerHasNoneWithTheirIdentifier() throws {
        let bundle = try bundle(simulated: false)
        let patient = try #require(bundle.entry.first { $0.resource.type == "Patient" })
        #expect(patient.request.method == "POST")
        #expect(patient.request.url == "Patient")
        #expect(patient.request.ifNoneExist
                == "identifier=urn:oid:2.16.840.1.113883.19.5|MRN-0042&_tag:not=urn:pumpwand:tag|SIMULATED")
        let device = try #require(bundle.entry.first { $0.resource.type == "Device" })
        #expect(device.request.method == "POST")
        #expect(device.request.ifNoneExist == "identifier=urn:pumpwand:pump-serial|RP20-000001&_tag:not=urn:pumpwand:tag|SIMULATED")
        for entry in bundle.entry where !["Patient", "Device"].contains(entry.resource.type) {
            #expect(entry.request.method == "PUT")
            #expect(entry.request.url == "\(entry.resource.type)/\(entry.resource.id)")
            #expect(entry.request.ifNoneExist == nil)
        }
        // Every reference to the patient names its entry, never an id the server may not use.
        let json = String(decoding: try JSONEncoder().encode(bundle), as: UTF8.self)
        #expect(!json.contains("\"Patient\\/") && !json.contains("\"Device\\/"), "a reference by the export's own id")
        #expect(json.contains("\"reference\":\"\(patient.fullUrl)\"".replacingOccurrences(of: "/", with: "\\/")))
    }

    @Test func aSimulatedPatientIsMatchedOnlyToSimulatedData() throws {
        let bundle = try bundle(simulated: true)
        let patient = try #require(bundle.entry.first { $0.resource.type == "Patient" })
        #expect(patient.request.ifNoneExist?.hasSuffix("&_tag=urn:pumpwand:tag|SIMULATED") == true)
    }

    @Test func searchValuesAreEscapedSoTheyCannotChangeTheSearch() {
        #expect(FHIRExport.searchEscaped("A|B&_tag=x,y#1 +") == "A%7CB%26_tag%3Dx%2Cy%231%20%2B")
        #expect(FHIRExport.searchEscaped("https://clinic.example/mrn") == "https://clinic.example/mrn")
    }
}
