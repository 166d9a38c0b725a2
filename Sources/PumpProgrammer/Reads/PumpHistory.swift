import Foundation
import Therapy
import WandProtocol

/// The pump's own record of its recent past, from its event log: the
/// boluses it started and the prescriptions it committed, in true time.
/// Every event's stamp is moved by the clock settings logged after it and
/// when the pump's clock is behind, by its measured drift (as late as the
/// event can have been), so a `clock --sync` or a wrong clock can neither
/// reset a 24 h window nor shorten a titration interval. Limits that count what happened in a window (boluses in 24 h,
/// increases in 7 days) read this, so no laptop, state directory or audit
/// log can hide an earlier bolus or change.
public struct PumpHistory: Sendable, Equatable {
    public struct Bolus: Sendable, Equatable {
        public var time: PumpTime
        /// The volume the pump logged for it.
        public var volume: Volume
        /// A patient-activated bolus (counted by the allowance), not a technician's.
        public var byPatient: Bool
        /// What it put into the patient, as the pump logged at its end
        /// (event 0x0025, from the fluid path); nil while it runs.
        public var drug: Mass? = nil
        /// How it ended: ran to its end, or cancelled or cut short (events
        /// 0x0021 / 0x0022); nil while it runs.
        public var finished: Bool? = nil
        /// The first 4 bytes of its command id, hex (event 0x0026); nil for
        /// a patient's bolus or a log without it.
        public var commandPrefix: String? = nil
    }

    public struct Commit: Sendable, Equatable {
        public var time: PumpTime
        /// The first four bytes of the committed prescription's hash, as the pump logs them.
        public var hashPrefix: UInt32
        /// Its daily dose, as the pump logs it (event 0x0013); nil from a
        /// log without it.
        public var dailyDose: DoseRate? = nil
    }

    /// True time (this computer's clock) when the history was read, with the pump's zone offset.
    public var now: PumpTime
    /// The history is complete from this time on: the start of the window
    /// asked for, or (when the log did not reach that far back) the oldest
    /// event read.
    public var coveredSince: PumpTime
    public var boluses: [Bolus]
    public var commits: [Commit]
    /// The true time of the pump's last therapy change (`InterrogateReport`'s
    /// last change, placed by the event that made it); nil when the log
    /// does not show it.
    public var lastTherapyChange: PumpTime? = nil
    /// Whether the pump's clock was set within the history.
    public var clockWasSet = false

    /// Whether every event from `time` on was read.
    public func covers(since time: PumpTime) -> Bool { coveredSince.utcSeconds <= time.utcSeconds }

    /// Technician boluses (every kind but the patient's) started in the last
    /// 24 h of pump time, with their drug at `concentration` (rounded up);
    /// nil when the log does not cover the whole 24 h.
    public func technicianBolusesLast24h(at concentration: Concentration) -> (drug: Mass, count: Int)? {
        guard let start = now.adding(seconds: -86_400), covers(since: start) else { return nil }
        var total: Int64 = 0
        var count = 0
        // A bolus stamped after `now` (the pump's clock was set back since)
        // counts too: a clock change must not hide a bolus.
        for bolus in boluses where !bolus.byPatient && bolus.time.utcSeconds > start.utcSeconds {
            // The pump's own figure when the bolus has ended; a running one
            // at the reservoir's concentration.
            guard let drug = bolus.drug ?? DoseArithmetic.dose(in: bolus.volume, at: concentration, roundingUp: true),
                  let sum = Exact64.add(total, drug.baseValue) else { return nil }
            total = sum
            count += 1
        }
        return (Mass(baseValue: total), count)
    }
}

/// Checked 64-bit addition (Therapy's `Exact` is internal to Therapy).
enum Exact64 {
    static func add(_ a: Int64, _ b: Int64) -> Int64? {
        let (value, overflow) = a.addingReportingOverflow(b)
        return overflow ? nil : value
    }

    /// a x b / c rounded to the nearest, in 128 bits; nil when c is not
    /// positive or the result does not fit.
    static func mulDiv(_ a: Int64, _ b: Int64, _ c: Int64) -> Int64? {
        guard c > 0 else { return nil }
        let value = (Int128(a) * Int128(b) + Int128(c / 2)) / Int128(c)
        return Int64(exactly: value)
    }
}

extension Programmer {
    /// Most pages of the event log read for a plan (16 events each).
    static let historyPages = 64
    /// How far back the history of a pump in the stopped mode is read, to
    /// find the last delivering commit (90 days).
    static let stoppedModeHistory: Int64 = 90 * 86_400

