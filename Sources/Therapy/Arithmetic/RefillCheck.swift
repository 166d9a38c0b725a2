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

    public init(expected: Volume, withdrawn: Volume, tolerance policy: ResidualTolerance) {
        self.expected = expected
        self.withdrawn = withdrawn
        difference = Volume(baseValue: withdrawn.baseValue - expected.baseValue)
        // percent of expected, rounded down: the tolerance errs toward flagging.
        let percent = Exact.mulDiv(max(0, expected.baseValue), Int64(policy.percentOfExpected), 100, rounding: .down) ?? 0
        tolerance = Volume(baseValue: max(policy.minimum.baseValue, percent))
        discrepancy = difference.baseValue.magnitude > tolerance.baseValue.magnitude
    }
}
