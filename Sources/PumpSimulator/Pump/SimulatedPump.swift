import Therapy
import WandProtocol

/// The simulated pump's therapy logic: it executes authenticated requests
/// and keeps its own hard limits whatever the host says.
///
/// It knows only what a pump knows: volumes, rates, concentrations and its
/// profile. Doses and clinic policy are the host's; the pump refuses what it
/// cannot do safely (overfill, rates outside its range, a prescription that
/// does not match the drug in its reservoir, delivery in an alarm that stops
/// it) and records everything in its event log.
public struct SimulatedPump: Sendable, Equatable {
    public var identity: PumpIdentity
    public let profile: PumpProfile
    public var mechanics: PumpMechanics
    public var drug: WireDrug
    public private(set) var prescription: WirePrescription
    public private(set) var staged: WirePrescription?
    public private(set) var lastChange: Int64
    /// Set between refill begin and refill complete (or cancel): the residual
    /// the pump expected.
    public private(set) var refillExpectedResidual: FineVolume?
    /// Whether infusion was stopped when the refill began: refill pauses
    /// delivery, and complete or cancel puts it back as it was. Nil outside
    /// a refill (and for a refill begun by a simulator that did not pause).
    public private(set) var infusionStoppedBeforeRefill: Bool?
    /// True simulated time of refill begin (not the pump's settable clock,
    /// so no clock reading can stretch the limit). Nil outside a refill;
    /// a refill restored without it is timed from the next advance.
    public private(set) var refillBegunAt: Int64?
    public var eventLog: EventLog
    /// The pump's persistent record of command ids and their replies.
    public var outcomes: CommandOutcomeStore
    /// Start times of recent patient boluses, for lockout and the 24 h maximum.
    public private(set) var patientBolusTimes: [Int64]
    /// Boluses of every kind that ran to their end.
    public private(set) var bolusesDelivered: Int
    /// The host audit heads this pump witnessed (request 0x16), newest
    /// first, at most `AuditAnchorReport.maximumAnchors`.
    public internal(set) var auditAnchors: [WireAuditAnchor] = []

    public init(identity: PumpIdentity, profile: PumpProfile, mechanics: PumpMechanics, drug: WireDrug,
                prescription: WirePrescription, lastChange: Int64) {
        self.identity = identity
        self.profile = profile
        self.mechanics = mechanics
        self.drug = drug
        self.prescription = prescription
        staged = nil
        self.lastChange = lastChange
        refillExpectedResidual = nil
        infusionStoppedBeforeRefill = nil
        refillBegunAt = nil
        eventLog = EventLog()
        outcomes = CommandOutcomeStore()
        patientBolusTimes = []
        bolusesDelivered = 0
        self.mechanics.schedule = Self.schedule(for: prescription)
        self.mechanics.infusionStopped = prescription.mode == .stopped
    }

    /// Restores a pump from its persisted parts.
    init(identity: PumpIdentity, profile: PumpProfile, mechanics: PumpMechanics, drug: WireDrug,
         prescription: WirePrescription, staged: WirePrescription?, lastChange: Int64,
         refillExpectedResidual: FineVolume?, infusionStoppedBeforeRefill: Bool?, refillBegunAt: Int64? = nil,
         eventLog: EventLog, outcomes: CommandOutcomeStore, patientBolusTimes: [Int64], bolusesDelivered: Int) {
        self.identity = identity
        self.profile = profile
        self.mechanics = mechanics
        self.drug = drug
        self.prescription = prescription
        self.staged = staged
        self.lastChange = lastChange
        self.refillExpectedResidual = refillExpectedResidual
        self.infusionStoppedBeforeRefill = infusionStoppedBeforeRefill
        self.refillBegunAt = refillExpectedResidual == nil ? nil : refillBegunAt
        self.eventLog = eventLog
        self.outcomes = outcomes
        self.patientBolusTimes = patientBolusTimes
        self.bolusesDelivered = bolusesDelivered
    }

    /// The pump's own clock (true time plus its error), which stamps its
    /// events and replies.
    public var clock: Int64 { mechanics.clock + mechanics.clockError }
    public var wireTime: WireTime {
        WireTime(utcSeconds: clock, zoneOffsetMinutes: Int16(clamping: mechanics.zoneOffset / 60))
    }

    // MARK: Time

    /// Runs the pump to `time`, logging alarms and bolus ends on the way.
    /// `time` is true simulated time.
    public mutating func advance(to time: Int64) {
        guard time > mechanics.clock else { return }
        if refillExpectedResidual != nil {
            let begun = refillBegunAt ?? mechanics.clock
            refillBegunAt = begun
            let (deadline, overflow) = begun.addingReportingOverflow(Self.refillTimeLimit)
            if !overflow, deadline <= time {
                // Paused until the limit, nothing pumped; then the refill
                // ends there and delivery runs on from that moment.
                record(mechanics.advance(to: deadline))
                abandonRefill()
            }
        }
        record(mechanics.advance(to: time))
    }

