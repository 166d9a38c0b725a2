/// What the line between the reservoir and the catheter tip holds, as the
/// pump reports it: segments from the tip to the pump outlet.
///
/// Everything the pump pushes enters at the pump end and pushes the same
/// volume out of the tip, so what reaches the patient next is the line's
/// contents, not the reservoir's. Every dose that a bolus, a prime or the
/// next hours of delivery put into the patient is figured from here, never
/// from what a technician believes the line holds.
public struct FluidPath: Sendable, Equatable {
    public enum Contents: Sendable, Equatable, Hashable {
        /// Air or saline: after an implant or a catheter replacement.
        case noDrug
        case drug(Drug, Concentration)

        public var drug: Drug? {
            if case .drug(let drug, _) = self { return drug }
            return nil
        }
    }

    public struct Segment: Sendable, Equatable {
        public var volume: Volume
        public var contents: Contents

        public init(volume: Volume, contents: Contents) {
            self.volume = volume
            self.contents = contents
        }
    }

    /// Tip first.
    public var segments: [Segment]
    public var pathway: Volume
    public var catheter: Volume

    public init(segments: [Segment], pathway: Volume, catheter: Volume) {
        self.segments = segments
        self.pathway = pathway
        self.catheter = catheter
    }

    /// A line full of one fluid.
    public static func full(of contents: Contents, pathway: Volume, catheter: Volume) -> FluidPath {
        FluidPath(segments: [Segment(volume: .nL(pathway.baseValue.saturatingAdd(catheter.baseValue)), contents: contents)], pathway: pathway, catheter: catheter)
    }

    public var volume: Volume { .nL(pathway.baseValue.saturatingAdd(catheter.baseValue)) }
    public var tip: Contents? { segments.first?.contents }

    /// Whether the patient receives no drug from the line until it is
    /// primed: the tip holds no drug.
    public var tipHoldsNoDrug: Bool { tip == .noDrug }

    /// The volume to prime: from the tip to the end of the last stretch
    /// that holds no drug. Zero for a line that holds drug throughout.
    public var primeVolume: Volume {
        var total: Int64 = 0, through: Int64 = 0
        for segment in segments {
            total = total.saturatingAdd(segment.volume.baseValue)
            if segment.contents == .noDrug { through = total }
        }
        return .nL(through)
    }

    /// The segments ahead of the reservoir's fluid: what still reaches the
    /// patient before the drug now in the reservoir does.
    public func ahead(of reservoir: Contents) -> [Segment] {
        var segments = self.segments
        while let last = segments.last, last.contents == reservoir { segments.removeLast() }
        return segments
    }

    /// The volume of the segments ahead of the reservoir's fluid.
    public func volumeAhead(of reservoir: Contents) -> Volume {
        .nL(ahead(of: reservoir).reduce(0) { $0.saturatingAdd($1.volume.baseValue) })
    }

    /// What reaches the patient when `volume` is pushed in at the pump end
    /// with `reservoir` behind the line: drug by drug, the line's contents
    /// first, then the reservoir's. Nil when a figure overflows.
    public func delivered(pushing volume: Volume, reservoir: Contents) -> [Drug: Mass]? {
        var remaining = max(0, volume.baseValue)
        var result: [Drug: Mass] = [:]
        func add(_ contents: Contents, _ nanolitres: Int64) -> Bool {
            guard nanolitres > 0, case .drug(let drug, let concentration) = contents else { return true }
            guard let mass = DoseArithmetic.dose(in: .nL(nanolitres), at: concentration),
                  let sum = Exact.add(result[drug]?.baseValue ?? 0, mass.baseValue) else { return false }
            result[drug] = Mass(baseValue: sum)
            return true
        }
        for segment in segments where remaining > 0 {
            let taken = min(remaining, max(0, segment.volume.baseValue))
            guard add(segment.contents, taken) else { return nil }
            remaining -= taken
        }
        guard add(reservoir, remaining) else { return nil }
        return result
    }

    /// The volume to push so that `dose` of `drug` reaches the patient,
    /// taking the line's segments first, then the reservoir's. Nil when
    /// another drug or no drug stands in the way (the bolus would not
    /// deliver what it says), or a figure overflows.
    public func volume(delivering dose: Mass, of drug: Drug, reservoir: Contents) -> Volume? {
        var needed = dose.baseValue
        var volume: Int64 = 0
        // Walk the segments in order, each giving at most what it holds.
        var remainingSegments = segments[...]
        while needed > 0 {
            let contents: Contents
            let available: Int64?
            if let segment = remainingSegments.first {
                contents = segment.contents
                available = segment.volume.baseValue
                remainingSegments = remainingSegments.dropFirst()
            } else {
                contents = reservoir
                available = nil
            }
            guard case .drug(let held, let concentration) = contents, held == drug, concentration.baseValue > 0 else { return nil }
            let all = available.flatMap { DoseArithmetic.dose(in: .nL($0), at: concentration)?.baseValue }
            if let available, let all, all < needed {
                needed -= all
                guard let sum = Exact.add(volume, available) else { return nil }
                volume = sum
            } else {
                guard let part = DoseArithmetic.volume(holding: Mass(baseValue: needed), at: concentration),
                      let sum = Exact.add(volume, part.baseValue) else { return nil }
                volume = sum
                needed = 0
            }
        }
        return .nL(volume)
    }
}
