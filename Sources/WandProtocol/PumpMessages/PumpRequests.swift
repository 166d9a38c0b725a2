// Requests from the host to the pump. All are sent sealed inside a session
// (see Sessions); the layouts below are of the plaintext. Offsets count from
// the opcode byte. Integers are little-endian.

/// Ask for the pump's identity and full status, and, when asked, the
/// newest page of the event log with it (the page a host reads first to
/// judge the titration history, so a change is planned in one exchange).
/// ```
/// 0  1  opcode 0x02
/// 1  1  newest event page wanted (0 or 1)
/// ```
public struct InterrogateRequest: PumpRequestMessage {
    public static let opcode = PumpOpcode.interrogate
    public var includesNewestEvents: Bool
    public init(includesNewestEvents: Bool = false) { self.includesNewestEvents = includesNewestEvents }
    public init(reading reader: inout ByteReader) throws(WireError) {
        includesNewestEvents = try reader.flag("interrogate.includesNewestEvents")
    }
    public func write(to writer: inout ByteWriter) { writer.flag(includesNewestEvents) }
}

/// Ask for the active prescription and its hash.
/// ```
/// 0  1  opcode 0x03
/// ```
public struct ReadPrescriptionRequest: PumpRequestMessage {
    public static let opcode = PumpOpcode.readPrescription
    public init() {}
    public init(reading reader: inout ByteReader) throws(WireError) {}
    public func write(to writer: inout ByteWriter) {}
}

/// Hand the pump a prescription to validate and hold, not yet active.
/// Staging replaces anything staged before.
/// ```
/// 0   1   opcode 0x04
/// 1   16  command id
/// 17  8   expiry, pump UTC seconds (Int64; RequestExpiry)
/// 25  ... WirePrescription
/// ```
public struct StagePrescription: StateChangingRequest {
    public static let opcode = PumpOpcode.stagePrescription
    public var commandId: CommandID
    public var expiry: RequestExpiry
    public var prescription: WirePrescription
    public init(commandId: CommandID, expiry: RequestExpiry, prescription: WirePrescription) {
        self.commandId = commandId
        self.expiry = expiry
        self.prescription = prescription
    }
    public init(reading reader: inout ByteReader) throws(WireError) {
        commandId = try CommandID(reading: &reader)
        expiry = try RequestExpiry(reading: &reader)
        prescription = try WirePrescription(reading: &reader)
    }
    public func write(to writer: inout ByteWriter) {
        commandId.write(to: &writer)
        expiry.write(to: &writer)
        prescription.write(to: &writer)
    }
}

/// Make the staged prescription active, if and only if its hash is `stagedHash`.
/// ```
/// 0   1   opcode 0x05
/// 1   16  command id
/// 17  8   expiry, pump UTC seconds (Int64; RequestExpiry)
/// 25  32  hash of the staged prescription (from the stage receipt)
/// ```
public struct CommitStagedPrescription: StateChangingRequest {
    public static let opcode = PumpOpcode.commitStagedPrescription
    public var commandId: CommandID
    public var expiry: RequestExpiry
    public var stagedHash: PrescriptionHash
    public init(commandId: CommandID, expiry: RequestExpiry, stagedHash: PrescriptionHash) {
        self.commandId = commandId
        self.expiry = expiry
        self.stagedHash = stagedHash
    }
    public init(reading reader: inout ByteReader) throws(WireError) {
        commandId = try CommandID(reading: &reader)
        expiry = try RequestExpiry(reading: &reader)
        stagedHash = try PrescriptionHash(reading: &reader)
    }
    public func write(to writer: inout ByteWriter) {
        commandId.write(to: &writer)
        expiry.write(to: &writer)
        stagedHash.write(to: &writer)
    }
}

/// A request whose only fields are its command id and expiry.
/// ```
/// 0   1   opcode
/// 1   16  command id
/// 17  8   expiry, pump UTC seconds (Int64; RequestExpiry)
/// ```
public protocol CommandOnlyRequest: StateChangingRequest {
    init(commandId: CommandID, expiry: RequestExpiry)
}

