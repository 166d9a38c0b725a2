/// The pump time after which a state-changing request must not be carried
/// out: UTC seconds on the pump's own clock (Int64, 0 ... 253 402 300 799),
/// the 8 bytes right after the command id of every state-changing request.
///
/// Sealing proves who sent a request, not when. A relay that holds a sealed
/// bolus and releases it minutes later would otherwise have it executed long
/// after the technician gave up on it; the expiry makes a held request dead.
/// It is in pump time, not host time, because only the pump's clock is there
/// when the request arrives: the host derives it from the pump clock it read.
public struct RequestExpiry: Sendable, Equatable, Hashable, Comparable, WireFields, CustomStringConvertible {
    /// Pump UTC seconds: the last second at which the request may still be carried out.
    public var utcSeconds: Int64

    /// How far past the pump's clock an expiry may lie. A later one is
    /// refused (`malformedRequest`): otherwise a held request could be made
    /// as long-lived as the sender liked, and expiry would bound nothing.
    public static let maximumAheadSeconds: Int64 = 60

    /// How long the host lets a request live: longer than the standard
    /// three attempts of 1.5 s each, the pump clock's one-second step and the
    /// time its reading took, with margin; short enough that a held request
    /// is dead within seconds of the technician giving up on it.
    public static let hostValiditySeconds: Int64 = 10

    public init(utcSeconds: Int64) {
        self.utcSeconds = utcSeconds
    }

    /// The expiry `validity` seconds after the pump time `pumpClock`,
    /// held inside the wire range (the pump refuses what is outside it, as it
    /// should: such a clock reading is no clock).
    public static func after(pumpClock: Int64, validity: Int64 = hostValiditySeconds) -> RequestExpiry {
        let (sum, overflow) = pumpClock.addingReportingOverflow(validity)
        let seconds = overflow ? WireTime.maximumUTCSeconds : sum
        return RequestExpiry(utcSeconds: min(max(seconds, 0), WireTime.maximumUTCSeconds))
    }

    public init(reading reader: inout ByteReader) throws(WireError) {
        utcSeconds = try readUTCSeconds(&reader, "request.expiry")
    }

    public func write(to writer: inout ByteWriter) {
        writer.int64(utcSeconds)
    }

    /// The pump's rule, applied to a new command id after the outcome
    /// lookup and before anything is executed: `requestExpired` once the
    /// pump clock is past the expiry, `malformedRequest` when the expiry is
    /// more than `maximumAheadSeconds` past the pump clock, nil when the
    /// request may be carried out. An expiry equal to the pump clock is
    /// still in time.
    public func refusal(atPumpClock now: Int64) -> PumpRefusal? {
        if now > utcSeconds { return .requestExpired }
        // utcSeconds >= now here, and both are Int64: the difference cannot
        // be negative, but it can overflow when now is far below zero.
        let (ahead, overflow) = utcSeconds.subtractingReportingOverflow(now)
        if overflow || ahead > Self.maximumAheadSeconds { return .malformedRequest }
        return nil
    }

    public static func < (lhs: RequestExpiry, rhs: RequestExpiry) -> Bool { lhs.utcSeconds < rhs.utcSeconds }

    public var description: String { "pump time \(utcSeconds)" }
}

extension PumpRequest {
    /// The expiry a state-changing request carries; nil for reads and
    /// session messages, which change nothing and so need none.
    public var expiry: RequestExpiry? { (message as? any StateChangingRequest)?.expiry }
}