    /// How far back a plan for `drug` needs the pump's history: 24 h for
    /// boluses, and the drug's titration window and minimum interval.
    func historyWindow(for drug: Drug) -> Int64 {
        var seconds: Int64 = 86_400
        if let rule = context.policy.titration(for: drug) {
            seconds = max(seconds, rule.increaseWindow?.baseValue ?? 0, rule.minimumInterval?.baseValue ?? 0)
        }
        return seconds
    }

    /// Reads the pump's event log back to `window` seconds of true time
    /// before now. `status` gives the pump's clock, its drift from this
    /// computer's and the stamp of its last therapy change. Nil when the
    /// log cannot be read at all; a log that does not reach that far back
    /// gives a history that says how far it is complete.
    func pumpHistory(status: PumpStatus, window: Int64) async -> PumpHistory? {
        let drift = status.clockDriftSeconds
        guard let now = status.clock.adding(seconds: -drift), let since = now.adding(seconds: -window) else { return nil }
        // The drift measured now may have begun after an event (a clock
        // fault): a stamp is taken as late as it can have been, stamp minus
        // the drift when the pump is behind, the stamp itself when it is
        // ahead. Windows then count more, never less.
        let lateness = -min(drift, 0)
        // Seconds that bring a stamp into the pump's present clock: the sum
        // of every clock setting logged after it (newer events come first).
        var shift: Int64 = 0
        var clockWasSet = false
        var lastTherapyChange: PumpTime?
        var pendingDose: Mass?
        var pendingCommitDose: DoseRate?
        var pendingFinished: Bool?
        var pendingCommand: String?
        // The pump's own rule for its last therapy change (PROTOCOL.md Q16).
        let changeCodes = Set(PumpEventCode.allCases.filter(\.marksTherapyChange).map(\.rawValue))
        var boluses: [PumpHistory.Bolus] = []
        var commits: [PumpHistory.Commit] = []
        var oldest: PumpEvent?
        var reachedSince = false
        // A gap in the pump's event indices (entries lost between pages, or
        // a damaged page) ends what can be vouched for: the history is
        // complete only back to the last event before the gap.
        var gapAt: PumpEvent?
        var page: UInt16 = 0
        var pageCount = 1
        reading: while Int(page) < Self.historyPages, Int(page) < pageCount, !reachedSince {
            let log: EventLogPage
            if page == 0, let carried = newestEventsRead {
                // Page 0 came with the interrogate just read; taken once, so
                // a later history read asks the pump again.
                log = carried
                newestEventsRead = nil
            } else {
                guard let reply = try? await read(.readEventLog(ReadEventLog(page: page))),
                      case .eventLog(let read) = reply else { return nil }
                log = read
            }
            pageCount = Int(log.pageCount)
            for event in log.events.sorted(by: { $0.index > $1.index }) {
                if let last = oldest {
                    // Newest first: an index not below the last one read is
                    // an event read already (a new one shifted the pages).
                    if event.index >= last.index { continue }
                    if event.index != last.index - 1 {
                        gapAt = last
                        break reading
                    }
                }
                oldest = event
                // A time outside any real date is a damaged entry: the
                // history cannot be trusted past it.
                guard let trueSeconds = Exact64.add(event.utcSeconds, shift).flatMap({ Exact64.add($0, lateness) }),
                      let time = try? PumpTime(checkedUTCSeconds: trueSeconds, offsetMinutes: now.offsetMinutes) else {
                    return nil
                }
                if lastTherapyChange == nil, changeCodes.contains(event.code), event.utcSeconds == status.lastChange.utcSeconds {
                    lastTherapyChange = time
                }
                // A bolus's drug is logged at its end, so it is read (newest
                // first) before the start it belongs to.
                var committedDose: DoseRate?
                if event.code == PumpEventCode.prescriptionDoseCommitted.rawValue {
                    pendingCommitDose = DoseRate(baseValue: Int64(event.detail))
                } else if event.code == PumpEventCode.prescriptionCommitted.rawValue {
                    committedDose = pendingCommitDose
                    pendingCommitDose = nil
                }
                var dose: Mass?
                var finished: Bool?
                var commandPrefix: String?
                switch PumpEventCode(rawValue: event.code) {
                case .bolusDrugDelivered?:
                    pendingDose = Mass(baseValue: Int64(event.detail))
                case .bolusFinished?:
                    pendingFinished = true
                case .bolusCancelled?:
                    pendingFinished = false
                case .bolusCommand?:
                    let hex = String(event.detail, radix: 16)
                    pendingCommand = String(repeating: "0", count: max(0, 8 - hex.count)) + hex
                case .bolusStarted?, .patientBolus?:
                    dose = pendingDose
                    finished = pendingDose == nil ? nil : pendingFinished
                    commandPrefix = event.code == PumpEventCode.bolusStarted.rawValue ? pendingCommand : nil
                    pendingDose = nil
                    pendingFinished = nil
                    pendingCommand = nil
                default:
                    break
                }
                if event.code == PumpEventCode.clockSet.rawValue {
                    // The stamp of a clock setting is in the new clock. What
                    // came before it was stamped `moved` seconds off only if
                    // the clock was already wrong then; a setting back may be
                    // undoing a jump that came after (a clock fault), so only
                    // a setting forward moves the earlier stamps: every event
                    // is taken as late as it can have been.
                    clockWasSet = true
                    let moved = Int64(Int32(bitPattern: event.detail))
                    if moved > 0 { shift = Exact64.add(shift, moved) ?? shift }
                }
                guard time.utcSeconds >= since.utcSeconds else {
                    reachedSince = true
                    continue
                }
                switch PumpEventCode(rawValue: event.code) {
                case .bolusStarted?:
                    boluses.append(.init(time: time, volume: .nL(Int64(event.detail)), byPatient: false, drug: dose,
                                         finished: finished, commandPrefix: commandPrefix))
                case .patientBolus?:
                    boluses.append(.init(time: time, volume: .nL(Int64(event.detail)), byPatient: true, drug: dose))
                case .prescriptionCommitted?:
                    commits.append(.init(time: time, hashPrefix: event.detail, dailyDose: committedDose))
                default:
                    break
                }
            }
            page += 1
        }
        // Complete when an older event was seen, or when the whole log was
        // read and it begins with the pump's first event (nothing dropped:
        // a log whose ring overwrote its oldest entries starts later).
        let wholeLog = gapAt == nil && Int(page) >= pageCount && (oldest == nil || oldest?.index == 0)
        let covered: PumpTime
        if reachedSince || wholeLog {
            covered = since
        } else {
            // The oldest event read, in true time (its shift is the total).
            covered = oldest.flatMap { event in
                Exact64.add(event.utcSeconds, shift).flatMap { Exact64.add($0, lateness) }
                    .flatMap { try? PumpTime(checkedUTCSeconds: $0, offsetMinutes: now.offsetMinutes) }
            } ?? now
        }
        return PumpHistory(now: now, coveredSince: covered, boluses: boluses, commits: commits,
                           lastTherapyChange: lastTherapyChange, clockWasSet: clockWasSet)
    }