    /// How long a refill may stay open with no complete or cancel, seconds
    /// of true time (PROTOCOL.md, refill time limit). A refill at the
    /// pump takes 10 to 20 minutes of needle time; 30 minutes leaves room
    /// for a careful residual check and a second person's verification,
    /// while a pause of 30 minutes is small against the hours over which
    /// intrathecal baclofen or opioid withdrawal develops. A pump left
    /// paused indefinitely (a crashed laptop, an unplugged wand) is the
    /// hazard this bounds (H160).
    public static let refillTimeLimit: Int64 = 30 * 60

    /// Ends a refill nobody completed or cancelled in time: delivery goes
    /// back to what it was before refill begin (as a cancel does), but the
    /// reservoir may have been emptied with nothing added, so the pump
    /// raises an alarm the patient hears and every interrogate shows, until
    /// a refill complete measures the reservoir again. The prescription,
    /// staged prescription and last therapy change are unchanged.
    private mutating func abandonRefill() {
        endRefill()
        eventLog.append(time: clock, code: PumpEventCode.refillAbandoned.rawValue,
                        detail: UInt32(clamping: mechanics.reservoir.nanolitres))
        raise(.refillAbandoned)
    }

    private mutating func record(_ happenings: [PumpMechanics.Happening]) {
        for happening in happenings {
            switch happening {
            case let .alarmRaised(alarm, at):
                eventLog.append(time: at + mechanics.clockError, code: PumpEventCode.alarmRaised.rawValue, detail: UInt32(alarm.wireCode.rawValue))
            case let .bolusFinished(_, at, delivered):
                bolusesDelivered += 1
                eventLog.append(time: at + mechanics.clockError, code: PumpEventCode.bolusFinished.rawValue, detail: UInt32(clamping: delivered.nanolitres))
            case let .bolusCut(_, at, undelivered):
                eventLog.append(time: at + mechanics.clockError, code: PumpEventCode.bolusCancelled.rawValue, detail: UInt32(clamping: undelivered.nanolitres))
            case let .bolusDrug(at, nanograms):
                eventLog.append(time: at + mechanics.clockError, code: PumpEventCode.bolusDrugDelivered.rawValue, detail: UInt32(clamping: nanograms))
            case let .lineTurnedOver(at, concentration):
                eventLog.append(time: at + mechanics.clockError, code: PumpEventCode.lineTurnedOver.rawValue, detail: UInt32(clamping: concentration))
            }
        }
    }

    /// Logs what an ended bolus put into the patient (event 0x0025).
    private mutating func logBolusDrug(_ nanograms: Int64?) {
        guard let nanograms else { return }
        eventLog.append(time: clock, code: PumpEventCode.bolusDrugDelivered.rawValue, detail: UInt32(clamping: nanograms))
    }

    /// Raises a fault alarm (motor stall, memory fault) and logs it.
    public mutating func raise(_ alarm: SimulatedAlarm) {
        record(mechanics.raise(alarm))
    }

    // MARK: Requests

    /// Executes one authenticated, non-repeated request.
    public mutating func execute(_ request: PumpRequest) -> PumpReply {
        let reply = dispatch(request)
        if case let .refused(opcode, _) = reply {
            eventLog.append(time: clock, code: PumpEventCode.commandRefused.rawValue, detail: UInt32(opcode.rawValue))
        }
        return reply
    }

    /// Logs a request the session layer refused as expired (it never
    /// reached `execute`) like any other refusal, so the event log shows a
    /// held request that arrived too late. Its opcode is the newest
    /// outcome's: the refusal was stored just before.
    mutating func logExpiredRequest() {
        guard let newest = outcomes.entries.last, newest.reply.count >= 2,
              newest.reply[1] == PumpRefusal.requestExpired.rawValue else { return }
        eventLog.append(time: clock, code: PumpEventCode.commandRefused.rawValue, detail: UInt32(newest.reply[0] & 0x7F))
    }

