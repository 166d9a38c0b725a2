import Foundation
import Testing
import Therapy
@testable import PumpProgrammer

/// Values that are probably a slip of unit or of the keyboard: each is
/// found before anything is sent.
@Suite struct PlausibilityTests {
    static func refill(added: Volume, acknowledgement: String? = nil, withdrawn: Volume = .mL(12)) -> RefillRequest {
        RefillRequest(withdrawn: withdrawn, added: added, drug: nil, concentration: .mcgPerML(2000), newPrescription: nil,
                      discrepancyAcknowledgement: acknowledgement)
    }

    @Test func aTwentyMicrolitreFillIsFound() {
        let findings = RefillPlausibility.findings(added: .uL(20), capacity: .mL(20), alarmThreshold: .mL(2), dailyVolume: .uLPerDay(200))
        #expect(findings.map(\.code) == [.refillVolumeImplausible])
        // 0.02 mL at 0.2 mL/day is 0.1 day: 144 minutes.
        #expect(findings.first?.message.contains("lasts about 144min") == true)
        #expect(findings.first?.message.contains("did you mean 20mL?") == true)
        #expect(RefillPlausibility.findings(added: .mL(18), capacity: .mL(20), alarmThreshold: .mL(2), dailyVolume: .uLPerDay(200)).isEmpty)
        #expect(RefillPlausibility.findings(added: .mL(2), capacity: .mL(20), alarmThreshold: .mL(2), dailyVolume: .uLPerDay(200)).isEmpty)
    }

    @Test func aRefillOf20uLNeedsItsOwnReason() async throws {
        let visit = SimulatedVisit()
        let programmer = try await visit.programmer()
        let plan = try await programmer.plan(RefillCommand(request: Self.refill(added: .uL(20))))
        #expect(plan.findings.warnings.map(\.code) == [.refillVolumeImplausible])
        let refused = await failure { try await programmer.execute(plan, overrides: [], confirmation: .flag(yes: true)) }
        guard case .refusedByPolicy(let message)? = refused else {
            Issue.record("a 20 uL fill must need an override, not \(String(describing: refused))")
            return
        }
        #expect(message.contains("refill.volume-implausible"))
        // Refused before refill-begin: delivery never paused, nothing sent.
        #expect(visit.transport.with { $0.pump.refillExpectedResidual } == nil)
        #expect(await programmer.effect == .nothingSent)
    }

    @Test func aDoseAThousandTimesTheCurrentIsAProbableUnitError() throws {
        let context = try Fixture.context(current: .baclofen(0.4), lastChange: PumpTime(utcSeconds: Fixture.now.utcSeconds - 2 * 86_400))
        let report = PrescriptionValidator.validate(.baclofen(400), in: context)
        #expect(report.findings.map(\.code).contains(.doseProbableUnitError))
        #expect(!report.findings.map(\.code).contains(.doseProbableDecimalError))
        #expect(report.findings.first { $0.code == .doseProbableUnitError }?.message.contains("check mg against mcg") == true)
        // And down: a thousandth of the current dose.
        let down = PrescriptionValidator.validate(.baclofen(100, concentration: 50),
                                                  in: try Fixture.context(current: .baclofen(100_000, concentration: 50), lastChange: nil))
        #expect(down.findings.map(\.code).contains(.doseProbableUnitError))
        // Ten times is still the decimal finding.
        let tenfold = PrescriptionValidator.validate(.baclofen(400), in: try Fixture.context(current: .baclofen(40), lastChange: nil))
        #expect(tenfold.findings.map(\.code).contains(.doseProbableDecimalError))
    }

