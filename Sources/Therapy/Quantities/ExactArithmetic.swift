/// Exact integer arithmetic for products that can exceed 64 bits in the
/// middle of a computation (volume x concentration / 10^6) but not at the end.
///
/// Every function here returns nil instead of trapping: values reach them
/// from the command line, from files and from the pump's replies, and an
/// overflow must become a refusal the caller can word, never a crash.
enum Exact {
    enum Rounding: Sendable { case down, up }

    /// `a * b / c` on non-negative operands with a 128-bit intermediate.
    /// Returns nil when an operand is out of domain or the result does not
    /// fit in 64 bits, so no input can trap the process.
    static func mulDiv(_ a: Int64, _ b: Int64, _ c: Int64, rounding: Rounding) -> Int64? {
        guard a >= 0, b >= 0, c > 0 else { return nil }
        let (high, low) = a.multipliedFullWidth(by: b)
        // The quotient fits in Int64 exactly when floor(product / 2^63) < c.
        // high < 2^62 because a, b < 2^63, so the shift cannot overflow.
        let top = (high << 1) | Int64(low >> 63)
        guard top < c else { return nil }
        let (quotient, remainder) = c.dividingFullWidth((high: high, low: low))
        if rounding == .up && remainder != 0 {
            guard quotient < Int64.max else { return nil }
            return quotient + 1
        }
        return quotient
    }

    /// `a * b / c` only when the division is exact; nil otherwise.
    static func mulDivExact(_ a: Int64, _ b: Int64, _ c: Int64) -> Int64? {
        guard let down = mulDiv(a, b, c, rounding: .down),
              let up = mulDiv(a, b, c, rounding: .up), down == up else { return nil }
        return down
    }

    static func multiply(_ a: Int64, _ b: Int64) -> Int64? {
        let (value, overflow) = a.multipliedReportingOverflow(by: b)
        return overflow ? nil : value
    }

    static func add(_ a: Int64, _ b: Int64) -> Int64? {
        let (value, overflow) = a.addingReportingOverflow(b)
        return overflow ? nil : value
    }

    /// `a - b`; unlike `add(a, -b)` it does not trap on `b == Int64.min`.
    static func subtract(_ a: Int64, _ b: Int64) -> Int64? {
        let (value, overflow) = a.subtractingReportingOverflow(b)
        return overflow ? nil : value
    }

    /// `a / b` rounded up, for `a >= 0` and `b > 0`; nil otherwise. Written
    /// as quotient plus one so that `a + b - 1` never overflows.
    static func divideRoundingUp(_ a: Int64, _ b: Int64) -> Int64? {
        guard a >= 0, b > 0 else { return nil }
        return a / b + (a % b == 0 ? 0 : 1)
    }
}
