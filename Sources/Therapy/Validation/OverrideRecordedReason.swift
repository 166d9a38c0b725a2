extension Override {
    /// The reason as the audit log records it (`ValidationReport.accepting`
    /// trims it so): what the review screen shows before the prompt.
    public var recordedReason: String { reason.trimmingWhitespace() }
}