extension CommandOnlyRequest {
    public init(reading reader: inout ByteReader) throws(WireError) {
        let commandId = try CommandID(reading: &reader)
        self.init(commandId: commandId, expiry: try RequestExpiry(reading: &reader))
    }
    public func write(to writer: inout ByteWriter) {
        commandId.write(to: &writer)
        expiry.write(to: &writer)
    }
}

/// Drop the staged prescription. `0x06 | command id (16) | expiry (8)`.
public struct DiscardStagedPrescription: CommandOnlyRequest {
    public static let opcode = PumpOpcode.discardStagedPrescription
    public var commandId: CommandID
    public var expiry: RequestExpiry
    public init(commandId: CommandID, expiry: RequestExpiry) {
        self.commandId = commandId
        self.expiry = expiry
    }
}

/// Stop a bolus in progress. `0x08 | command id (16) | expiry (8)`.
public struct CancelBolus: CommandOnlyRequest {
    public static let opcode = PumpOpcode.cancelBolus
    public var commandId: CommandID
    public var expiry: RequestExpiry
    public init(commandId: CommandID, expiry: RequestExpiry) {
        self.commandId = commandId
        self.expiry = expiry
    }
}

/// Stop all delivery (the pump keeps its prescription). `0x09 | command id (16) | expiry (8)`.
public struct StopInfusion: CommandOnlyRequest {
    public static let opcode = PumpOpcode.stopInfusion
    public var commandId: CommandID
    public var expiry: RequestExpiry
    public init(commandId: CommandID, expiry: RequestExpiry) {
        self.commandId = commandId
        self.expiry = expiry
    }
}

/// Resume delivery of the active prescription. `0x0A | command id (16) | expiry (8)`.
public struct ResumeInfusion: CommandOnlyRequest {
    public static let opcode = PumpOpcode.resumeInfusion
    public var commandId: CommandID
    public var expiry: RequestExpiry
    public init(commandId: CommandID, expiry: RequestExpiry) {
        self.commandId = commandId
        self.expiry = expiry
    }
}

/// Enter refill: delivery pauses (a bolus in progress ends) and the pump
/// reports the residual volume it expects to be withdrawn. The refill ends
/// with `RefillComplete` or `RefillCancel`, either of which resumes delivery
/// as it was before; until then other state changes are refused
/// (`refillInProgress`). `0x0B | command id (16) | expiry (8)`.
public struct RefillBegin: CommandOnlyRequest {
    public static let opcode = PumpOpcode.refillBegin
    public var commandId: CommandID
    public var expiry: RequestExpiry
    public init(commandId: CommandID, expiry: RequestExpiry) {
        self.commandId = commandId
        self.expiry = expiry
    }
}

/// Leave refill without refilling: the way out when the refill will not be
/// completed (the residual check failed, the technician stops), so the pump
/// is not left paused. Delivery resumes exactly as it was before refill
/// begin (running, or stopped if it was stopped); the reservoir contents and
/// the prescription are unchanged. Answered with a CommandReceipt (reply
/// `0x93`); refused with `notInRefill` (0x0F) when no refill is in progress.
/// ```
/// 0   1   opcode 0x13
/// 1   16  command id
/// 17  8   expiry, pump UTC seconds (Int64; RequestExpiry)
/// ```
public struct RefillCancel: CommandOnlyRequest {
    public static let opcode = PumpOpcode.refillCancel
    public var commandId: CommandID
    public var expiry: RequestExpiry
    public init(commandId: CommandID, expiry: RequestExpiry) {
        self.commandId = commandId
        self.expiry = expiry
    }
}

/// The kinds of bolus.
public enum BolusKind: UInt8, Sendable, CaseIterable {
    /// A clinician bolus of drug on top of the prescription.
    case therapeutic = 1
    /// Pushes the old drug out of the catheter at the old concentration
    /// after a concentration change, so the new one arrives on schedule.
    case bridge = 2
    /// Fills an empty catheter (after implant or catheter revision).
    case prime = 3
}

