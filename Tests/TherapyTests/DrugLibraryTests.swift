import Foundation
import Testing
@testable import Therapy

/// The shipped drug library: limits for every drug, chosen by indication
/// and opioid tolerance, and the cumulative bolus rules.
@Suite struct DrugLibraryTests {
    static let yesterday = PumpTime(utcSeconds: Fixture.now.utcSeconds - 2 * 86_400)

    @Test func everyDrugHasBolusStepAndStartLimitsAndItsIndications() throws {
        let policy = try ClinicPolicy.shippedDefaults()
        for drug in Drug.allCases {
            let entry = try #require(policy.policy(for: drug))
            #expect(entry.bolus != nil, "\(drug) single bolus")
            #expect(entry.bolusPer24h != nil, "\(drug) boluses in 24 h")
            #expect(entry.stepRate != nil, "\(drug) flex step rate")
            #expect(entry.startDose != nil, "\(drug) start dose")
            #expect(entry.indications?.isEmpty == false, "\(drug) indications")
            #expect(entry.sources.contains { $0.contains("unverified") } || drug == .baclofen || drug == .morphine || drug == .ziconotide)
        }
        #expect(policy.policy(for: .baclofen)?.indications == [.spinal, .cerebral])
        #expect(policy.policy(for: .morphine)?.indications == [.pain])
        #expect(policy.policy(for: .ziconotide)?.indications == [.pain])
        #expect(policy.policy(for: .ziconotide)?.startDose == Limits(softMax: nil, hardMax: .ngPerDay(2_400)))
        #expect(policy.policy(for: .morphine)?.bolus == Limits(softMax: .ng(500_000), hardMax: .mg(1)))
    }

    @Test func morphineIsOpioidNaiveUnlessDeclaredTolerant() throws {
        func morphine(_ mg: Int64, _ tolerance: OpioidTolerance?) -> Prescription {
            Prescription(drug: .morphine, concentration: .mgPerML(10), indication: .pain,
                         mode: .continuous(dailyDose: .mgPerDay(mg)), opioidTolerance: tolerance)
        }
        #expect(Fixture.codes(morphine(2, nil)) == [.doseAboveHardMax])
        #expect(Fixture.codes(morphine(2, .naive)) == [.doseAboveHardMax])
        #expect(Fixture.codes(morphine(2, .tolerant)) == [])
        let message = PrescriptionValidator.validate(morphine(2, nil), in: Fixture.context()).findings.first?.message ?? ""
        #expect(message.contains("1mg/day") && message.contains("opioid-naive limit") && message.contains("opioid_tolerance"))
        // The file field, and its refusal for a drug that is not an opioid.
        let file = #"{"drug":"morphine","concentration":"10mg/mL","indication":"pain","mode":"continuous","daily_dose":"2mg/day","opioid_tolerance":"tolerant"}"#
        let read = try Prescription.decode(Data(file.utf8))
        #expect(read.opioidTolerance == .tolerant)
        #expect(try Prescription.decode(read.encodedFile(massUnit: .mg)) == read)
        let baclofen = #"{"drug":"baclofen","concentration":"2000mcg/mL","indication":"spinal","mode":"continuous","daily_dose":"400mcg/day","opioid_tolerance":"naive"}"#
        #expect(throws: PrescriptionError.self) { try Prescription.decode(Data(baclofen.utf8)) }
        let misspelt = file.replacingOccurrences(of: "\"tolerant\"", with: "\"tolerent\"")
        #expect(throws: PrescriptionError.invalidField("opioid_tolerance", "naive or tolerant")) { try Prescription.decode(Data(misspelt.utf8)) }
    }

    @Test func cerebralBaclofenHasItsOwnDailyLimit() {
        #expect(Fixture.codes(Fixture.baclofen(800, indication: .cerebral)) == [.doseAboveSoftMax])
        #expect(Fixture.codes(Fixture.baclofen(703, indication: .cerebral)) == [])
        #expect(Fixture.codes(Fixture.baclofen(800, indication: .spinal)) == [])
        let message = PrescriptionValidator.validate(Fixture.baclofen(800, indication: .cerebral), in: Fixture.context()).findings.first?.message ?? ""
        #expect(message.contains("703mcg/day") && message.contains("cerebral limit"))
    }

