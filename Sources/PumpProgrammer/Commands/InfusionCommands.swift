import Therapy
import WandProtocol

/// Stops infusion. Stopping baclofen or an opioid risks withdrawal
/// (Therapy's `InterruptionRules`), so it needs that override with a reason.
///
/// Request: `StopInfusion`. Reply: a command receipt. Audit: no parameters.
public struct StopCommand: PumpCommand {
    public var kind: CommandKind { .stop }
    public init() {}

    public func plan(in situation: PlanningSituation) throws(ProgrammerError) -> ChangePlan {
        let status = situation.status
        var findings = PumpStateRules.refillInProgress(status)
        if status.infusion == .infusing || status.infusion == .bolusInProgress {
            // What stops is what reaches the patient: after a drug change
            // the old drug still in the line, then the reservoir's.
            for drug in status.drugsReachingThePatient {
                findings += InterruptionRules.stopFindings(drug: drug, policy: situation.policy)
            }
        }
        let step = WireStep(kind: .stop, expectedReply: .executed(.stopInfusion)) { id, expiry in .stopInfusion(StopInfusion(commandId: id, expiry: expiry)) }
        // Already stopped with nothing pumping: the pump is as asked, and
        // nothing is sent. A prime runs with infusion stopped, and a stop
        // then ends it (PROTOCOL.md 0x09), so it is sent.
        return ChangePlan(command: .stop, change: .stop, before: status, findings: ValidationReport(findings: findings),
                          confirmation: .yes, secondProvider: nil, steps: status.infusion == .stopped && status.bolusInProgress == nil ? [] : [step],
                          abandon: nil, verification: .receipt,
                          basis: PlanBasis(status), parameters: [:])
    }
}

/// Resumes infusion at the programmed prescription.
///
/// Request: `ResumeInfusion`. Reply: a command receipt.
public struct ResumeCommand: PumpCommand {
    public var kind: CommandKind { .resume }
    public init() {}

    public func plan(in situation: PlanningSituation) throws(ProgrammerError) -> ChangePlan {
        let status = situation.status
        var findings = PumpStateRules.refillInProgress(status)
            + PumpStateRules.deliveryStopped(status, what: "it cannot resume")
        // A line that holds no drug at the tip delivers nothing for days at
        // the basal rate: prime it first (a prime runs with infusion stopped).
        if status.fluidPath.tipHoldsNoDrug {
            let priming = status.bolusInProgress?.kind == .prime
            findings.append(Finding(code: .lineHoldsNoDrug, severity: .hard,
                                    message: priming
                                        ? "the catheter tip holds no drug yet: the prime running now has \(Shown.duration(seconds: Int64(status.bolusInProgress?.remainingSeconds ?? 0))) to go; resume when it has finished"
                                        : "the catheter tip holds no drug: resumed now, the pump would deliver nothing until \(status.fluidPath.primeVolume) had been pushed at the basal rate; prime the line first (pumpctl bolus --kind prime), then resume"))
        }
        // After a long stop the held dose restarts like a start (Therapy's rule).
        if let since = situation.stoppedSince {
            findings += PrescriptionValidator.restartFindings(status.prescription, stoppedSince: since, now: situation.now,
                                                              policy: situation.policy, profile: situation.profile)
        }
        let step = WireStep(kind: .resume, expectedReply: .executed(.resumeInfusion)) { id, expiry in .resumeInfusion(ResumeInfusion(commandId: id, expiry: expiry)) }
        // Not stopped (infusing, or a bolus running): nothing to resume, nothing sent.
        let running = status.infusion == .infusing || status.infusion == .bolusInProgress
        return ChangePlan(command: .resume, change: .resume, before: status, findings: ValidationReport(findings: findings),
                          confirmation: .yes, secondProvider: nil, steps: running ? [] : [step], abandon: nil, verification: .receipt,
                          basis: PlanBasis(status), parameters: [:])
    }
}

/// Sets the low-reservoir alarm threshold within the pump's range.
///
/// Request: `SetAlarmConfiguration`. Reply: a command receipt.
public struct AlarmThresholdCommand: PumpCommand {
    public var threshold: Volume
    public var kind: CommandKind { .alarmSettings }
    public init(threshold: Volume) { self.threshold = threshold }

    public func plan(in situation: PlanningSituation) throws(ProgrammerError) -> ChangePlan {
        let status = situation.status
        let range = situation.profile.lowReservoirAlarmRange
        var findings = PumpStateRules.refillInProgress(status)
        if !range.contains(threshold) {
            findings.append(Finding(code: .alarmThresholdOutOfRange, severity: .hard,
                                    message: "the low-reservoir alarm must be between \(range.lowerBound) and \(range.upperBound) on \(situation.profile.model)"))
        }
        let field = UInt32(exactly: threshold.baseValue) ?? 0
        let steps = threshold == status.lowReservoirThreshold ? [] : [
            WireStep(kind: .alarmSettings, expectedReply: .executed(.setAlarmConfiguration)) { id, expiry in
                .setAlarmConfiguration(SetAlarmConfiguration(commandId: id, expiry: expiry, lowReservoirThresholdNanolitres: field))
            },
        ]
        return ChangePlan(command: .alarmSettings, change: .lowReservoirThreshold(from: status.lowReservoirThreshold, to: threshold),
                          before: status, findings: ValidationReport(findings: findings), confirmation: .yes,
                          secondProvider: nil, steps: steps, abandon: nil, verification: .receipt, basis: PlanBasis(status),
                          parameters: ["low_reservoir": threshold.description])
    }
}

/// Sets the pump's clock to the host's time, never while a bolus runs
/// (moving the clock under a running bolus would change what it delivers).
///
/// Request: `SetClock`. Reply: a command receipt.
public struct ClockSetCommand: PumpCommand {
    /// Host time, UTC seconds, taken when the command was built.
    public var hostSeconds: Int64
    public var kind: CommandKind { .clockSet }
    public init(hostSeconds: Int64) { self.hostSeconds = hostSeconds }

    public func plan(in situation: PlanningSituation) throws(ProgrammerError) -> ChangePlan {
        let status = situation.status
        var findings = PumpStateRules.refillInProgress(status)
        if status.infusion == .bolusInProgress {
            findings.append(Finding(code: .pumpBolusRunning, severity: .hard,
                                    message: "the clock is not set while a bolus runs; wait for it to finish"))
        }
        let (drift, overflow) = status.clock.utcSeconds.subtractingReportingOverflow(hostSeconds)
        guard !overflow, (try? PumpTime(checkedUTCSeconds: hostSeconds)) != nil else {
            throw .input("this computer's clock is outside any real date")
        }
        let offset = Int16(clamping: status.clock.offsetMinutes)
        let seconds = hostSeconds
        let step = WireStep(kind: .clockSet, expectedReply: .executed(.setClock)) { id, expiry in
            .setClock(SetClock(commandId: id, expiry: expiry, time: WireTime(utcSeconds: seconds, zoneOffsetMinutes: offset)))
        }
        return ChangePlan(command: .clockSet, change: .setClock(driftSeconds: drift), before: status,
                          findings: ValidationReport(findings: findings), confirmation: .yes, secondProvider: nil,
                          steps: [step], abandon: nil, verification: .receipt, basis: PlanBasis(status),
                          parameters: ["drift_seconds": "\(drift)"])
    }
}