    /// The audit rows review reads about prescriptions (commits and refills
    /// that carry one), fetched through the log's (pump, command) index
    /// rather than the whole log.
    static let prescriptionCommands = [CommandKind.commit.rawValue, CommandKind.refillComplete.rawValue]

    /// The opioid tolerance the prescription the pump holds was declared
    /// with, from the audit row of the commit that wrote it (matched by its
    /// hash; the pump does not store the declaration). Nil when the drug is
    /// not an opioid or no row records it: a bolus is then opioid-naive.
    func declaredOpioidTolerance(of status: PumpStatus) -> OpioidTolerance? {
        guard status.drug.isOpioid else { return nil }
        let hash = status.prescriptionHash.description
        let entries = (try? audit.entries(pumpSerial: pumpSerial, commands: Self.prescriptionCommands)) ?? []
        let row = entries.last { entry in
            entry.phase == .intent && entry.pumpSerial == pumpSerial && entry.parameters["prescription_hash"] == hash
                && (entry.command == CommandKind.commit.rawValue || entry.command == CommandKind.refillComplete.rawValue)
        }
        return row.flatMap { $0.parameters["opioid_tolerance"] }.flatMap(OpioidTolerance.init(rawValue:))
    }

    /// For a pump in the stopped mode, the daily dose its last delivering
    /// prescription delivered: the newest commit in the pump's own event log
    /// before the stopped one, with the dose the audit row of that commit
    /// (matched by the hash the pump logs) recorded. Nil when the log or the
    /// audit log cannot say: a commit the audit log does not know ends the
    /// search rather than let an older dose stand in for it.
    func lastDeliveringDose(of status: PumpStatus, in history: PumpHistory?) -> DoseRate? {
        guard status.prescription.mode == .stopped, let history else { return nil }
        var rows: [String: (mode: String, dose: String)] = [:]
        for entry in (try? audit.entries(pumpSerial: pumpSerial, commands: Self.prescriptionCommands)) ?? [] where entry.phase == .intent && entry.pumpSerial == pumpSerial
            && (entry.command == CommandKind.commit.rawValue || entry.command == CommandKind.refillComplete.rawValue) {
            guard let hash = entry.parameters["prescription_hash"], hash.count >= 8, let mode = entry.parameters["mode"],
                  let dose = entry.parameters["daily_dose"] else { continue }
            rows[String(hash.prefix(8))] = (mode, dose)
        }
        let current = String(status.prescriptionHash.description.prefix(8))
        var skippedCurrent = false
        for commit in history.commits.sorted(by: { $0.time.utcSeconds > $1.time.utcSeconds }) {
            let prefix = String(format: "%08x", commit.hashPrefix)
            if !skippedCurrent, prefix == current {
                skippedCurrent = true
                continue
            }
            // The pump's own figure first: no laptop or state directory is needed.
            if let logged = commit.dailyDose {
                if logged.baseValue == 0 { continue }
                return logged
            }
            guard let row = rows[prefix] else { return nil }
            if row.mode == InfusionMode.stopped.name { continue }
            return (try? DoseRate.parseWithUnit(row.dose))?.quantity
        }
        return nil
    }

