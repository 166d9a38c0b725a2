import Foundation
import Therapy

/// Days and times as the clinic reads them: in its zone, so the report a
/// clinic files names the same day as the screen (an alarm at 04:24Z is the
/// evening before in Los Angeles).
public struct ClinicCalendar: Sendable {
    public let zone: TimeZone

    public init(zone: TimeZone) { self.zone = zone }

    private var calendar: Calendar {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = zone
        return calendar
    }

    /// The local day, `YYYY-MM-DD`.
    public func day(_ time: PumpTime) -> String {
        let parts = calendar.dateComponents([.year, .month, .day], from: Date(timeIntervalSince1970: TimeInterval(time.utcSeconds)))
        return String(format: "%04d-%02d-%02d", parts.year ?? 0, parts.month ?? 0, parts.day ?? 0)
    }

    /// The local day before `time`'s.
    public func dayBefore(_ time: PumpTime) -> String {
        let date = Date(timeIntervalSince1970: TimeInterval(time.utcSeconds))
        let previous = calendar.date(byAdding: .day, value: -1, to: date) ?? date.addingTimeInterval(-86_400)
        return day(PumpTime(utcSeconds: Int64(previous.timeIntervalSince1970.rounded(.down))))
    }

    /// Calendar days from `from`'s local day to `to`'s.
    public func days(from: PumpTime, to: PumpTime) -> Int {
        let start = calendar.startOfDay(for: Date(timeIntervalSince1970: TimeInterval(from.utcSeconds)))
        let end = calendar.startOfDay(for: Date(timeIntervalSince1970: TimeInterval(to.utcSeconds)))
        return calendar.dateComponents([.day], from: start, to: end).day ?? 0
    }

    /// The local date and time with the zone's offset and name.
    public func dateTime(_ time: PumpTime) -> String {
        let formatter = DateFormatter()
        formatter.calendar = calendar
        formatter.timeZone = zone
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.dateFormat = "yyyy-MM-dd HH:mm xxx"
        return formatter.string(from: Date(timeIntervalSince1970: TimeInterval(time.utcSeconds))) + " (\(zone.identifier))"
    }

    /// The scheduler's sentence with local days (the screen's, in the report).
    public func schedulerSentence(_ status: PumpStatus) -> String {
        if let reason = status.notDelivering { return PumpStatus.notDeliveringSentence(reason) }
        if status.reservoirContentsUnknown { return PumpStatus.reservoirUnknownSchedulerSentence }
        guard let alarm = status.lowReservoirAlarmDate else {
            return "No low-reservoir alarm is due within ten years at the current settings."
        }
        let alarmDay = day(alarm)
        var text = "Tell the scheduler: low-reservoir alarm on \(alarmDay)"
        if let refill = status.refillDate.map(day), refill != alarmDay { text += "; refill by \(refill)" }
        return text
    }
}
