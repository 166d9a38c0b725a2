import Therapy
import WandProtocol

/// Records the surgeon's change of the fluid path: an implant (pathway and
/// catheter hold no drug) or a catheter replacement (the new catheter holds
/// none, the pathway keeps its contents), with the catheter's volume. The
/// next step is a prime of the stretch that holds no drug; until then the
/// pump reports that it is not delivering drug.
///
/// Request: `SetFluidPath`. Reply: a command receipt. Audit: event,
/// catheter volume. Only with infusion stopped and no bolus running: the
/// line is open during surgery.
public struct FluidPathCommand: PumpCommand {
    public enum Event: String, Sendable, CaseIterable {
        case implant
        case catheterReplaced = "catheter-replaced"
    }

    public var event: Event
    public var catheter: Volume
    public var kind: CommandKind { .fluidPath }

    public init(event: Event, catheter: Volume) {
        self.event = event
        self.catheter = catheter
    }

    /// The catheter volumes the wire carries (PROTOCOL.md 0x14).
    public static let catheterRange = Volume.nL(1)...Volume.nL(Int64(WireFluidPath.maximumCatheterNanolitres))

    public func plan(in situation: PlanningSituation) throws(ProgrammerError) -> ChangePlan {
        let status = situation.status
        var findings = PumpStateRules.refillInProgress(status)
        switch status.infusion {
        case .infusing:
            findings.append(Finding(code: .pumpAlreadyInState, severity: .hard,
                                    message: "infusion is running: stop it first (pumpctl stop); the line is open while the catheter is changed"))
        case .bolusInProgress:
            findings.append(Finding(code: .pumpBolusRunning, severity: .hard, message: "a bolus is running; the catheter record is changed only with the pump stopped"))
        case .stopped, .refillInProgress:
            break
        }
        if !Self.catheterRange.contains(catheter) {
            findings.append(Finding(code: .arithmeticOutOfRange, severity: .hard,
                                    message: "a catheter volume of \(catheter) is outside what the pump records (\(Self.catheterRange.lowerBound) to \(Self.catheterRange.upperBound))"))
        }
        let wireEvent: FluidPathEvent = event == .implant ? .implant : .catheterReplaced
        // Out of range is a hard finding already; the step is never sent then.
        let volume = UInt32(exactly: catheter.baseValue) ?? 1
        let step = WireStep(kind: .fluidPath, expectedReply: .executed(.setFluidPath)) { id, expiry in
            .setFluidPath(SetFluidPath(commandId: id, expiry: expiry, event: wireEvent, catheterNanolitres: volume))
        }
        let emptied = event == .implant ? catheter.adding(status.fluidPath.pathway) ?? catheter : catheter
        return ChangePlan(
            command: .fluidPath, change: .fluidPath(event: event, catheter: catheter, primeAfter: emptied), before: status,
            findings: ValidationReport(findings: findings), confirmation: .yes, secondProvider: nil, steps: [step], abandon: nil,
            verification: .receipt, basis: PlanBasis(status),
            parameters: ["event": event.rawValue, "catheter": catheter.description])
    }
}
