/// Rules for interrupting intrathecal delivery. Abrupt loss of intrathecal
/// baclofen can cause withdrawal (high fever, altered mental status,
/// rebound spasticity, rigidity, rhabdomyolysis, death); an opioid stopped
/// abruptly causes opioid withdrawal. Whatever stops or pauses delivery
/// (stop, a refill left begun) gets these findings.
public enum InterruptionRules {
    /// Findings for stopping delivery of `drug`.
    public static func stopFindings(drug: Drug, policy: ClinicPolicy) -> [Finding] {
        switch drug {
        case .baclofen:
            return [Finding(code: .withdrawalRisk, severity: .soft,
                            message: "stopping intrathecal baclofen abruptly can cause withdrawal: high fever, altered mental status, rebound spasticity, muscle rigidity, and in rare cases death")]
        case .morphine:
            return [Finding(code: .withdrawalRisk, severity: .soft,
                            message: "stopping intrathecal morphine abruptly can cause opioid withdrawal; taper or cover with another opioid")]
        case .ziconotide:
            // Ziconotide has no withdrawal syndrome; its label allows stopping at once.
            return []
        }
    }
}