/// Start a bolus.
/// ```
/// 0   1   opcode 0x07
/// 1   16  command id
/// 17  8   expiry, pump UTC seconds (Int64; RequestExpiry)
/// 25  1   kind (1 therapeutic, 2 bridge, 3 prime)
/// 26  4   dose, ng
/// 30  4   volume, nL (1 ... 40 000 000)
/// 34  4   duration, s (1 ... 86 400)
/// ```
public struct StartBolus: StateChangingRequest {
    public static let opcode = PumpOpcode.startBolus
    public static let maximumVolumeNanolitres: UInt32 = 40_000_000
    public var commandId: CommandID
    public var expiry: RequestExpiry
    public var kind: BolusKind
    public var doseNanograms: UInt32
    public var volumeNanolitres: UInt32
    public var durationSeconds: UInt32
    public init(commandId: CommandID, expiry: RequestExpiry, kind: BolusKind, doseNanograms: UInt32, volumeNanolitres: UInt32, durationSeconds: UInt32) {
        self.commandId = commandId
        self.expiry = expiry
        self.kind = kind
        self.doseNanograms = doseNanograms
        self.volumeNanolitres = volumeNanolitres
        self.durationSeconds = durationSeconds
    }
    public init(reading reader: inout ByteReader) throws(WireError) {
        commandId = try CommandID(reading: &reader)
        expiry = try RequestExpiry(reading: &reader)
        kind = try readEnum(BolusKind.self, &reader, "bolus.kind")
        doseNanograms = try reader.uint32("bolus.dose")
        volumeNanolitres = try reader.uint32("bolus.volume")
        guard (1...Self.maximumVolumeNanolitres).contains(volumeNanolitres) else {
            throw .invalidValue(field: "bolus.volume", value: Int64(volumeNanolitres))
        }
        durationSeconds = try reader.uint32("bolus.duration")
        guard (1...86_400).contains(durationSeconds) else {
            throw .invalidValue(field: "bolus.duration", value: Int64(durationSeconds))
        }
    }
    public func write(to writer: inout ByteWriter) {
        commandId.write(to: &writer)
        expiry.write(to: &writer)
        writer.uint8(kind.rawValue)
        writer.uint32(doseNanograms)
        writer.uint32(volumeNanolitres)
        writer.uint32(durationSeconds)
    }
}

/// Finish a refill. The reservoir then holds `added` nL of `drug` at
/// `concentration`. A concentration (or drug) different from the pump's
/// current one must carry the prescription to run with it; the pump commits
/// reservoir contents and prescription together or not at all.
/// ```
/// 0   1   opcode 0x0C
/// 1   16  command id
/// 17  8   expiry, pump UTC seconds (Int64; RequestExpiry)
/// 25  4   volume withdrawn, nL
/// 29  4   volume added, nL (1 ... 40 000 000)
/// 33  1   drug
/// 34  4   concentration, ng/mL (1 ... 100 000 000)
/// 38  1   new prescription present (0 or 1)
/// 39  ... WirePrescription, if present (its drug and concentration must
///         equal the two fields above)
/// ```
public struct RefillComplete: StateChangingRequest {
    public static let opcode = PumpOpcode.refillComplete
    public var commandId: CommandID
    public var expiry: RequestExpiry
    public var withdrawnNanolitres: UInt32
    public var addedNanolitres: UInt32
    public var drug: WireDrug
    public var concentrationNanogramsPerMillilitre: UInt32
    public var newPrescription: WirePrescription?
    public init(commandId: CommandID, expiry: RequestExpiry, withdrawnNanolitres: UInt32, addedNanolitres: UInt32, drug: WireDrug,
                concentrationNanogramsPerMillilitre: UInt32, newPrescription: WirePrescription?) {
        self.commandId = commandId
        self.expiry = expiry
        self.withdrawnNanolitres = withdrawnNanolitres
        self.addedNanolitres = addedNanolitres
        self.drug = drug
        self.concentrationNanogramsPerMillilitre = concentrationNanogramsPerMillilitre
        self.newPrescription = newPrescription
    }
    public init(reading reader: inout ByteReader) throws(WireError) {
        commandId = try CommandID(reading: &reader)
        expiry = try RequestExpiry(reading: &reader)
        withdrawnNanolitres = try reader.uint32("refill.withdrawn")
        // 0 is a real answer (an empty reservoir); more than any reservoir
        // holds is not a measurement.
        guard withdrawnNanolitres <= StartBolus.maximumVolumeNanolitres else {
            throw .invalidValue(field: "refill.withdrawn", value: Int64(withdrawnNanolitres))
        }
        addedNanolitres = try reader.uint32("refill.added")
        guard (1...StartBolus.maximumVolumeNanolitres).contains(addedNanolitres) else {
            throw .invalidValue(field: "refill.added", value: Int64(addedNanolitres))
        }
        drug = try readEnum(WireDrug.self, &reader, "refill.drug")
        concentrationNanogramsPerMillilitre = try reader.uint32("refill.concentration")
        guard (1...WirePrescription.maximumConcentration).contains(concentrationNanogramsPerMillilitre) else {
            throw .invalidValue(field: "refill.concentration", value: Int64(concentrationNanogramsPerMillilitre))
        }
        if try reader.flag("refill.newPrescription.present") {
            let prescription = try WirePrescription(reading: &reader)
            // A prescription for another drug or strength than the one in the
            // reservoir would dose wrongly by that ratio: refuse it as malformed.
            guard prescription.drug == drug else {
                throw .invalidValue(field: "refill.newPrescription.drug", value: Int64(prescription.drug.rawValue))
            }
            guard prescription.concentrationNanogramsPerMillilitre == concentrationNanogramsPerMillilitre else {
                throw .invalidValue(field: "refill.newPrescription.concentration",
                                    value: Int64(prescription.concentrationNanogramsPerMillilitre))
            }
            newPrescription = prescription
        } else {
            newPrescription = nil
        }
    }
    public func write(to writer: inout ByteWriter) {
        commandId.write(to: &writer)
        expiry.write(to: &writer)
        writer.uint32(withdrawnNanolitres)
        writer.uint32(addedNanolitres)
        writer.uint8(drug.rawValue)
        writer.uint32(concentrationNanogramsPerMillilitre)
        if let newPrescription {
            writer.flag(true)
            newPrescription.write(to: &writer)
        } else {
            writer.flag(false)
        }
    }
}

