/// What a report of a change that was not read back as written says first:
/// the verdict and the action, before the scheduler's sentence.
public enum ReportVerdict: Sendable, Equatable {
    /// The pump carried out the change; the read-back could not be read.
    case readBackFailed
    /// The pump carried out the change; the read-back shows another
    /// prescription than the one written.
    case readBackDiffers

    public var outcome: String {
        switch self {
        case .readBackFailed:
            return "the pump carried out the change; reading it back failed, so what it now runs is not confirmed."
        case .readBackDiffers:
            return "the pump carried out the change, but the prescription read back differs from the one written."
        }
    }

    public var action: String {
        switch self {
        case .readBackFailed:
            return "keep the wand over the pump and run 'pumpctl interrogate' before anything else: it reads the change back. Give the scheduler the alarm date it then shows, not the one below."
        case .readBackDiffers:
            return "do not rely on the pump's delivery: interrogate it (pumpctl interrogate) and contact the pump's support before the refill is booked."
        }
    }

    /// The report's first line.
    public var headline: String { "NOT VERIFIED: \(outcome) What to do: \(action)" }
}
