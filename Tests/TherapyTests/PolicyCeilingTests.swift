import Foundation
import Testing
@testable import Therapy

/// The shipped library is the ceiling of every clinic policy: a policy may
/// tighten any limit and never loosen a hard one.
@Suite struct PolicyCeilingTests {
    static func edited(_ from: String, _ to: String) -> Data {
        precondition(ClinicPolicy.shippedDefaultsJSON.contains(from), "the shipped policy no longer holds \(from)")
        return Data(ClinicPolicy.shippedDefaultsJSON.replacingOccurrences(of: from, with: to).utf8)
    }

    @Test func theShippedLibraryIsItsOwnCeilingAndLoads() throws {
        #expect(ClinicPolicy.shippedCeiling != nil)
        #expect(try ClinicPolicy.load(Data(ClinicPolicy.shippedDefaultsJSON.utf8)) == ClinicPolicy.shippedCeiling)
    }

    @Test func aPolicyRaisingTheBaclofenHardMaximumIsRefused() {
        let raised = Self.edited(#""daily_dose": {"soft_max": "1000mcg/day", "hard_max": "2000mcg/day"}"#,
                                 #""daily_dose": {"soft_max": "1000mcg/day", "hard_max": "200000mcg/day"}"#)
        #expect(throws: PolicyFileError.loosensShippedCeiling(drug: .baclofen, field: "daily_dose.hard_max",
                                                              value: "200000mcg/day", ceiling: "2000mcg/day")) {
            try ClinicPolicy.load(raised)
        }
        do {
            _ = try ClinicPolicy.load(raised)
        } catch {
            #expect(error.description.contains("never loosen a hard one"))
            #expect(error.description.contains("The policy was not loaded"))
        }
    }

    @Test(arguments: [
        (#""bolus": {"soft_max": "100mcg", "hard_max": "200mcg"}"#, #""bolus": {"soft_max": "100mcg", "hard_max": "250mcg"}"#,
         Drug.baclofen, "bolus.hard_max"),
        (#""start_dose": {"hard_max": "2.4mcg/day"}"#, #""start_dose": {"hard_max": "19.2mcg/day"}"#, Drug.ziconotide, "start_dose.hard_max"),
        (#""naive": {"daily_dose": {"hard_max": "1mg/day"}"#, #""naive": {"daily_dose": {"hard_max": "5mg/day"}"#,
         Drug.morphine, "by_opioid_tolerance.naive.daily_dose.hard_max"),
        (#""indications": ["spinal", "cerebral"]"#, #""indications": ["spinal", "cerebral", "pain"]"#, Drug.baclofen, "indications"),
    ])
    func everyHardLimitAndIndicationIsACeiling(from: String, to: String, drug: Drug, field: String) {
        do {
            _ = try ClinicPolicy.load(Self.edited(from, to))
            Issue.record("a policy loosening \(drug) \(field) loaded")
        } catch {
            guard case .loosensShippedCeiling(let refusedDrug, let refusedField, _, _) = error else {
                Issue.record("expected loosensShippedCeiling, got \(error)")
                return
            }
            #expect(refusedDrug == drug)
            #expect(refusedField == field)
        }
    }

    @Test func aPolicyMayTightenSoftAndHardLimits() throws {
        // Raising a soft limit is loosening too (PolicyLooseningTests); lowering both is allowed.
        let tighter = try ClinicPolicy.load(Self.edited(#""daily_dose": {"soft_max": "1000mcg/day", "hard_max": "2000mcg/day"}"#,
                                                        #""daily_dose": {"soft_max": "900mcg/day", "hard_max": "1600mcg/day"}"#))
        let context = ValidationContext(policy: tighter, profile: .rp20, now: Fixture.now)
        #expect(PrescriptionValidator.validate(Fixture.baclofen(950), in: context).findings.map(\.code) == [.doseAboveSoftMax])
        #expect(PrescriptionValidator.validate(Fixture.baclofen(1700), in: context).findings.map(\.code) == [.doseAboveHardMax])
        let narrower = try ClinicPolicy.load(Self.edited(#""indications": ["spinal", "cerebral"]"#, #""indications": ["spinal"]"#))
        #expect(!narrower.allows(.baclofen, for: .cerebral))
    }

    @Test func aPolicyBuiltInCodeIsStillCappedAtTheShippedCeiling() throws {
        var loose = try ClinicPolicy.shippedDefaults()
        loose.drugs[0].dailyDose = Limits(softMax: nil, hardMax: .mcgPerDay(200_000))
        loose.drugs[0].bolus = nil
        loose.drugs[0].indications = Indication.allCases
        #expect(throws: PolicyFileError.self) { try loose.checkCeilings(against: try #require(ClinicPolicy.shippedCeiling)) }
        let context = ValidationContext(policy: loose, profile: .rp20, now: Fixture.now)
        let report = PrescriptionValidator.validate(Fixture.baclofen(4500), in: context)
        #expect(report.errors.map(\.code) == [.doseAboveHardMax])
        #expect(report.errors.first?.message.contains("2000mcg/day") == true)
        #expect(PrescriptionValidator.validate(Fixture.baclofen(400, indication: .pain), in: context).errors.map(\.code) == [.indicationNotAllowed])
        let bolus = try BolusPlan.plan(
            .init(kind: .therapeutic, dose: .mcg(250), duration: .minutes(10)),
            pump: .init(drug: .baclofen, concentration: .mcgPerML(2000), reservoir: .mL(10), line: .full(of: .drug(.baclofen, .mcgPerML(2000)), pathway: .uL(200), catheter: .uL(260))),
            delivery: .init(indication: .spinal, basal: .mcgPerDay(400), bolusesLast24h: .zero, bolusCountLast24h: 0, patientAllowance: .zero),
            policy: loose, profile: .rp20)
        #expect(bolus.findings.map(\.code).contains(.bolusAboveHardMax))
    }
}
