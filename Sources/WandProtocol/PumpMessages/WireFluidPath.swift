/// What one stretch of the fluid path holds.
public enum WireLineContents: Sendable, Equatable, Hashable {
    /// No drug: air or saline, after an implant or a catheter replacement.
    case noDrug
    case drug(WireDrug, concentrationNanogramsPerMillilitre: UInt32)
}

/// The fluid path between the reservoir and the catheter tip as the pump
/// keeps it: the pump knows every refill, prime and catheter change, so
/// any host (a new laptop, an empty state directory) learns from it what
/// the line holds and therefore what a bolus, a prime or the next hours of
/// delivery put into the patient.
///
/// ```
/// offset  size  field
/// 0       1     segment count s (1 ... 8), tip first
/// 1       9s    each: volume nL UInt32 (1 ... 40 000 000),
///               drug UInt8 (0 no drug, 1 ... 3),
///               concentration ng/mL UInt32 (0 when drug is 0, else 1 ... 100 000 000)
/// +0      4     pump pathway volume, nL (1 ... 2 000 000)
/// +4      4     catheter volume, nL (0 ... 2 000 000)
/// +8      1     outgoing prescription present (0/1)
/// +9      ...   outgoing Prescription (5.1), if present
/// then    1     bolus in progress present (0/1)
/// then    9     if present: kind UInt8 (1 therapeutic, 2 bridge, 3 prime,
///               4 patient), remaining volume nL UInt32 (1 ... 40 000 000),
///               remaining seconds UInt32 (1 ... 86 400)
/// ```
/// The segment volumes add up to pathway + catheter exactly; two adjacent
/// segments never hold the same contents (the pump merges them). An
/// outgoing prescription is present exactly when some segment holds a drug
/// other than the reservoir's (after a drug change, until that drug has
/// left the tip); its drug is that drug.
public struct WireFluidPath: Sendable, Equatable, WireFields {
    public struct Segment: Sendable, Equatable, Hashable {
        public var volumeNanolitres: UInt32
        public var contents: WireLineContents

        public init(volumeNanolitres: UInt32, contents: WireLineContents) {
            self.volumeNanolitres = volumeNanolitres
            self.contents = contents
        }
    }

    public enum BolusKindInProgress: UInt8, Sendable, CaseIterable {
        case therapeutic = 1, bridge = 2, prime = 3, patient = 4
    }

    public struct BolusInProgress: Sendable, Equatable {
        public var kind: BolusKindInProgress
        public var remainingNanolitres: UInt32
        public var remainingSeconds: UInt32

        public init(kind: BolusKindInProgress, remainingNanolitres: UInt32, remainingSeconds: UInt32) {
            self.kind = kind
            self.remainingNanolitres = remainingNanolitres
            self.remainingSeconds = remainingSeconds
        }
    }

    public static let maximumSegments = 8
    public static let maximumPathwayNanolitres: UInt32 = 2_000_000
    public static let maximumCatheterNanolitres: UInt32 = 2_000_000

    /// Tip first: `segments[0]` reaches the patient next.
    public var segments: [Segment]
    public var pathwayNanolitres: UInt32
    public var catheterNanolitres: UInt32
    public var outgoingPrescription: WirePrescription?
    public var bolus: BolusInProgress?

    public init(segments: [Segment], pathwayNanolitres: UInt32, catheterNanolitres: UInt32,
                outgoingPrescription: WirePrescription? = nil, bolus: BolusInProgress? = nil) {
        self.segments = segments
        self.pathwayNanolitres = pathwayNanolitres
        self.catheterNanolitres = catheterNanolitres
        self.outgoingPrescription = outgoingPrescription
        self.bolus = bolus
    }

