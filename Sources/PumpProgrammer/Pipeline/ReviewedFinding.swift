import Therapy

/// One finding of a plan as the technician reviews it before the prompt,
/// with what the checks will make of it: a refusal, a warning that still
/// needs an override, or a warning overridden with the reason the audit
/// log will record. The screen shows these, so the rule overridden and
/// its reason are read before anyone types yes.
public struct ReviewedFinding: Sendable, Equatable {
    public enum Disposition: Sendable, Equatable {
        /// A hard finding: no override possible.
        case refuses
        /// A soft finding without an override.
        case needsOverride
        /// Overridden by the technician; `reason` is what the audit log
        /// records (trimmed, as `ValidationReport.accepting` keeps it).
        case overridden(reason: String)
        /// Overridden or acknowledged, but the reason says nothing (`Override.reasonCarriesWords`):
        /// the checks will refuse it. The text is not repeated, since a
        /// reason that fails the rule may hold control characters.
        case reasonRefused
        /// Acknowledged by the request itself (a refill's residual
        /// discrepancy), with the reason the audit log records.
        case acknowledged(reason: String)
    }

    public var finding: Finding
    public var disposition: Disposition

    public init(finding: Finding, disposition: Disposition) {
        self.finding = finding
        self.disposition = disposition
    }
}

extension ChangePlan {
    /// Every finding of the plan, hard ones first, with its disposition
    /// under `overrides` (the technician's) and the plan's own
    /// acknowledgements. Pure: decides nothing `Programmer.check` does not.
    public func reviewedFindings(overrides: [Override]) -> [ReviewedFinding] {
        var reviewed = findings.errors.map { ReviewedFinding(finding: $0, disposition: .refuses) }
        for finding in findings.warnings {
            let disposition: ReviewedFinding.Disposition
            if let own = acknowledged.first(where: { $0.code == finding.code }) {
                disposition = Override.reasonCarriesWords(own.reason) ? .acknowledged(reason: own.recordedReason) : .reasonRefused
            } else if let given = overrides.first(where: { $0.code == finding.code }) {
                disposition = Override.reasonCarriesWords(given.reason)
                    ? .overridden(reason: given.recordedReason) : .reasonRefused
            } else {
                disposition = .needsOverride
            }
            reviewed.append(ReviewedFinding(finding: finding, disposition: disposition))
        }
        return reviewed
    }
}
