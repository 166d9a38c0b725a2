import Foundation
import Testing
@testable import Therapy

/// The shipped library's soft limits, titration rules, concentrations and
/// display units are ceilings too, and every field of a policy is known.
@Suite struct PolicyLooseningTests {
    static func edited(_ from: String, _ to: String) -> Data { PolicyCeilingTests.edited(from, to) }

    static func refusal(_ data: Data) -> PolicyFileError? {
        do {
            _ = try ClinicPolicy.load(data)
            return nil
        } catch {
            return error
        }
    }

    @Test func aPolicyCannotRaiseASoftLimit() {
        let raised = Self.edited(#""daily_dose": {"soft_max": "1000mcg/day", "hard_max": "2000mcg/day"}"#,
                                 #""daily_dose": {"soft_max": "1500mcg/day", "hard_max": "2000mcg/day"}"#)
        #expect(Self.refusal(raised) == .loosensShippedCeiling(drug: .baclofen, field: "daily_dose.soft_max",
                                                               value: "1500mcg/day", ceiling: "1000mcg/day"))
        let bolus = Self.edited(#""bolus": {"soft_max": "0.5mg", "hard_max": "1mg"}"#, #""bolus": {"soft_max": "0.9mg", "hard_max": "1mg"}"#)
        #expect(Self.refusal(bolus) == .loosensShippedCeiling(drug: .morphine, field: "bolus.soft_max", value: "0.9mg", ceiling: "0.5mg"))
    }

