import ArgumentParser
import Foundation
import PumpProgrammer
import StateFiles
import SystemPackage
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

    /// A time option: RFC 3339 with fractional seconds and any offset
    /// (`2027-01-20T06:10:00.250Z`, `...+05:30`, `...-0800`), or a time
    /// relative to now (`7d`, `12h`, `90min`, `2w`: that long ago). A date
    /// alone is refused unless `dateAlone` says it means midnight UTC (where
    /// the time matters, a date is a guess).
    static func time(_ text: String, option: String, dateAlone: PumpTime.DateAloneRule = .refused,
                     now: Int64 = Int64(Date().timeIntervalSince1970.rounded(.down))) throws -> PumpTime {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        if let ago = relativeSeconds(trimmed) {
            guard let (seconds, overflow) = Optional(now.subtractingReportingOverflow(ago)), !overflow,
                  let time = try? PumpTime(checkedUTCSeconds: seconds) else {
                throw usage("\(option): '\(text)' reaches before 1970")
            }
            return time
        }
        do {
            return try PumpTime(parsing: normalisedRFC3339(trimmed), dateAlone: dateAlone)
        } catch {
            throw usage("\(option): \(error.description); or a time ago like 7d, 12h, 90min")
        }
    }

    /// `7d`, `12h`, `90min`, `30m`, `2w`, `45s` in seconds; nil when not one.
    static func relativeSeconds(_ text: String) -> Int64? {
        let digits = text.prefix { $0.isASCII && $0.isNumber }
        guard !digits.isEmpty, digits.count <= 9, let count = Int64(digits) else { return nil }
        let unit = text.dropFirst(digits.count).lowercased()
        let scale: Int64
        switch unit {
        case "s": scale = 1
        case "m", "min": scale = 60
        case "h": scale = 3_600
        case "d": scale = 86_400
        case "w": scale = 7 * 86_400
        default: return nil
        }
        return count * scale
    }

    /// Drops fractional seconds and writes `+hhmm` offsets as `+hh:mm`.
    /// The screen's own form (`2027-01-19 22:10 -08:00`, perhaps with its
    /// zone's abbreviation) is that minute's start, so a time copied from
    /// any pumpctl screen is taken.
    static func normalisedRFC3339(_ text: String) -> String {
        if let match = text.wholeMatch(of: /(\d{4}-\d\d-\d\d) (\d\d:\d\d) ([+-]\d\d:\d\d)(?: \([A-Za-z0-9+-]{1,10}\))?/) {
            return "\(match.1)T\(match.2):00\(match.3)"
        }
        var result = text
        if let dot = result.firstIndex(of: "."), result.distance(from: result.startIndex, to: dot) == 19 {
            var end = result.index(after: dot)
            while end < result.endIndex, result[end].isASCII, result[end].isNumber { end = result.index(after: end) }
            if end > result.index(after: dot) { result.removeSubrange(dot..<end) }
        }
        if result.count == 24, let sign = result.dropFirst(19).first, sign == "+" || sign == "-",
           result.suffix(4).allSatisfy({ $0.isASCII && $0.isNumber }) {
            result.insert(":", at: result.index(result.startIndex, offsetBy: 22))
        }
        return result
    }

    static func profile(_ name: String) throws -> PumpProfile {
        guard let profile = PumpProfile.named(name) else {
            throw usage("--pump: unknown pump model '\(name)'; use one of \(PumpProfile.referencePumps.map(\.model).joined(separator: ", "))")
        }
        return profile
    }

    /// Reads a small file, refusing anything over the policy file limit
    /// before reading it whole.
    /// A file the technician names, read without blocking on a FIFO or a
    /// device and bounded in size. A symbolic link is followed: the file is
    /// the technician's own choice, not a record pumpctl keeps.
    static func file(_ path: String, what: String) throws -> Data {
        do {
            return Data(try AtomicFile.read(FilePath(path), limit: ClinicPolicy.maximumFileBytes, followingSymlinks: true))
        } catch {
            throw usage("the \(what) file '\(path)' cannot be used: \(error.description)")
        }
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

    static func usage(_ message: String) -> CommandFailure {
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
