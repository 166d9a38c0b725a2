// Reply bodies from the pump. A reply's plaintext is
//   opcode | 0x80  (1) | status (1: 0 done, else PumpRefusal) | body
// and the body is present only when the status is 0. Offsets below count
// from the first byte of the body.
//
// Every command id in a reply must not be the reserved all-zero id, and
// every UTC-seconds field must lie in 0 ... 253 402 300 799 (9999-12-31
// 23:59:59Z); a reply breaking either does not decode (WireError), which the
// host treats as a malformed reply: the pump answered, but what it said
// cannot be believed, so the request's outcome is unknown.

/// A reply body that names the command it answers.
public protocol CommandAnswer: Sendable {
    /// The command id the pump says this answers.
    var commandId: CommandID { get }
}

extension CommandAnswer {
    /// Whether this answers the command the host sent with `sent`. A host
    /// acts on a receipt only when this is true; otherwise the receipt is
    /// about another command, and the sent one's outcome is unknown.
    public func answers(_ sent: CommandID) -> Bool { commandId.matches(sent) }
}

/// The active prescription: reply body to read prescription (0x83).
/// ```
/// 0    ...  WirePrescription
/// then 32   its hash
/// ```
public struct PrescriptionReport: Sendable, Equatable, WireFields {
    public var prescription: WirePrescription
    public var hash: PrescriptionHash
    public init(prescription: WirePrescription, hash: PrescriptionHash) {
        self.prescription = prescription
        self.hash = hash
    }
    public init(reading reader: inout ByteReader) throws(WireError) {
        prescription = try WirePrescription(reading: &reader)
        hash = try PrescriptionHash(reading: &reader)
    }
    public func write(to writer: inout ByteWriter) {
        prescription.write(to: &writer)
        hash.write(to: &writer)
    }
}

/// The pump accepted and holds a staged prescription: reply body to stage (0x84).
/// ```
/// 0   16  command id
/// 16  32  hash of the staged prescription, as the pump computed it
/// ```
public struct StageReceipt: Sendable, Equatable, WireFields, CommandAnswer {
    public var commandId: CommandID
    public var stagedHash: PrescriptionHash
    public init(commandId: CommandID, stagedHash: PrescriptionHash) {
        self.commandId = commandId
        self.stagedHash = stagedHash
    }
    public init(reading reader: inout ByteReader) throws(WireError) {
        commandId = try CommandID(reading: &reader)
        stagedHash = try PrescriptionHash(reading: &reader)
    }
    public func write(to writer: inout ByteWriter) {
        commandId.write(to: &writer)
        stagedHash.write(to: &writer)
    }
}

/// A state-changing command was executed: reply body to commit, discard,
/// start and cancel bolus, stop, resume, refill complete, refill cancel, set
/// alarm configuration and set clock.
/// ```
/// 0   16  command id (never all zero)
/// 16  8   pump UTC seconds when it was executed (Int64, 0 ... 253 402 300 799)
/// ```
public struct CommandReceipt: Sendable, Equatable, WireFields, CommandAnswer {
    public var commandId: CommandID
    public var executedAtUTCSeconds: Int64
    public init(commandId: CommandID, executedAtUTCSeconds: Int64) {
        self.commandId = commandId
        self.executedAtUTCSeconds = executedAtUTCSeconds
    }
    public init(reading reader: inout ByteReader) throws(WireError) {
        commandId = try CommandID(reading: &reader)
        executedAtUTCSeconds = try readUTCSeconds(&reader, "receipt.executedAt")
    }
    public func write(to writer: inout ByteWriter) {
        commandId.write(to: &writer)
        writer.int64(executedAtUTCSeconds)
    }
}