    private mutating func dispatch(_ request: PumpRequest) -> PumpReply {
        // During a refill only its own end (complete or cancel), reads and
        // session messages are allowed (PROTOCOL.md 0x10): a resume or a bolus
        // would undo the pause while the needle is in the reservoir.
        if refillExpectedResidual != nil, request.opcode.changesState,
           ![.refillBegin, .refillComplete, .refillCancel].contains(request.opcode) {
            return .refused(request.opcode, .refillInProgress)
        }
        switch request {
        case let .interrogate(message):
            let report = interrogateReport()
            // The page is optional: a report that would not fit one sealed
            // frame with it goes without (the host then reads page 0 itself).
            return .interrogate(message.includesNewestEvents ? report.carrying(newestEvents: eventLogPage(0)) : report)
        case .readPrescription:
            return .prescription(PrescriptionReport(prescription: prescription, hash: prescription.hash))
        case let .stagePrescription(message):
            return stage(message)
        case let .commitStagedPrescription(message):
            return commit(message)
        case let .discardStagedPrescription(message):
            staged = nil
            eventLog.append(time: clock, code: PumpEventCode.stagedDiscarded.rawValue)
            return executed(.discardStagedPrescription, message.commandId)
        case let .startBolus(message):
            return startBolus(message)
        case let .cancelBolus(message):
            let given = mechanics.bolus?.drugDeliveredNanograms
            guard let remaining = mechanics.cancelBolus() else { return .refused(.cancelBolus, .noBolusInProgress) }
            eventLog.append(time: clock, code: PumpEventCode.bolusCancelled.rawValue, detail: UInt32(clamping: remaining.nanolitres))
            logBolusDrug(given)
            return executed(.cancelBolus, message.commandId)
        case let .stopInfusion(message):
            // "Already stopped" only when nothing is pumping: a prime runs with
            // infusion stopped, and a stop sent to end it must end it rather
            // than be refused while the prime goes on at bolus speed.
            guard !mechanics.infusionStopped || mechanics.bolus != nil else { return .refused(.stopInfusion, .alreadyStopped) }
            mechanics.infusionStopped = true
            // Stop ends a bolus in progress, logged like a cancel: what it
            // did not deliver, then what it did.
            let given = mechanics.bolus?.drugDeliveredNanograms
            if let undelivered = mechanics.cancelBolus() {
                eventLog.append(time: clock, code: PumpEventCode.bolusCancelled.rawValue, detail: UInt32(clamping: undelivered.nanolitres))
                logBolusDrug(given)
            }
            lastChange = clock
            eventLog.append(time: clock, code: PumpEventCode.infusionStopped.rawValue)
            return executed(.stopInfusion, message.commandId)
        case let .resumeInfusion(message):
            guard mechanics.infusionStopped else { return .refused(.resumeInfusion, .alreadyRunning) }
            if let refusal = therapyChangeRefusal() { return .refused(.resumeInfusion, refusal) }
            mechanics.infusionStopped = false
            lastChange = clock
            eventLog.append(time: clock, code: PumpEventCode.infusionResumed.rawValue)
            return executed(.resumeInfusion, message.commandId)
        case let .refillBegin(message):
            guard refillExpectedResidual == nil else { return .refused(.refillBegin, .refillInProgress) }
            // Refill pauses all delivery. A bolus in progress ends here, as
            // with stop infusion, and is logged with what it did not deliver;
            // complete or cancel resume the programmed rate, not the bolus.
            let given = mechanics.bolus?.drugDeliveredNanograms
            if let undelivered = mechanics.cancelBolus() {
                eventLog.append(time: clock, code: PumpEventCode.bolusCancelled.rawValue,
                                detail: UInt32(clamping: undelivered.nanolitres))
                logBolusDrug(given)
            }
            refillExpectedResidual = mechanics.reservoir
            infusionStoppedBeforeRefill = mechanics.infusionStopped
            refillBegunAt = mechanics.clock
            mechanics.infusionStopped = true
            eventLog.append(time: clock, code: PumpEventCode.refillBegun.rawValue, detail: UInt32(clamping: mechanics.reservoir.nanolitres))
            return .refillBegun(RefillBeginReport(
                commandId: message.commandId, expectedResidualNanolitres: UInt32(clamping: mechanics.reservoir.nanolitres),
                reservoirCapacityNanolitres: UInt32(clamping: profile.capacity.baseValue)))
        case let .refillComplete(message):
            return completeRefill(message)
        case let .refillCancel(message):
            return cancelRefill(message)
        case let .setAlarmConfiguration(message):
            let threshold = Volume.nL(Int64(message.lowReservoirThresholdNanolitres))
            guard profile.lowReservoirAlarmRange.contains(threshold) else {
                return .refused(.setAlarmConfiguration, .alarmThresholdOutOfRange)
            }
            mechanics.lowReservoirThreshold = FineVolume(nanolitres: threshold.baseValue)
            if mechanics.reservoir > mechanics.lowReservoirThreshold { mechanics.clear(.lowReservoir) }
            record(mechanics.advance(to: clock))
            eventLog.append(time: clock, code: PumpEventCode.alarmThresholdSet.rawValue, detail: message.lowReservoirThresholdNanolitres)
            return executed(.setAlarmConfiguration, message.commandId)
        case let .readEventLog(message):
            guard let page = eventLogPage(message.page) else { return .refused(.readEventLog, .pageOutOfRange) }
            return .eventLog(page)
        case .readClock:
            return .clock(wireTime)
        case let .setClock(message):
            guard mechanics.bolus == nil else { return .refused(.setClock, .bolusInProgress) }
            let moved = message.time.utcSeconds - clock
            // Setting the clock moves schedule steps, never the reservoir:
            // true time goes on, the pump's reading of it changes.
            mechanics.clockError = message.time.utcSeconds - mechanics.clock
            mechanics.zoneOffset = Int64(message.time.zoneOffsetMinutes) * 60
            eventLog.append(time: clock, code: PumpEventCode.clockSet.rawValue, detail: UInt32(bitPattern: Int32(clamping: moved)))
            return executed(.setClock, message.commandId)
        case let .setFluidPath(message):
            return setFluidPath(message)
        case let .rekey(message):
            return rekey(message)
        case let .queryCommandOutcome(message):
            return .outcome(CommandOutcomeReport(commandId: message.commandId, storedReply: outcomes.storedReply(for: message.commandId)))
        case .closeSession:
            return .sessionClosed
        case let .recordAuditAnchor(message):
            return recordAuditAnchor(message)
        }
    }

