/// Faults a test or a training session can inject into the simulated wand
/// and pump (`pumpctl --simulator sim fault NAME`).
public enum Fault: String, Codable, Sendable, CaseIterable {
    /// The wand loses the next request on its way to the pump.
    case dropNextRequest = "drop-next-request"
    /// The pump acts on the next request but its response is lost.
    case dropNextResponse = "drop-next-response"
    /// The pump acts on every request but all its replies are lost, until
    /// the `in-range` fault or `sim reset` (the wand moved away).
    case dropAllResponses = "drop-all-responses"
    /// Armed until the pump acts on the next state-changing request; from
    /// that request's reply on, every reply is lost (`drop-all-responses`):
    /// the wand moved away just as a change went out, so the host can
    /// neither see the receipt nor ask for it. What leaves a re-key
    /// unacknowledged.
    case dropResponsesFromNextChange = "drop-responses-from-next-change"
    /// One bit of the next frame to the host is flipped.
    case corruptNextFrame = "corrupt-next-frame"
    /// One bit inside the next session handshake reply is flipped before
    /// the CRC is computed: the frame checks, the handshake does not.
    case corruptNextHandshakeReply = "corrupt-next-handshake-reply"
    /// The pump goes out of range until the fault is cleared (`sim reset`
    /// or the `in-range` fault).
    case outOfRange = "out-of-range"
    case inRange = "in-range"
    case motorStall = "motor-stall"
    /// The battery drops to the elective replacement indicator.
    case batteryERI = "battery-eri"
    /// The battery is spent: end of service, delivery stops.
    case batteryEOS = "battery-eos"
    case memoryFault = "memory-fault"
    /// The pump clock drifts; the minutes are given separately.
    case clockDrift = "clock-drift"

    public var summary: String {
        switch self {
        case .dropNextRequest: return "lose the next request before the pump sees it"
        case .dropNextResponse: return "the pump acts on the next request, its reply is lost"
        case .dropAllResponses: return "the pump acts on every request, all its replies are lost (until in-range)"
        case .dropResponsesFromNextChange: return "from the next state-changing request on, the pump acts but all its replies are lost (until in-range)"
        case .corruptNextFrame: return "flip one bit of the next frame to the host"
        case .corruptNextHandshakeReply: return "flip one bit inside the next session handshake reply, past its CRC"
        case .outOfRange: return "the pump stops answering (out of range)"
        case .inRange: return "the pump is back in range"
        case .motorStall: return "motor stall: delivery stops, two-tone alarm"
        case .batteryERI: return "battery at the elective replacement indicator"
        case .batteryEOS: return "battery at end of service: delivery stops"
        case .memoryFault: return "memory fault: delivery stops"
        case .clockDrift: return "move the pump clock by --minutes N (negative: behind)"
        }
    }
}
