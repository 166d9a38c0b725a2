import Testing
@testable import Therapy

/// What the line delivers, from the segments the pump reports.
@Suite struct FluidPathArithmeticTests {
    static let reservoir = FluidPath.Contents.drug(.baclofen, .mcgPerML(500))
    /// After 2000 -> 500 mcg/mL, 0.1 mL of the new drug has entered: the tip
    /// still holds 0.36 mL of 2000, then 0.1 mL of 500.
    static let turning = FluidPath(segments: [
        .init(volume: .uL(360), contents: .drug(.baclofen, .mcgPerML(2000))),
        .init(volume: .uL(100), contents: reservoir),
    ], pathway: .uL(200), catheter: .uL(260))
    /// After a catheter replacement: 0.3 mL of no drug, then the pathway's 0.2 mL.
    static let replaced = FluidPath(segments: [
        .init(volume: .uL(300), contents: .noDrug),
        .init(volume: .uL(200), contents: .drug(.baclofen, .mcgPerML(2000))),
    ], pathway: .uL(200), catheter: .uL(300))

    @Test func pushingTakesTheLineFirstThenTheReservoir() throws {
        // 0.5 mL: 0.36 mL x 2000 = 720, 0.1 mL x 500 = 50, 0.04 mL x 500 = 20.
        let delivered = try #require(Self.turning.delivered(pushing: .uL(500), reservoir: Self.reservoir))
        #expect(delivered == [.baclofen: .mcg(790)])
        #expect(Self.replaced.delivered(pushing: .uL(300), reservoir: Self.reservoir) == [:])
        #expect(Self.replaced.delivered(pushing: .uL(350), reservoir: Self.reservoir) == [.baclofen: .mcg(100)])
    }

    @Test func aBolusVolumeIsFiguredFromTheSegments() throws {
        // 50 mcg from 2000 mcg/mL is 25 uL, not the 100 uL it would be at 500.
        #expect(Self.turning.volume(delivering: .mcg(50), of: .baclofen, reservoir: Self.reservoir) == .uL(25))
        // 800 mcg: all 0.36 mL (720 mcg), then 80 mcg at 500 = 0.16 mL: 0.52 mL.
        #expect(Self.turning.volume(delivering: .mcg(800), of: .baclofen, reservoir: Self.reservoir) == .uL(520))
        // No drug at the tip, or another drug: no volume delivers what is asked.
        #expect(Self.replaced.volume(delivering: .mcg(50), of: .baclofen, reservoir: Self.reservoir) == nil)
        let changed = FluidPath.full(of: .drug(.baclofen, .mcgPerML(2000)), pathway: .uL(200), catheter: .uL(260))
        #expect(changed.volume(delivering: .mg(1), of: .morphine, reservoir: .drug(.morphine, .mgPerML(10))) == nil)
    }

    @Test func primeBridgeAndExtraDrain() {
        #expect(Self.replaced.primeVolume == .uL(300))
        #expect(Self.turning.primeVolume == .zero)
        #expect(Self.turning.volumeAhead(of: Self.reservoir) == .uL(360))
        // A weaker fluid ahead drains more than the schedule: 0.36 mL of 500
        // ahead of 2000 takes what the schedule pumps for 0.09 mL: 0.27 mL more.
        let weaker = FluidPath(segments: [.init(volume: .uL(360), contents: .drug(.baclofen, .mcgPerML(500))),
                                          .init(volume: .uL(100), contents: .drug(.baclofen, .mcgPerML(2000)))],
                               pathway: .uL(200), catheter: .uL(260))
        let start = PumpTime(utcSeconds: 1_800_000_000)
        let strong = FluidPath.Contents.drug(.baclofen, .mcgPerML(2000))
        let leaving = LineTransition.figure(ahead: weaker.ahead(of: strong), reservoir: strong, dose: .mcgPerDay(400),
                                            outgoingDose: nil, volumeRate: .uLPerDay(200), from: start)
        #expect(leaving.extraDrain(volumeRate: .uLPerDay(200)) == 270_000)
        // A stronger fluid ahead drains less: never negative.
        let stronger = LineTransition.figure(ahead: Self.turning.ahead(of: Self.reservoir), reservoir: Self.reservoir,
                                             dose: .mcgPerDay(400), outgoingDose: nil, volumeRate: .uLPerDay(800), from: start)
        #expect(stronger.extraDrain(volumeRate: .uLPerDay(800)) == 0)
    }

    @Test func theTransitionEndsWhenTheLineHasLeft() throws {
        let start = try PumpTime(checkedUTCSeconds: 1_800_000_000)
        let transition = LineTransition.figure(
            ahead: Self.turning.ahead(of: Self.reservoir), reservoir: Self.reservoir, dose: .mcgPerDay(400), outgoingDose: nil,
            volumeRate: .uLPerDay(800), from: start)
        // 720 mcg at 400 mcg/day = 1.8 days.
        #expect(transition.stretches.map(\.duration) == [.seconds(155_520)])
        #expect(transition.reservoirDrugArrives?.utcSeconds == 1_800_155_520)
        // Not delivering: no time can be given.
        let stopped = LineTransition.figure(ahead: Self.turning.ahead(of: Self.reservoir), reservoir: Self.reservoir,
                                            dose: .zero, outgoingDose: nil, volumeRate: .zero, from: start)
        #expect(stopped.reservoirDrugArrives == nil)
    }
}
