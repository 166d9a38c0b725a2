import Foundation
import StateFiles
import Therapy
import WandProtocol

/// Who is programming, under which policy, and where records go.
public struct ProgrammerContext: Sendable {
    public var stateDirectory: StateDirectory
    public var operatorName: String
    /// The second provider who confirmed the change, when policy asks for one.
    public var secondOperator: String?
    public var policy: ClinicPolicy
    /// The policy's name and the SHA-256 of its bytes, in every audit row and report.
    public var policyIdentity: PolicyIdentity
    /// True against the simulator: every record and report says so.
    public var simulated: Bool
    /// The serial of the pump on the patient's record, when the technician
    /// gave it: a session with any other pump is refused.
    public var expectedPumpSerial: String?
    public var now: @Sendable () -> Date
    /// True once the technician asked to stop (Ctrl-C). Read only at safe
    /// points: before the first request of a change and between its steps.
    public var interrupted: @Sendable () -> Bool
    /// Told true while a state-changing request is out and its outcome not
    /// yet recorded, false once it is (pumpctl's forced exit uses it).
    public var inFlight: @Sendable (Bool) -> Void = { _ in }
    /// For the crash tests: a step of `perform` at which the process kills
    /// itself, in the `crashAtCommand`-th state-changing command of the run
    /// (1 = the first). Honoured only against the simulator, never a real pump.
    public var crashPoint: CrashPoint?
    public var crashAtCommand = 1
    /// The clinic's zone: the report's days and times are in it, as on the
    /// screen (a date in another zone can be a day off).
    public var clinicZone: TimeZone = TimeZone(identifier: "UTC") ?? .current
    /// How long a review's interrogate stands for the pump's state when
    /// nothing was sent since (`Programmer.reviewStillCurrent`): long
    /// enough for a command given with --yes to reach its first step, far
    /// shorter than anyone reads a review. Zero reads the pump again
    /// before every change, as for a review read at leisure.
    public var reviewReuseLimit: Swift.Duration = .seconds(10)

    /// The steps of a state-changing command a crash test can stop at.
    public enum CrashPoint: String, Sendable, CaseIterable {
        /// Recorded as pending and as intent, nothing sent.
        case beforeSend = "before-send"
        /// Sent and answered, the outcome not yet recorded.
        case afterSend = "after-send"
        /// Outcome recorded, the pending record not yet cleared.
        case afterOutcome = "after-outcome"
    }

    public init(stateDirectory: StateDirectory, operatorName: String, secondOperator: String? = nil,
                policy: ClinicPolicy, policyIdentity: PolicyIdentity? = nil, simulated: Bool, expectedPumpSerial: String? = nil,
                now: @escaping @Sendable () -> Date = { Date() }, interrupted: @escaping @Sendable () -> Bool = { false },
                crashPoint: CrashPoint? = nil) {
        self.stateDirectory = stateDirectory
        self.operatorName = operatorName
        self.secondOperator = secondOperator
        self.policy = policy
        self.policyIdentity = policyIdentity ?? .of(policy)
        self.simulated = simulated
        self.expectedPumpSerial = expectedPumpSerial
        self.now = now
        self.interrupted = interrupted
        self.crashPoint = simulated ? crashPoint : nil
    }
}

/// What became of one state-changing request, as the pump (never a relay
/// or an error kind) told it.
public enum CommandFate: Sendable, Equatable {
    /// The pump carried it out (its receipt, or its record of the id).
    case executed
    /// The pump refused it and changed nothing.
    case refused(PumpRefusal)
    /// No byte of it left this computer.
    case notSent
    /// It left, and the pump says it never received it.
    case neverReceived
    /// It left and its outcome is unknown: the pending record stays.
    case unknown
}

