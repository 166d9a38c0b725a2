import Therapy

/// The dates a clinic books the next refill from, as the report states
/// them, all derived from what the pump was read to hold (`PumpStatus`):
///
/// - the low-reservoir alarm: when the reservoir reaches the alarm
///   threshold at the programmed rates;
/// - the latest day to refill: the same with every patient bolus the
///   prescription allows taken (`PumpStatus.refillDate`), which comes first
///   when boluses are allowed;
/// - book the refill by: the day before the latest day to refill. The
///   reservoir can reach the threshold at any hour of that day (an alarm at
///   00:42 is before any clinic opens), so a visit booked on that day can
///   come too late; the day before cannot.
///
/// Days are the pump's local days (its zone offset), as on the rest of the report.
struct RefillDates: Sendable, Equatable {
    var alarm: PumpTime
    var latestRefill: PumpTime
    /// The local day, `YYYY-MM-DD`, by which the refill is to be booked.
    var bookBy: String
    /// Whether the latest day to refill counts patient boluses (else it is the alarm).
    var countsBoluses: Bool

    /// Nil when the pump is not delivering or no alarm is due within the
    /// projection (nothing to book by); the report then says why.
    init?(_ status: PumpStatus) {
        guard status.notDelivering == nil, let alarm = status.lowReservoirAlarmDate else { return nil }
        // The worst case is never later than the alarm; a pump that gave a
        // later one is not believed past the alarm.
        let latest = min(status.refillDate ?? alarm, alarm)
        guard let dayBefore = latest.adding(seconds: -86_400), let day = dayBefore.validISO8601 else { return nil }
        self.alarm = alarm
        latestRefill = latest
        bookBy = String(day.prefix(10))
        countsBoluses = status.prescription.patientBolus != nil && latest < alarm
    }

    static func day(_ time: PumpTime) -> String { String(time.iso8601.prefix(10)) }

    /// The report's section: each date with what it means.
    static func section(_ status: PumpStatus) -> SessionReport.Section {
        guard let dates = RefillDates(status) else {
            let why = status.notDelivering.map(PumpStatus.notDeliveringSentence) ?? status.schedulerSentence
            return .init(title: "Next refill", fields: [.init("Book the refill by", why)])
        }
        let bolus = status.prescription.patientBolus
        var fields: [SessionReport.Field] = [
            .init("Book the refill by", "\(dates.bookBy) (the day before the latest day to refill)"),
            .init("Latest day to refill", dates.countsBoluses
                ? "\(day(dates.latestRefill)) (\(dates.latestRefill.iso8601); with every allowed patient bolus taken, \(bolus.map { "\($0.maximumPer24h) per 24 h" } ?? ""))"
                : "\(day(dates.latestRefill)) (\(dates.latestRefill.iso8601); the alarm date: \(bolus == nil ? "no patient bolus is allowed" : "the allowed patient boluses do not bring it earlier"))"),
            .init("Low-reservoir alarm", "\(day(dates.alarm)) (\(dates.alarm.iso8601); at the programmed rates, no patient bolus taken)"),
        ]
        if let days = status.daysToAlarm { fields.append(.init("Days to the alarm", "\(days)")) }
        return .init(title: "Next refill", fields: fields)
    }
}