    @Test func aStartIsCheckedOnlyWhenTheCurrentPrescriptionIsKnown() {
        let stopped = Prescription(drug: .baclofen, concentration: .mcgPerML(2000), indication: .spinal, mode: .stopped)
        let minimum = Prescription(drug: .baclofen, concentration: .mcgPerML(2000), indication: .spinal, mode: .minimumRate)
        let fromStopped = Fixture.context(current: stopped, lastChange: Self.yesterday)
        #expect(Fixture.codes(Fixture.baclofen(900), fromStopped) == [.startAboveHardMax])
        #expect(Fixture.codes(Fixture.baclofen(200), fromStopped) == [])
        // Minimum rate (96 mcg/day here) only keeps the catheter open: a start, and titrated from what it runs.
        let fromMinimum = Fixture.context(current: minimum, lastChange: Self.yesterday)
        #expect(Fixture.codes(Fixture.baclofen(900), fromMinimum) == [.startAboveHardMax, .titrationAboveLimit])
        let unknown = PrescriptionValidator.validate(Fixture.baclofen(900), in: Fixture.context())
        #expect(unknown.findings.isEmpty)
        #expect(unknown.notChecked.contains(.startDose))
    }

    @Test func flexStepsAreComparedWithTheStepInForceAtTheSameTime() throws {
        let current = Prescription(drug: .baclofen, concentration: .mcgPerML(2000), indication: .spinal, mode: .flex(try FlexSchedule(
            cycle: .daily, steps: [FlexStep(start: 0, doseRate: .mcgPerDay(300)), FlexStep(start: 7 * 3_600, doseRate: .mcgPerDay(500))])))
        // The same average shape, but the night step typed 3000 for 300.
        let typo = Prescription(drug: .baclofen, concentration: .mcgPerML(2000), indication: .spinal, mode: .flex(try FlexSchedule(
            cycle: .daily, steps: [FlexStep(start: 0, doseRate: .mcgPerDay(300)), FlexStep(start: 3 * 3_600, doseRate: .mcgPerDay(3000)),
                                   FlexStep(start: 3 * 3_600 + 1_800, doseRate: .mcgPerDay(300)), FlexStep(start: 7 * 3_600, doseRate: .mcgPerDay(500))])))
        let report = PrescriptionValidator.validate(typo, in: Fixture.context(current: current, lastChange: Self.yesterday))
        #expect(report.findings.map(\.code) == [.stepRateAboveHardMax, .stepProbableDecimalError, .titrationAboveLimit])
        #expect(report.findings[1].message.contains("at 03:00 300mcg/day becomes 3000mcg/day"))
        // Moving the day step an hour earlier raises 06:00-07:00 from 300 to 500 (+67%).
        let earlier = Prescription(drug: .baclofen, concentration: .mcgPerML(2000), indication: .spinal, mode: .flex(try FlexSchedule(
            cycle: .daily, steps: [FlexStep(start: 0, doseRate: .mcgPerDay(300)), FlexStep(start: 6 * 3_600, doseRate: .mcgPerDay(500))])))
        let moved = PrescriptionValidator.validate(earlier, in: Fixture.context(current: current, lastChange: Self.yesterday))
        #expect(moved.findings.map(\.code) == [.titrationAboveLimit])
        #expect(moved.findings.first?.message.contains("at 06:00 300mcg/day becomes 500mcg/day") == true)
    }

    @Test func theBusiest24HoursOfAWeeklyScheduleSpanMidnight() throws {
        // Monday evening and Tuesday morning high: no calendar day reaches
        // 1500 mcg, but the 24 h from Monday 12:00 does (12 h x 1500 + 12 h x 1500).
        let schedule = try FlexSchedule(cycle: .weekly, steps: [
            FlexStep(start: 0, doseRate: .mcgPerDay(500)),
            FlexStep(start: 12 * 3_600, doseRate: .mcgPerDay(1500)),
            FlexStep(start: 86_400 + 12 * 3_600, doseRate: .mcgPerDay(500)),
        ])
        let plan = try Prescription(drug: .baclofen, concentration: .mcgPerML(2000), indication: .spinal, mode: .flex(schedule)).dosePlan(on: .rp20)
        #expect(plan.largestDailyPrescribedDose == .mcgPerDay(1000))
        #expect(plan.largestPrescribedIn24h == .mcgPerDay(1500))
    }

    static let pump = BolusPlan.PumpContents(drug: .baclofen, concentration: .mcgPerML(2000), reservoir: .mL(10),
                                             line: .full(of: .drug(.baclofen, .mcgPerML(2000)), pathway: .uL(200), catheter: .uL(260)))