/// What this session did to the pump, decided by the layer that sent the
/// requests: the one source of "nothing was sent", "unchanged", "changed"
/// and "unknown" on every screen and in every error.
public enum PumpEffect: Sendable, Equatable {
    /// No state-changing request left this computer.
    case nothingSent
    /// Requests left, and none was carried out: the pump is as it was.
    case unchanged
    /// The pump carried out these requests, in order.
    case changed([CommandKind])
    /// A request may or may not have been carried out; it is pending.
    /// `executed` are the requests of this session the pump did carry out
    /// (a refill begun before its completion was lost, say).
    case unknown(PendingCommand, executed: [CommandKind])

    /// True when the pump is left as before: nothing carried out, or a
    /// change carried out and then undone by its abandon step.
    public var leftAsBefore: Bool {
        switch self {
        case .nothingSent, .unchanged: return true
        case .changed(let kinds): return kinds.last == .refillCancel || kinds.last == .discard
        case .unknown: return false
        }
    }
}

/// The technician's session with one pump.
///
/// Every state-changing request goes through `perform`: the command id is
/// recorded durably (pending-command file and audit intent) before a byte
/// is sent; a lost reply is resolved by asking the pump about that id,
/// in the same session when the link allows, and otherwise left pending so
/// the next command asks first. No command is ever re-sent under a new id
/// after a lost reply.
public actor Programmer {
    public let connection: PumpConnection
    public let context: ProgrammerContext
    let audit: AuditLog
    let pending: PendingCommandStore
    public let pumpSerial: String
    /// State-changing commands performed so far in this run (for the crash tests).
    private var performed = 0
    /// Every state-changing request of this session and its fate.
    public private(set) var ledger: [(kind: CommandKind, commandID: CommandID, fate: CommandFate)] = []
    /// The pump clock as last read (interrogate or read clock): every
    /// state-changing request's expiry is figured from it. Nil until read,
    /// and again after a clock setting moved the pump's clock.
    public private(set) var pumpClock: PumpClockReading?
    /// Page 0 of the event log as the last interrogate carried it, for the
    /// history read that follows a plan's interrogate (taken once).
    var newestEventsRead: EventLogPage?
    /// When the last status was read, and in which of the connection's
    /// sessions: a review read moments ago in this same session is still
    /// the pump's state (see `reviewStillCurrent`).
    private(set) var lastStatusRead: (at: ContinuousClock.Instant, session: Int, performed: Int)?

    public init(connection: PumpConnection, context: ProgrammerContext) async throws(ProgrammerError) {
        self.connection = connection
        self.context = context
        pumpSerial = connection.pumpSerial
        do {
            audit = try AuditLog(directory: context.stateDirectory)
        } catch {
            throw .storage(error.description)
        }
        pending = PendingCommandStore(directory: context.stateDirectory)
        let wand = connection.wandInfo
        try record(command: "session", phase: .event, parameters: [
            "wand": connection.transport.peerDescription,
            "wand_firmware": "\(wand.firmwareMajor).\(wand.firmwareMinor).\(wand.firmwarePatch)",
            "simulated": context.simulated ? "true" : "false",
        ], outcome: .sessionOpened)
        if let expected = context.expectedPumpSerial, expected != pumpSerial {
            try record(command: "session", phase: .event, parameters: ["expected_pump": expected], outcome: .wrongPump)
            throw .wrongPump(found: pumpSerial, expected: expected)
        }
    }

    /// What this session has done to the pump so far.
    public var effect: PumpEffect {
        if let unknown = ledger.last(where: { $0.fate == .unknown }) {
            let entry = (try? pending.load(pumpSerial: pumpSerial)).flatMap { $0 }
            return .unknown(entry ?? PendingCommand(commandID: unknown.commandID.description, command: unknown.kind.rawValue,
                                                   pumpSerial: pumpSerial, sentAt: context.now(), parameters: [:]),
                            executed: ledger.filter { $0.fate == .executed }.map(\.kind))
        }
        let executed = ledger.filter { $0.fate == .executed }.map(\.kind)
        if !executed.isEmpty { return .changed(executed) }
        return ledger.contains { $0.fate != .notSent } ? .unchanged : .nothingSent
    }

    // MARK: Audit

    func record(command: String, phase: AuditPhase, commandID: String? = nil, parameters: [String: String] = [:],
                outcome: AuditOutcome? = nil, detail: String? = nil, overrides: [AuditOverride] = []) throws(ProgrammerError) {
        var parameters = parameters
        if context.simulated { parameters["simulated"] = "true" }
        // Every row names the policy its checks used.
        parameters["policy"] = context.policyIdentity.name
        parameters["policy_sha256"] = context.policyIdentity.sha256
        if let detail { parameters["detail"] = detail }
        do {
            // An intent row is durable before its request leaves; the rest
            // are synced with the next intent row or the head at the end.
            try audit.append([AuditRecord(
                operatorName: context.operatorName, secondOperator: context.secondOperator, pumpSerial: pumpSerial,
                command: command, phase: phase, commandID: commandID, parameters: parameters, outcome: outcome?.rawValue,
                overrides: overrides)], at: context.now(), durability: phase == .intent ? .immediate : .deferred)
        } catch {
            throw .storage(error.description)
        }
    }

    // MARK: Reading

    /// A request that changes nothing: a lost reply is simply a failure.
    func read(_ request: PumpRequest) async throws(ProgrammerError) -> PumpReply {
        let unreadableBefore = await connection.channel.statistics.malformedReplies
        let result = await connection.send(request)
        // Ctrl-C while the exchange was retried, and no answer came: the
        // technician stopped it, whatever the wand or the link did.
        if Self.unanswered(result), context.interrupted() {
            try? record(command: "\(request.opcode)", phase: .event, outcome: .cancelled,
                        detail: "Ctrl-C while the exchange was retried; no answer came")
            throw .cancelled
        }
        switch result {
        case .completed(let reply):
            return reply
        case .refused(let opcode, let refusal):
            throw .pumpRefused(opcode, refusal)
        case .notSent(.wandRefused(.pumpNotInRange)):
            throw .pumpNotInRange
        case .notSent(let reason):
            throw .communication("\(request.opcode) was not sent (\(reason))")
        case .unacknowledged(_, _, .pumpNotInRange?):
            // A read changes nothing, so the wand's word is enough to advise.
            throw .pumpNotInRange
        case .unacknowledged(let attempts, let linkError, let wandSaid):
            // An authenticated reply that does not decode is an answer, just
            // not a readable one: saying "did not answer" would send the
            // technician after the wand's position instead of the pump.
            if let unreadable = await unreadableReply(since: unreadableBefore) {
                let why = "the pump answered \(request.opcode), but its reply did not decode (\(unreadable)); nothing in it was used"
                try? record(command: "\(request.opcode)", phase: .event, outcome: .unreadableReply, detail: why)
                throw .communication(why)
            }
            let why = linkError.map { "the link failed: \($0)" } ?? "no reply after \(attempts) attempts"
            // Silence the wand said nothing about: the pump may be there,
            // answering another programmer's session instead of this one.
            if linkError == nil, wandSaid == nil, await connection.answersOnlyAnotherSession() {
                try? record(command: "\(request.opcode)", phase: .event, outcome: .noReply,
                            detail: "\(why); a new session request was answered: most likely another programmer holds the pump's session")
                throw .sessionTakenOver(request.opcode)
            }
            try? record(command: "\(request.opcode)", phase: .event, outcome: .noReply, detail: why)
            throw .communication("the pump did not answer \(request.opcode) (\(why))")
        }
    }

    /// A request that got no answer: not sent, or sent and unanswered (a
    /// refusal and a receipt are answers).
    static func unanswered(_ result: PumpExchangeResult) -> Bool {
        switch result {
        case .completed, .refused: return false
        case .notSent, .unacknowledged: return true
        }
    }

    public func interrogateReport(includingNewestEvents: Bool = false) async throws(ProgrammerError) -> InterrogateReport {
        let reply = try await read(.interrogate(InterrogateRequest(includesNewestEvents: includingNewestEvents)))
        guard case .interrogate(let report) = reply else { throw .deviceFault("the pump answered interrogate with \(reply.opcode)") }
        guard report.serial == pumpSerial else {
            throw .deviceFault("the pump reported serial \(report.serial) inside a session with \(pumpSerial)")
        }
        pumpClock = PumpClockReading(pumpUTCSeconds: report.clock.utcSeconds, receivedAt: .now)
        newestEventsRead = report.newestEvents
        return report
    }

    /// The expiry for a request about to be sent, from the pump clock last
    /// read; with no reading, the pump's clock is read first (a read, so a
    /// failure here has sent nothing that changes the pump).
    func requestExpiry() async throws(ProgrammerError) -> RequestExpiry {
        if let pumpClock { return pumpClock.expiry(at: .now) }
        let reply = try await read(.readClock(ReadClock()))
        guard case .clock(let time) = reply else { throw .deviceFault("the pump answered read clock with \(reply.opcode)") }
        let reading = PumpClockReading(pumpUTCSeconds: time.utcSeconds, receivedAt: .now)
        pumpClock = reading
        return reading.expiry(at: .now)
    }

    /// Interrogates the pump, resolving first any command left uncertain.
    /// `includingNewestEvents` has the report carry page 0 of the event
    /// log, for a plan's history read.
    public func interrogate(includingNewestEvents: Bool = false) async throws(ProgrammerError)
        -> (status: PumpStatus, resolution: Resolution?)
    {
        var resolution: Resolution?
        var unresolved: PendingCommand?
        do {
            resolution = try await resolvePending()
        } catch .unresolved(let entry, _) {
            unresolved = entry
        }
        let status = try await readStatus(unresolved: unresolved, includingNewestEvents: includingNewestEvents)
        return (status, resolution)
    }

    /// Reads the pump's status without touching pending commands.
    func readStatus(unresolved: PendingCommand? = nil, includingNewestEvents: Bool = false) async throws(ProgrammerError) -> PumpStatus {
        try await status(from: try await interrogateReport(includingNewestEvents: includingNewestEvents), unresolved: unresolved)
    }

    /// The status an interrogate report gives, recorded as a read.
    func status(from report: InterrogateReport, unresolved: PendingCommand? = nil) async throws(ProgrammerError) -> PumpStatus {
        var status = try PumpStatus(report: report, hostNow: context.now(), simulated: context.simulated, unresolved: unresolved)
        status.libraryDoseUnit = context.policy.policy(for: status.drug)?.massUnit
        try record(command: "interrogate", phase: .event, parameters: status.readParameters, outcome: .read)
        lastStatusRead = (ContinuousClock.now, await connection.sessionsOpened, performed)
        return status
    }

    /// True when the last status read is the review's and still current:
    /// read under the context's `reviewReuseLimit` ago in the session that
    /// is still open (no idle refresh since), and no state-changing request
    /// sent since (reads of older event pages may have followed). Used only
    /// when no prompt was shown (`Pipeline.execute`): in those seconds
    /// another programmer taking the pump over ends this session, so the
    /// first step is not received and is resolved as such, never executed
    /// against a changed pump; the pump's own changes (an alarm, a bolus
    /// ending) it refuses at the step by its own rules.
    func reviewStillCurrent() async -> Bool {
        guard let read = lastStatusRead, read.performed == performed else { return false }
        let session = await connection.sessionsOpened
        let refreshing = await connection.needsRefresh
        return read.session == session && ContinuousClock.now - read.at < context.reviewReuseLimit && !refreshing
    }

    // MARK: Sending one state-changing request

    /// Sends one step under the uncertain-delivery rules and returns the
    /// pump's reply once it is proven to answer this command id as planned.
    /// `keepPending` leaves the pending record in place after success (the
    /// change is cleared only once its read-back matched).
    func perform(_ step: WireStep, parameters: [String: String], overrides: [AuditOverride] = [],
                 keepPending: Bool = false) async throws(ProgrammerError) -> PumpReply {
        // Tagged under the audit key, so `audit verify --pump` can find a
        // command the pump carried out that the log no longer has.
        let id = audit.taggedCommandID()
        // What this step changes is not in a page read before it.
        newestEventsRead = nil
        // Before anything is recorded: reading the clock changes nothing.
        let expiry = try await requestExpiry()
        let command = step.kind.rawValue
        let entry = PendingCommand(commandID: id.description, command: command, pumpSerial: pumpSerial,
                                   sentAt: context.now(), parameters: parameters)
        performed += 1
        // Durable before anything is sent: a crash from here on leaves the
        // record, and the next run asks the pump about this id.
        do { try pending.record(entry) } catch { throw .storage(error.description) }
        try record(command: command, phase: .intent, commandID: entry.commandID, parameters: parameters, overrides: overrides)
        crashIfAsked(.beforeSend)
        context.inFlight(true)
        // Settled once its outcome is known; an unknown one stays in flight
        // as far as a forced exit is concerned.
        defer { context.inFlight(ledger.last.map { $0.commandID == id && $0.fate == .unknown } ?? true) }

        // One request, one expiry: every attempt the exchange layer makes
        // re-sends these bytes, so a retransmission never extends its life.
        let request = step.request(id, expiry)
        let unreadableBefore = await connection.channel.statistics.malformedReplies
        let result = await connection.send(request)
        crashIfAsked(.afterSend)
        if step.kind == .clockSet {
            // The pump's clock may have moved: the next expiry needs a new reading.
            pumpClock = nil
        }
        switch result {
        case .completed(let reply):
            guard Self.answers(reply, request) else {
                // A reply that is not this command's receipt proves nothing
                // about it: ask the pump what it did with this id.
                try record(command: command, phase: .event, commandID: entry.commandID, outcome: .uncertain,
                           detail: "the reply did not answer this command id")
                return try await resolveInSession(entry, id: id, step: step, request: request, keepPending: keepPending)
            }
            return try await finish(entry, id: id, step: step, reply: reply, keepPending: keepPending)
        case .refused(let opcode, let refusal):
            try record(command: command, phase: .outcome, commandID: entry.commandID, outcome: .refusedByPump, detail: refusal.meaning)
            ledger.append((step.kind, id, .refused(refusal)))
            try clearPending(entry)
            throw .pumpRefused(opcode, refusal)
        case .notSent(let reason):
            // The transport says no byte of it left this computer.
            try record(command: command, phase: .outcome, commandID: entry.commandID, outcome: .notSent, detail: "\(reason)")
            ledger.append((step.kind, id, .notSent))
            try clearPending(entry)
            throw .communication("\(command) was not sent (\(reason))")
        case .unacknowledged(let attempts, let linkError, let wandSaid):
            // Whatever a wand says, once a byte left only the pump can tell
            // whether it received the request.
            var why = linkError.map { "the link failed (\($0))" } ?? "no reply after \(attempts) attempts"
            if let unreadable = await unreadableReply(since: unreadableBefore) {
                why = "the pump answered, but its reply did not decode (\(unreadable)); no readable reply after \(attempts) attempts"
            }
            if let wandSaid { why += "; the wand said: \(wandSaid.meaning)" }
            try record(command: command, phase: .outcome, commandID: entry.commandID, outcome: .uncertain, detail: why)
            return try await resolveInSession(entry, id: id, step: step, request: request, keepPending: keepPending)
        }
    }

    /// Why the newest authenticated reply since `count` did not decode, if
    /// one came: the channel counts such replies and goes on waiting, so the
    /// exchange's result alone reads like silence.
    private func unreadableReply(since count: Int) async -> String? {
        let statistics = await connection.channel.statistics
        guard statistics.malformedReplies > count else { return nil }
        return statistics.lastMalformedReply.map { "\($0)" } ?? "unreadable"
    }

    /// Records a proven reply as done.
    private func finish(_ entry: PendingCommand, id: CommandID, step: WireStep, reply: PumpReply,
                        keepPending: Bool, outcome: AuditOutcome = .done) async throws(ProgrammerError) -> PumpReply {
        try record(command: entry.command, phase: .outcome, commandID: entry.commandID, outcome: outcome)
        ledger.append((step.kind, id, .executed))
        crashIfAsked(.afterOutcome)
        if !keepPending { try clearPending(entry) }
        return reply
    }

    /// Asks the pump, in this session, what became of a request whose reply
    /// was lost; leaves it pending (UNCERTAIN) when the pump cannot be asked.
    private func resolveInSession(_ entry: PendingCommand, id: CommandID, step: WireStep, request: PumpRequest,
                                  keepPending: Bool) async throws(ProgrammerError) -> PumpReply {
        let answer = try? await read(.queryCommandOutcome(QueryCommandOutcome(commandId: id)))
        guard case .outcome(let report)? = answer, report.commandId == id else {
            ledger.append((step.kind, id, .unknown))
            throw .uncertain(entry)
        }
        switch Self.fate(of: report, commandID: id) {
        case .executed(let reply):
            guard Self.answers(reply, request) else {
                ledger.append((step.kind, id, .unknown))
                throw .uncertain(entry)
            }
            return try await finish(entry, id: id, step: step, reply: reply, keepPending: keepPending, outcome: .resolvedExecuted)
        case .refused(let opcode, let refusal):
            try record(command: entry.command, phase: .outcome, commandID: entry.commandID, outcome: .resolvedRefused,
                       detail: refusal.meaning)
            ledger.append((step.kind, id, .refused(refusal)))
            try clearPending(entry)
            throw .pumpRefused(opcode, refusal)
        case .neverReceived:
            try record(command: entry.command, phase: .outcome, commandID: entry.commandID, outcome: .resolvedNeverReceived)
            ledger.append((step.kind, id, .neverReceived))
            try clearPending(entry)
            throw .communication("the pump never received \(entry.command)")
        case .undecodable:
            ledger.append((step.kind, id, .unknown))
            throw .uncertain(entry)
        }
    }

    enum StoredFate {
        case executed(PumpReply)
        case refused(PumpOpcode, PumpRefusal)
        case neverReceived
        case undecodable
    }

    /// What the pump's record of a command id says.
    static func fate(of report: CommandOutcomeReport, commandID: CommandID) -> StoredFate {
        guard let stored = report.storedReply else {
            // The exchange layer sends every attempt before giving up and the
            // wand relays in order, so the pump has seen all it will ever see
            // of that command: no record means it never arrived.
            return .neverReceived
        }
        guard let reply = try? PumpReply(decoding: stored) else { return .undecodable }
        if case .refused(let opcode, let refusal) = reply { return .refused(opcode, refusal) }
        return .executed(reply)
    }

    /// Whether `reply` is the receipt of `request` (its opcode and command
    /// id, WandProtocol's rule) with a time a pump's clock can show.
    static func answers(_ reply: PumpReply, _ request: PumpRequest) -> Bool {
        guard reply.answers(request) else { return false }
        if case .executed(_, let receipt) = reply {
            return (try? PumpTime(checkedUTCSeconds: receipt.executedAtUTCSeconds)) != nil
        }
        return true
    }

    private func crashIfAsked(_ point: ProgrammerContext.CrashPoint) {
        guard context.simulated, context.crashPoint == point, performed == context.crashAtCommand else { return }
        kill(getpid(), SIGKILL)
    }

    func clearPending(_ entry: PendingCommand) throws(ProgrammerError) {
        do { try pending.resolve(commandID: entry.commandID, pumpSerial: entry.pumpSerial) } catch { throw .storage(error.description) }
    }

    // MARK: Commands left pending by an earlier run

    /// What became of a command whose reply was lost.
    public struct Resolution: Sendable, Equatable {
        public var command: PendingCommand
        public var fate: CommandFate
        /// For a prescription change kept pending until read back: whether
        /// the pump now holds the prescription it was to write.
        public var verified: Bool?
        /// For "never received": the pump's command store no longer reaches
        /// back to when it was sent, so the pump may have carried it out and
        /// forgotten it (PROTOCOL.md section 9, "Unknown and aged out").
        public var recordMayHaveAgedOut = false

        public var executed: Bool { fate == .executed }
    }

    /// Whether the pump's store (the newest 64 or more replies, of which
    /// the interrogate report shows the newest 8) may have forgotten a
    /// command sent at `sentAt`: it cannot have while the report holds
    /// fewer than 8 records or its oldest record is from before the send.
    /// Times are compared on the pump's clock, read in the same report.
    static func storeMayHaveForgotten(sentAt: Date, hostNow: Date, report: InterrogateReport) -> Bool {
        guard report.recentCommands.count >= InterrogateReport.maximumRecords,
              let oldest = report.recentCommands.map(\.utcSeconds).min() else { return false }
        let pumpAhead = report.clock.utcSeconds.subtractingReportingOverflow(Int64(hostNow.timeIntervalSince1970))
        let sent = Int64(sentAt.timeIntervalSince1970).addingReportingOverflow(pumpAhead.partialValue)
        guard !pumpAhead.overflow, !sent.overflow else { return true }
        return oldest > sent.partialValue
    }

    /// Asks the pump about the pending command, if there is one for this
    /// pump, and clears it once the pump has answered.
    @discardableResult
    public func resolvePending() async throws(ProgrammerError) -> Resolution? {
        let entry: PendingCommand?
        do { entry = try pending.load(pumpSerial: pumpSerial) } catch {
            throw .storage(error.description)
        }
        guard let entry else { return nil }
        guard let id = entry.id else {
            throw .unresolved(entry, detail: "Its record is damaged; interrogate the pump and review its event log before anything else.")
        }
        let reply: PumpReply
        do {
            reply = try await read(.queryCommandOutcome(QueryCommandOutcome(commandId: id)))
        } catch {
            throw .unresolved(entry, detail: "Asking the pump about it failed (\(error.description)).")
        }
        guard case .outcome(let report) = reply, report.commandId == id else {
            throw .unresolved(entry, detail: "The pump's answer about it did not match.")
        }
        var resolution: Resolution
        let fate = Self.fate(of: report, commandID: id)
        // The record's claim about what it was must agree with the pump's
        // record of that id: a forged or damaged kind is not believed.
        if case .executed(let stored) = fate, let kind = entry.kind, stored.opcode != kind.opcode {
            throw .unresolved(entry, detail: "The pump's record of command \(entry.commandID) is a \(stored.opcode), not the \(entry.command) this computer recorded; interrogate the pump and review its event log before anything else.")
        }
        switch fate {
        case .executed:
            resolution = Resolution(command: entry, fate: .executed)
            try record(command: entry.command, phase: .outcome, commandID: entry.commandID, outcome: .resolvedExecuted)
            if let expected = entry.parameters["verify_prescription_hash"] {
                let now = try await interrogateReport()
                resolution.verified = now.prescriptionHash.description == expected
                try record(command: "read-back", phase: .event, commandID: entry.commandID,
                           parameters: ["expected": expected, "found": now.prescriptionHash.description],
                           outcome: resolution.verified == true ? .readBackMatches : .readBackMismatch)
            }
        case .refused(_, let refusal):
            resolution = Resolution(command: entry, fate: .refused(refusal))
            try record(command: entry.command, phase: .outcome, commandID: entry.commandID, outcome: .resolvedRefused,
                       detail: refusal.meaning)
        case .neverReceived:
            resolution = Resolution(command: entry, fate: .neverReceived)
            // Unknown proves "never received" only while the pump still
            // remembers everything since the send; in a later session other
            // commands may have pushed it out. Say so rather than let the
            // technician repeat it on the strength of "never received".
            let report = try? await interrogateReport()
            resolution.recordMayHaveAgedOut = report.map {
                Self.storeMayHaveForgotten(sentAt: entry.sentAt, hostNow: context.now(), report: $0)
            } ?? true
            try record(command: entry.command, phase: .outcome, commandID: entry.commandID, outcome: .resolvedNeverReceived,
                       detail: resolution.recordMayHaveAgedOut
                           ? "the pump's command record no longer reaches back to when it was sent: it may have been carried out and forgotten"
                           : nil)
        case .undecodable:
            throw .unresolved(entry, detail: "The pump's record of it cannot be read; interrogate the pump and review its event log.")
        }
        try clearPending(entry)
        return resolution
    }

    /// Commands left pending for other pumps, for the technician to know
    /// (they block nothing here: each pump's record is its own).
    public func otherPumpsPending() -> [PendingCommand] {
        ((try? pending.all()) ?? []).filter { $0.pumpSerial != pumpSerial }
    }

    /// Ends the session: the last row, the audit head sealed once for the
    /// whole command and carried by the close for the pump to witness
    /// (`anchoring`). The close's reply is not awaited.
    @discardableResult
    public func close(anchoring: Bool = true) async -> AuditAnchorOutcome {
        try? record(command: "session", phase: .event, outcome: .sessionClosed)
        let (anchor, outcome) = anchorForClose(anchoring: anchoring)
        let sent = await connection.close(anchor: anchor)
        // The head file after the close: its fsyncs are the host's, not
        // the visit's, and a crash before it leaves the head behind the log
        // (unsealed rows), never ahead of it.
        do {
            try audit.sealHead()
        } catch {
            if case .sentWithClose(let rows) = outcome, sent { return .headNotWritten(rowCount: rows, reason: error.description) }
            if case .failed = outcome { return outcome }
            return .failed(error.description)
        }
        if case .sentWithClose = outcome, !sent {
            return .failed("the session's close, which carried it, could not be sent")
        }
        return outcome
    }
}

