import Foundation
import Therapy
import WandProtocol

/// One entry of the pump's event log, for people and scripts.
public struct LoggedEvent: Sendable, Encodable, Equatable {
    public var index: UInt32
    public var time: String
    public var code: UInt16
    public var event: String
    public var detail: UInt32
}

/// The pump's clock against the host's.
public struct ClockCheck: Sendable, Encodable {
    public var pumpClock: String
    public var hostClock: String
    /// Pump minus host, seconds.
    public var driftSeconds: Int64
    /// Whether the drift is large enough to correct (over `ClockCheck.tolerance`).
    public var large: Bool
    public var synchronised: Bool

    /// Drift up to this is normal for an implanted pump's clock.
    public static let toleranceSeconds: Int64 = 5 * 60
}

extension Programmer {
    /// Sets the low-reservoir alarm threshold within the pump's range.
    public func setLowReservoirThreshold(_ threshold: Volume, confirmation: Confirmation) async throws(ProgrammerError) -> PumpStatus {
        let (status, _) = try await interrogate()
        guard let profile = PumpProfile.named(status.model) else {
            throw .deviceFault("the pump reports a reservoir that matches no known pump profile")
        }
        guard profile.lowReservoirAlarmRange.contains(threshold) else {
            throw .refusedByPolicy("the low-reservoir alarm must be between \(profile.lowReservoirAlarmRange.lowerBound) and \(profile.lowReservoirAlarmRange.upperBound) on \(profile.model)")
        }
        guard let field = UInt32(exactly: threshold.baseValue) else { throw .input("The threshold is out of range.") }
        try Self.check(confirmation, review: Review(rows: [], errors: [], warnings: [], doseIncrease: false, pendingDailyDose: ""))
        _ = try await perform(command: "alarms", parameters: ["low_reservoir": threshold.description]) { id in
            .setAlarmConfiguration(SetAlarmConfiguration(commandId: id, lowReservoirThresholdNanolitres: field))
        }
        return try await interrogate().status
    }

    /// The pump's event log, newest first, back to `since` (or all of it).
    public func eventLog(since: PumpTime?, maximumPages: Int = 64) async throws(ProgrammerError) -> [LoggedEvent] {
        var events: [LoggedEvent] = []
        var page: UInt16 = 0
        while Int(page) < maximumPages {
            let reply = try await read(.readEventLog(ReadEventLog(page: page)))
            guard case .eventLog(let log) = reply else { throw .deviceFault("the pump answered the log request with \(reply.opcode)") }
            var reachedSince = false
            for event in log.events {
                if let since, event.utcSeconds < since.utcSeconds {
                    reachedSince = true
                    continue
                }
                events.append(LoggedEvent(
                    index: event.index, time: PumpTime(utcSeconds: event.utcSeconds).iso8601, code: event.code,
                    event: PumpEventCode(rawValue: event.code)?.name ?? String(format: "event 0x%04x", event.code),
                    detail: event.detail))
            }
            page += 1
            if reachedSince || page >= log.pageCount { break }
        }
        return events
    }

    /// Reads the pump clock and, when asked and confirmed, sets it to the
    /// host's time (never while a bolus runs: moving the clock under a
    /// running bolus would change what it delivers).
    public func clock(sync: Bool, confirmation: Confirmation) async throws(ProgrammerError) -> ClockCheck {
        let reply = try await read(.readClock(ReadClock()))
        guard case .clock(let time) = reply else { throw .deviceFault("the pump answered the clock request with \(reply.opcode)") }
        let host = Int64(context.now().timeIntervalSince1970.rounded(.down))
        let drift = time.utcSeconds - host
        var check = ClockCheck(
            pumpClock: PumpTime(utcSeconds: time.utcSeconds, offsetMinutes: Int(time.zoneOffsetMinutes)).iso8601,
            hostClock: PumpTime(utcSeconds: host, offsetMinutes: Int(time.zoneOffsetMinutes)).iso8601,
            driftSeconds: drift, large: abs(drift) > ClockCheck.toleranceSeconds, synchronised: false)
        try record(command: "clock", phase: .event, parameters: ["drift_seconds": "\(drift)"], outcome: "read")
        guard sync else { return check }
        let status = try await interrogate().status
        guard status.infusion != PumpStatus.infusionName(.bolusInProgress) else {
            throw .refusedByPolicy("the clock is not set while a bolus runs; wait for it to finish")
        }
        try Self.check(confirmation, review: Review(rows: [], errors: [], warnings: [], doseIncrease: false, pendingDailyDose: ""))
        let now = Int64(context.now().timeIntervalSince1970.rounded(.down))
        _ = try await perform(command: "clock-sync", parameters: ["drift_seconds": "\(drift)"]) { id in
            .setClock(SetClock(commandId: id, time: WireTime(utcSeconds: now, zoneOffsetMinutes: time.zoneOffsetMinutes)))
        }
        check.synchronised = true
        return check
    }
}