/// The pump entered refill: reply body to refill begin (0x8B).
/// ```
/// 0   16  command id
/// 16  4   expected residual volume to withdraw, nL
/// 20  4   reservoir capacity, nL
/// ```
public struct RefillBeginReport: Sendable, Equatable, WireFields, CommandAnswer {
    public var commandId: CommandID
    public var expectedResidualNanolitres: UInt32
    public var reservoirCapacityNanolitres: UInt32
    public init(commandId: CommandID, expectedResidualNanolitres: UInt32, reservoirCapacityNanolitres: UInt32) {
        self.commandId = commandId
        self.expectedResidualNanolitres = expectedResidualNanolitres
        self.reservoirCapacityNanolitres = reservoirCapacityNanolitres
    }
    public init(reading reader: inout ByteReader) throws(WireError) {
        commandId = try CommandID(reading: &reader)
        expectedResidualNanolitres = try reader.uint32("refillBegin.expectedResidual")
        reservoirCapacityNanolitres = try reader.uint32("refillBegin.capacity")
    }
    public func write(to writer: inout ByteWriter) {
        commandId.write(to: &writer)
        writer.uint32(expectedResidualNanolitres)
        writer.uint32(reservoirCapacityNanolitres)
    }
}

/// One event of the pump's log.
/// ```
/// 0   4   event index (monotonic, never reused)
/// 4   8   UTC seconds (Int64, 0 ... 253 402 300 799)
/// 12  2   event code (PumpEventCode)
/// 14  4   detail (meaning depends on the code: a volume in nL, an alarm
///         code, an opcode)
/// ```
public struct PumpEvent: Sendable, Equatable, Hashable, WireFields {
    public var index: UInt32
    public var utcSeconds: Int64
    public var code: UInt16
    public var detail: UInt32
    public init(index: UInt32, utcSeconds: Int64, code: UInt16, detail: UInt32) {
        self.index = index
        self.utcSeconds = utcSeconds
        self.code = code
        self.detail = detail
    }
    public init(reading reader: inout ByteReader) throws(WireError) {
        index = try reader.uint32("event.index")
        utcSeconds = try readUTCSeconds(&reader, "event.utcSeconds")
        code = try reader.uint16("event.code")
        detail = try reader.uint32("event.detail")
    }
    public func write(to writer: inout ByteWriter) {
        writer.uint32(index)
        writer.int64(utcSeconds)
        writer.uint16(code)
        writer.uint32(detail)
    }
}

/// One page of the event log: reply body to read event log (0x8E).
/// ```
/// 0   2   page index
/// 2   2   page count
/// 4   4   total events held
/// 8   1   entries on this page e (0 ... 16), newest first
/// 9   18e PumpEvent each
/// ```
public struct EventLogPage: Sendable, Equatable, WireFields {
    public static let maximumEntries = 16
    public var page: UInt16
    public var pageCount: UInt16
    public var totalEvents: UInt32
    public var events: [PumpEvent]
    public init(page: UInt16, pageCount: UInt16, totalEvents: UInt32, events: [PumpEvent]) {
        self.page = page
        self.pageCount = pageCount
        self.totalEvents = totalEvents
        self.events = events
    }
    public init(reading reader: inout ByteReader) throws(WireError) {
        page = try reader.uint16("eventLog.page")
        pageCount = try reader.uint16("eventLog.pageCount")
        totalEvents = try reader.uint32("eventLog.totalEvents")
        let count = Int(try reader.uint8("eventLog.count"))
        guard count <= Self.maximumEntries else {
            throw .tooMany(field: "eventLog.events", count: count, maximum: Self.maximumEntries)
        }
        var parsed: [PumpEvent] = []
        for _ in 0..<count { parsed.append(try PumpEvent(reading: &reader)) }
        events = parsed
    }
    public func write(to writer: inout ByteWriter) {
        writer.uint16(page)
        writer.uint16(pageCount)
        writer.uint32(totalEvents)
        writer.uint8(UInt8(truncatingIfNeeded: events.count))
        for event in events { event.write(to: &writer) }
    }
}

