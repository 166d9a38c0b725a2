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
    /// True against the simulator: every record and report says so.
    public var simulated: Bool
    /// The serial of the pump on the patient's record, when the technician
    /// gave it: a session with any other pump is refused.
    public var expectedPumpSerial: String?
    public var now: @Sendable () -> Date
    /// For the crash tests: a step of `perform` at which the process kills
    /// itself, in the `crashAtCommand`-th state-changing command of the run
    /// (1 = the first). Honoured only against the simulator, never a real pump.
    public var crashPoint: CrashPoint?
    public var crashAtCommand = 1

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
                policy: ClinicPolicy, simulated: Bool, expectedPumpSerial: String? = nil,
                now: @escaping @Sendable () -> Date = { Date() }, crashPoint: CrashPoint? = nil) {
        self.stateDirectory = stateDirectory
        self.operatorName = operatorName
        self.secondOperator = secondOperator
        self.policy = policy
        self.simulated = simulated
        self.expectedPumpSerial = expectedPumpSerial
        self.now = now
        self.crashPoint = simulated ? crashPoint : nil
    }
}

/// The technician's workflows over one pump connection.
///
/// Every state-changing command goes through `perform`: the command id is
/// recorded durably (pending-command file and audit intent) before a byte
/// is sent; a lost reply leaves it pending and ends the command UNCERTAIN;
/// and every later state-changing command first asks the pump what became
/// of it. No command is ever re-sent under a new id after a lost reply.
public actor Programmer {
    public let connection: PumpConnection
    public let context: ProgrammerContext
    let audit: AuditLog
    let pending: PendingCommandStore
    public let pumpSerial: String
    /// State-changing commands performed so far in this run (for the crash tests).
    private var performed = 0

    public init(connection: PumpConnection, context: ProgrammerContext) async throws(ProgrammerError) {
        self.connection = connection
        self.context = context
        pumpSerial = await connection.pumpSerial
        do {
            audit = try AuditLog(directory: context.stateDirectory)
        } catch {
            throw .storage(error.description)
        }
        pending = PendingCommandStore(directory: context.stateDirectory)
        try record(command: "session", phase: .event, parameters: [
            "wand": connection.transport.peerDescription,
            "wand_firmware": "\(await connection.wandInfo.firmwareMajor).\(await connection.wandInfo.firmwareMinor).\(await connection.wandInfo.firmwarePatch)",
            "simulated": context.simulated ? "true" : "false",
        ], outcome: "session opened")
        if let expected = context.expectedPumpSerial, expected != pumpSerial {
            try record(command: "session", phase: .event, parameters: ["expected_pump": expected], outcome: "refused: wrong pump")
            throw .deviceFault("the pump in range is \(pumpSerial), not \(expected) from the patient record. Nothing was sent to it. Check the patient and the pump.")
        }
    }

    // MARK: Audit

    func record(command: String, phase: AuditPhase, commandID: String? = nil, parameters: [String: String] = [:],
                outcome: String? = nil, overrides: [AuditOverride] = []) throws(ProgrammerError) {
        var parameters = parameters
        if context.simulated { parameters["simulated"] = "true" }
        do {
            try audit.append(AuditRecord(
                operatorName: context.operatorName, secondOperator: context.secondOperator, pumpSerial: pumpSerial,
                command: command, phase: phase, commandID: commandID, parameters: parameters, outcome: outcome,
                overrides: overrides), at: context.now())
        } catch {
            throw .storage(error.description)
        }
    }

    // MARK: Reading

    /// A request that changes nothing: a lost reply is simply a failure.
    func read(_ request: PumpRequest) async throws(ProgrammerError) -> PumpReply {
        switch await connection.send(request) {
        case .completed(let reply):
            return reply
        case .refused(let opcode, let refusal):
            throw .pumpRefused(opcode, refusal)
        case .notSent(.wandRefused(.pumpNotInRange)):
            throw .notFound("The pump is out of range: hold the wand over the pump and try again.")
        case .notSent(let reason):
            throw .communication("\(request.opcode) was not sent (\(reason))")
        case .unacknowledged(let attempts, let linkError, _):
            let why = linkError.map { "the link failed: \($0)" } ?? "no reply after \(attempts) attempts"
            try? record(command: "\(request.opcode)", phase: .event, outcome: why)
            throw .communication("the pump did not answer \(request.opcode) (\(why))")
        }
    }

    public func interrogateReport() async throws(ProgrammerError) -> InterrogateReport {
        let reply = try await read(.interrogate(InterrogateRequest()))
        guard case .interrogate(let report) = reply else { throw .deviceFault("the pump answered interrogate with \(reply.opcode)") }
        guard report.serial == pumpSerial else {
            throw .deviceFault("the pump reported serial \(report.serial) inside a session with \(pumpSerial)")
        }
        return report
    }

    // MARK: State changes

    /// Sends one state-changing command under the uncertain-delivery rules.
    func perform(command: String, parameters: [String: String], overrides: [AuditOverride] = [],
                 _ make: (CommandID) -> PumpRequest) async throws(ProgrammerError) -> PumpReply {
        try await requireNothingPending()
        let id = CommandID.random()
        let request = make(id)
        let entry = PendingCommand(commandID: id.description, command: command, pumpSerial: pumpSerial,
                                   sentAt: context.now(), parameters: parameters)
        performed += 1
        // Durable before anything is sent: a crash from here on leaves the
        // record, and the next run asks the pump about this id.
        do { try pending.record(entry) } catch { throw .storage(error.description) }
        try record(command: command, phase: .intent, commandID: entry.commandID, parameters: parameters, overrides: overrides)
        crashIfAsked(.beforeSend)

        let result = await connection.send(request)
        crashIfAsked(.afterSend)
        switch result {
        case .completed(let reply):
            try record(command: command, phase: .outcome, commandID: entry.commandID, outcome: "done")
            crashIfAsked(.afterOutcome)
            try clearPending(entry)
            return reply
        case .refused(let opcode, let refusal):
            try record(command: command, phase: .outcome, commandID: entry.commandID, outcome: "refused by pump: \(refusal)")
            try clearPending(entry)
            throw .pumpRefused(opcode, refusal)
        case .notSent(let reason):
            try record(command: command, phase: .outcome, commandID: entry.commandID, outcome: "not sent: \(reason)")
            try clearPending(entry)
            if case .wandRefused(.pumpNotInRange) = reason {
                throw .notFound("The pump is out of range: hold the wand over the pump and try again. Nothing was sent.")
            }
            throw .communication("\(command) was not sent (\(reason))")
        case .unacknowledged(let attempts, let linkError, _):
            let why = linkError.map { "the link failed (\($0))" } ?? "no reply after \(attempts) attempts"
            try record(command: command, phase: .outcome, commandID: entry.commandID, outcome: "UNCERTAIN: \(why)")
            throw .uncertain(entry)
        }
    }

    private func crashIfAsked(_ point: ProgrammerContext.CrashPoint) {
        guard context.simulated, context.crashPoint == point, performed == context.crashAtCommand else { return }
        kill(getpid(), SIGKILL)
    }

    private func clearPending(_ entry: PendingCommand) throws(ProgrammerError) {
        do { try pending.resolve(commandID: entry.commandID) } catch { throw .storage(error.description) }
    }

    /// What became of a command whose reply was lost.
    public struct Resolution: Sendable, Equatable {
        public var command: PendingCommand
        /// True when the pump executed it, false when it refused it or never saw it.
        public var executed: Bool
        public var detail: String
    }

    /// Asks the pump about the pending command, if there is one for this
    /// pump, and clears it once the pump has answered.
    @discardableResult
    public func resolvePending() async throws(ProgrammerError) -> Resolution? {
        let entry: PendingCommand?
        do { entry = try pending.load() } catch {
            throw .storage(error.description)
        }
        guard let entry else { return nil }
        guard entry.pumpSerial == pumpSerial else {
            throw .unresolved(entry, detail: "It was sent to another pump; hold the wand over pump \(entry.pumpSerial) and run 'pumpctl interrogate' to resolve it.")
        }
        guard let bytes = Self.hexBytes(entry.commandID), let id = CommandID(bytes: bytes) else {
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
        let resolution: Resolution
        if let stored = report.storedReply, let outcome = try? PumpReply(decoding: stored) {
            if case .refused(_, let refusal) = outcome {
                resolution = Resolution(command: entry, executed: false, detail: "the pump had refused it: \(refusal.meaning)")
            } else {
                resolution = Resolution(command: entry, executed: true, detail: "the pump had carried it out")
            }
        } else {
            // The exchange layer sends every attempt before giving up and the
            // wand relays in order, so the pump has seen all it will ever see
            // of that command: no record means it never arrived.
            resolution = Resolution(command: entry, executed: false, detail: "the pump never received it")
        }
        try record(command: entry.command, phase: .outcome, commandID: entry.commandID,
                   outcome: "resolved: \(resolution.detail)")
        try clearPending(entry)
        return resolution
    }

    /// Resolves a pending command first; refuses to go on while one stays unknown.
    func requireNothingPending() async throws(ProgrammerError) {
        try await resolvePending()
    }

    static func hexBytes(_ text: String) -> [UInt8]? {
        let digits = Array(text.utf8)
        guard digits.count % 2 == 0 else { return nil }
        var bytes: [UInt8] = []
        var index = 0
        while index < digits.count {
            guard let value = UInt8(String(decoding: digits[index...index + 1], as: UTF8.self), radix: 16) else { return nil }
            bytes.append(value)
            index += 2
        }
        return bytes
    }

    public func close() async {
        try? record(command: "session", phase: .event, outcome: "session closed")
        await connection.close()
    }
}
