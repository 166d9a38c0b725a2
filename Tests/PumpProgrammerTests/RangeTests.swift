import Foundation
import Testing
import Therapy
import WandProtocol
@testable import PumpProgrammer

/// One range per field, from the file through validation to the wire, and
/// messages that name the field and the range.
@Suite struct RangeTests {
    static func file(maxPer24h: Int) -> Data {
        Data(#"{"drug":"baclofen","concentration":"2000mcg/mL","indication":"spinal","mode":"continuous","daily_dose":"400mcg/day","patient_bolus":{"dose":"20mcg","duration":"10min","lockout":"30min","max_per_24h":\#(maxPer24h)}}"#.utf8)
    }

    @Test func maxPer24hIsOneTo24InTheFileTheValidatorAndTheWire() throws {
        #expect(PatientBolus.allowedPerDay == 1...24)
        // The file.
        for count in [0, 25, 30, 96] {
            do {
                _ = try Prescription.decode(Self.file(maxPer24h: count))
                Issue.record("max_per_24h \(count) was accepted")
            } catch {
                guard case .invalidField(let field, let reason) = error else { Issue.record("\(error)"); continue }
                #expect(field == "patient_bolus.max_per_24h")
                #expect(reason.contains("1 to 24"))
            }
        }
        let fine = try Prescription.decode(Self.file(maxPer24h: 24))
        #expect(fine.patientBolus?.maximumPer24h == 24)
        // The validator, for a prescription built in code.
        var built = fine
        built.patientBolus?.maximumPer24h = 30
        let report = PrescriptionValidator.validate(built, in: ValidationContext(policy: try ClinicPolicy.shippedDefaults(), profile: .rp20,
                                                                                 now: PumpTime(utcSeconds: 1_800_000_000)))
        #expect(report.errors.map(\.code).contains(.ptmCountOutOfRange))
        #expect(report.errors.first { $0.code == .ptmCountOutOfRange }?.message.contains("1 to 24") == true)
        // The wire mapping names the field and the range.
        #expect(throws: ProgrammerError.input("patient_bolus.max_per_24h is 30; the pump holds 1 to 24. Nothing was sent to the pump.")) {
            try WirePrescriptionMapping.wire(built, profile: .rp20)
        }
        // And the wire format itself holds exactly that range.
        var wire = try WirePrescriptionMapping.wire(fine, profile: .rp20)
        #expect(wire.isCanonical)
        wire.patientBolus?.maximumPer24Hours = UInt8(PatientBolus.allowedPerDay.upperBound + 1)
        #expect(!wire.isCanonical)
    }

    @Test func aFourteenStepFlexNamesTheFieldAndTheRange() async throws {
        let steps = (0..<14).map { #"{"start":"\#($0 < 10 ? "0" : "")\#($0):00","dose_rate":"400mcg/day"}"# }.joined(separator: ",")
        let pending = try prescription(#"{"drug":"baclofen","concentration":"2000mcg/mL","indication":"spinal","mode":"flex","cycle":"daily","steps":[\#(steps)]}"#)
        // calc validate's finding.
        let report = PrescriptionValidator.validate(pending, in: ValidationContext(policy: try ClinicPolicy.shippedDefaults(), profile: .rp20,
                                                                                   now: PumpTime(utcSeconds: 1_800_000_000)))
        let finding = try #require(report.errors.first { $0.code == .scheduleTooManySteps })
        #expect(finding.message.hasPrefix("steps:"))
        #expect(finding.message.contains("1 to 13 a day"))
        // program's refusal, before anything is sent.
        let visit = SimulatedVisit()
        let programmer = try await visit.programmer()
        let error = await failure { try await programmer.review(pending) }
        guard case .input(let message)? = error else {
            Issue.record("a 14-step flex must be refused naming the field, not \(String(describing: error))")
            return
        }
        #expect(message.contains("steps: a day of the schedule has 14 steps"))
        #expect(message.contains("1 to 13 a day"))
        #expect(await programmer.effect == .nothingSent)
    }
}