    public init(reading reader: inout ByteReader) throws(WireError) {
        let count = Int(try reader.uint8("fluidPath.segmentCount"))
        guard (1...Self.maximumSegments).contains(count) else {
            throw .tooMany(field: "fluidPath.segments", count: count, maximum: Self.maximumSegments)
        }
        var segments: [Segment] = []
        var total: UInt64 = 0
        for _ in 0..<count {
            let volume = try reader.uint32("fluidPath.segment.volume")
            guard (1...StartBolus.maximumVolumeNanolitres).contains(volume) else {
                throw .invalidValue(field: "fluidPath.segment.volume", value: Int64(volume))
            }
            let drugCode = try reader.uint8("fluidPath.segment.drug")
            let concentration = try reader.uint32("fluidPath.segment.concentration")
            let contents: WireLineContents
            if drugCode == 0 {
                guard concentration == 0 else {
                    throw .invalidValue(field: "fluidPath.segment.concentration", value: Int64(concentration))
                }
                contents = .noDrug
            } else {
                guard let drug = WireDrug(rawValue: drugCode) else {
                    throw .invalidValue(field: "fluidPath.segment.drug", value: Int64(drugCode))
                }
                guard (1...WirePrescription.maximumConcentration).contains(concentration) else {
                    throw .invalidValue(field: "fluidPath.segment.concentration", value: Int64(concentration))
                }
                contents = .drug(drug, concentrationNanogramsPerMillilitre: concentration)
            }
            if let previous = segments.last, previous.contents == contents {
                throw .invalidValue(field: "fluidPath.segment.contents", value: Int64(drugCode))
            }
            segments.append(Segment(volumeNanolitres: volume, contents: contents))
            total += UInt64(volume)
        }
        pathwayNanolitres = try reader.uint32("fluidPath.pathway")
        guard (1...Self.maximumPathwayNanolitres).contains(pathwayNanolitres) else {
            throw .invalidValue(field: "fluidPath.pathway", value: Int64(pathwayNanolitres))
        }
        catheterNanolitres = try reader.uint32("fluidPath.catheter")
        guard catheterNanolitres <= Self.maximumCatheterNanolitres else {
            throw .invalidValue(field: "fluidPath.catheter", value: Int64(catheterNanolitres))
        }
        // What the segments hold is the whole line, no more and no less: a
        // report that loses or invents volume would misstate the next dose.
        guard total == UInt64(pathwayNanolitres) + UInt64(catheterNanolitres) else {
            throw .invalidValue(field: "fluidPath.segments.total", value: Int64(total))
        }
        self.segments = segments
        outgoingPrescription = try reader.flag("fluidPath.outgoing.present") ? try WirePrescription(reading: &reader) : nil
        if try reader.flag("fluidPath.bolus.present") {
            let kind = try readEnum(BolusKindInProgress.self, &reader, "fluidPath.bolus.kind")
            let remaining = try reader.uint32("fluidPath.bolus.remaining")
            guard (1...StartBolus.maximumVolumeNanolitres).contains(remaining) else {
                throw .invalidValue(field: "fluidPath.bolus.remaining", value: Int64(remaining))
            }
            let seconds = try reader.uint32("fluidPath.bolus.seconds")
            guard (1...86_400).contains(seconds) else {
                throw .invalidValue(field: "fluidPath.bolus.seconds", value: Int64(seconds))
            }
            bolus = BolusInProgress(kind: kind, remainingNanolitres: remaining, remainingSeconds: seconds)
        } else {
            bolus = nil
        }
    }

    public func write(to writer: inout ByteWriter) {
        writer.uint8(UInt8(truncatingIfNeeded: segments.count))
        for segment in segments {
            writer.uint32(segment.volumeNanolitres)
            switch segment.contents {
            case .noDrug:
                writer.uint8(0)
                writer.uint32(0)
            case let .drug(drug, concentration):
                writer.uint8(drug.rawValue)
                writer.uint32(concentration)
            }
        }
        writer.uint32(pathwayNanolitres)
        writer.uint32(catheterNanolitres)
        if let outgoingPrescription {
            writer.flag(true)
            outgoingPrescription.write(to: &writer)
        } else {
            writer.flag(false)
        }
        if let bolus {
            writer.flag(true)
            writer.uint8(bolus.kind.rawValue)
            writer.uint32(bolus.remainingNanolitres)
            writer.uint32(bolus.remainingSeconds)
        } else {
            writer.flag(false)
        }
    }
}

/// What changed in the fluid path, for `SetFluidPath`.
public enum FluidPathEvent: UInt8, Sendable, CaseIterable {
    /// A new pump and catheter: neither the pump pathway nor the catheter
    /// holds drug.
    case implant = 1
    /// The catheter was replaced (revision, pump replacement with a new
    /// catheter): the catheter holds no drug, the pathway keeps its contents.
    case catheterReplaced = 2
}

/// Record a change of the fluid path made by the surgeon: what the line
/// holds afterwards, so that the prime and every later dose are figured
/// from it.
/// ```
/// 0   1   opcode 0x14
/// 1   16  command id
/// 17  8   expiry, pump UTC seconds (Int64; RequestExpiry)
/// 25  1   event (1 implant, 2 catheter replaced)
/// 26  4   catheter volume, nL (1 ... 2 000 000)
/// ```
public struct SetFluidPath: StateChangingRequest {
    public static let opcode = PumpOpcode.setFluidPath
    public var commandId: CommandID
    public var expiry: RequestExpiry
    public var event: FluidPathEvent
    public var catheterNanolitres: UInt32

    public init(commandId: CommandID, expiry: RequestExpiry, event: FluidPathEvent, catheterNanolitres: UInt32) {
        self.commandId = commandId
        self.expiry = expiry
        self.event = event
        self.catheterNanolitres = catheterNanolitres
    }

    public init(reading reader: inout ByteReader) throws(WireError) {
        commandId = try CommandID(reading: &reader)
        expiry = try RequestExpiry(reading: &reader)
        event = try readEnum(FluidPathEvent.self, &reader, "fluidPath.event")
        catheterNanolitres = try reader.uint32("fluidPath.catheter")
        guard (1...WireFluidPath.maximumCatheterNanolitres).contains(catheterNanolitres) else {
            throw .invalidValue(field: "fluidPath.catheter", value: Int64(catheterNanolitres))
        }
    }

    public func write(to writer: inout ByteWriter) {
        commandId.write(to: &writer)
        expiry.write(to: &writer)
        writer.uint8(event.rawValue)
        writer.uint32(catheterNanolitres)
    }
}