    private func executed(_ opcode: PumpOpcode, _ id: CommandID) -> PumpReply {
        .executed(opcode, CommandReceipt(commandId: id, executedAtUTCSeconds: clock))
    }

    /// Refusals that apply to any change of therapy.
    private func therapyChangeRefusal() -> PumpRefusal? {
        if mechanics.alarms.contains(.endOfService) { return .batteryEndOfService }
        if mechanics.alarms.contains(.motorStall) || mechanics.alarms.contains(.memoryFault) { return .blockingAlarmActive }
        return nil
    }

    // MARK: Prescriptions

    private mutating func stage(_ message: StagePrescription) -> PumpReply {
        if let refusal = therapyChangeRefusal() { return .refused(.stagePrescription, refusal) }
        let candidate = message.prescription
        guard candidate.drug == drug, candidate.concentrationNanogramsPerMillilitre == reservoirConcentration else {
            return .refused(.stagePrescription, .drugMismatch)
        }
        guard candidate.catheterVolumeNanolitres == catheterNanolitres else { return .refused(.stagePrescription, .catheterMismatch) }
        guard pumpAccepts(candidate) else { return .refused(.stagePrescription, .prescriptionInvalid) }
        staged = candidate
        eventLog.append(time: clock, code: PumpEventCode.prescriptionStaged.rawValue, detail: hashWord(candidate.hash))
        return .staged(StageReceipt(commandId: message.commandId, stagedHash: candidate.hash))
    }

    private mutating func commit(_ message: CommitStagedPrescription) -> PumpReply {
        if let refusal = therapyChangeRefusal() { return .refused(.commitStagedPrescription, refusal) }
        guard let candidate = staged else { return .refused(.commitStagedPrescription, .nothingStaged) }
        guard candidate.hash == message.stagedHash else { return .refused(.commitStagedPrescription, .stagedHashMismatch) }
        // The stage checks are made again against the pump as it is now: a
        // refill (same drug, other line contents) or a set fluid path since
        // the stage can make a staged prescription wrong for this pump, and
        // activating it would run rates written for another line.
        guard candidate.drug == drug, candidate.concentrationNanogramsPerMillilitre == reservoirConcentration else {
            return .refused(.commitStagedPrescription, .drugMismatch)
        }
        guard candidate.catheterVolumeNanolitres == catheterNanolitres else {
            return .refused(.commitStagedPrescription, .catheterMismatch)
        }
        guard pumpAccepts(candidate) else { return .refused(.commitStagedPrescription, .prescriptionInvalid) }
        activate(candidate)
        return executed(.commitStagedPrescription, message.commandId)
    }

    private mutating func activate(_ candidate: WirePrescription) {
        prescription = candidate
        staged = nil
        mechanics.schedule = Self.schedule(for: candidate)
        mechanics.infusionStopped = candidate.mode == .stopped
        lastChange = clock
        eventLog.append(time: clock, code: PumpEventCode.prescriptionCommitted.rawValue, detail: hashWord(candidate.hash))
        eventLog.append(time: clock, code: PumpEventCode.prescriptionDoseCommitted.rawValue, detail: Self.dailyDose(of: candidate))
    }

