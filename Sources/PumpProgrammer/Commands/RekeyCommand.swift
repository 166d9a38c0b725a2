import Therapy
import WandProtocol

/// Gives the pump a new long-term key (request `Rekey`, 0x15), the way a
/// clinic revokes a lost laptop: once the pump holds a key that laptop
/// never had, its old key opens nothing.
///
/// Reply: a command receipt. Audit: the new key's id, never the key. The
/// key is made by the caller (`KeyRotation`), which writes it to the
/// keyring as pending before this is sent. Therapy is not touched, so no
/// therapy state forbids it; the pump refuses it during a refill as it
/// refuses every other change then.
public struct RekeyCommand: PumpCommand {
    /// The pump the key is for: any other pump in range is refused.
    public var serial: String
    public var newKey: [UInt8]
    public var kind: CommandKind { .rekey }

    public init(serial: String, newKey: [UInt8]) {
        self.serial = serial
        self.newKey = newKey
    }

    public func plan(in situation: PlanningSituation) throws(ProgrammerError) -> ChangePlan {
        let status = situation.status
        var findings = PumpStateRules.refillInProgress(status)
        if status.serial != serial {
            findings.append(Finding(code: .pumpNotTheOneNamed, severity: .hard,
                                    message: "the pump in range is \(status.serial), not \(serial): its key is not changed"))
        }
        // A key that cannot go on the wire is refused before anything is shown as sendable.
        guard let probe = Rekey(commandId: CommandID.random(), expiry: RequestExpiry(utcSeconds: 0), newKey: newKey) else {
            throw .input("the new pump key is not 32 usable bytes; nothing was sent")
        }
        let key = probe.newKey
        let keyId = Rekey.keyIdHex(key)
        let step = WireStep(kind: .rekey, expectedReply: .executed(.rekey)) { id, expiry in
            // Checked above: the same key makes a valid request for any id and expiry.
            .rekey(Rekey(commandId: id, expiry: expiry, newKey: key) ?? probe)
        }
        return ChangePlan(
            command: .rekey, change: .rekey(serial: serial, newKeyId: keyId), before: status,
            findings: ValidationReport(findings: findings), confirmation: .yes, secondProvider: nil, steps: [step], abandon: nil,
            verification: .receipt, basis: PlanBasis(status),
            parameters: ["new_key_id": keyId])
    }
}

extension FindingCode {
    /// The pump in range is not the one the command names.
    public static let pumpNotTheOneNamed = FindingCode(rawValue: "pump.not-the-one-named")
}
