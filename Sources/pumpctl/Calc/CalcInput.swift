import ArgumentParser
import Foundation
import PumpProgrammer
import Therapy

/// Turning command-line text and files into Therapy values. Every failure
/// becomes a usage error (64) naming the option and what to write instead.
enum CalcInput {
    static func quantity<D: PhysicalDimension>(_ text: String, option: String) throws -> Quantity<D> {
        try quantityWithUnit(text, option: option).quantity
    }

    static func quantityWithUnit<D: PhysicalDimension>(_ text: String, option: String) throws -> (quantity: Quantity<D>, unit: QuantityUnit<D>) {
        do {
            return try Quantity<D>.parseWithUnit(text)
        } catch {
            throw usage("\(option): \(error.description)")
        }
    }

    /// An RFC 3339 time (fractional seconds and any offset). A date alone
    /// is refused unless `dateAlone` says it means midnight UTC.
    static func time(_ text: String, option: String, dateAlone: PumpTime.DateAloneRule = .refused) throws -> PumpTime {
        do {
            return try PumpTime(parsing: text, dateAlone: dateAlone)
        } catch {
            throw usage("\(option): \(error.description)")
        }
    }

    static func profile(_ name: String) throws -> PumpProfile {
        guard let profile = PumpProfile.named(name) else {
            throw usage("--pump: unknown pump model '\(name)'; use one of \(PumpProfile.referencePumps.map(\.model).joined(separator: ", "))")
        }
        return profile
    }

    /// Reads a small file, refusing anything over the policy file limit
    /// before reading it whole.
    static func file(_ path: String, what: String) throws -> Data {
        let url = URL(fileURLWithPath: path)
        guard let handle = try? FileHandle(forReadingFrom: url) else {
            throw usage("cannot open the \(what) file '\(path)'; check the path and permissions")
        }
        defer { try? handle.close() }
        let limit = ClinicPolicy.maximumFileBytes
        let data = (try? handle.read(upToCount: limit + 1)) ?? Data()
        guard data.count <= limit else {
            throw usage("the \(what) file '\(path)' is larger than \(limit) bytes; it cannot be a \(what)")
        }
        return data
    }

    static func prescription(_ path: String) throws -> Prescription {
        do {
            return try Prescription.decode(try file(path, what: "prescription"))
        } catch let error as PrescriptionError {
            throw usage("\(path): \(error.description)")
        }
    }

    static func policy(_ path: String?) throws -> ClinicPolicy {
        try policyInForce(path).policy
    }

    /// The policy and its identity (name, SHA-256 of the file's bytes). A
    /// file that loosens a shipped ceiling is refused (exit 64).
    static func policyInForce(_ path: String?) throws -> (policy: ClinicPolicy, identity: PolicyIdentity) {
        do {
            guard let path else { return (try ClinicPolicy.shippedDefaults(), PolicyIdentity.shipped) }
            let bytes = try file(path, what: "policy")
            let policy = try ClinicPolicy.load(bytes)
            return (policy, PolicyIdentity.of(bytes: bytes, name: policy.name))
        } catch let error as PolicyFileError {
            throw usage("\(path ?? "built-in policy"): \(error.description)")
        }
    }

    static func usage(_ message: String) -> ExitCode {
        Output.fail(CommandFailure(status: .usage, message: message))
    }

    /// The dose unit matching a concentration's unit: mg/mL answers in mg.
    static func massUnit(for unit: QuantityUnit<ConcentrationDimension>) -> QuantityUnit<MassDimension> {
        unit.basePerUnit == 1_000_000 ? .mg : .mcg
    }

    static func doseRateUnit(for unit: QuantityUnit<MassDimension>) -> QuantityUnit<DoseRateDimension> {
        unit == .mg ? .mgPerDay : .mcgPerDay
    }

    /// The unit the library uses for a drug; mcg when the drug is unknown.
    static func massUnit(for drug: Drug, policy: ClinicPolicy?) -> QuantityUnit<MassDimension> {
        policy?.policy(for: drug)?.massUnit ?? (drug == .morphine ? .mg : .mcg)
    }

    /// Host clock as a pump time in UTC.
    static var now: PumpTime { PumpTime(utcSeconds: Int64(Date().timeIntervalSince1970)) }
}
