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
/// Days are the clinic's local days (`ClinicCalendar`), as on the screen.
struct RefillDates: Sendable, Equatable {
    var alarm: PumpTime
    var latestRefill: PumpTime
    /// The local day, `YYYY-MM-DD`, by which the refill is to be booked.
    var bookBy: String
    /// Whether the latest day to refill counts patient boluses (else it is the alarm).
    var countsBoluses: Bool

    /// Nil when the pump is not delivering or no alarm is due within the
    /// projection (nothing to book by); the report then says why.
    init?(_ status: PumpStatus, calendar: ClinicCalendar) {
        guard status.notDelivering == nil, let alarm = status.lowReservoirAlarmDate else { return nil }
        // The worst case is never later than the alarm; a pump that gave a
        // later one is not believed past the alarm.
        let latest = min(status.refillDate ?? alarm, alarm)
        self.alarm = alarm
        latestRefill = latest
        bookBy = calendar.dayBefore(latest)
        countsBoluses = status.prescription.patientBolus != nil && latest < alarm
    }

    /// The report's section: each date with what it means.
    static func section(_ status: PumpStatus, calendar: ClinicCalendar) -> SessionReport.Section {
        let day = calendar.day
        guard let dates = RefillDates(status, calendar: calendar) else {
            let why = status.notDelivering.map(PumpStatus.notDeliveringSentence) ?? calendar.schedulerSentence(status)
            return .init(title: "Next refill", fields: [.init("Book the refill by", why)])
        }
        let bolus = status.prescription.patientBolus
        var fields: [SessionReport.Field] = [
            .init("Book the refill by", "\(dates.bookBy) (the day before the latest day to refill)"),
            .init("Latest day to refill", dates.countsBoluses
                ? "\(day(dates.latestRefill)) (\(calendar.dateTime(dates.latestRefill)); with every allowed patient bolus taken, \(bolus.map { "\($0.maximumPer24h) per 24 h" } ?? ""))"
                : "\(day(dates.latestRefill)) (\(calendar.dateTime(dates.latestRefill)); the alarm date: \(bolus == nil ? "no patient bolus is allowed" : "the allowed patient boluses do not bring it earlier"))"),
            .init("Low-reservoir alarm", "\(day(dates.alarm)) (\(calendar.dateTime(dates.alarm)); at the programmed rates, no patient bolus taken)"),
        ]
        // Calendar days in the clinic's zone, so the count agrees with the day named.
        fields.append(.init("Days to the alarm", "\(calendar.days(from: status.hostClock, to: dates.alarm))"))
        return .init(title: "Next refill", fields: fields)
    }
}