/// What became of a command id: reply body to query command outcome (0x91).
/// ```
/// 0   16  command id asked about
/// 16  1   known (0: the pump has no record of it, so it never executed it
///         or the record aged out; 1: the stored reply follows)
/// 17  2   stored reply length n (0 when unknown; 2 ... 64)
/// 19  n   the stored reply plaintext, exactly as first sent
///         (opcode|0x80, status, body): it must itself decode, answer a
///         state-changing request, and name the same command id if it
///         names one
/// ```
public struct CommandOutcomeReport: Sendable, Equatable, WireFields, CommandAnswer {
    public static let maximumStoredReplyLength = 64
    public var commandId: CommandID
    /// The reply the pump sent when it executed (or refused) the command; nil when unknown.
    public var storedReply: [UInt8]?
    public init(commandId: CommandID, storedReply: [UInt8]?) {
        self.commandId = commandId
        self.storedReply = storedReply
    }
    public init(reading reader: inout ByteReader) throws(WireError) {
        commandId = try CommandID(reading: &reader)
        let known = try reader.flag("outcome.known")
        let length = Int(try reader.uint16("outcome.length"))
        if known {
            guard (2...Self.maximumStoredReplyLength).contains(length) else {
                throw .invalidValue(field: "outcome.length", value: Int64(length))
            }
            let stored = try reader.bytes(length, "outcome.reply")
            // The stored reply is what the host will act on, so it is held
            // to the same rules as a reply that came directly.
            let reply = try PumpReply(decoding: stored)
            guard reply.opcode.changesState else {
                throw .invalidValue(field: "outcome.reply.opcode", value: Int64(reply.opcode.rawValue))
            }
            if let named = reply.commandId, !named.matches(commandId) {
                throw .invalidValue(field: "outcome.reply.commandId", value: 0)
            }
            storedReply = stored
        } else {
            guard length == 0 else { throw .invalidValue(field: "outcome.length", value: Int64(length)) }
            storedReply = nil
        }
    }
    public func write(to writer: inout ByteWriter) {
        commandId.write(to: &writer)
        writer.flag(storedReply != nil)
        writer.uint16(UInt16(truncatingIfNeeded: storedReply?.count ?? 0))
        if let storedReply { writer.bytes(storedReply) }
    }

    /// The stored reply, decoded; nil when unknown.
    public func decodedReply() throws(WireError) -> PumpReply? {
        guard let storedReply else { return nil }
        return try PumpReply(decoding: storedReply)
    }
}

/// Any pump reply, by opcode and status: the type enum the host dispatches on.
/// ```
/// 0   1   request opcode | 0x80
/// 1   1   status: 0 done, otherwise a PumpRefusal code (no body follows)
/// 2   ... body, when status is 0:
///         0x82 InterrogateReport     0x83 PrescriptionReport
///         0x84 StageReceipt          0x8B RefillBeginReport
///         0x8E EventLogPage          0x8F WireTime (the pump clock)
///         0x91 CommandOutcomeReport  0x92 nothing (session closed)
///         0x96 AuditAnchorReport
///         0x85-0x8A, 0x8C, 0x8D, 0x90, 0x93 CommandReceipt
/// ```
public enum PumpReply: WireMessage {
    case refused(PumpOpcode, PumpRefusal)
    case interrogate(InterrogateReport)
    case prescription(PrescriptionReport)
    case staged(StageReceipt)
    /// A state-changing command (named by its opcode) was executed.
    case executed(PumpOpcode, CommandReceipt)
    case refillBegun(RefillBeginReport)
    case eventLog(EventLogPage)
    case clock(WireTime)
    case outcome(CommandOutcomeReport)
    case sessionClosed
    /// The audit anchors the pump holds (0x96).
    case auditAnchors(AuditAnchorReport)

