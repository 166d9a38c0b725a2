import Foundation
import Testing
import Therapy
@testable import PumpProgrammer

/// The review the technician reads before anything is written: every step
/// at the time it runs, and every patient-bolus setting, current beside pending.
@Suite struct ReviewTests {
    static let policy = (try? ClinicPolicy.shippedDefaults())

    static func review(current: Prescription, pending: Prescription) throws -> Review {
        let policy = try #require(Self.policy)
        let currentDelivered = try current.dosePlan(on: .rp20).averageDailyDose
        let pendingDelivered = try pending.dosePlan(on: .rp20).averageDailyDose
        return Review.compare(current: current, currentDelivered: currentDelivered, pending: pending, pendingDelivered: pendingDelivered,
                              report: ValidationReport(findings: []), profile: .rp20, policy: policy)
    }

    @Test func everyStepIsShownBesideTheRateInForceAtThatTime() throws {
        let current = Prescription(drug: .baclofen, concentration: .mcgPerML(2000), indication: .spinal, mode: .continuous(dailyDose: .mcgPerDay(400)))
        let pending = Prescription(drug: .baclofen, concentration: .mcgPerML(2000), indication: .spinal, mode: .flex(try FlexSchedule(
            cycle: .daily, steps: [FlexStep(start: 0, doseRate: .mcgPerDay(400)), FlexStep(start: 12 * 3_600, doseRate: .mcgPerDay(4000)),
                                   FlexStep(start: 12 * 3_600 + 1_800, doseRate: .mcgPerDay(400))])))
        let review = try Self.review(current: current, pending: pending)
        let steps = review.rows.filter { $0.field.hasPrefix("at ") }
        #expect(steps.map(\.field) == ["at 00:00", "at 12:00", "at 12:30"])
        let noon = try #require(steps.first { $0.field == "at 12:00" })
        #expect(noon.current == "400mcg/day (0.2mL/day)")
        #expect(noon.pending == "4000mcg/day (2mL/day)")
        #expect(noon.changed)
        #expect(steps.filter(\.changed).map(\.field) == ["at 12:00"])
        #expect(review.table.contains("* at 12:00"))
    }

    @Test func aStepRemovedFromTheScheduleIsShownToo() throws {
        let current = Prescription(drug: .baclofen, concentration: .mcgPerML(2000), indication: .spinal, mode: .flex(try FlexSchedule(
            cycle: .daily, steps: [FlexStep(start: 0, doseRate: .mcgPerDay(300)), FlexStep(start: 7 * 3_600, doseRate: .mcgPerDay(500))])))
        let pending = Prescription(drug: .baclofen, concentration: .mcgPerML(2000), indication: .spinal, mode: .continuous(dailyDose: .mcgPerDay(400)))
        let rows = try Self.review(current: current, pending: pending).rows.filter { $0.field.hasPrefix("at ") }
        #expect(rows.map(\.field) == ["at 00:00", "at 07:00"])
        #expect(rows.map(\.current) == ["300mcg/day (0.15mL/day)", "500mcg/day (0.25mL/day)"])
        #expect(rows.allSatisfy { $0.pending == "400mcg/day (0.2mL/day)" && $0.changed })
    }

    @Test func patientBolusSettingsAreShownFieldByField() throws {
        let bolus = PatientBolus(dose: .mcg(25), duration: .minutes(10), lockout: .hours(3), maximumPer24h: 4)
        var changed = bolus
        changed.maximumPer24h = 6
        let current = Prescription(drug: .baclofen, concentration: .mcgPerML(2000), indication: .spinal,
                                   mode: .continuous(dailyDose: .mcgPerDay(400)), patientBolus: bolus)
        var pending = current
        pending.patientBolus = changed
        let rows = try Self.review(current: current, pending: pending).rows
        let count = try #require(rows.first { $0.field == "patient boluses per 24h" })
        #expect((count.current, count.pending, count.changed) == ("4", "6", true))
        for field in ["patient bolus dose", "patient bolus duration", "patient bolus lockout"] {
            #expect(rows.first { $0.field == field }?.changed == false, "\(field)")
        }
        #expect(rows.first { $0.field == "patient bolus dose" }?.pending == "25mcg")
        // Added where there was none: the current side says so.
        var none = current
        none.patientBolus = nil
        let added = try Self.review(current: none, pending: pending).rows
        #expect(added.first { $0.field == "patient bolus" }?.current == "none")
        #expect(added.first { $0.field == "patient bolus dose" }?.changed == true)
    }

    @Test func morphineIsReviewedInMilligramsWithItsDeclaredTolerance() throws {
        let current = Prescription(drug: .morphine, concentration: .mgPerML(10), indication: .pain, mode: .continuous(dailyDose: .mgPerDay(2)))
        var pending = current
        pending.mode = .continuous(dailyDose: .mgPerDay(3))
        pending.opioidTolerance = .tolerant
        let rows = try Self.review(current: current, pending: pending).rows
        #expect(rows.first { $0.field == "daily dose" }?.pending == "3mg/day")
        #expect(rows.first { $0.field == "concentration" }?.pending == "10mg/mL")
        #expect(rows.first { $0.field == "opioid tolerance" }?.pending == "opioid-tolerant")
    }
}
