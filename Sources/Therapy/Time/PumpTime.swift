/// A moment as the pump keeps it: UTC seconds since the Unix epoch, plus the
/// pump's zone offset in minutes, used only for display and for placing
/// flex steps (which follow the patient's local day).
///
/// Times come from the pump's replies as any 64-bit value, so nothing here
/// may trap on one. The range taken to be a real time is `validUTCSeconds`,
/// 1970-01-01T00:00:00Z through 9999-12-31T23:59:59Z: a pump clock cannot
/// be earlier than the epoch it counts from, and four-digit years are what
/// ISO 8601 text holds without an agreed extension.
///
/// `init(utcSeconds:offsetMinutes:)` accepts any Int64 and any Int and
/// keeps the seconds as given, so a wrong clock is shown as wrong instead
/// of being moved to a plausible date; `isValid` tells whether it is in
/// range and `iso8601` says "invalid" in words when it is not. The offset
/// is clamped to -840...840 minutes (UTC-14:00 to UTC+14:00) as before.
/// `init(checkedUTCSeconds:offsetMinutes:)` refuses either instead.
public struct PumpTime: Sendable, Hashable, Comparable, CustomStringConvertible {
    public let utcSeconds: Int64
    /// Minutes east of UTC, -840...840.
    public let offsetMinutes: Int

    /// 1970-01-01T00:00:00Z ... 9999-12-31T23:59:59Z.
    public static let validUTCSeconds: ClosedRange<Int64> = 0...253_402_300_799
    /// UTC-14:00 ... UTC+14:00, the offsets in use on Earth.
    public static let offsetRange: ClosedRange<Int> = -840...840

    /// Never traps: any seconds are kept, the offset is clamped to `offsetRange`.
    public init(utcSeconds: Int64, offsetMinutes: Int = 0) {
        self.utcSeconds = utcSeconds
        self.offsetMinutes = max(Self.offsetRange.lowerBound, min(Self.offsetRange.upperBound, offsetMinutes))
    }

    /// A time within `validUTCSeconds` and an offset within `offsetRange`,
    /// or a `PumpTimeError` saying which is not.
    public init(checkedUTCSeconds utcSeconds: Int64, offsetMinutes: Int = 0) throws(PumpTimeError) {
        guard Self.validUTCSeconds.contains(utcSeconds) else { throw .outOfRange(utcSeconds: utcSeconds) }
        guard Self.offsetRange.contains(offsetMinutes) else { throw .offsetOutOfRange(minutes: offsetMinutes) }
        self.init(utcSeconds: utcSeconds, offsetMinutes: offsetMinutes)
    }

    /// Whether the time is within `validUTCSeconds`.
    public var isValid: Bool { Self.validUTCSeconds.contains(utcSeconds) }

    public static func < (lhs: PumpTime, rhs: PumpTime) -> Bool { lhs.utcSeconds < rhs.utcSeconds }

    /// The same zone, `seconds` later; nil when the sum overflows 64 bits.
    public func adding(seconds: Int64) -> PumpTime? {
        Exact.add(utcSeconds, seconds).map { PumpTime(utcSeconds: $0, offsetMinutes: offsetMinutes) }
    }

    /// Seconds since the epoch on the pump's local clock. Exact for valid
    /// times; saturates at the Int64 bounds for a time within 14 hours of
    /// them (never valid), instead of overflowing.
    public var localSeconds: Int64 {
        let (local, overflow) = utcSeconds.addingReportingOverflow(Int64(offsetMinutes) * 60)
        guard overflow else { return local }
        return offsetMinutes > 0 ? .max : .min
    }

    /// Seconds from the start of the pump's local day, week or other cycle
    /// of `length` seconds (`anchor` seconds after the epoch's local
    /// midnight). Computed from remainders so that no time, valid or not,
    /// overflows.
    func localPosition(inCycleOf length: Int64, anchor: Int64) -> Int64 {
        let utc = utcSeconds.floorMod(length)
        let shift = (Int64(offsetMinutes) * 60 + anchor).floorMod(length)
        return (utc + shift).floorMod(length)
    }

    /// ISO 8601 with the pump's offset: `2025-03-01T09:00:00+01:00`; nil
    /// outside `validUTCSeconds`.
    public var validISO8601: String? {
        guard isValid else { return nil }
        let local = localSeconds
        let days = local.floorDiv(86_400)
        let secondOfDay = local - days * 86_400
        let (year, month, day) = CivilDate.from(days: days)
        let sign = offsetMinutes < 0 ? "-" : "+"
        let offset = abs(offsetMinutes)
        return "\(pad(year, 4))-\(pad(month, 2))-\(pad(day, 2))T\(pad(Int(secondOfDay / 3600), 2)):\(pad(Int(secondOfDay % 3600 / 60), 2)):\(pad(Int(secondOfDay % 60), 2))"
            + (offsetMinutes == 0 ? "Z" : "\(sign)\(pad(offset / 60, 2)):\(pad(offset % 60, 2))")
    }

