/// Why a request certainly never reached its destination.
public enum NotSentReason: Error, Equatable, Sendable {
    /// The link refused the bytes; nothing was written.
    case linkRefused(reason: String)
    /// The wand answered every attempt with a negative acknowledgement that
    /// proves it did not transmit (for example: no pump in range).
    case wandRefused(NegativeAcknowledgement)
    /// The frame could not be built (too long, or the session counter is exhausted).
    case framing(String)
    /// No session is open with the pump; open one first.
    case noSession
}

/// The outcome of one exchange at frame level.
public enum ExchangeOutcome<Reply: Sendable>: Sendable {
    /// A matching reply arrived after `attempts` sends.
    case replied(Reply, attempts: Int)
    /// Certain failure: nothing reached the far end.
    case notSent(NotSentReason)
    /// Sent at least once (or possibly sent), no valid reply: the far end may
    /// or may not have acted on it.
    case unacknowledged(attempts: Int, lastNegativeAcknowledgement: NegativeAcknowledgement?, linkError: String?)
}

/// The outcome of a pump request, as the workflows see it.
///
/// The three-way split is the safety point: `refused` and `notSent` are
/// certain (nothing changed on the pump), `unacknowledged` is not (a bolus
/// may be running). After `unacknowledged`, ask the pump what became of the
/// command id (`QueryCommandOutcome`); never send the command again under a
/// new id.
public enum PumpExchangeResult: Sendable, Equatable {
    /// The pump answered (and, for a state-changing command, executed it).
    case completed(PumpReply)
    /// The pump refused; nothing changed.
    case refused(PumpOpcode, PumpRefusal)
    /// The request never reached the pump; nothing changed.
    case notSent(NotSentReason)
    /// The request was sent but no authenticated reply came back.
    case unacknowledged(attempts: Int)

    /// Whether the pump certainly did not act on the request.
    public var isCertainFailure: Bool {
        switch self {
        case .refused, .notSent: true
        case .completed, .unacknowledged: false
        }
    }
}