    /// The pump's own checks of a prescription: every rate within its
    /// range and on its resolution, the dose figures consistent with the
    /// volume and concentration, and a patient bolus it can deliver.
    func pumpAccepts(_ candidate: WirePrescription) -> Bool {
        let concentration = Int64(candidate.concentrationNanogramsPerMillilitre)
        // Delivered by dose at the tip (PumpMechanics.tipRate): every
        // concentration of this drug in the line must be deliverable at
        // the prescription's dose within the pump's rate range.
        let inLine = mechanics.line.segments.filter { $0.drug == candidate.drug.rawValue && $0.concentration > 0 }
        let rates = candidate.mode == .flex ? candidate.steps.map { Int64($0.volumeRateNanolitresPerDay) }
            : [Int64(candidate.continuousVolumeRateNanolitresPerDay)]
        for segment in inLine {
            for rate in rates where rate > 0 {
                let scaled = PumpMechanics.scaled(rate, from: concentration, to: segment.concentration)
                // The motor cannot run slower than its minimum or faster than its maximum.
                if scaled > profile.maximumContinuousRate.baseValue || scaled < profile.minimumRate.baseValue { return false }
            }
        }
        func rateAcceptable(_ volume: UInt32, _ dose: UInt32) -> Bool {
            let rate = VolumeRate.nLPerDay(Int64(volume))
            guard rate.baseValue == 0 || (rate >= profile.minimumRate && rate <= profile.maximumContinuousRate),
                  rate.baseValue % profile.rateResolution.baseValue == 0 else { return false }
            return doseConsistent(volume: Int64(volume), dose: Int64(dose), concentration: concentration)
        }
        switch candidate.mode {
        case .stopped:
            break
        case .continuous, .minimumRate:
            guard candidate.continuousVolumeRateNanolitresPerDay > 0,
                  rateAcceptable(candidate.continuousVolumeRateNanolitresPerDay, candidate.continuousDoseRateNanogramsPerDay)
            else { return false }
            if candidate.mode == .minimumRate,
               Int64(candidate.continuousVolumeRateNanolitresPerDay) != profile.minimumRate.baseValue { return false }
        case .flex:
            guard candidate.steps.allSatisfy({ rateAcceptable($0.volumeRateNanolitresPerDay, $0.doseRateNanogramsPerDay) })
            else { return false }
        }
        if let bolus = candidate.patientBolus {
            guard bolus.volumeNanolitres > 0, bolus.durationSeconds > 0,
                  doseConsistent(volume: Int64(bolus.volumeNanolitres), dose: Int64(bolus.doseNanograms), concentration: concentration),
                  // Rate = volume / duration in nL/day, rounded up as the motor runs it.
                  Self.bolusRate(volume: Int64(bolus.volumeNanolitres), duration: Int64(bolus.durationSeconds))
                      <= profile.maximumBolusRate.baseValue,
                  // The next press needs the previous bolus ended, and the
                  // day's allotment must fit in a day.
                  bolus.durationSeconds <= bolus.lockoutSeconds,
                  Int64(bolus.lockoutSeconds) * Int64(bolus.maximumPer24Hours) <= 86_400
            else { return false }
        }
        return true
    }

    /// dose (ng) = volume (nL) x concentration (ng/mL) / 10^6, rounded down
    /// by the host; anything else is a host bug or a forged figure.
    private func doseConsistent(volume: Int64, dose: Int64, concentration: Int64) -> Bool {
        let (product, overflow) = volume.multipliedReportingOverflow(by: concentration)
        return !overflow && product / 1_000_000 == dose
    }

    private func hashWord(_ hash: PrescriptionHash) -> UInt32 {
        hash.bytes.prefix(4).reduce(0) { $0 << 8 | UInt32($1) }
    }

    var reservoirConcentration: UInt32 { UInt32(clamping: mechanics.reservoirConcentration) }

    /// A prescription's daily dose by its own dose figures, ng/day
    /// (PROTOCOL.md event 0x0013).
    static func dailyDose(of prescription: WirePrescription) -> UInt32 {
        switch prescription.mode {
        case .stopped, .minimumRate: return 0
        case .continuous: return prescription.continuousDoseRateNanogramsPerDay
        case .flex:
            let cycle = Int64((prescription.cycle ?? .daily).minutes)
            var total: Int64 = 0
            for (index, step) in prescription.steps.enumerated() {
                let end = index + 1 < prescription.steps.count ? Int64(prescription.steps[index + 1].startMinute) : cycle
                total += Int64(step.doseRateNanogramsPerDay) * max(0, end - Int64(step.startMinute))
            }
            return UInt32(clamping: cycle > 0 ? total / cycle : 0)
        }
    }

    /// The schedule the motor runs for a prescription.
    static func schedule(for prescription: WirePrescription) -> DeliverySchedule {
        switch prescription.mode {
        case .stopped:
            return .stopped
        case .continuous, .minimumRate:
            return .continuous(rate: Int64(prescription.continuousVolumeRateNanolitresPerDay))
        case .flex:
            let cycle = prescription.cycle ?? .daily
            return DeliverySchedule(
                cycleLength: Int64(cycle.minutes) * 60,
                steps: prescription.steps.map { .init(start: Int64($0.startMinute) * 60, rate: Int64($0.volumeRateNanolitresPerDay)) })
        }
    }

    // MARK: Boluses

    /// nL/day of a bolus of `volume` nL over `duration` seconds, rounded up.
    static func bolusRate(volume: Int64, duration: Int64) -> Int64 {
        (volume * 86_400 + max(1, duration) - 1) / max(1, duration)
    }

