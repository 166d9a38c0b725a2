/// Therapy: the pure domain of intrathecal drug delivery.
///
/// Quantities with units, the drug library and clinic policy, prescriptions,
/// their validation, and the dose, reservoir and refill arithmetic. It does
/// no I/O and depends on nothing but the standard library and Foundation, so
/// the host, the simulated pump and scripts share one set of rules.
///
/// Every value that can reach the pump is an integer in a base unit
/// (nL, ng, ng/mL, nL/day, ng/day, seconds); binary floating point is never
/// used for them.
public enum TherapyModule {
    /// The largest magnitude, in base units, a parsed quantity may have.
    /// 10^15 nL is a million litres: far beyond any pump, and small enough
    /// that sums of a few such values never overflow 64 bits.
    public static let quantityLimit: Int64 = 1_000_000_000_000_000
}