    public init(decoding bytes: [UInt8]) throws(WireError) {
        var reader = ByteReader(bytes)
        let first = try reader.uint8("reply.opcode")
        guard first & 0x80 != 0, let opcode = PumpOpcode(rawValue: first & 0x7F), opcode != .openSession else {
            throw .unknownOpcode(first)
        }
        let status = try reader.uint8("reply.status")
        if status != 0 {
            guard let refusal = PumpRefusal(rawValue: status) else {
                throw .invalidValue(field: "reply.status", value: Int64(status))
            }
            self = .refused(opcode, refusal)
        } else {
            switch opcode {
            case .openSession: throw .unknownOpcode(first)
            case .interrogate: self = .interrogate(try .init(reading: &reader))
            case .readPrescription: self = .prescription(try .init(reading: &reader))
            case .stagePrescription: self = .staged(try .init(reading: &reader))
            case .refillBegin: self = .refillBegun(try .init(reading: &reader))
            case .readEventLog: self = .eventLog(try .init(reading: &reader))
            case .readClock: self = .clock(try .init(reading: &reader))
            case .queryCommandOutcome: self = .outcome(try .init(reading: &reader))
            case .closeSession: self = .sessionClosed
            case .recordAuditAnchor: self = .auditAnchors(try .init(reading: &reader))
            case .commitStagedPrescription, .discardStagedPrescription, .startBolus, .cancelBolus, .stopInfusion,
                 .resumeInfusion, .refillComplete, .refillCancel, .setAlarmConfiguration, .setClock, .setFluidPath, .rekey:
                self = .executed(opcode, try .init(reading: &reader))
            }
        }
        try reader.finish()
    }

    /// The opcode of the request this reply answers.
    public var opcode: PumpOpcode {
        switch self {
        case .refused(let opcode, _), .executed(let opcode, _): opcode
        case .interrogate: .interrogate
        case .prescription: .readPrescription
        case .staged: .stagePrescription
        case .refillBegun: .refillBegin
        case .eventLog: .readEventLog
        case .clock: .readClock
        case .outcome: .queryCommandOutcome
        case .sessionClosed: .closeSession
        case .auditAnchors: .recordAuditAnchor
        }
    }

    /// The refusal, if the pump refused.
    public var refusal: PumpRefusal? {
        if case .refused(_, let refusal) = self { return refusal }
        return nil
    }

    /// The command id this reply names: receipts, the refill begin report
    /// and outcome reports do; refusals and reads do not.
    public var commandId: CommandID? {
        switch self {
        case .staged(let receipt): receipt.commandId
        case .executed(_, let receipt): receipt.commandId
        case .refillBegun(let report): report.commandId
        case .outcome(let report): report.commandId
        case .refused, .interrogate, .prescription, .eventLog, .clock, .sessionClosed, .auditAnchors: nil
        }
    }

    /// Whether this reply can be the answer to `request`: the same opcode
    /// and, when the reply names a command id, the id the request carried
    /// (for query command outcome, the id asked about).
    public func answers(_ request: PumpRequest) -> Bool {
        guard opcode == request.opcode else { return false }
        guard let named = commandId else { return true }
        let sent: CommandID? = switch request {
        case .queryCommandOutcome(let query): query.commandId
        default: request.commandId
        }
        return sent.map(named.matches) ?? false
    }

    public var encoded: [UInt8] {
        var writer = ByteWriter()
        writer.uint8(opcode.replyOpcode)
        switch self {
        case .refused(_, let refusal): writer.uint8(refusal.rawValue)
        case .interrogate(let body): writer.uint8(0); body.write(to: &writer)
        case .prescription(let body): writer.uint8(0); body.write(to: &writer)
        case .staged(let body): writer.uint8(0); body.write(to: &writer)
        case .executed(_, let body): writer.uint8(0); body.write(to: &writer)
        case .refillBegun(let body): writer.uint8(0); body.write(to: &writer)
        case .eventLog(let body): writer.uint8(0); body.write(to: &writer)
        case .clock(let body): writer.uint8(0); body.write(to: &writer)
        case .outcome(let body): writer.uint8(0); body.write(to: &writer)
        case .sessionClosed: writer.uint8(0)
        case .auditAnchors(let body): writer.uint8(0); body.write(to: &writer)
        }
        return writer.bytes
    }
}