    private mutating func startBolus(_ message: StartBolus) -> PumpReply {
        if let refusal = therapyChangeRefusal() { return .refused(.startBolus, refusal) }
        guard !mechanics.deliveryStopped else { return .refused(.startBolus, .blockingAlarmActive) }
        // A prime fills the line of a stopped pump (after an implant or a
        // catheter replacement); every other bolus needs infusion running.
        guard !mechanics.infusionStopped || message.kind == .prime else { return .refused(.startBolus, .infusionStopped) }
        guard mechanics.bolus == nil else { return .refused(.startBolus, .bolusInProgress) }
        let volume = FineVolume(nanolitres: Int64(message.volumeNanolitres))
        guard message.volumeNanolitres > 0, message.durationSeconds > 0, volume <= mechanics.reservoir,
              Self.bolusRate(volume: Int64(message.volumeNanolitres), duration: Int64(message.durationSeconds))
                  <= profile.maximumBolusRate.baseValue
        else { return .refused(.startBolus, .bolusExceedsLimit) }
        let kind: PumpMechanics.Bolus.Kind = switch message.kind {
        case .therapeutic: .therapeutic
        case .bridge: .bridge
        case .prime: .prime
        }
        mechanics.startBolus(kind: kind, volume: volume, duration: Int64(message.durationSeconds), commandID: nil)
        eventLog.append(time: clock, code: PumpEventCode.bolusStarted.rawValue, detail: message.volumeNanolitres)
        eventLog.append(time: clock, code: PumpEventCode.bolusCommand.rawValue,
                        detail: message.commandId.bytes.prefix(4).reduce(0) { $0 << 8 | UInt32($1) })
        return executed(.startBolus, message.commandId)
    }

    /// The patient presses the bolus button of their controller: granted
    /// when the prescription allows one, the lockout has passed, the 24 h
    /// maximum is not reached and nothing stops delivery.
    @discardableResult
    public mutating func requestPatientBolus() -> Bool {
        guard let allowance = prescription.patientBolus, !mechanics.deliveryStopped, !mechanics.infusionStopped,
              mechanics.bolus == nil, refillExpectedResidual == nil
        else {
            eventLog.append(time: clock, code: PumpEventCode.patientBolusRefused.rawValue)
            return false
        }
        let windowStart = clock - 86_400
        patientBolusTimes.removeAll { $0 <= windowStart }
        if let last = patientBolusTimes.last, clock - last < Int64(allowance.lockoutSeconds) {
            eventLog.append(time: clock, code: PumpEventCode.patientBolusRefused.rawValue)
            return false
        }
        guard patientBolusTimes.count < Int(allowance.maximumPer24Hours) else {
            eventLog.append(time: clock, code: PumpEventCode.patientBolusRefused.rawValue)
            return false
        }
        // The allowance is written for the reservoir's concentration; while
        // the tip holds the same drug at another one it is given by dose at
        // the tip, like the basal, and while it holds another drug or none
        // no patient bolus is given (it would not deliver what it says).
        var volume = Int64(allowance.volumeNanolitres)
        if let tip = mechanics.line.tip {
            guard tip.drug == mechanics.reservoirDrug, tip.concentration > 0 else {
                eventLog.append(time: clock, code: PumpEventCode.patientBolusRefused.rawValue)
                return false
            }
            volume = PumpMechanics.scaled(volume, from: mechanics.reservoirConcentration, to: tip.concentration)
        }
        guard volume > 0, FineVolume(nanolitres: volume) <= mechanics.reservoir else {
            eventLog.append(time: clock, code: PumpEventCode.patientBolusRefused.rawValue)
            return false
        }
        patientBolusTimes.append(clock)
        mechanics.startBolus(
            kind: .patient, volume: FineVolume(nanolitres: volume),
            duration: Int64(allowance.durationSeconds), commandID: nil)
        eventLog.append(time: clock, code: PumpEventCode.patientBolus.rawValue, detail: UInt32(clamping: volume))
        return true
    }

    // MARK: Refill

