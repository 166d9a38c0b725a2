/// Pump message opcodes. A request's first plaintext byte is its opcode;
/// the reply's first byte is the opcode with bit 7 set.
public enum PumpOpcode: UInt8, Sendable, CaseIterable {
    /// Unsealed handshake (see Sessions).
    case openSession = 0x01
    case interrogate = 0x02
    case readPrescription = 0x03
    case stagePrescription = 0x04
    case commitStagedPrescription = 0x05
    case discardStagedPrescription = 0x06
    case startBolus = 0x07
    case cancelBolus = 0x08
    case stopInfusion = 0x09
    case resumeInfusion = 0x0A
    case refillBegin = 0x0B
    case refillComplete = 0x0C
    case setAlarmConfiguration = 0x0D
    case readEventLog = 0x0E
    case readClock = 0x0F
    case setClock = 0x10
    case queryCommandOutcome = 0x11
    case closeSession = 0x12
    /// Leave refill without refilling: delivery resumes as it was before
    /// refill begin, reservoir and prescription unchanged.
    case refillCancel = 0x13
    /// Record an implant or a catheter replacement: what the line holds.
    case setFluidPath = 0x14
    /// A new long-term key for the next session (revokes the old key).
    case rekey = 0x15
    /// Record (or only report) the host's audit head: the pump witnesses
    /// the host's log. No command id: it changes no therapy (PROTOCOL.md 5).
    case recordAuditAnchor = 0x16

    /// The first byte of the pump's reply.
    public var replyOpcode: UInt8 { rawValue | 0x80 }

    /// Whether the command changes pump state and so carries a command id
    /// and an expiry, and is executed at most once.
    public var changesState: Bool {
        switch self {
        case .stagePrescription, .commitStagedPrescription, .discardStagedPrescription, .startBolus,
             .cancelBolus, .stopInfusion, .resumeInfusion, .refillBegin, .refillComplete, .refillCancel,
             .setAlarmConfiguration, .setClock, .setFluidPath, .rekey:
            true
        case .openSession, .interrogate, .readPrescription, .readEventLog, .readClock,
             .queryCommandOutcome, .closeSession, .recordAuditAnchor:
            false
        }
    }
}

/// A request that is one pump message: its opcode then its fields.
public protocol PumpRequestMessage: WireFields, WireMessage {
    /// The opcode that introduces this message.
    static var opcode: PumpOpcode { get }
}

extension PumpRequestMessage {
    public init(decoding bytes: [UInt8]) throws(WireError) {
        var reader = ByteReader(bytes)
        try expectOpcode(Self.opcode.rawValue, &reader)
        try self.init(reading: &reader)
        try reader.finish()
    }

    public var encoded: [UInt8] {
        var writer = ByteWriter()
        writer.uint8(Self.opcode.rawValue)
        write(to: &writer)
        return writer.bytes
    }
}

/// A state-changing request: its first field is a command id, its second
/// the pump time after which it must not be carried out.
public protocol StateChangingRequest: PumpRequestMessage {
    /// The id under which the pump records this command's outcome.
    var commandId: CommandID { get }
    /// The pump time after which the pump refuses it (`requestExpired`).
    var expiry: RequestExpiry { get }
}
