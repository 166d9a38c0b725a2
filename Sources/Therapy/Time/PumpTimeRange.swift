extension PumpTime {
    /// The moments a pump's clock can really show: 1970-01-01T00:00:00Z up
    /// to 9999-12-31T23:59:59Z. A time outside them comes from a damaged or
    /// hostile reply, and is refused rather than formatted or added to.
    public static let plausibleUTCSeconds: ClosedRange<Int64> = 0...253_402_300_799

    /// A pump time from untrusted seconds: nil outside `plausibleUTCSeconds`
    /// or for an offset beyond ±14 h.
    public init?(checkedUTCSeconds seconds: Int64, offsetMinutes: Int = 0) {
        guard Self.plausibleUTCSeconds.contains(seconds), (-840...840).contains(offsetMinutes) else { return nil }
        self.init(utcSeconds: seconds, offsetMinutes: offsetMinutes)
    }
}
