/// A moment as the pump keeps it: UTC seconds since the Unix epoch, plus the
/// pump's zone offset in minutes, used only for display and for placing
/// flex steps (which follow the patient's local day).
public struct PumpTime: Sendable, Hashable, Comparable, Codable, CustomStringConvertible {
    public let utcSeconds: Int64
    /// Minutes east of UTC, -840...840.
    public let offsetMinutes: Int

    public init(utcSeconds: Int64, offsetMinutes: Int = 0) {
        self.utcSeconds = utcSeconds
        self.offsetMinutes = max(-840, min(840, offsetMinutes))
    }

    public static func < (lhs: PumpTime, rhs: PumpTime) -> Bool { lhs.utcSeconds < rhs.utcSeconds }

    /// The same zone, `seconds` later.
    public func adding(seconds: Int64) -> PumpTime? {
        Exact.add(utcSeconds, seconds).map { PumpTime(utcSeconds: $0, offsetMinutes: offsetMinutes) }
    }

    /// Seconds since the epoch on the pump's local clock.
    public var localSeconds: Int64 { utcSeconds + Int64(offsetMinutes) * 60 }

    /// ISO 8601 with the pump's offset: `2025-03-01T09:00:00+01:00`.
    public var iso8601: String {
        let local = localSeconds
        let days = local.floorDiv(86_400)
        let secondOfDay = local - days * 86_400
        let (year, month, day) = CivilDate.from(days: days)
        let sign = offsetMinutes < 0 ? "-" : "+"
        let offset = abs(offsetMinutes)
        return "\(pad(year, 4))-\(pad(month, 2))-\(pad(day, 2))T\(pad(Int(secondOfDay / 3600), 2)):\(pad(Int(secondOfDay % 3600 / 60), 2)):\(pad(Int(secondOfDay % 60), 2))"
            + (offsetMinutes == 0 ? "Z" : "\(sign)\(pad(offset / 60, 2)):\(pad(offset % 60, 2))")
    }

    public var description: String { iso8601 }

    /// Parses `2025-03-01T09:00:00+01:00`, `2025-03-01T09:00Z`, or a bare
    /// date `2025-03-01` (midnight UTC). Years 2000...2199 only: anything
    /// else is a typing error for a pump that exists today.
    public init(parsing text: String) throws(PumpTimeParseError) {
        guard text.utf8.count <= 32 else { throw .malformed(text) }
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
        }
        let days = CivilDate.days(year: year, month: month, day: day)
        self.init(utcSeconds: days * 86_400 + Int64(seconds) - Int64(offset) * 60, offsetMinutes: offset)
    }
}

/// Why a date and time was refused.
public enum PumpTimeParseError: Error, Sendable, Equatable, CustomStringConvertible {
    case malformed(String)
    case outOfRange(String)
    case missingOffset(String)

    public var description: String {
        switch self {
        case .malformed(let text):
            return "'\(text)' is not a date and time like 2025-03-01T09:00:00+01:00 or 2025-03-01"
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

extension Int64 {
    /// Division rounding toward negative infinity, for times before a boundary.
    func floorDiv(_ divisor: Int64) -> Int64 {
        let quotient = self / divisor
        return (self % divisor != 0 && (self < 0) != (divisor < 0)) ? quotient - 1 : quotient
    }

    func floorMod(_ divisor: Int64) -> Int64 { self - floorDiv(divisor) * divisor }
}

private func pad(_ value: Int, _ width: Int) -> String {
    let text = String(value)
    return text.count >= width ? text : String(repeating: "0", count: width - text.count) + text
}
