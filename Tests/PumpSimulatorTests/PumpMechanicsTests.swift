import Testing
@testable import PumpSimulator

/// Hand-computed delivery cases. Volumes: 1 mL = 10^6 nL; FineVolume = nL x 86400.
@Suite struct PumpMechanicsTests {
    static let day: Int64 = 86_400
    static let start: Int64 = 1_800_000_000 // 2027-01-15T08:00:00Z

    func pump(reservoirML: Int64 = 10, rate: Int64 = 200_000, concentration: Int64 = 2_000_000,
              lineNL: Int64 = 260_000) -> PumpMechanics {
        PumpMechanics(
            clock: Self.start, zoneOffset: 0, reservoir: FineVolume(nanolitres: reservoirML * 1_000_000),
            reservoirConcentration: concentration,
            line: FluidLine(pathway: FineVolume(nanolitres: 200_000), catheter: FineVolume(nanolitres: lineNL - 200_000),
                            drug: 1, concentration: concentration),
            schedule: .continuous(rate: rate), lowReservoirThreshold: FineVolume(nanolitres: 2_000_000))
    }

    @Test func lowReservoirAlarmFiresAtTheExactSecond() {
        // 10 mL, alarm at 2 mL, 0.2 mL/day: (10 - 2) / 0.2 = 40 days = 3,456,000 s.
        var mechanics = pump()
        let happenings = mechanics.advance(to: Self.start + 50 * Self.day)
        #expect(happenings.contains(.alarmRaised(.lowReservoir, at: Self.start + 40 * Self.day)))
        #expect(mechanics.alarms.contains(.lowReservoir))
        // 50 days x 0.2 mL/day = 10 mL: exactly empty at day 50.
        #expect(mechanics.alarms.contains(.emptyReservoir))
        #expect(happenings.contains(.alarmRaised(.emptyReservoir, at: Self.start + 50 * Self.day)))
    }

    @Test func deliveredDoseIsVolumeTimesConcentration() {
        // 0.2 mL/day x 2000 mcg/mL = 400 mcg/day; 3 days = 1200 mcg = 1,200,000 ng.
        var mechanics = pump()
        _ = mechanics.advance(to: Self.start + 3 * Self.day)
        #expect(mechanics.deliveredNanograms == 1_200_000)
        #expect(mechanics.reservoir == FineVolume(nanolitres: 9_400_000))
    }

    @Test func emptyReservoirStopsDelivery() {
        // 1 mL at 0.2 mL/day lasts 5 days; 10 days later only 1 mL went out.
        var mechanics = pump(reservoirML: 1)
        _ = mechanics.advance(to: Self.start + 10 * Self.day)
        #expect(mechanics.pumpedVolume == FineVolume(nanolitres: 1_000_000))
        #expect(mechanics.deliveryStopped)
        #expect(mechanics.currentRate(at: mechanics.clock).rate == 0)
    }

    @Test func concentrationChangeDeliversThePrescribedDoseWhileTheOldDrugLeavesTheLine() {
        // Line 0.26 mL of 2000 mcg/mL. Refill at 1000 mcg/mL with the rate
        // doubled to 0.4 mL/day to keep 400 mcg/day. Run at 0.4 mL/day at
        // once, the line's old drug would go in at 800 mcg/day; the pump
        // runs by dose at the tip instead: 0.2 mL/day while the tip holds
        // 2000 mcg/mL, so the 0.26 mL take 1.3 days = 112,320 s and deliver
        // 520 mcg = 400 mcg/day. Then 0.4 mL/day x 1000 mcg/mL = 400 mcg/day.
        var mechanics = pump()
        mechanics.refill(added: FineVolume(nanolitres: 18_000_000), concentration: 1_000_000, drug: 1)
        mechanics.schedule = .continuous(rate: 400_000)
        let happenings = mechanics.advance(to: Self.start + 112_320)
        #expect(mechanics.deliveredNanograms == 520_000)
        #expect(happenings.contains(.lineTurnedOver(at: Self.start + 112_320, concentration: 1_000_000)))
        #expect(mechanics.line.tip?.concentration == 1_000_000)
        // One more day: 400 mcg.
        _ = mechanics.advance(to: Self.start + 112_320 + Self.day)
        #expect(mechanics.deliveredNanograms == 920_000)
    }

    @Test func flexScheduleDeliversEachStepForItsHours() {
        // Steps: 00:00 0.15 mL/day, 07:00 0.25 mL/day, 22:00 0.15 mL/day.
        // One day: 0.15 x 7/24 + 0.25 x 15/24 + 0.15 x 2/24 = (1.05 + 3.75 + 0.30) / 24
        // = 5.1 / 24 = 0.2125 mL = 212,500 nL.
        var mechanics = pump()
        mechanics.schedule = DeliverySchedule(cycleLength: Self.day, steps: [
            .init(start: 0, rate: 150_000), .init(start: 7 * 3600, rate: 250_000), .init(start: 22 * 3600, rate: 150_000),
        ])
        let midnight = Self.start - Self.start % Self.day + Self.day
        _ = mechanics.advance(to: midnight)
        let before = mechanics.pumpedVolume
        _ = mechanics.advance(to: midnight + Self.day)
        #expect(mechanics.pumpedVolume - before == FineVolume(nanolitres: 212_500))
        #expect(mechanics.schedule.averageRate == 212_500)
    }