    private mutating func completeRefill(_ message: RefillComplete) -> PumpReply {
        guard refillExpectedResidual != nil else { return .refused(.refillComplete, .notInRefill) }
        let added = FineVolume(nanolitres: Int64(message.addedNanolitres))
        guard message.addedNanolitres > 0, added <= FineVolume(nanolitres: profile.capacity.baseValue) else {
            return .refused(.refillComplete, .reservoirOverfill)
        }
        let changesDrug = message.drug != drug || message.concentrationNanogramsPerMillilitre != reservoirConcentration
        if changesDrug {
            // The fluid path report carries eight fluids, and the pump runs
            // at most one outgoing prescription beside the active one.
            if mechanics.line.segments.count >= WireFluidPath.maximumSegments
                || (message.drug != drug && mechanics.outgoing != nil) {
                return .refused(.refillComplete, .lineHoldsEarlierChange)
            }
            // A new drug or concentration takes effect only together with a
            // prescription written for it, in this one command.
            guard let next = message.newPrescription else {
                return .refused(.refillComplete, .concentrationChangeNeedsPrescription)
            }
            guard next.drug == message.drug, next.concentrationNanogramsPerMillilitre == message.concentrationNanogramsPerMillilitre
            else { return .refused(.refillComplete, .drugMismatch) }
            if let refusal = therapyChangeRefusal() { return .refused(.refillComplete, refusal) }
            guard next.catheterVolumeNanolitres == catheterNanolitres else { return .refused(.refillComplete, .catheterMismatch) }
            guard pumpAccepts(next) else { return .refused(.refillComplete, .prescriptionInvalid) }
        } else if let next = message.newPrescription {
            // Carrying a prescription activates it, so the refusals of a
            // commit apply (end of service, blocking alarm).
            if let refusal = therapyChangeRefusal() { return .refused(.refillComplete, refusal) }
            guard next.drug == drug, next.concentrationNanogramsPerMillilitre == reservoirConcentration else {
                return .refused(.refillComplete, .drugMismatch)
            }
            guard next.catheterVolumeNanolitres == catheterNanolitres else { return .refused(.refillComplete, .catheterMismatch) }
            guard pumpAccepts(next) else { return .refused(.refillComplete, .prescriptionInvalid) }
        }
        if message.drug != drug, mechanics.line.holds(drug: drug.rawValue) {
            // The old drug in the line goes on at its own prescription's
            // dose until it has left the tip.
            mechanics.outgoing = PumpMechanics.Outgoing(
                drug: drug.rawValue, concentration: Int64(prescription.concentrationNanogramsPerMillilitre),
                schedule: Self.schedule(for: prescription), prescription: prescription.canonicalEncoding)
        }
        mechanics.refill(added: added, concentration: Int64(message.concentrationNanogramsPerMillilitre), drug: message.drug.rawValue)
        // The reservoir is measured again: an earlier abandoned refill's
        // doubt about its contents ends here.
        mechanics.clear(.refillAbandoned)
        drug = message.drug
        let stoppedBefore = infusionStoppedBeforeRefill
        endRefill()
        if let next = message.newPrescription {
            activate(next)
            // A refill puts delivery back as it was: the prescription it
            // carries does not start a pump that was stopped before refill
            // begin (resume does that, on its own request). A stopped-mode
            // prescription still stops a running one.
            if let stoppedBefore { mechanics.infusionStopped = stoppedBefore || next.mode == .stopped }
        }
        eventLog.append(time: clock, code: PumpEventCode.refillWithdrawn.rawValue, detail: message.withdrawnNanolitres)
        eventLog.append(time: clock, code: PumpEventCode.refillCompleted.rawValue, detail: message.addedNanolitres)
        return executed(.refillComplete, message.commandId)
    }

    /// Leaves refill mode and puts delivery back as it was before begin.
    private mutating func endRefill() {
        if let stopped = infusionStoppedBeforeRefill { mechanics.infusionStopped = stopped }
        infusionStoppedBeforeRefill = nil
        refillExpectedResidual = nil
        refillBegunAt = nil
    }

    /// Refill cancel: no drug was exchanged, so the reservoir, its drug and
    /// concentration and the prescription stay exactly as they are; only
    /// the pause of refill begin is lifted.
    private mutating func cancelRefill(_ message: RefillCancel) -> PumpReply {
        guard refillExpectedResidual != nil else { return .refused(.refillCancel, .notInRefill) }
        endRefill()
        eventLog.append(time: clock, code: PumpEventCode.refillCancelled.rawValue, detail: UInt32(clamping: mechanics.reservoir.nanolitres))
        return executed(.refillCancel, message.commandId)
    }

    // MARK: Fluid path

    /// The catheter volume the pump records, nL.
    var catheterNanolitres: UInt32 { UInt32(clamping: mechanics.line.catheter.nanolitres) }

    /// Set fluid path: the surgeon implanted the pump or replaced the
    /// catheter. Only with infusion stopped and no bolus running, so no
    /// drug is pushed while the line is open.
    private mutating func setFluidPath(_ message: SetFluidPath) -> PumpReply {
        guard mechanics.bolus == nil else { return .refused(.setFluidPath, .bolusInProgress) }
        guard mechanics.infusionStopped else { return .refused(.setFluidPath, .infusionRunning) }
        let catheter = FineVolume(nanolitres: Int64(message.catheterNanolitres))
        switch message.event {
        case .implant: mechanics.line.implant(catheter: catheter)
        case .catheterReplaced: mechanics.line.replaceCatheter(with: catheter)
        }
        if let outgoing = mechanics.outgoing, !mechanics.line.holds(drug: outgoing.drug) { mechanics.outgoing = nil }
        eventLog.append(time: clock, code: PumpEventCode.fluidPathSet.rawValue,
                        detail: UInt32(message.event.rawValue) << 24 | (message.catheterNanolitres & 0x00FF_FFFF))
        return executed(.setFluidPath, message.commandId)
    }

