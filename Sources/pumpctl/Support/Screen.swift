import Synchronization
import Foundation
import Glibc
import PumpProgrammer
import Therapy

/// The clinic's time zone: `--tz ZONE`, else TZ, else the system zone.
/// Every time on a screen is shown in it with its offset; dates are its
/// local dates. JSON keeps RFC 3339 with the pump's offset.
struct ClinicZone: Sendable {
    let zone: TimeZone
    /// The options are resolved more than once per run; warn once.
    private static let warnedAboutTZ = Atomic<Bool>(false)

    static func resolve(_ name: String?, environment: [String: String] = ProcessInfo.processInfo.environment) throws -> ClinicZone {
        if let name {
            guard let zone = TimeZone(identifier: name) else {
                throw CommandFailure(status: .usage, message: "--tz \(name): not a time zone (use an IANA name, e.g. America/Los_Angeles, or UTC).")
            }
            return ClinicZone(zone: zone)
        }
        if var tz = environment["TZ"], !tz.isEmpty {
            if tz.hasPrefix(":") { tz.removeFirst() }
            if let zone = TimeZone(identifier: tz) { return ClinicZone(zone: zone) }
            // A zone the system understands but this program cannot read
            // (EST5, a zoneinfo path) must not turn silently into another.
            let fallback = TimeZone.current
            if !warnedAboutTZ.exchange(true, ordering: .relaxed) {
                FileHandle.standardError.write(Data("pumpctl: WARNING: TZ=\(tz) is not a zone name pumpctl reads; times are shown in \(fallback.identifier). Give --tz with an IANA name (e.g. America/New_York).\n".utf8))
            }
            return ClinicZone(zone: fallback)
        }
        return ClinicZone(zone: TimeZone.current)
    }

    static let utc = ClinicZone(zone: TimeZone(identifier: "UTC") ?? TimeZone(secondsFromGMT: 0) ?? TimeZone.current)

    /// Seconds east of UTC at `utcSeconds`.
    func offsetSeconds(at utcSeconds: Int64) -> Int {
        zone.secondsFromGMT(for: Date(timeIntervalSince1970: TimeInterval(utcSeconds)))
    }

    /// The time in this zone: `2027-01-19 22:10 -08:00 (PST)`; an invalid
    /// pump time keeps its words.
    func dateTime(_ time: PumpTime) -> String {
        guard time.isValid else { return time.iso8601 }
        let offset = offsetSeconds(at: time.utcSeconds)
        let local = PumpTime(utcSeconds: time.utcSeconds, offsetMinutes: offset / 60)
        let iso = local.iso8601   // 2027-01-19T22:10:00-08:00
        let date = iso.prefix(10), clock = iso.dropFirst(11).prefix(5)
        let abbreviation = zone.abbreviation(for: Date(timeIntervalSince1970: TimeInterval(time.utcSeconds)))
        return "\(date) \(clock) \(Self.offsetText(offset))" + (abbreviation.map { $0.hasPrefix("GMT") ? "" : " (\($0))" } ?? "")
    }

    /// The local date: `2027-01-19`.
    func date(_ time: PumpTime) -> String {
        guard time.isValid else { return time.iso8601 }
        let offset = offsetSeconds(at: time.utcSeconds)
        return String(PumpTime(utcSeconds: time.utcSeconds, offsetMinutes: offset / 60).iso8601.prefix(10))
    }

    static func offsetText(_ seconds: Int) -> String {
        let minutes = abs(seconds) / 60
        let hh = minutes / 60, mm = minutes % 60
        return (seconds < 0 ? "-" : "+") + (hh < 10 ? "0" : "") + "\(hh):" + (mm < 10 ? "0" : "") + "\(mm)"
    }

    /// The sentence the scheduler needs, with local dates.
    func schedulerSentence(_ status: PumpStatus) -> String {
        if let reason = status.notDelivering { return PumpStatus.notDeliveringSentence(reason) }
        if status.reservoirContentsUnknown { return PumpStatus.reservoirUnknownSchedulerSentence }
        // "in N days" counts calendar days in the clinic's zone to the day
        // named, so the two agree (elapsed whole days can be one less).
        let days = status.lowReservoirAlarmDate.map { Int64(ClinicCalendar(zone: zone).days(from: status.hostClock, to: $0)) }
        return schedulerSentence(alarm: status.lowReservoirAlarmDate, refill: status.refillDate, daysToAlarm: days ?? status.daysToAlarm)
    }

    func schedulerSentence(alarm: PumpTime?, refill: PumpTime?, daysToAlarm: Int64?) -> String {
        guard let alarm else {
            return "No low-reservoir alarm is due within ten years at the current settings."
        }
        let day = date(alarm)
        var text = "Tell the scheduler: LOW-RESERVOIR ALARM ON \(day)"
        if let days = daysToAlarm { text += " (in \(Shown.duration(seconds: days * 86_400)))" }
        if let refill = refill.map(date), refill != day { text += "; refill by \(refill)" }
        return text
    }
}

/// How text reaches a person: emphasis (ANSI bold and colour) only at a
/// terminal, words wrapped to its width.
enum ColorChoice: String, CaseIterable, Sendable {
    case auto, always, never
}

struct Screen: Sendable {
    var color: ColorChoice = .auto
    var zone: ClinicZone = .utc

