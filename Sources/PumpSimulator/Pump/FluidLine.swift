/// What the pump's internal pathway and the catheter hold, in order from
/// the pump outlet to the catheter tip.
///
/// Delivery pushes reservoir fluid in at the pump end and pushes the same
/// volume out of the tip into the patient, so after a concentration change
/// the old drug keeps coming out until the line has turned over, and a
/// priming bolus into an empty line delivers no drug until the line is full.
/// Each segment keeps its own concentration; drug is counted exactly in
/// FineVolume units times ng/mL.
public struct FluidLine: Codable, Sendable, Equatable {
    public struct Segment: Codable, Sendable, Equatable {
        public var volume: FineVolume
        /// ng/mL; 0 for an empty (air or saline) line.
        public var concentration: Int64
    }

    /// Tip first: `segments[0]` leaves the line next.
    public private(set) var segments: [Segment]
    public let capacity: FineVolume

    /// A line of `capacity` holding one fluid throughout.
    public init(capacity: FineVolume, concentration: Int64) {
        self.capacity = capacity
        segments = capacity.units > 0 ? [Segment(volume: capacity, concentration: concentration)] : []
    }

    /// The concentration that reaches the patient next.
    public var tipConcentration: Int64 { segments.first?.concentration ?? 0 }

    /// Pushes `volume` of fluid at `concentration` in at the pump end and
    /// returns the drug that left at the tip, in FineVolume units x ng/mL
    /// (divide by 86400 x 10^6 for ng).
    public mutating func push(_ volume: FineVolume, concentration: Int64) -> Int128 {
        guard volume.units > 0 else { return 0 }
        guard capacity.units > 0 else { return Int128(volume.units) * Int128(concentration) }
        if let last = segments.last, last.concentration == concentration {
            segments[segments.count - 1].volume = last.volume + volume
        } else {
            segments.append(Segment(volume: volume, concentration: concentration))
        }
        var excess = volume
        var drug: Int128 = 0
        // Drain from the tip until the line holds its capacity again.
        while excess.units > 0, let first = segments.first {
            let taken = min(first.volume, excess)
            drug += Int128(taken.units) * Int128(first.concentration)
            excess = excess - taken
            if taken == first.volume { segments.removeFirst() } else { segments[0].volume = first.volume - taken }
        }
        return drug
    }

    /// The volume that must still be pushed before fluid at the pump end
    /// now reaches the tip: the whole line.
    public var turnoverVolume: FineVolume { capacity }
}