    @Test func weeklyCycleStartsOnMondayInThePumpsZone() {
        // 2027-01-18 is a Monday. With a +01:00 zone, Monday 00:00 local is
        // 2027-01-17T23:00:00Z = 1,800,226,800.
        let schedule = DeliverySchedule(cycleLength: 604_800, steps: [
            .init(start: 0, rate: 100), .init(start: 86_400, rate: 200),
        ])
        let mondayLocal: Int64 = 1_800_226_800
        #expect(schedule.segment(at: mondayLocal, zoneOffset: 3600).rate == 100)
        #expect(schedule.segment(at: mondayLocal - 1, zoneOffset: 3600).rate == 200)
        #expect(schedule.segment(at: mondayLocal, zoneOffset: 3600).until == mondayLocal + 86_400)
    }

    @Test func bolusRunsOnTopOfTheBasalRateAndEnds() {
        // 0.05 mL over 3600 s on top of 0.2 mL/day: after one hour the pump has
        // moved 0.05 mL + 0.2 / 24 mL = 50,000 + 8,333.33 nL.
        var mechanics = pump()
        mechanics.startBolus(kind: .therapeutic, volume: FineVolume(nanolitres: 50_000), duration: 3600, commandID: 7)
        let happenings = mechanics.advance(to: Self.start + 3600)
        #expect(mechanics.bolus == nil)
        #expect(happenings.contains { if case .bolusFinished(.therapeutic, Self.start + 3600, _) = $0 { true } else { false } })
        #expect(mechanics.pumpedVolume == FineVolume(units: 50_000 * 86_400 + 200_000 * 3600))
    }

    @Test func aStallCutsTheBolusAndStopsDelivery() {
        var mechanics = pump()
        mechanics.startBolus(kind: .therapeutic, volume: FineVolume(nanolitres: 50_000), duration: 3600, commandID: 7)
        _ = mechanics.advance(to: Self.start + 1800)
        let happenings = mechanics.raise(.motorStall)
        #expect(mechanics.bolus == nil)
        #expect(happenings.contains { if case .bolusCut(.therapeutic, _, let left) = $0 { left == FineVolume(nanolitres: 25_000) } else { false } })
        let pumped = mechanics.pumpedVolume
        _ = mechanics.advance(to: Self.start + Self.day)
        #expect(mechanics.pumpedVolume == pumped)
    }

    @Test func primingAnEmptyLineDeliversNoDrugUntilItIsFull() {
        // An empty 0.26 mL line: the first 0.26 mL pushed delivers nothing; the
        // next 0.1 mL of 2000 mcg/mL delivers 200 mcg.
        var line = FluidLine(pathway: FineVolume(nanolitres: 200_000), catheter: FineVolume(nanolitres: 60_000), drug: 0, concentration: 0)
        #expect(line.push(FineVolume(nanolitres: 260_000), drug: 1, concentration: 2_000_000).total == 0)
        let drug = line.push(FineVolume(nanolitres: 100_000), drug: 1, concentration: 2_000_000)
        #expect(drug.total / Int128(86_400 * 1_000_000) == 200_000)
        #expect(drug.byDrug[1] == drug.total)
    }

    @Test func batteryRaisesReplacementBeforeEndOfService() {
        var mechanics = pump(reservoirML: 40, rate: 0)
        mechanics.battery = BatteryModel(remaining: BatteryModel.replacementReserve + 100)
        let happenings = mechanics.advance(to: Self.start + 200 * Self.day)
        let eri = happenings.firstIndex(of: .alarmRaised(.electiveReplacement, at: Self.start + 100))
        #expect(eri != nil)
        #expect(mechanics.alarms.contains(.endOfService))
        #expect(mechanics.deliveryStopped)
    }

    @Test func eventLogIsBoundedAndPagesNewestFirst() {
        var log = EventLog(capacity: 4)
        for index in 0..<6 { log.append(time: Int64(index), code: 1, detail: UInt32(index)) }
        #expect(log.entries.map(\.index) == [2, 3, 4, 5])
        #expect(log.dropped == 2)
        let first = log.page(0, size: 3)
        #expect(first.entries.map(\.index) == [5, 4, 3])
        #expect(first.pageCount == 2)
        #expect(log.page(1, size: 3).entries.map(\.index) == [2])
        #expect(log.page(2, size: 3).entries.isEmpty)
        #expect(EventLog().page(0, size: 16).pageCount == 1)
    }
}
