import Foundation

/// What an audit row records: intent before a command is sent, outcome after,
/// and events (rejected messages, overrides, alarms) as they are seen.
public enum AuditPhase: String, Codable, Sendable, CaseIterable {
    case intent
    case outcome
    case event
}

/// A soft finding the operator chose to override, with the reason they gave.
public struct AuditOverride: Codable, Sendable, Equatable {
    public var code: String
    public var reason: String

    public init(code: String, reason: String) {
        self.code = code
        self.reason = reason
    }
}

/// One row of the audit log as a caller describes it; the log adds the
/// sequence number, the time and the hash chain.
public struct AuditRecord: Sendable, Equatable {
    public var operatorName: String
    public var secondOperator: String?
    public var pumpSerial: String?
    public var command: String
    public var phase: AuditPhase
    /// The command id sent to the pump, hex, for delivery and programming commands.
    public var commandID: String?
    public var parameters: [String: String]
    public var outcome: String?
    public var overrides: [AuditOverride]

    public init(
        operatorName: String, secondOperator: String? = nil, pumpSerial: String?, command: String,
        phase: AuditPhase, commandID: String? = nil, parameters: [String: String] = [:],
        outcome: String? = nil, overrides: [AuditOverride] = []
    ) {
        self.operatorName = operatorName
        self.secondOperator = secondOperator
        self.pumpSerial = pumpSerial
        self.command = command
        self.phase = phase
        self.commandID = commandID
        self.parameters = parameters
        self.outcome = outcome
        self.overrides = overrides
    }
}

/// A stored audit row.
public struct AuditEntry: Codable, Sendable, Equatable {
    public var sequence: Int64
    /// UTC, ISO 8601 with milliseconds, exactly as stored and hashed.
    public var time: String
    public var operatorName: String
    public var secondOperator: String?
    public var pumpSerial: String?
    public var command: String
    public var phase: AuditPhase
    public var commandID: String?
    public var parameters: [String: String]
    public var outcome: String?
    public var overrides: [AuditOverride]
    /// Hash of the previous row (64 zeros for the first), then this row's.
    public var previousHash: String
    public var hash: String

    enum CodingKeys: String, CodingKey {
        case sequence, time, operatorName = "operator", secondOperator, pumpSerial, command, phase
        case commandID = "commandId", parameters, outcome, overrides, previousHash, hash
    }
}