    /// The fluid path as the interrogate report carries it.
    public var fluidPathReport: WireFluidPath {
        let segments = mechanics.line.segments.compactMap { segment -> WireFluidPath.Segment? in
            // Whole nanolitres; a sliver under 1 nL is merged into its neighbour below.
            let contents: WireLineContents = segment.drug == 0 ? .noDrug
                : WireDrug(rawValue: segment.drug).map { .drug($0, concentrationNanogramsPerMillilitre: UInt32(clamping: segment.concentration)) } ?? .noDrug
            return WireFluidPath.Segment(volumeNanolitres: UInt32(clamping: segment.volume.nanolitres), contents: contents)
        }
        // Rounding each segment down to nL must not lose volume: the last
        // (pump end) segment takes up what the others dropped, and empty or
        // repeated entries are merged, as the report requires.
        let total = UInt32(clamping: mechanics.line.capacity.nanolitres)
        var merged: [WireFluidPath.Segment] = []
        for segment in segments where segment.volumeNanolitres > 0 {
            if let last = merged.last, last.contents == segment.contents {
                merged[merged.count - 1].volumeNanolitres += segment.volumeNanolitres
            } else {
                merged.append(segment)
            }
        }
        let sum = merged.reduce(UInt32(0)) { $0 + $1.volumeNanolitres }
        if sum < total, !merged.isEmpty { merged[merged.count - 1].volumeNanolitres += total - sum }
        // Written by this pump from a prescription it accepted, so it decodes.
        let outgoing = mechanics.outgoing.flatMap { try? WirePrescription(decodingFields: $0.prescription) }
        var bolus: WireFluidPath.BolusInProgress?
        if let running = mechanics.bolus, running.remaining.units > 0 {
            let kind: WireFluidPath.BolusKindInProgress = switch running.kind {
            case .therapeutic: .therapeutic
            case .bridge: .bridge
            case .prime: .prime
            case .patient: .patient
            }
            let seconds = (running.remaining.units + running.rate - 1) / running.rate
            bolus = WireFluidPath.BolusInProgress(
                kind: kind, remainingNanolitres: UInt32(clamping: max(1, running.remaining.nanolitres)),
                remainingSeconds: UInt32(clamping: min(86_400, max(1, seconds))))
        }
        return WireFluidPath(segments: merged, pathwayNanolitres: UInt32(clamping: mechanics.line.pathway.nanolitres),
                             catheterNanolitres: catheterNanolitres, outgoingPrescription: outgoing, bolus: bolus)
    }

    // MARK: Reports

    /// One page of the event log, newest first; page 0 always exists (an
    /// empty log has one empty page), so interrogate can always carry it.
    func eventLogPage(_ number: UInt16) -> EventLogPage? {
        let (entries, pageCount) = eventLog.page(Int(number), size: EventLogPage.maximumEntries)
        guard Int(number) < pageCount else { return nil }
        return EventLogPage(
            page: number, pageCount: UInt16(clamping: pageCount), totalEvents: UInt32(clamping: eventLog.entries.count),
            events: entries.map { PumpEvent(index: $0.index, utcSeconds: $0.time, code: $0.code, detail: $0.detail) })
    }

    public func interrogateReport() -> InterrogateReport {
        let infusion: InfusionState =
            refillExpectedResidual != nil ? .refillInProgress
            : mechanics.infusionStopped || mechanics.deliveryStopped ? .stopped
            : mechanics.bolus != nil ? .bolusInProgress : .infusing
        let battery: BatteryState =
            mechanics.battery.endOfService ? .endOfService : mechanics.battery.electiveReplacement ? .electiveReplacement : .ok
        return InterrogateReport(
            serial: identity.serial, firmwareMajor: identity.firmware.first ?? 0,
            firmwareMinor: identity.firmware.dropFirst().first ?? 0, firmwarePatch: identity.firmware.dropFirst(2).first ?? 0,
            clock: wireTime,
            // 2.6 V spent to 3.2 V full, linear in the remaining charge.
            batteryMillivolts: UInt16(2_600 + 600 * mechanics.battery.perMille / 1000),
            batteryState: battery,
            reservoirVolumeNanolitres: UInt32(clamping: mechanics.reservoir.nanolitres),
            reservoirCapacityNanolitres: UInt32(clamping: profile.capacity.baseValue),
            lowReservoirThresholdNanolitres: UInt32(clamping: mechanics.lowReservoirThreshold.nanolitres),
            reservoirDrug: drug, reservoirConcentrationNanogramsPerMillilitre: reservoirConcentration,
            infusionState: infusion, prescription: prescription, prescriptionHash: prescription.hash,
            stagedHash: staged?.hash,
            activeAlarms: mechanics.alarms.sorted().prefix(InterrogateReport.maximumAlarms).map(\.wireCode),
            lastChangeUTCSeconds: lastChange,
            recentCommands: outcomes.recentRecords(),
            fluidPath: fluidPathReport)
    }
}