/// Set the low-reservoir alarm threshold.
/// ```
/// 0   1   opcode 0x0D
/// 1   16  command id
/// 17  8   expiry, pump UTC seconds (Int64; RequestExpiry)
/// 25  4   low-reservoir alarm threshold, nL (0 = alarm off is not allowed:
///         1 ... 40 000 000)
/// ```
public struct SetAlarmConfiguration: StateChangingRequest {
    public static let opcode = PumpOpcode.setAlarmConfiguration
    public var commandId: CommandID
    public var expiry: RequestExpiry
    public var lowReservoirThresholdNanolitres: UInt32
    public init(commandId: CommandID, expiry: RequestExpiry, lowReservoirThresholdNanolitres: UInt32) {
        self.commandId = commandId
        self.expiry = expiry
        self.lowReservoirThresholdNanolitres = lowReservoirThresholdNanolitres
    }
    public init(reading reader: inout ByteReader) throws(WireError) {
        commandId = try CommandID(reading: &reader)
        expiry = try RequestExpiry(reading: &reader)
        lowReservoirThresholdNanolitres = try reader.uint32("alarm.lowReservoirThreshold")
        guard (1...StartBolus.maximumVolumeNanolitres).contains(lowReservoirThresholdNanolitres) else {
            throw .invalidValue(field: "alarm.lowReservoirThreshold", value: Int64(lowReservoirThresholdNanolitres))
        }
    }
    public func write(to writer: inout ByteWriter) {
        commandId.write(to: &writer)
        expiry.write(to: &writer)
        writer.uint32(lowReservoirThresholdNanolitres)
    }
}

/// Read one page of the event log (page 0 holds the newest events).
/// ```
/// 0   1   opcode 0x0E
/// 1   2   page index
/// ```
public struct ReadEventLog: PumpRequestMessage {
    public static let opcode = PumpOpcode.readEventLog
    public var page: UInt16
    public init(page: UInt16) { self.page = page }
    public init(reading reader: inout ByteReader) throws(WireError) { page = try reader.uint16("eventLog.page") }
    public func write(to writer: inout ByteWriter) { writer.uint16(page) }
}