    @Test(arguments: [
        (#""max_increase_percent": {"spinal": 30, "cerebral": 15}"#, #""max_increase_percent": {"spinal": 60, "cerebral": 15}"#,
         Drug.baclofen, "titration.max_increase_percent.spinal"),
        // Leaving cerebral out gives it the smallest figure listed (30): looser than 15.
        (#""max_increase_percent": {"spinal": 30, "cerebral": 15}"#, #""max_increase_percent": {"spinal": 30}"#,
         Drug.baclofen, "titration.max_increase_percent.cerebral"),
        (#""minimum_interval": "48h""#, #""minimum_interval": "1h""#, Drug.ziconotide, "titration.minimum_interval"),
        (#""max_increases_per_window": 3"#, #""max_increases_per_window": 10"#, Drug.ziconotide, "titration.max_increases_per_window"),
        (#""increase_window": "7d""#, #""increase_window": "1d""#, Drug.ziconotide, "titration.increase_window"),
        (#""max_increase": "2.4mcg/day""#, #""max_increase": "24mcg/day""#, Drug.ziconotide, "titration.max_increase"),
        (#""withdrawal_reduction_percent": 50,"#, #""withdrawal_reduction_percent": 90,"#, Drug.baclofen,
         "titration.withdrawal_reduction_percent"),
        (#""withdrawal_reduction_percent": 50,\#n        "restart_as_start_after": "24h""#,
         #""withdrawal_reduction_percent": 50,\#n        "restart_as_start_after": "30d""#, Drug.baclofen, "titration.restart_as_start_after"),
    ])
    func aPolicyCannotLoosenATitrationRule(from: String, to: String, drug: Drug, field: String) {
        guard case .loosensShippedCeiling(let refusedDrug, let refusedField, _, _)? = Self.refusal(Self.edited(from, to)) else {
            Issue.record("a policy loosening \(drug) \(field) was not refused as loosening")
            return
        }
        #expect(refusedDrug == drug)
        #expect(refusedField == field)
    }

    @Test func aPolicyMayTightenATitrationRule() throws {
        let tighter = try ClinicPolicy.load(Self.edited(#""max_increase_percent": {"spinal": 30, "cerebral": 15}"#,
                                                        #""max_increase_percent": {"spinal": 20, "cerebral": 10}"#))
        #expect(tighter.titration(for: .baclofen)?.increasePercent(for: .spinal) == 20)
        #expect(tighter.titration(for: .baclofen)?.increasePercent(for: .cerebral) == 10)
    }

    @Test func aTitrationRuleSwitchedOffInCodeIsStillTheShippedOne() throws {
        var loose = try ClinicPolicy.shippedDefaults()
        loose.drugs[0].titration = TitrationRule()
        loose.drugs[0].dailyDose = Limits(softMax: .mcgPerDay(1_900), hardMax: .mcgPerDay(2_000))
        let context = ValidationContext(policy: loose, profile: .rp20, current: Fixture.baclofen(400),
                                        lastChange: PumpTime(utcSeconds: Fixture.now.utcSeconds - 3_600), now: Fixture.now)
        // +100% an hour after the last change: the shipped 30% and 24 h hold.
        let codes = PrescriptionValidator.validate(Fixture.baclofen(800), in: context).findings.map(\.code)
        #expect(codes == [.titrationAboveLimit, .titrationWithin24h])
        // The soft limit is capped as well: 1100 is above the shipped 1000.
        let high = ValidationContext(policy: loose, profile: .rp20, now: Fixture.now)
        #expect(PrescriptionValidator.validate(Fixture.baclofen(1_100), in: high).findings.map(\.code) == [.doseAboveSoftMax])
    }

    /// The limits review: a 20 mL residual tolerance and an empty
    /// second-provider list passed `calc policy --check`.
    @Test func aPolicyCannotWidenTheResidualToleranceOrDropASecondProviderRule() throws {
        let wide = Self.edited(#""residual_tolerance": {"minimum": "0.5mL", "percent_of_expected": 20}"#,
                               #""residual_tolerance": {"minimum": "20mL", "percent_of_expected": 100}"#)
        #expect(Self.refusal(wide) == .loosensShippedRule(field: "residual_tolerance", value: "20mL or 100%", ceiling: "0.5mL or 20%"))
        let none = Self.edited(#""second_operator_required_for": ["concentration-change"]"#, #""second_operator_required_for": []"#)
        #expect(Self.refusal(none) == .loosensShippedRule(field: "second_operator_required_for", value: "without concentration-change",
                                                          ceiling: "list, which includes it"))
        // Tightening both is allowed.
        let tight = Self.edited(#""second_operator_required_for": ["concentration-change"]"#,
                                #""second_operator_required_for": ["concentration-change", "dose-increase"]"#)
        #expect(try ClinicPolicy.load(tight).requiresSecondOperator(.doseIncrease))
    }

    @Test func aPolicyCannotAddAConcentration() throws {
        let added = Self.edited(#""concentrations": ["50mcg/mL", "500mcg/mL", "1000mcg/mL", "2000mcg/mL"]"#,
                                #""concentrations": ["50mcg/mL", "500mcg/mL", "1000mcg/mL", "2000mcg/mL", "3000mcg/mL"]"#)
        #expect(Self.refusal(added) == .loosensShippedCeiling(drug: .baclofen, field: "concentrations", value: "include 3000mcg/mL",
                                                              ceiling: "50mcg/mL, 500mcg/mL, 1000mcg/mL, 2000mcg/mL"))
        // Built in code, the concentration is still not stocked.
        var loose = try ClinicPolicy.shippedDefaults()
        loose.drugs[0].concentrations.append(.mcgPerML(3_000))
        let context = ValidationContext(policy: loose, profile: .rp20, now: Fixture.now)
        #expect(PrescriptionValidator.validate(Fixture.baclofen(400, concentration: 3_000), in: context).findings.map(\.code)
            == [.concentrationNotInLibrary])
        // Dropping one is tightening.
        let fewer = try ClinicPolicy.load(Self.edited(#""concentrations": ["10mg/mL", "25mg/mL"]"#, #""concentrations": ["10mg/mL"]"#))
        #expect(!fewer.stocks(.mgPerML(25), of: .morphine))
    }

    @Test func aPolicyCannotShowMorphineInMicrograms() {
        let mcg = Self.edited(#""dose_unit": "mg""#, #""dose_unit": "mcg""#)
        #expect(Self.refusal(mcg) == .differsFromShipped(drug: .morphine, field: "dose_unit", value: "mcg", shipped: "mg"))
        #expect(Self.refusal(mcg)?.description.contains("must be the shipped library's mg") == true)
    }

    @Test func unknownFieldsInAPolicyAreRefusedByName() {
        let cases: [(String, String, String)] = [
            (#""minimum_interval": "48h""#, #""minimum_interval": "48h", "minimum_interal": "96h""#, "drugs[2].titration.minimum_interal"),
            (#""format": "pumpwand-policy/1","#, #""format": "pumpwand-policy/1", "comment": "edited","#, "comment"),
            (#""cerebral": {"daily_dose": {"soft_max": "703mcg/day""#, #""cerebral": {"dialy_dose": {"soft_max": "703mcg/day""#,
             "drugs[0].by_indication.cerebral.dialy_dose"),
            (#""bolus": {"soft_max": "100mcg", "hard_max": "200mcg"}"#, #""bolus": {"soft_max": "100mcg", "hard_max": "200mcg", "hard_min": "1mcg"}"#,
             "drugs[0].bolus.hard_min"),
            (#""percent_of_expected": 20"#, #""percent_of_expected": 20, "percent": 50"#, "residual_tolerance.percent"),
            (#""drug": "ziconotide","#, #""drug": "ziconotide", "patient_bolus_max": "10mcg","#, "drugs[2].patient_bolus_max"),
        ]
        for (from, to, path) in cases {
            #expect(Self.refusal(Self.edited(from, to)) == .unknownField(path), "\(path)")
        }
        #expect(Self.refusal(Self.edited(#""minimum_interval": "48h""#, #""minimum_interval": "48h", "x": 1"#))?
            .description.contains("'drugs[2].titration.x'") == true)
    }

    @Test func unknownFieldsInAPrescriptionAreRefusedByName() {
        let cases: [(String, String)] = [
            (#"{"drug":"baclofen","concentration":"2000mcg/mL","indication":"spinal","mode":"continuous","daily_dose":"400mcg/day","patient_bolu":{}}"#,
             "patient_bolu"),
            (#"{"drug":"baclofen","concentration":"2000mcg/mL","indication":"spinal","mode":"continuous","daily_dose":"400mcg/day","patient_bolus":{"dose":"25mcg","duration":"10min","lockout":"3h","max_per_24h":4,"max_per_day":2}}"#,
             "patient_bolus.max_per_day"),
            (#"{"drug":"baclofen","concentration":"500mcg/mL","indication":"spinal","mode":"flex","cycle":"daily","steps":[{"start":"00:00","dose_rate":"300mcg/day","rate":"1mL/day"}]}"#,
             "steps[0].rate"),
            (#"{"drug":"baclofen","concentration":"2000mcg/mL","indication":"spinal","mode":"continuous","daily_dose":"400mcg/day","catheter":{"volume":"0.2mL","lenght":"50cm"}}"#,
             "catheter.lenght"),
        ]
        for (file, path) in cases {
            #expect(throws: PrescriptionError.unknownField(path)) { try Prescription.decode(Data(file.utf8)) }
        }
    }
}

/// A restart after a stop, a patient-bolus allowance, an incomplete
/// history, a bolus's tolerance and a bridge's warning.
@Suite struct RestartAndAllowanceTests {
    static let held = Fixture.baclofen(1_000)

    static func stoppedContext(since seconds: Int64) -> ValidationContext {
        var context = Fixture.context(current: held, lastChange: PumpTime(utcSeconds: Fixture.now.utcSeconds - seconds))
        context.stoppedSince = PumpTime(utcSeconds: Fixture.now.utcSeconds - seconds)
        return context
    }

    @Test func aRestartAfterALongStopIsAStart() {
        // Stopped two days: 1000 mcg/day again is a start, above the 800 mcg/day hard maximum.
        let long = Self.stoppedContext(since: 2 * 86_400)
        #expect(Fixture.codes(Fixture.baclofen(1_000), long) == [.startAboveHardMax])
        let message = PrescriptionValidator.validate(Fixture.baclofen(1_000), in: long).findings.first?.message ?? ""
        #expect(message.contains("stopped since") && message.contains("the restart is a start"))
        #expect(Fixture.codes(Fixture.baclofen(300), long).contains(.startAboveSoftMax))
        // An hour's stop: titrated from the held 1000, no start limit.
        let short = Self.stoppedContext(since: 3_600)
        #expect(Fixture.codes(Fixture.baclofen(1_000), short) == [])
        #expect(Fixture.codes(Fixture.baclofen(1_400), short) == [.doseAboveSoftMax, .titrationAboveLimit, .titrationWithin24h])
        // Resuming the held dose after the long stop is held to the same limit.
        let resume = PrescriptionValidator.restartFindings(Self.held, stoppedSince: long.stoppedSince!, now: Fixture.now,
                                                           policy: Fixture.policy, profile: .rp20)
        #expect(resume.map(\.code) == [.startAboveHardMax])
        #expect(PrescriptionValidator.restartFindings(Self.held, stoppedSince: short.stoppedSince!, now: Fixture.now,
                                                      policy: Fixture.policy, profile: .rp20).isEmpty)
        #expect(PrescriptionValidator.restartFindings(Fixture.baclofen(150), stoppedSince: long.stoppedSince!, now: Fixture.now,
                                                      policy: Fixture.policy, profile: .rp20).isEmpty)
    }

    @Test func aRestartFromTheStoppedModeIsTitratedFromTheLastDeliveringDose() {
        let stopped = Prescription(drug: .baclofen, concentration: .mcgPerML(2000), indication: .spinal, mode: .stopped)
        var context = Fixture.context(current: stopped, lastChange: PumpTime(utcSeconds: Fixture.now.utcSeconds - 2 * 86_400))
        // Not known: only the start-dose limit.
        #expect(Fixture.codes(Fixture.baclofen(700), context) == [.startAboveSoftMax])
        context.lastDeliveringDose = .mcgPerDay(400)
        // 400 before the stop to 700: +75%, above the spinal 30% as well.
        #expect(Fixture.codes(Fixture.baclofen(700), context) == [.startAboveSoftMax, .titrationAboveLimit])
        let message = PrescriptionValidator.validate(Fixture.baclofen(700), in: context).findings.last?.message ?? ""
        #expect(message.contains("from the last delivering prescription"))
        // A gentler restart is no withdrawal: the pump is stopped already.
        #expect(Fixture.codes(Fixture.baclofen(150), context) == [])
    }

    @Test func aPatientBolusAllowanceIsHeldToTheBolusesIn24hLimit() {
        // 8 x 30 mcg = 240 mcg of patient boluses a day: above the 200 mcg
        // hard maximum of boluses in 24 h, though the day's total (400 + 240) is fine.
        let many = PatientBolus(dose: .mcg(30), duration: .minutes(10), lockout: .hours(3), maximumPer24h: 8)
        let report = PrescriptionValidator.validate(Fixture.baclofen(400, bolus: many), in: Fixture.context())
        #expect(report.errors.map(\.code) == [.ptmAllowanceAboveHardMax])
        #expect(report.errors.first?.message.contains("240mcg") == true)
        #expect(throws: ValidationRefusal.self) {
            try report.accepting(overrides: report.findings.map { Override(code: $0.code, reason: "consultant order on file") })
        }
        // With boluses the pump already gave, a smaller allowance reaches it too.
        let four = PatientBolus(dose: .mcg(25), duration: .minutes(10), lockout: .hours(3), maximumPer24h: 4)
        var context = Fixture.context()
        #expect(Fixture.codes(Fixture.baclofen(400, bolus: four), context) == [])
        context.recentBoluses = .mcg(150)
        #expect(Fixture.codes(Fixture.baclofen(400, bolus: four), context) == [.ptmAllowanceAboveHardMax])
        // Morphine, opioid-naive: 4 x 0.2 mg is above the 0.5 mg of boluses in 24 h.
        let morphine = Prescription(drug: .morphine, concentration: .mgPerML(10), indication: .pain, mode: .continuous(dailyDose: .ngPerDay(200_000)),
                                    patientBolus: PatientBolus(dose: .ng(200_000), duration: .minutes(10), lockout: .hours(3), maximumPer24h: 4))
        #expect(Fixture.codes(morphine).contains(.ptmAllowanceAboveHardMax))
    }

    @Test func aTechnicianBolusCountsThePatientAllowanceInTheBolusesIn24h() throws {
        // 50 now + 160 mcg of allowance: above 200 mcg of boluses in 24 h.
        #expect(try DrugLibraryTests.codes(50, DrugLibraryTests.delivery(basal: 400, earlier: 0, count: 0, allowance: 160))
            == [.bolusPer24hAboveHardMax])
    }

    @Test func anIncompleteHistoryIsAFindingNotAPass() {
        var context = Fixture.context(current: Fixture.baclofen(400), lastChange: PumpTime(utcSeconds: Fixture.now.utcSeconds - 2 * 86_400))
        #expect(Fixture.codes(Fixture.baclofen(450), context) == [])
        context.bolusHistoryComplete = false
        #expect(Fixture.codes(Fixture.baclofen(450), context) == [.doseHistoryIncomplete])
        let message = PrescriptionValidator.validate(Fixture.baclofen(450), in: context).findings.first?.message ?? ""
        #expect(message.contains("wrapped") && message.contains("second provider"))
    }

    static let morphinePump = BolusPlan.PumpContents(drug: .morphine, concentration: .mgPerML(10), reservoir: .mL(10),
                                                     line: .full(of: .drug(.morphine, .mgPerML(10)), pathway: .uL(200), catheter: .uL(260)))

    static func morphineBolus(_ ng: Int64, asked: OpioidTolerance?, declared: OpioidTolerance?) throws -> BolusPlan {
        try BolusPlan.plan(.init(kind: .therapeutic, dose: .ng(ng), duration: .minutes(30), opioidTolerance: asked), pump: morphinePump,
                           delivery: .init(indication: .pain, basal: .mgPerDay(5), bolusesLast24h: .zero, bolusCountLast24h: 0,
                                           patientAllowance: .zero, declaredTolerance: declared),
                           policy: Fixture.policy, profile: .rp20)
    }

    @Test func aBolusCanOnlyMakeTheOpioidToleranceStricter() throws {
        // Asked tolerant, prescription declared tolerant: the tolerant 1 mg hard maximum.
        #expect(try Self.morphineBolus(800_000, asked: .tolerant, declared: .tolerant).findings.filter { $0.severity == .hard }.isEmpty)
        // Asked tolerant, the prescription not declared so: opioid-naive, 0.5 mg.
        let looser = try Self.morphineBolus(800_000, asked: .tolerant, declared: nil)
        #expect(looser.findings.filter { $0.severity == .hard }.map(\.code).contains(.bolusAboveHardMax))
        #expect(looser.findings.first { $0.code == .bolusAboveHardMax }?.message.contains("not recorded as declared opioid-tolerant") == true)
        #expect(try Self.morphineBolus(800_000, asked: .tolerant, declared: .naive).findings.map(\.code).contains(.bolusAboveHardMax))
        // Asked naive for a tolerant prescription: stricter, and it holds.
        #expect(try Self.morphineBolus(800_000, asked: .naive, declared: .tolerant).findings.map(\.code).contains(.bolusAboveHardMax))
    }

    @Test func aBridgeBolusWarningIsAboutTheBridgeAndItsSpeed() throws {
        let bridge = try BolusPlan.plan(.init(kind: .bridge, volume: .uL(20), duration: .hours(2)),
                                        pump: DrugLibraryTests.pump, delivery: DrugLibraryTests.delivery(basal: 400, earlier: 0, count: 0),
                                        policy: Fixture.policy, profile: .rp20)
        let warning = try #require(bridge.findings.first { $0.code == .primingDeliversDrug })
        // 20 uL over 2 h is 0.24 mL/day, not the 720 mL/day priming speed.
        #expect(warning.message.contains("the bridge bolus pushes 0.02mL in 2h (0.24mL/day)"))
        #expect(warning.message.contains("40mcg"))
        #expect(!warning.message.contains("priming speed"))
        let prime = try BolusPlan.plan(.init(kind: .prime, volume: .uL(20), duration: .minutes(1)),
                                       pump: DrugLibraryTests.pump, delivery: DrugLibraryTests.delivery(basal: 400, earlier: 0, count: 0),
                                       policy: Fixture.policy, profile: .rp20)
        #expect(prime.findings.first { $0.code == .primingDeliversDrug }?.message.contains("priming pushes 0.02mL in 1min") == true)
    }
}

@Suite struct ReasonWordsTests {
    static let soft = ValidationReport(findings: [Finding(code: .doseAboveSoftMax, severity: .soft, message: "above")])

    @Test func fillerReasonsAreRefused() throws {
        // Control and format characters too: a newline or an escape
        // sequence could forge a line in the audit display.
        for filler in ["aa aa aa aa", "aaa aaa aaa", "order order order", "xxxx yyyy zzzz", "ab ab ab ab ab", "Order ORDER order!",
                       "ordered by Dr Lee\nAPPROVED by Dr X", "ordered by \u{1B}[32mDr Lee", "ordered by Dr\u{200B} Lee"] {
            #expect(throws: ValidationRefusal.reasonWithoutWords(.doseAboveSoftMax), "\(filler.debugDescription)") {
                try Self.soft.accepting(overrides: [Override(code: .doseAboveSoftMax, reason: filler)])
            }
        }
        for words in ["consultant order", "per Dr Osei, 3 Feb", "pump explant today", "ordered by Dr Lee"] {
            #expect(try Self.soft.accepting(overrides: [Override(code: .doseAboveSoftMax, reason: words)]).overridden.count == 1)
        }
    }
}