    /// Writes, for each of this pump's boluses the history shows ended, an
    /// audit row with what became of it (`bolus_end` finished or cancelled,
    /// `drug_delivered_ng` as the pump logged it), tied to its command by
    /// the id the pump logged: the pump's receipt says a bolus started, and
    /// only its log says what reached the patient (the FHIR export reads
    /// these rows). Each end is written once.
    func recordBolusEnds(in history: PumpHistory?) {
        guard let history else { return }
        let entries = (try? audit.entries(pumpSerial: pumpSerial, commands: [CommandKind.bolus.rawValue])) ?? []
        var ended: Set<String> = []
        var sent: [String: String] = [:]  // id prefix -> full id, for this pump's boluses
        for entry in entries where entry.pumpSerial == pumpSerial && entry.command == CommandKind.bolus.rawValue {
            guard let id = entry.commandID, id.count >= 8 else { continue }
            if entry.parameters["bolus_end"] != nil { ended.insert(id) }
            sent[String(id.prefix(8)).lowercased()] = id
        }
        for bolus in history.boluses where !bolus.byPatient {
            guard let prefix = bolus.commandPrefix, let finished = bolus.finished, let drug = bolus.drug,
                  let id = sent[prefix], !ended.contains(id) else { continue }
            try? record(command: CommandKind.bolus.rawValue, phase: .event, commandID: id,
                        parameters: ["bolus_end": finished ? "finished" : "cancelled", "drug_delivered_ng": "\(drug.baseValue)"])
            ended.insert(id)
        }
    }

    /// Dose increases of this pump within its history, for the titration
    /// rules that count them, and whether the count is complete.
    ///
    /// The pump's committed-prescription events are the record; the local
    /// audit log only tells which of them were not increases (by the hash
    /// the pump logs). A commit the audit log cannot prove a decrease counts
    /// as an increase, so an empty or other state directory can only make
    /// the count larger, never smaller. Without the pump's history the
    /// audit log's increases are used and the count is incomplete.
    func increases(in history: PumpHistory?, window: Int64) -> (times: [PumpTime], complete: Bool) {
        let entries = (try? audit.entries(pumpSerial: pumpSerial, commands: Self.prescriptionCommands)) ?? []
        var increase: [String: Bool] = [:]  // hash prefix (8 hex digits) -> any row calls it an increase
        var increaseIDs: Set<String> = []
        for entry in entries where entry.phase == .intent && entry.pumpSerial == pumpSerial
            && (entry.command == CommandKind.commit.rawValue || entry.command == CommandKind.refillComplete.rawValue) {
            guard let hash = entry.parameters["prescription_hash"], hash.count >= 8 else { continue }
            let isIncrease = entry.parameters["dose_increase"] != "false"
            increase[String(hash.prefix(8)), default: false] = increase[String(hash.prefix(8)), default: false] || isIncrease
            if isIncrease, let id = entry.commandID { increaseIDs.insert(id) }
        }
        guard let history else {
            let formatter = ISO8601DateFormatter()
            formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
            let times = entries.compactMap { entry -> PumpTime? in
                guard entry.phase == .outcome, let id = entry.commandID, increaseIDs.contains(id),
                      entry.outcomeCode == .done || entry.outcomeCode == .resolvedExecuted,
                      let date = formatter.date(from: entry.time) else { return nil }
                return try? PumpTime(checkedUTCSeconds: Int64(date.timeIntervalSince1970.rounded(.down)))
            }
            return (times, false)
        }
        // The pump's logged doses decide, commit by commit against the one
        // before it; where the log cannot say, the audit log may prove a
        // commit was not an increase; otherwise it counts as one.
        let ordered = history.commits.sorted { $0.time.utcSeconds < $1.time.utcSeconds }
        var times: [PumpTime] = []
        for (index, commit) in ordered.enumerated() {
            if let dose = commit.dailyDose, index > 0, let before = ordered[index - 1].dailyDose {
                if dose > before { times.append(commit.time) }
                continue
            }
            let prefix = String(format: "%08x", commit.hashPrefix)
            if increase[prefix] != false { times.append(commit.time) }
        }
        let start = history.now.adding(seconds: -window)
        return (times, start.map { history.covers(since: $0) } ?? false)
    }
}