extension CommandKind {
    /// The request opcode that carries this kind.
    public var opcode: PumpOpcode {
        switch self {
        case .stage: return .stagePrescription
        case .commit: return .commitStagedPrescription
        case .discard: return .discardStagedPrescription
        case .bolus: return .startBolus
        case .stop: return .stopInfusion
        case .resume: return .resumeInfusion
        case .refillBegin: return .refillBegin
        case .refillComplete: return .refillComplete
        case .refillCancel: return .refillCancel
        case .alarmSettings: return .setAlarmConfiguration
        case .clockSet: return .setClock
        case .fluidPath: return .setFluidPath
        case .rekey: return .rekey
        }
    }
}

extension PendingCommand {
    /// The command id as a value; nil when the record is damaged.
    public var id: CommandID? { CommandID(hex: commandID) }
    /// What kind of command it was; nil for a name this version does not know.
    public var kind: CommandKind? { CommandKind(rawValue: command) }
}

extension CommandID {
    /// A command id from its 32 hex digits (the form records keep).
    public init?(hex text: String) {
        let digits = Array(text.utf8)
        guard digits.count == 2 * Self.length else { return nil }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(Self.length)
        var index = 0
        while index < digits.count {
            guard let value = UInt8(String(decoding: digits[index...index + 1], as: UTF8.self), radix: 16) else { return nil }
            bytes.append(value)
            index += 2
        }
        self.init(bytes: bytes)
    }
}
