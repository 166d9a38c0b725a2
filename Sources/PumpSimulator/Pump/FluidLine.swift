/// What the pump's internal pathway and the catheter hold, in order from
/// the catheter tip to the pump outlet.
///
/// Delivery pushes reservoir fluid in at the pump end and pushes the same
/// volume out of the tip into the patient, so after a concentration change
/// the old drug keeps coming out until the line has turned over, and a
/// priming bolus into an empty line delivers no drug until the line is full.
/// Each segment keeps its own drug and concentration; drug is counted
/// exactly in FineVolume units times ng/mL.
public struct FluidLine: Codable, Sendable, Equatable {
    public struct Segment: Codable, Sendable, Equatable {
        public var volume: FineVolume
        /// Wire drug code; 0 for no drug (air or saline).
        public var drug: UInt8
        /// ng/mL; 0 when there is no drug.
        public var concentration: Int64

        public var holdsNoDrug: Bool { drug == 0 }

        func sameContents(_ other: Segment) -> Bool { drug == other.drug && concentration == other.concentration }
    }

    /// What left the tip: drug code and FineVolume units x ng/mL.
    public struct Outflow: Sendable, Equatable {
        public var byDrug: [UInt8: Int128] = [:]
        public var total: Int128 { byDrug.values.reduce(0, +) }
    }

    /// Tip first: `segments[0]` leaves the line next.
    public private(set) var segments: [Segment]
    /// The pump's internal pathway (fixed by the model) and the catheter.
    public let pathway: FineVolume
    public private(set) var catheter: FineVolume

    public var capacity: FineVolume { pathway + catheter }

    /// A line of pathway and catheter holding one fluid throughout.
    public init(pathway: FineVolume, catheter: FineVolume, drug: UInt8, concentration: Int64) {
        self.pathway = pathway
        self.catheter = catheter
        let total = pathway + catheter
        segments = total.units > 0 ? [Segment(volume: total, drug: drug, concentration: drug == 0 ? 0 : concentration)] : []
    }

    /// The contents that reach the patient next.
    public var tip: Segment? { segments.first }
    public var tipConcentration: Int64 { segments.first?.concentration ?? 0 }

    /// Whether any segment holds `drug`.
    public func holds(drug: UInt8) -> Bool { segments.contains { $0.drug == drug } }

    /// Pushes `volume` of fluid in at the pump end and returns what left at
    /// the tip (divide by 86400 x 10^6 for ng).
    public mutating func push(_ volume: FineVolume, drug: UInt8, concentration: Int64) -> Outflow {
        var outflow = Outflow()
        guard volume.units > 0 else { return outflow }
        let incoming = Segment(volume: volume, drug: drug, concentration: drug == 0 ? 0 : concentration)
        guard capacity.units > 0 else {
            outflow.byDrug[drug, default: 0] += Int128(volume.units) * Int128(incoming.concentration)
            return outflow
        }
        if let last = segments.last, last.sameContents(incoming) {
            segments[segments.count - 1].volume = last.volume + volume
        } else {
            segments.append(incoming)
        }
        var excess = volume
        // Drain from the tip until the line holds its capacity again.
        while excess.units > 0, let first = segments.first {
            let taken = min(first.volume, excess)
            outflow.byDrug[first.drug, default: 0] += Int128(taken.units) * Int128(first.concentration)
            excess = excess - taken
            if taken == first.volume { segments.removeFirst() } else { segments[0].volume = first.volume - taken }
        }
        return outflow
    }

    /// After an implant: neither pathway nor catheter holds drug.
    public mutating func implant(catheter: FineVolume) {
        self.catheter = catheter
        let total = capacity
        segments = total.units > 0 ? [Segment(volume: total, drug: 0, concentration: 0)] : []
    }

    /// After a catheter replacement: the new catheter holds no drug; the
    /// pathway keeps what it held (the pump end of the old line).
    public mutating func replaceCatheter(with catheter: FineVolume) {
        var kept: [Segment] = []
        var remaining = pathway
        for segment in segments.reversed() where remaining.units > 0 {
            let taken = min(segment.volume, remaining)
            kept.insert(Segment(volume: taken, drug: segment.drug, concentration: segment.concentration), at: 0)
            remaining = remaining - taken
        }
        self.catheter = catheter
        var line: [Segment] = catheter.units > 0 ? [Segment(volume: catheter, drug: 0, concentration: 0)] : []
        for segment in kept {
            if let last = line.last, last.sameContents(segment) {
                line[line.count - 1].volume = last.volume + segment.volume
            } else {
                line.append(segment)
            }
        }
        segments = line
    }

    /// The volume that must still be pushed before fluid at the pump end
    /// now reaches the tip: the whole line.
    public var turnoverVolume: FineVolume { capacity }
}
