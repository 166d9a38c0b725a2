/// Whether a reply fits the one sealed frame it must travel in
/// (PROTOCOL.md 7 and 7.2): its plaintext is the counter of the request
/// answered (8 bytes) and the reply (opcode | 0x80, status, body), padded
/// with at least one byte to at most 2016. A reply that does not fit cannot
/// be sent at all, and cutting it would hand the host a report that says
/// less than the pump holds, so the pump builds its replies to fit
/// (the interrogate report leaves its optional event page out first).
extension PumpReply {
    /// The largest reply (opcode, status and body) one sealed frame carries: 2015 - 8.
    public static let largestSealedLength = (SealPadding.sizes.max() ?? 0) - 1 - SessionCipher.counterLength

    /// Whether this reply, with its request's counter, can be sealed.
    public var fitsOneSealedFrame: Bool { encoded.count <= Self.largestSealedLength }
}

extension InterrogateReport {
    /// This report carrying page 0 of the event log when the reply still fits
    /// one sealed frame with it, else (or with no page) this report without one: the
    /// "newest event page present" byte is then 0 and the host reads page 0
    /// with its own request (0x0E), as it does when it did not ask.
    public func carrying(newestEvents page: EventLogPage?) -> InterrogateReport {
        var report = self
        report.newestEvents = page
        if PumpReply.interrogate(report).fitsOneSealedFrame { return report }
        report.newestEvents = nil
        return report
    }
}