/// Read the pump's clock. `0x0F`.
public struct ReadClock: PumpRequestMessage {
    public static let opcode = PumpOpcode.readClock
    public init() {}
    public init(reading reader: inout ByteReader) throws(WireError) {}
    public func write(to writer: inout ByteWriter) {}
}

/// Set the pump's clock.
/// ```
/// 0   1   opcode 0x10
/// 1   16  command id
/// 17  8   expiry, pump UTC seconds (Int64; RequestExpiry), on the clock
///         as it is before this request sets it
/// 25  8   UTC seconds since 1970 (Int64, >= 0)
/// 33  2   zone offset, minutes east of UTC (Int16, -720 ... 840)
/// ```
public struct SetClock: StateChangingRequest {
    public static let opcode = PumpOpcode.setClock
    public var commandId: CommandID
    public var expiry: RequestExpiry
    public var time: WireTime
    public init(commandId: CommandID, expiry: RequestExpiry, time: WireTime) {
        self.commandId = commandId
        self.expiry = expiry
        self.time = time
    }
    public init(reading reader: inout ByteReader) throws(WireError) {
        commandId = try CommandID(reading: &reader)
        expiry = try RequestExpiry(reading: &reader)
        time = try WireTime(reading: &reader)
    }
    public func write(to writer: inout ByteWriter) {
        commandId.write(to: &writer)
        expiry.write(to: &writer)
        time.write(to: &writer)
    }
}

/// Ask what became of a command id (after a lost reply). Does not execute anything.
/// ```
/// 0   1   opcode 0x11
/// 1   16  command id asked about
/// ```
public struct QueryCommandOutcome: PumpRequestMessage {
    public static let opcode = PumpOpcode.queryCommandOutcome
    public var commandId: CommandID
    public init(commandId: CommandID) { self.commandId = commandId }
    public init(reading reader: inout ByteReader) throws(WireError) { commandId = try CommandID(reading: &reader) }
    public func write(to writer: inout ByteWriter) { commandId.write(to: &writer) }
}

/// End the session; the pump forgets the session keys. It may carry the
/// host's audit head for the pump to witness, as a record audit anchor
/// (0x16) would: the host sends it last and need not wait for the reply,
/// so anchoring costs no exchange of its own. A host that must know the
/// anchor was kept reads the anchors with 0x16 (report only).
/// ```
/// 0   1   opcode 0x12
/// 1   1   anchor present (0 or 1)
/// 2   16  log id, if present
/// 18  8   row count UInt64 (1 ... 2^63 - 1), if present
/// 26  32  last row's HMAC-SHA256, if present
/// ```
public struct CloseSession: PumpRequestMessage {
    public static let opcode = PumpOpcode.closeSession
    /// The audit head to record before closing, in mode `.record`.
    public var anchor: RecordAuditAnchor?
    public init(anchor: RecordAuditAnchor? = nil) { self.anchor = anchor }
    public init(reading reader: inout ByteReader) throws(WireError) {
        guard try reader.flag("closeSession.anchorPresent") else {
            anchor = nil
            return
        }
        let logID = try reader.bytes(RecordAuditAnchor.logIDLength, "closeSession.logId")
        let rowCount = try reader.uint64("closeSession.rowCount")
        guard (1...UInt64(Int64.max)).contains(rowCount) else {
            throw .invalidValue(field: "closeSession.rowCount", value: Int64(truncatingIfNeeded: rowCount))
        }
        anchor = RecordAuditAnchor(logID: logID, rowCount: rowCount,
                                   rowMAC: try reader.bytes(RecordAuditAnchor.macLength, "closeSession.mac"))
    }
    public func write(to writer: inout ByteWriter) {
        guard let anchor, anchor.mode == .record else {
            writer.flag(false)
            return
        }
        writer.flag(true)
        writeAnchorFields(logID: anchor.logID, rowCount: anchor.rowCount, rowMAC: anchor.rowMAC, to: &writer)
    }
}