    /// `validISO8601`, or for a time out of range the words
    /// `invalid time (N s from 1970-01-01T00:00:00Z)`, which no reader
    /// takes for a date.
    public var iso8601: String {
        validISO8601 ?? "invalid time (\(utcSeconds) s from 1970-01-01T00:00:00Z)"
    }

    public var description: String { iso8601 }

    /// What a date without a time means where one is read.
    public enum DateAloneRule: Sendable, Equatable {
        /// Refused: the time matters (a last change, the moment of validation).
        case refused
        /// Midnight UTC of that day (a `--since` or `--from` where that is documented).
        case midnightUTC
    }

    /// Parses RFC 3339: `2025-03-01T09:00:00+01:00`, with fractional
    /// seconds (`2026-11-28T05:59:40.851Z`, Python's `isoformat()` with an
    /// offset, pumpctl's own audit times), any offset from -14:00 to
    /// +14:00, `Z`, a `t`/`z` or a space for the `T`, and seconds left out
    /// (`2025-03-01T09:00Z`). Fractions of a second are dropped (the time
    /// is rounded down to its second). A bare date `2025-03-01` is refused
    /// unless `dateAlone` is `.midnightUTC`. Years 2000...2199 only:
    /// anything else is a typing error for a pump that exists today.
    public init(parsing text: String, dateAlone: DateAloneRule = .refused) throws(PumpTimeParseError) {
        guard text.utf8.count <= 40 else { throw .malformed(text) }
        let bytes = Array(text.utf8)
        func number(_ range: Range<Int>) -> Int? {
            guard range.upperBound <= bytes.count else { return nil }
            var value = 0
            for byte in bytes[range] {
                guard byte >= 48 && byte <= 57 else { return nil }
                value = value * 10 + Int(byte - 48)
            }
            return value
        }
        guard bytes.count >= 10, bytes[4] == 45, bytes[7] == 45,
              let year = number(0..<4), let month = number(5..<7), let day = number(8..<10) else { throw .malformed(text) }
        guard (2000...2199).contains(year), (1...12).contains(month),
              (1...CivilDate.daysIn(month: month, year: year)).contains(day) else { throw .outOfRange(text) }
        var seconds = 0
        var offset = 0
        if bytes.count > 10 {
            guard bytes[10] == 84 || bytes[10] == 116 || bytes[10] == 32,
                  let hour = number(11..<13), bytes.count > 13, bytes[13] == 58, let minute = number(14..<16) else { throw .malformed(text) }
            var index = 16
            var second = 0
            if index < bytes.count, bytes[index] == 58 {
                guard let parsed = number(17..<19) else { throw .malformed(text) }
                second = parsed
                index = 19
                // Fractional seconds: one to nine digits, dropped.
                if index < bytes.count, bytes[index] == 46 {
                    index += 1
                    let start = index
                    while index < bytes.count, bytes[index] >= 48, bytes[index] <= 57 { index += 1 }
                    guard (1...9).contains(index - start) else { throw .malformed(text) }
                }
            }
            guard hour < 24, minute < 60, second < 60 else { throw .outOfRange(text) }
            seconds = hour * 3600 + minute * 60 + second
            guard index < bytes.count else { throw .missingOffset(text) }
            if bytes[index] == 90 || bytes[index] == 122 {
                guard index + 1 == bytes.count else { throw .malformed(text) }
            } else if bytes[index] == 43 || bytes[index] == 45 {
                guard index + 6 == bytes.count, bytes[index + 3] == 58,
                      let hours = number(index + 1..<index + 3), let minutes = number(index + 4..<index + 6),
                      hours <= 14, minutes < 60 else { throw .malformed(text) }
                offset = (hours * 60 + minutes) * (bytes[index] == 45 ? -1 : 1)
                guard abs(offset) <= 840 else { throw .outOfRange(text) }
            } else {
                throw .malformed(text)
            }
        } else if dateAlone == .refused {
            throw .dateWithoutTime(text)
        }
        let days = CivilDate.days(year: year, month: month, day: day)
        self.init(utcSeconds: days * 86_400 + Int64(seconds) - Int64(offset) * 60, offsetMinutes: offset)
    }
}

