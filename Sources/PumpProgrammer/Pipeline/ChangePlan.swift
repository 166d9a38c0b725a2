import Foundation
import Therapy
import WandProtocol

/// Every kind of request that changes the pump. The raw values are the
/// names the audit trail and the pending-command record use; a released
/// name keeps its meaning.
public enum CommandKind: String, Sendable, Codable, CaseIterable {
    case stage
    /// Commit of a staged prescription: the change of therapy.
    case commit = "program"
    case discard
    case bolus
    case stop
    case resume
    case refillBegin = "refill-begin"
    case refillComplete = "refill"
    case refillCancel = "refill-cancel"
    case alarmSettings = "alarms"
    case clockSet = "clock-sync"
    /// An implant or a catheter replacement recorded in the pump.
    case fluidPath = "catheter"
    /// A new long-term key for the pump (revokes every other host's key).
    case rekey = "keys-rotate"
}

/// How the technician must confirm a planned change.
public enum ConfirmationRule: Sendable, Equatable {
    /// Type `yes`.
    case yes
    /// Type the new daily dose back (a dose increase).
    case typeDailyDose(DoseRate, unit: QuantityUnit<DoseRateDimension>)
}

/// How the technician confirmed.
public enum Confirmation: Sendable, Equatable {
    /// Typed at the prompt: the new daily dose for an increase, or `yes`.
    case typed(String)
    /// Non-interactive: `--yes` given (or not).
    case flag(yes: Bool)
    /// Ctrl-C (or end of input) at the prompt.
    case interrupted
}

/// Why a second provider must confirm a change, when the clinic policy asks.
public enum SecondProviderReason: Sendable, Equatable, CustomStringConvertible {
    case doseIncrease
    case concentrationChange
    case prescriptionChange
    /// The pump's event log does not cover the window a limit counts in
    /// (boluses in 24 h, increases in the titration window), so those
    /// limits cannot be shown to hold: a second provider confirms.
    case incompleteHistory

    /// The change in words, as refusals and screens name it.
    public var description: String {
        switch self {
        case .incompleteHistory: return "a change checked against an incomplete pump history (its event log does not cover the window)"
        case .doseIncrease: return "a dose increase"
        case .concentrationChange: return "a change of drug or concentration"
        case .prescriptionChange: return "a change of prescription"
        }
    }
}

/// One request of a planned change, as it will be sent.
public struct WireStep: Sendable {
    public var kind: CommandKind
    /// The request, given the fresh command id the pipeline allocates and
    /// the expiry it computed from the pump clock it last read.
    public var request: @Sendable (CommandID, RequestExpiry) -> PumpRequest
    /// The reply that proves the step was carried out as planned.
    public var expectedReply: ExpectedReply

    public init(kind: CommandKind, expectedReply: ExpectedReply, request: @escaping @Sendable (CommandID, RequestExpiry) -> PumpRequest) {
        self.kind = kind
        self.request = request
        self.expectedReply = expectedReply
    }
}

/// What a reply must be for a step to count as carried out as planned.
public enum ExpectedReply: Sendable, Equatable {
    /// A stage receipt for this command id with exactly this hash.
    case staged(PrescriptionHash)
    /// A command receipt for this command id and opcode.
    case executed(PumpOpcode)
    /// The pump entered refill; the residual it now expects must be the one
    /// the plan checked, less at most what it can have delivered while the
    /// technician read the review (`allowance`). Anything else means the
    /// residual check no longer holds.
    case refillBegun(checked: Volume, allowance: Volume)
}

/// What the pump is read back for after a change.
public enum Verification: Sendable, Equatable {
    /// The receipt is the proof (bolus, stop, resume, settings).
    case receipt
    /// The active prescription must read back equal to this one.
    case prescription(WirePrescription)
}

/// The state of the pump a plan was built from. Before the first request
/// is sent the pump is read again, and a plan whose basis no longer holds
/// (another programmer changed the pump meanwhile) is refused.
public struct PlanBasis: Sendable, Equatable {
    public var prescriptionHash: PrescriptionHash
    public var stagedHash: PrescriptionHash?
    public var infusion: InfusionState
    public var lastChange: PumpTime
    public var drug: Drug
    public var concentration: Concentration

    init(_ status: PumpStatus) {
        prescriptionHash = status.prescriptionHash
        stagedHash = status.stagedHash
        infusion = status.infusion
        lastChange = status.lastChange
        drug = status.drug
        concentration = status.concentration
    }

    /// The fields that differ in `now`, for the technician.
    func differences(from now: PlanBasis) -> [String] {
        var changed: [String] = []
        if prescriptionHash != now.prescriptionHash { changed.append("prescription") }
        if infusion != now.infusion { changed.append("infusion state") }
        if lastChange != now.lastChange { changed.append("last therapy change") }
        if drug != now.drug || concentration != now.concentration { changed.append("drug or concentration") }
        return changed
    }
}

/// What the pump's state forbids, for every command that changes it. The
/// pump refuses these itself; finding them at the plan puts them before
/// the prompt.
enum PumpStateRules {
    /// A refill begun: nothing but finishing or cancelling it.
    static func refillInProgress(_ status: PumpStatus) -> [Finding] {
        guard status.infusion == .refillInProgress else { return [] }
        return [Finding(code: .pumpRefillInProgress, severity: .hard,
                        message: "a refill is in progress and delivery is paused; finish it (pumpctl refill ...) or cancel it (pumpctl refill --cancel) first")]
    }

