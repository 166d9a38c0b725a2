/// Why a request certainly never reached its destination.
public enum NotSentReason: Error, Equatable, Sendable {
    /// The link refused the bytes; nothing was written.
    case linkRefused(reason: String)
    /// The wand answered every attempt with a negative acknowledgement saying
    /// it did not handle or transmit the frame (for example: busy). Only for
    /// wand commands and the session handshake, where the wand's word is
    /// taken: a sealed pump request is never "not sent" once its bytes left
    /// the host, whatever the wand says (see `PumpExchangeResult`).
    case wandRefused(NegativeAcknowledgement)
    /// The frame could not be built (too long, or the session counter is exhausted).
    case framing(String)
    /// No session is open with the pump; open one first.
    case noSession
    /// The calling task was cancelled before its exchange's turn came
    /// (another exchange was running); nothing was sent.
    case cancelled
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
///
/// `notSent` means no byte of any attempt left the host (the link refused
/// every send) or the request could not be sealed or framed. A wand NAK
/// never makes a sealed request `notSent`: the wand holds no key, cannot
/// prove what it did with a frame, and a faulty relay has answered a bolus
/// it delivered with "pump not in range". What it claimed is kept in
/// `unacknowledged`'s `wandSaid`, for the message to the technician only.
public enum PumpExchangeResult: Sendable, Equatable {
    /// The pump answered (and, for a state-changing command, executed it).
    case completed(PumpReply)
    /// The pump refused; nothing changed.
    case refused(PumpOpcode, PumpRefusal)
    /// The request never reached the pump; nothing changed.
    case notSent(NotSentReason)
    /// Bytes of the request left the host but no authenticated reply came
    /// back: the pump may have executed it.
    /// `linkError` says why when the link itself failed (the wand was
    /// unplugged, say) rather than the reply simply not coming. `wandSaid`
    /// is the last negative acknowledgement the wand sent for the request
    /// (for example `.pumpNotInRange`): what the wand claimed, which proves
    /// nothing about delivery.
    case unacknowledged(attempts: Int, linkError: String? = nil, wandSaid: NegativeAcknowledgement? = nil)

    /// Whether the pump certainly did not act on the request.
    public var isCertainFailure: Bool {
        switch self {
        case .refused, .notSent: true
        case .completed, .unacknowledged: false
        }
    }
}

extension NotSentReason: CustomStringConvertible {
    /// In words, for the technician (it ends up in messages and audit rows).
    public var description: String {
        switch self {
        case .linkRefused(let reason): "the link refused the bytes: \(reason)"
        case .wandRefused(let nak): "the wand refused the frame every time: \(nak.meaning)"
        case .framing(let why): "the frame could not be built: \(why)"
        case .noSession: "no session is open with the pump"
        case .cancelled: "the command was cancelled before its turn"
        }
    }
}