/// Encoded as `{"utcSeconds": N, "offsetMinutes": M}`. Decoding keeps any
/// seconds (as `init(utcSeconds:offsetMinutes:)` does) but refuses an
/// offset outside -840...840: in a file that is damage, not a zone.
extension PumpTime: Codable {
    private enum CodingKeys: String, CodingKey { case utcSeconds, offsetMinutes }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        let seconds = try container.decode(Int64.self, forKey: .utcSeconds)
        let offset = try container.decode(Int.self, forKey: .offsetMinutes)
        guard Self.offsetRange.contains(offset) else {
            throw DecodingError.dataCorruptedError(forKey: .offsetMinutes, in: container,
                                                   debugDescription: PumpTimeError.offsetOutOfRange(minutes: offset).description)
        }
        self.init(utcSeconds: seconds, offsetMinutes: offset)
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(utcSeconds, forKey: .utcSeconds)
        try container.encode(offsetMinutes, forKey: .offsetMinutes)
    }
}

/// Why a pump time was refused by `init(checkedUTCSeconds:offsetMinutes:)`.
public enum PumpTimeError: Error, Sendable, Equatable, CustomStringConvertible {
    /// Before 1970-01-01T00:00:00Z or after 9999-12-31T23:59:59Z.
    case outOfRange(utcSeconds: Int64)
    /// Not within UTC-14:00 ... UTC+14:00.
    case offsetOutOfRange(minutes: Int)

    public var description: String {
        switch self {
        case .outOfRange(let seconds):
            return "\(seconds) s from 1970-01-01T00:00:00Z is not a time between the years 1970 and 9999"
        case .offsetOutOfRange(let minutes):
            return "a zone offset of \(minutes) minutes is not between -14:00 and +14:00"
        }
    }
}

/// Why a date and time was refused.
public enum PumpTimeParseError: Error, Sendable, Equatable, CustomStringConvertible {
    case malformed(String)
    case outOfRange(String)
    case missingOffset(String)
    /// A date where a time matters.
    case dateWithoutTime(String)

    public var description: String {
        switch self {
        case .malformed(let text):
            return "'\(text)' is not an RFC 3339 date and time like 2025-03-01T09:00:00+01:00 or 2026-11-28T05:59:40.851Z"
        case .dateWithoutTime(let text):
            return "'\(text)' is a date without a time, and the time matters here: give the time and zone, e.g. \(text)T09:00:00+01:00"
        case .outOfRange(let text):
            return "'\(text)' is not a real date and time between the years 2000 and 2199"
        case .missingOffset(let text):
            return "'\(text)' has a time but no zone; add Z or the offset, e.g. +01:00"
        }
    }
}

/// Proleptic Gregorian calendar arithmetic on day counts (days since
/// 1970-01-01), after Howard Hinnant's civil-date algorithms: exact and
/// free of time-zone databases, so host, simulator and tests agree.
enum CivilDate {
    static func days(year: Int, month: Int, day: Int) -> Int64 {
        let y = Int64(month <= 2 ? year - 1 : year)
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let m = Int64(month)
        let doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + Int64(day) - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        return era * 146_097 + doe - 719_468
    }

    static func from(days: Int64) -> (year: Int, month: Int, day: Int) {
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let day = doy - (153 * mp + 2) / 5 + 1
        let month = mp < 10 ? mp + 3 : mp - 9
        let year = yoe + era * 400 + (month <= 2 ? 1 : 0)
        return (Int(year), Int(month), Int(day))
    }

    static func daysIn(month: Int, year: Int) -> Int {
        switch month {
        case 2: return (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 ? 29 : 28
        case 4, 6, 9, 11: return 30
        default: return 31
        }
    }
}

// Both are for the calendar's positive constant divisors (86_400, a cycle
// length); a divisor of -1 would overflow on Int64.min.
extension Int64 {
    /// Division rounding toward negative infinity, for times before a boundary.
    func floorDiv(_ divisor: Int64) -> Int64 {
        let quotient = self / divisor
        return (self % divisor != 0 && (self < 0) != (divisor < 0)) ? quotient - 1 : quotient
    }

    /// Remainder in 0..<divisor for a positive divisor. Taken from `%`
    /// directly: `self - floorDiv(divisor) * divisor` overflows for values
    /// near Int64.min.
    func floorMod(_ divisor: Int64) -> Int64 {
        let remainder = self % divisor
        return remainder != 0 && (remainder < 0) != (divisor < 0) ? remainder + divisor : remainder
    }
}

private func pad(_ value: Int, _ width: Int) -> String {
    let text = String(value)
    return text.count >= width ? text : String(repeating: "0", count: width - text.count) + text
}
