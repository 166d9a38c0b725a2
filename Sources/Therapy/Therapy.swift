/// Therapy: the pure domain of intrathecal drug delivery.
///
/// Quantities with units, the drug library and clinic policy, prescriptions,
/// their validation, and the dose, reservoir and refill arithmetic. It does
/// no I/O and depends on nothing but the standard library and Foundation, so
/// the host, the simulated pump and scripts share one set of rules.
enum TherapyModule {}