/// Any sealed request, by opcode: the type enum the pump dispatches on.
public enum PumpRequest: WireMessage {
    case interrogate(InterrogateRequest)
    case readPrescription(ReadPrescriptionRequest)
    case stagePrescription(StagePrescription)
    case commitStagedPrescription(CommitStagedPrescription)
    case discardStagedPrescription(DiscardStagedPrescription)
    case startBolus(StartBolus)
    case cancelBolus(CancelBolus)
    case stopInfusion(StopInfusion)
    case resumeInfusion(ResumeInfusion)
    case refillBegin(RefillBegin)
    case refillComplete(RefillComplete)
    case refillCancel(RefillCancel)
    case setFluidPath(SetFluidPath)
    case rekey(Rekey)
    case setAlarmConfiguration(SetAlarmConfiguration)
    case readEventLog(ReadEventLog)
    case readClock(ReadClock)
    case setClock(SetClock)
    case queryCommandOutcome(QueryCommandOutcome)
    case closeSession(CloseSession)
    case recordAuditAnchor(RecordAuditAnchor)

    public init(decoding bytes: [UInt8]) throws(WireError) {
        guard let first = bytes.first else { throw .truncated(field: "pump.opcode", needed: 1, available: 0) }
        guard let opcode = PumpOpcode(rawValue: first), opcode != .openSession else { throw .unknownOpcode(first) }
        switch opcode {
        case .openSession: throw .unknownOpcode(first)
        case .interrogate: self = .interrogate(try .init(decoding: bytes))
        case .readPrescription: self = .readPrescription(try .init(decoding: bytes))
        case .stagePrescription: self = .stagePrescription(try .init(decoding: bytes))
        case .commitStagedPrescription: self = .commitStagedPrescription(try .init(decoding: bytes))
        case .discardStagedPrescription: self = .discardStagedPrescription(try .init(decoding: bytes))
        case .startBolus: self = .startBolus(try .init(decoding: bytes))
        case .cancelBolus: self = .cancelBolus(try .init(decoding: bytes))
        case .stopInfusion: self = .stopInfusion(try .init(decoding: bytes))
        case .resumeInfusion: self = .resumeInfusion(try .init(decoding: bytes))
        case .refillBegin: self = .refillBegin(try .init(decoding: bytes))
        case .refillComplete: self = .refillComplete(try .init(decoding: bytes))
        case .refillCancel: self = .refillCancel(try .init(decoding: bytes))
        case .setFluidPath: self = .setFluidPath(try .init(decoding: bytes))
        case .rekey: self = .rekey(try .init(decoding: bytes))
        case .setAlarmConfiguration: self = .setAlarmConfiguration(try .init(decoding: bytes))
        case .readEventLog: self = .readEventLog(try .init(decoding: bytes))
        case .readClock: self = .readClock(try .init(decoding: bytes))
        case .setClock: self = .setClock(try .init(decoding: bytes))
        case .queryCommandOutcome: self = .queryCommandOutcome(try .init(decoding: bytes))
        case .closeSession: self = .closeSession(try .init(decoding: bytes))
        case .recordAuditAnchor: self = .recordAuditAnchor(try .init(decoding: bytes))
        }
    }

    /// The message inside.
    public var message: any PumpRequestMessage {
        switch self {
        case .interrogate(let m): m
        case .readPrescription(let m): m
        case .stagePrescription(let m): m
        case .commitStagedPrescription(let m): m
        case .discardStagedPrescription(let m): m
        case .startBolus(let m): m
        case .cancelBolus(let m): m
        case .stopInfusion(let m): m
        case .resumeInfusion(let m): m
        case .refillBegin(let m): m
        case .refillComplete(let m): m
        case .refillCancel(let m): m
        case .setFluidPath(let m): m
        case .rekey(let m): m
        case .setAlarmConfiguration(let m): m
        case .readEventLog(let m): m
        case .readClock(let m): m
        case .setClock(let m): m
        case .queryCommandOutcome(let m): m
        case .closeSession(let m): m
        case .recordAuditAnchor(let m): m
        }
    }

    /// The opcode of the message inside.
    public var opcode: PumpOpcode { type(of: message).opcode }

    /// The command id, for state-changing requests.
    public var commandId: CommandID? { (message as? any StateChangingRequest)?.commandId }

    public var encoded: [UInt8] { message.encoded }
}
