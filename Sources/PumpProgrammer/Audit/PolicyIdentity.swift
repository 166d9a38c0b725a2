import Crypto
import Foundation
import Therapy

/// Which clinic policy a change was checked against: its name and the
/// SHA-256 of its bytes, recorded in every audit row and every report.
public struct PolicyIdentity: Sendable, Equatable, Encodable {
    public var name: String
    /// Lower-case hex SHA-256 of the policy file's bytes (of the embedded
    /// document for the shipped library).
    public var sha256: String

    public init(name: String, sha256: String) {
        self.name = name
        self.sha256 = sha256
    }

    /// A policy file as read.
    public static func of(bytes: some DataProtocol, name: String) -> PolicyIdentity {
        PolicyIdentity(name: name, sha256: SHA256.hash(data: Data(bytes)).map { String(format: "%02x", $0) }.joined())
    }

    /// The shipped library.
    public static let shipped = PolicyIdentity.of(
        bytes: Data(ClinicPolicy.shippedDefaultsJSON.utf8),
        name: ClinicPolicy.shippedCeiling?.name ?? "PumpWand shipped defaults")

    /// A policy without its bytes (built in code): the shipped library's
    /// identity when it is the shipped library, otherwise the hash of its
    /// canonical JSON encoding, and the name says so.
    public static func of(_ policy: ClinicPolicy) -> PolicyIdentity {
        if policy == ClinicPolicy.shippedCeiling { return shipped }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        let bytes = (try? encoder.encode(policy)) ?? Data()
        return .of(bytes: bytes, name: policy.name + " (built in code; hash of its canonical JSON)")
    }

    /// `name (sha256 1a2b...)`, for reports and screens.
    public var summary: String { "\(name) (sha256 \(sha256))" }
}

extension Programmer {
    /// Refuses to plan under a policy that loosens a shipped ceiling, however
    /// it was made (a file is refused when loaded; a policy built in code
    /// is refused here, and capped by Therapy in any case).
    func checkPolicyCeilings() throws(ProgrammerError) {
        guard let ceiling = ClinicPolicy.shippedCeiling else {
            throw .policy(.invalid(detail: "the shipped drug library cannot be read"))
        }
        do { try context.policy.checkCeilings(against: ceiling) } catch { throw .policy(error) }
    }
}