    /// An alarm that stops delivery also blocks changes of therapy.
    static func deliveryStopped(_ status: PumpStatus, what: String) -> [Finding] {
        guard let alarm = status.deliveryStoppingAlarm else { return [] }
        return [Finding(code: .pumpAlarmStopsDelivery, severity: .hard,
                        message: "the pump's \(alarm.name) alarm stops delivery; \(what) until it is cleared")]
    }
}

/// What a planned change does, in typed terms, for the screen and the record.
public enum PlannedChange: Sendable {
    case program(ProgramChange)
    case bolus(BolusPlan)
    case stop
    case resume
    case refill(RefillChange)
    case refillCancel
    case lowReservoirThreshold(from: Volume, to: Volume)
    case setClock(driftSeconds: Int64)
    /// The fluid path recorded; `primeAfter` is the stretch that will hold no drug.
    case fluidPath(event: FluidPathCommand.Event, catheter: Volume, primeAfter: Volume)
    /// A new key for the pump's next sessions, named by its id.
    case rekey(serial: String, newKeyId: String)
}

/// A planned change to the pump: a value built from the pump's typed state,
/// the request and the policy, before anything is shown or sent.
///
/// Its findings, its confirmation rule and its second-provider rule are
/// fields, so every command is authorised by the same step
/// (`Programmer.authorise`), and everything that can refuse it is known
/// (and shown) before the technician is asked to confirm.
public struct ChangePlan: Sendable {
    /// The command the technician asked for (for messages and the audit trail).
    public var command: CommandKind
    public var change: PlannedChange
    /// The pump as it was read for this plan.
    public var before: PumpStatus
    public var findings: ValidationReport
    public var confirmation: ConfirmationRule
    /// Set when the clinic policy asks a second provider to confirm.
    public var secondProvider: SecondProviderReason?
    /// What will be sent, in order. Empty when the pump already holds what
    /// was asked for: then nothing is sent.
    public var steps: [WireStep]
    /// Sent when a change is abandoned after its first step was carried
    /// out (discard a staged prescription, cancel a begun refill), so the
    /// pump is never left half-way.
    public var abandon: WireStep?
    public var verification: Verification
    public var basis: PlanBasis
    /// The command's parameters for the audit trail and the pending record.
    public var parameters: [String: String]
    /// Overrides the request itself carries (a refill's acknowledged
    /// residual discrepancy), added to the technician's at authorisation.
    public var acknowledged: [Override] = []
    /// A command left pending by an earlier run that the plan's reading of
    /// the pump resolved first, to be shown with the plan.
    public var resolution: Programmer.Resolution?

    /// True when nothing needs to be sent: the pump already is as asked.
    public var unchanged: Bool { steps.isEmpty }
}

/// One state-changing command: how it is planned from the pump's state.
/// Adding a command means one type conforming to this, one CLI file, and
/// the simulator's side of its message (docs/architecture.md).
public protocol PumpCommand: Sendable {
    var kind: CommandKind { get }
    /// Builds the plan. Pure: sends nothing, writes nothing.
    func plan(in situation: PlanningSituation) throws(ProgrammerError) -> ChangePlan
}

/// What a command is planned from.
public struct PlanningSituation: Sendable {
    public var status: PumpStatus
    public var policy: ClinicPolicy
    public var profile: PumpProfile
    /// True time when the pump was read (this computer's clock, in the
    /// pump's zone): rules about "24 h since" use it.
    public var now: PumpTime
    /// Earlier dose increases of this pump, for the titration window.
    public var recentIncreases: [PumpTime]
    /// The pump's own event log of the recent past (boluses, commits),
    /// read for every plan; nil when it could not be read.
    public var history: PumpHistory? = nil
    /// False when `recentIncreases` may miss some (the log did not reach
    /// back over the whole window).
    public var increaseHistoryComplete = true
    /// The pump's last therapy change in true time (placed by its event in
    /// the log); nil: the pump's stamp as it is.
    public var lastChange: PumpTime? = nil
    /// For an opioid: the tolerance the prescription in the pump was
    /// declared with when it was programmed (the pump does not store it;
    /// the audit row of the commit with its hash does). Nil: not recorded.
    public var declaredOpioidTolerance: OpioidTolerance? = nil
    /// For a pump in the stopped mode: the daily dose its last delivering
    /// prescription delivered, when its event log and the audit row of that
    /// commit both show it. Nil: not known (the start-dose limits still hold).
    public var lastDeliveringDose: DoseRate? = nil

    /// Whether the pump's log covers the last 24 h, so every bolus of it is counted.
    public var bolusHistoryComplete: Bool {
        guard let history, let start = history.now.adding(seconds: -86_400) else { return false }
        return history.covers(since: start)
    }

    /// When the pump stopped delivering, if its infusion is stopped now:
    /// the last therapy change, which the stop was (a commit restarts it),
    /// in true time.
    public var stoppedSince: PumpTime? {
        guard status.infusion == .stopped, status.prescription.mode != .stopped else { return nil }
        // A stop is taken as early as it can have been (the longer stop is
        // the safe side: its restart is a start), so the history's "as late
        // as it can have been" is moved back by the whole measured drift;
        // a pump clock a minute ahead must not make a stop seconds old look
        // like one from the future.
        let drift = status.clockDriftSeconds == .min ? Int64.max : abs(status.clockDriftSeconds)
        if let placed = history?.lastTherapyChange { return placed.adding(seconds: -drift) ?? placed }
        // Not placed by its event: the pump's own stamp, moved the same way.
        // (`lastChange`'s fallback of "just now" is the safe side for
        // titration, but would make any stop short.)
        return status.lastChange.adding(seconds: -drift) ?? status.lastChange
    }
}
