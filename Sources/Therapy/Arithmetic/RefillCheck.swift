/// The comparison made at every refill: the residual the programmer
/// expected against the residual actually withdrawn. A difference beyond
/// the tolerance suggests a pocket fill, pump or catheter problem.
public struct RefillCheck: Sendable, Equatable, Codable {
    public let expected: Volume
    public let withdrawn: Volume
    /// Withdrawn minus expected (negative: less came back than expected).
    public let difference: Volume
    /// The larger of the policy's minimum and its percent of the expected volume.
    public let tolerance: Volume
    /// True when |difference| is strictly above the tolerance.
    public let discrepancy: Bool

    /// Never traps. A difference beyond 64 bits (only from volumes no pump
    /// holds) is saturated and always a discrepancy; use `checked` to have
    /// it refused instead.
    public init(expected: Volume, withdrawn: Volume, tolerance policy: ResidualTolerance) {
        self.expected = expected
        self.withdrawn = withdrawn
        let (difference, overflow) = withdrawn.baseValue.subtractingReportingOverflow(expected.baseValue)
        self.difference = Volume(baseValue: overflow ? withdrawn.baseValue.saturatingSubtract(expected.baseValue) : difference)
        // percent of expected, rounded down: the tolerance errs toward flagging.
        // A percent outside 0...100 (refused when a policy file is read) gives no percent part.
        let percent = Exact.mulDiv(max(0, expected.baseValue), Int64(policy.percentOfExpected), 100, rounding: .down) ?? 0
        tolerance = Volume(baseValue: max(policy.minimum.baseValue, percent))
        discrepancy = overflow || self.difference.baseValue.magnitude > tolerance.baseValue.magnitude
    }

    /// The check, or `.negative` for a negative volume: for callers that
    /// would rather refuse than show a saturated figure. The difference of
    /// two non-negative volumes always fits in 64 bits, so nothing else
    /// can go wrong.
    public static func checked(expected: Volume, withdrawn: Volume, tolerance policy: ResidualTolerance) throws(ArithmeticError) -> RefillCheck {
        guard expected.baseValue >= 0 else { throw .negative("the expected residual \(expected)") }
        guard withdrawn.baseValue >= 0 else { throw .negative("the withdrawn volume \(withdrawn)") }
        return RefillCheck(expected: expected, withdrawn: withdrawn, tolerance: policy)
    }
}
