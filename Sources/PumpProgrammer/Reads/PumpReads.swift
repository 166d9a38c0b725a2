import Foundation
import Therapy
import WandProtocol

/// One entry of the pump's event log, for people and scripts.
public struct LoggedEvent: Sendable, Encodable, Equatable {
    public var index: UInt32
    public var time: String
    public var code: UInt16
    public var event: String
    /// The detail as it came (its meaning depends on the code).
    public var detail: UInt32
    /// The detail as the typed value its code says it is.
    public var decoded: EventDetail
    /// When, as the pump's UTC seconds (for the clinic's zone on a screen;
    /// JSON gives `time`).
    public var utcSeconds: Int64

    /// JSON has the detail once, typed (`decoded`: quantities as {value,
    /// unit}, `{"raw": N}` for a code this build does not know): the wire
    /// integer beside it was a second name for the same thing, in base
    /// units (nL, ng) a script could mistake for the unit shown.
    enum CodingKeys: String, CodingKey { case index, time, code, event, decoded }

    init(index: UInt32, utcSeconds: Int64, time: String, code: UInt16, event: String, detail: UInt32) {
        self.index = index
        self.utcSeconds = utcSeconds
        self.time = time
        self.code = code
        self.event = event
        self.detail = detail
        decoded = EventDetail(code: code, detail: detail)
    }
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

/// Requests that change nothing on the pump.
extension Programmer {
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
                    index: event.index, utcSeconds: event.utcSeconds, time: (try? PumpTime(checkedUTCSeconds: event.utcSeconds))?.iso8601 ?? "invalid time \(event.utcSeconds)",
                    code: event.code, event: PumpEventCode(rawValue: event.code)?.name ?? String(format: "event 0x%04x", event.code),
                    detail: event.detail))
            }
            guard page < UInt16.max else { break }
            page += 1
            if reachedSince || page >= log.pageCount { break }
        }
        return events
    }

    /// Reads the pump clock against the host's.
    public func readClock() async throws(ProgrammerError) -> ClockCheck {
        let reply = try await read(.readClock(ReadClock()))
        guard case .clock(let time) = reply else { throw .deviceFault("the pump answered the clock request with \(reply.opcode)") }
        let host = Int64(context.now().timeIntervalSince1970.rounded(.down))
        let offset = Int(time.zoneOffsetMinutes)
        guard let pump = (try? PumpTime(checkedUTCSeconds: time.utcSeconds, offsetMinutes: offset)),
              let hostTime = (try? PumpTime(checkedUTCSeconds: host, offsetMinutes: offset)) else {
            throw .deviceFault("the pump's clock (\(time.utcSeconds) s) is outside any real date")
        }
        let drift = pump.utcSeconds - hostTime.utcSeconds
        try record(command: "clock", phase: .event, parameters: ["drift_seconds": "\(drift)"], outcome: .read)
        return ClockCheck(pumpClock: pump.iso8601, hostClock: hostTime.iso8601, driftSeconds: drift,
                          large: abs(drift) > ClockCheck.toleranceSeconds, synchronised: false)
    }
}