    /// Set once from the global options before a command runs.
    private static let current = ScreenBox()
    static var shared: Screen {
        get { current.get() }
        set { current.set(newValue) }
    }

    /// Whether `fd` gets emphasis: `--color always` or `never` decide;
    /// `auto` is a terminal without a non-empty NO_COLOR and not TERM=dumb:
    /// per no-color.org an empty NO_COLOR (`NO_COLOR=` in a profile that
    /// clears it) is as if it were not set.
    func emphasis(fd: Int32, environment: [String: String] = ProcessInfo.processInfo.environment) -> Bool {
        switch color {
        case .always: return true
        case .never: return false
        case .auto:
            if let noColor = environment["NO_COLOR"], !noColor.isEmpty { return false }
            if environment["TERM"] == "dumb" { return false }
            return isatty(fd) == 1
        }
    }

    /// `$COLUMNS`, else the terminal's width, else nil (no wrapping).
    static func width(fd: Int32, environment: [String: String] = ProcessInfo.processInfo.environment) -> Int? {
        if let text = environment["COLUMNS"], let columns = Int(text), columns >= 20 { return columns }
        guard isatty(fd) == 1 else { return nil }
        var size = winsize()
        guard ioctl(fd, UInt(TIOCGWINSZ), &size) == 0, size.ws_col >= 20 else { return nil }
        return Int(size.ws_col)
    }

    /// Breaks `line` at spaces so no line is longer than `width`; a word
    /// longer than the width stands alone, never split. Continuation lines
    /// keep the line's indentation plus two spaces.
    static func wrap(_ line: String, width: Int?) -> [String] {
        guard let width, line.count > width else { return [line] }
        let indent = String(line.prefix { $0 == " " })
        // A table row (a label, two or more spaces, a value) continues under its value.
        var hanging = indent + "  "
        if indent.isEmpty, let gap = line.range(of: "  ") {
            let column = line[gap.lowerBound...].prefix { $0 == " " }.count + line.distance(from: line.startIndex, to: gap.lowerBound)
            if column < width / 2 { hanging = String(repeating: " ", count: column) }
        }
        let words = line.dropFirst(indent.count).split(separator: " ", omittingEmptySubsequences: false)
        var lines: [String] = []
        var current = indent
        var hasWord = false
        for word in words {
            let candidate = hasWord ? current + " " + word : current + word
            if hasWord && candidate.count > width {
                lines.append(current)
                current = hanging + word
            } else {
                current = candidate
            }
            hasWord = true
        }
        lines.append(current)
        return lines
    }

    enum Mark: String, CaseIterable {
        case alarm = "ALARM", lowReservoirAlarm = "LOW-RESERVOIR ALARM", refused = "REFUSED", error = "ERROR"
        case warning = "WARNING", uncertain = "UNCERTAIN", unresolved = "UNRESOLVED", notVerified = "NOT VERIFIED"
        case simulated = "SIMULATED", discrepancy = "DISCREPANCY", refillInProgress = "REFILL IN PROGRESS"

        var ansi: String {
            switch self {
            case .alarm, .lowReservoirAlarm, .refused, .error, .discrepancy: return "\u{1B}[1;31m"
            case .warning, .refillInProgress: return "\u{1B}[1;33m"
            case .uncertain, .unresolved, .notVerified: return "\u{1B}[1;35m"
            case .simulated: return "\u{1B}[1;7;36m"
            }
        }
    }

    static let reset = "\u{1B}[0m"

    /// Emphasis for the marker words of a line: the whole line for the
    /// SIMULATED banner, the word itself otherwise.
    static func emphasise(_ line: String) -> String {
        if line.hasPrefix("SIMULATED") { return Mark.simulated.ansi + line + reset }
        var result = line
        var matched: Set<Mark> = []
        // Longest markers first so LOW-RESERVOIR ALARM wins over ALARM.
        for mark in Mark.allCases.sorted(by: { $0.rawValue.count > $1.rawValue.count }) where mark != .simulated {
            if mark == .alarm && matched.contains(.lowReservoirAlarm) { continue }
            guard let range = result.range(of: mark.rawValue) else { continue }
            // Whole words only, and only once per line.
            let before = range.lowerBound == result.startIndex ? " " : result[result.index(before: range.lowerBound)]
            let after = range.upperBound == result.endIndex ? " " : result[range.upperBound]
            guard !before.isLetter, !after.isLetter, before != "[" else { continue }
            result.replaceSubrange(range, with: mark.ansi + mark.rawValue + reset)
            matched.insert(mark)
        }
        return result
    }

    /// Text ready for `fd`: wrapped, then emphasised when `fd` gets emphasis.
    func render(_ text: String, fd: Int32) -> String {
        let width = Self.width(fd: fd)
        let styled = emphasis(fd: fd)
        return text.split(separator: "\n", omittingEmptySubsequences: false).flatMap { line in
            Self.wrap(String(line), width: width)
        }.map { styled ? Self.emphasise($0) : $0 }.joined(separator: "\n")
    }
}

private final class ScreenBox: @unchecked Sendable {
    private let lock = NSLock()
    private var value = Screen()
    func get() -> Screen { lock.lock(); defer { lock.unlock() }; return value }
    func set(_ screen: Screen) { lock.lock(); value = screen; lock.unlock() }
}