    @Test func aDuplicateKeyInAPrescriptionIsRefusedByName() {
        // 400 then 4500: which one a parser keeps is not defined.
        let json = #"{"drug":"baclofen","concentration":"2000mcg/mL","indication":"spinal","mode":"continuous","daily_dose":"400mcg/day","daily_dose":"4500mcg/day"}"#
        #expect(throws: PrescriptionError.duplicateKey("daily_dose")) { try Prescription.decode(Data(json.utf8)) }
        let nested = #"{"drug":"baclofen","concentration":"2000mcg/mL","indication":"spinal","mode":"flex","cycle":"daily","steps":[{"start":"00:00","dose_rate":"400mcg/day"},{"start":"07:00","dose_rate":"500mcg/day","dose_rate":"5000mcg/day"}]}"#
        #expect(throws: PrescriptionError.duplicateKey("steps[1].dose_rate")) { try Prescription.decode(Data(nested.utf8)) }
        // An escaped spelling of the same key is the same key.
        let escaped = #"{"drug":"baclofen","dr\u0075g":"morphine","concentration":"2000mcg/mL","indication":"spinal","mode":"stopped"}"#
        #expect(throws: PrescriptionError.duplicateKey("drug")) { try Prescription.decode(Data(escaped.utf8)) }
        do {
            _ = try Prescription.decode(Data(json.utf8))
        } catch {
            #expect(error.description.contains("'daily_dose' twice"))
        }
        // The same key in two objects is fine.
        let fine = #"{"drug":"baclofen","concentration":"500mcg/mL","indication":"spinal","mode":"flex","cycle":"daily","steps":[{"start":"00:00","dose_rate":"300mcg/day"},{"start":"07:00","dose_rate":"500mcg/day"}]}"#
        #expect(throws: Never.self) { try Prescription.decode(Data(fine.utf8)) }
    }

    @Test func aDuplicateKeyInAPolicyIsRefusedByName() {
        let doubled = ClinicPolicy.shippedDefaultsJSON.replacingOccurrences(
            of: #""daily_dose": {"soft_max": "1000mcg/day", "hard_max": "2000mcg/day"}"#,
            with: #""daily_dose": {"soft_max": "1000mcg/day", "hard_max": "2000mcg/day", "hard_max": "200000mcg/day"}"#)
        #expect(doubled != ClinicPolicy.shippedDefaultsJSON)
        #expect(throws: PolicyFileError.duplicateKey("drugs[0].daily_dose.hard_max")) { try ClinicPolicy.load(Data(doubled.utf8)) }
    }

    @Test func anAcknowledgementOfANewlineIsRefused() async throws {
        let visit = SimulatedVisit()
        let programmer = try await visit.programmer()
        // 9 mL back of 12 expected: a discrepancy that needs an acknowledgement.
        for thin in ["\n", ".", "ok", "checked"] {
            let plan = try await programmer.plan(RefillCommand(request: Self.refill(added: .mL(18), acknowledgement: thin, withdrawn: .mL(9))))
            let refused = await failure { try await programmer.preflight(plan, overrides: []) }
            guard case .refusedByPolicy(let message)? = refused else {
                Issue.record("the acknowledgement \(thin.debugDescription) must be refused, not \(String(describing: refused))")
                continue
            }
            #expect(message.contains("refill.residual-discrepancy"), "\(message)")
        }
        #expect(visit.transport.with { $0.pump.refillExpectedResidual } == nil)
    }
}

extension Prescription {
    static func baclofen(_ mcgPerDay: Double, concentration: Int64 = 2000) -> Prescription {
        Prescription(drug: .baclofen, concentration: .mcgPerML(concentration), indication: .spinal,
                     mode: .continuous(dailyDose: DoseRate(baseValue: Int64((mcgPerDay * 1000).rounded()))))
    }
}

enum Fixture {
    static let now = PumpTime(utcSeconds: 1_740_816_000)

    static func context(current: Prescription?, lastChange: PumpTime?) throws -> ValidationContext {
        ValidationContext(policy: try ClinicPolicy.shippedDefaults(), profile: .rp20, current: current, lastChange: lastChange, now: now)
    }
}