    static func delivery(basal: Int64, earlier: Int64?, count: Int = 1, allowance: Int64 = 0) -> BolusPlan.Delivery {
        BolusPlan.Delivery(indication: .spinal, basal: .mcgPerDay(basal), bolusesLast24h: earlier.map { .mcg($0) },
                           bolusCountLast24h: earlier == nil ? 0 : count, patientAllowance: .mcg(allowance))
    }

    static func codes(_ dose: Int64, _ delivery: BolusPlan.Delivery) throws -> [FindingCode] {
        try BolusPlan.plan(.init(kind: .therapeutic, dose: .mcg(dose), duration: .minutes(10)), pump: pump, delivery: delivery,
                           policy: Fixture.policy, profile: .rp20).findings.map(\.code)
    }

    @Test func theCumulativeBolusLimitsCountBasalEarlierBolusesAndTheAllowance() throws {
        #expect(try Self.codes(50, Self.delivery(basal: 400, earlier: 0, count: 0)) == [])
        // 50 + 60 earlier is above the 100 mcg soft maximum of boluses in 24 h.
        #expect(try Self.codes(50, Self.delivery(basal: 400, earlier: 60)) == [.bolusPer24hAboveSoftMax])
        #expect(try Self.codes(50, Self.delivery(basal: 400, earlier: 151)) == [.bolusPer24hAboveHardMax])
        // 1900 basal + 50 + 100 allowance: above the 2000 mcg/day hard maximum
        // (and the allowance counts in the boluses of the 24 h: 150 mcg).
        #expect(try Self.codes(50, Self.delivery(basal: 1900, earlier: 0, count: 0, allowance: 100))
            == [.bolusPer24hAboveSoftMax, .bolusCumulativeAboveHardMax])
        #expect(try Self.codes(50, Self.delivery(basal: 950, earlier: 0, count: 0, allowance: 40)) == [.bolusCumulativeAboveSoftMax])
        // Exactly at the limits passes.
        #expect(try Self.codes(50, Self.delivery(basal: 900, earlier: 25, allowance: 25)) == [])
    }

    @Test func noBolusIsPlannedWithoutThePumpsHistory() throws {
        #expect(try Self.codes(50, Self.delivery(basal: 400, earlier: nil)) == [.bolusHistoryUnknown])
    }

    /// A bridge or prime that pushes a full line delivers its drug at bolus
    /// speed: every bolus limit holds for what reaches the patient. Here the
    /// reservoir was refilled at 500 mcg/mL and the line, as the pump
    /// reports it, still holds 2000 mcg/mL.
    @Test func aBridgeIsHeldToEveryBolusLimitForWhatReachesThePatient() throws {
        let refilled = BolusPlan.PumpContents(drug: .baclofen, concentration: .mcgPerML(500), reservoir: .mL(10),
                                              line: .full(of: .drug(.baclofen, .mcgPerML(2000)), pathway: .uL(200), catheter: .uL(260)))
        let bridge = try BolusPlan.plan(.init(kind: .bridge, duration: .hours(12)), pump: refilled,
                                        delivery: Self.delivery(basal: 1200, earlier: 0, count: 0), policy: Fixture.policy, profile: .rp20)
        // 460 uL of 2000 mcg/mL is 920 mcg: above the 200 mcg single and
        // 24 h bolus maxima; with 1200 mcg/day basal, 2120 mcg in the day.
        let codes = bridge.findings.map(\.code)
        #expect(codes.contains(.bolusAboveHardMax))
        #expect(codes.contains(.bolusPer24hAboveHardMax))
        #expect(codes.contains(.bolusCumulativeAboveHardMax))
    }

    @Test func prescriptionsCountThePumpsRecentBolusesInThe24hTotal() {
        let bolus = PatientBolus(dose: .mcg(25), duration: .minutes(10), lockout: .hours(3), maximumPer24h: 2)
        var context = Fixture.context(current: Fixture.baclofen(800), lastChange: Self.yesterday)
        #expect(Fixture.codes(Fixture.baclofen(950, bolus: bolus), context) == [])
        context.recentBoluses = .mcg(50)
        // 950 + 2 x 25 + 50 = 1050: above the soft maximum only because of the boluses given.
        #expect(Fixture.codes(Fixture.baclofen(950, bolus: bolus), context) == [.ptmWorstCaseAboveSoftMax])
        context.recentBoluses = .mcg(1_250)
        #expect(Fixture.codes(Fixture.baclofen(800), context) == [.doseCumulativeAboveHardMax])
    }
}
