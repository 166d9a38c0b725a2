import Therapy

extension ClinicZone {
    /// A stored RFC 3339 time (an audit row's UTC time with milliseconds, a
    /// record's `recorded_at`, a pump clock with its offset) in the clinic's
    /// zone with its offset, as every screen shows times. Text that is not
    /// such a time is shown as it is, never dropped.
    func dateTime(rfc3339 text: String) -> String {
        guard let time = try? PumpTime(parsing: text) else { return text }
        return dateTime(time)
    }
}
