// libFuzzer target for the files a technician hands pumpctl: prescription
// documents and clinic policy documents (both JSON, both untrusted).
//
// The first input byte selects the parser (even: prescription, odd: policy);
// the rest is the document. Neither parser may trap. A prescription that
// decodes must survive its own encoding unchanged (what pumpctl writes with
// `--save-prescription` must read back as the same therapy), and is then
// validated against the shipped library, so the validator's arithmetic sees
// every value the parser accepts. A policy that loads is asked for the
// limits of every drug, indication and tolerance.
// In a normal build `Replay.main` replays files named on the command line.
import Foundation
import FuzzSupport
import Therapy

/// The validation moment: fixed, so a finding replays.
let fuzzNow = PumpTime(utcSeconds: 1_767_225_600)

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzTherapyFiles(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    guard size > 0 else { return 0 }
    let document = Data(UnsafeBufferPointer(start: data + 1, count: size - 1))
    if data[0] % 2 == 0 {
        guard let prescription = try? Prescription.decode(document) else { return 0 }
        for unit in [QuantityUnit<MassDimension>.mcg, .mg] {
            guard let again = try? Prescription.decode(prescription.encodedFile(massUnit: unit)) else {
                fuzzFinding("a decoded prescription's own encoding (\(unit)) does not decode")
            }
            guard again == prescription else { fuzzFinding("a prescription changed through its own encoding (\(unit))") }
        }
        guard let policy = ClinicPolicy.shippedCeiling else { fuzzFinding("the shipped library does not load") }
        for profile in PumpProfile.referencePumps {
            let context = ValidationContext(policy: policy, profile: profile, current: nil, now: fuzzNow)
            let report = PrescriptionValidator.validate(prescription, in: context)
            _ = report.findings.map(\.message)
            // A prescription compared with itself as the running therapy
            // reaches the change-size and titration checks.
            let steady = ValidationContext(policy: policy, profile: profile, current: prescription,
                                           lastChange: PumpTime(utcSeconds: 1_767_225_600 - 86_400 * 30), now: fuzzNow)
            _ = PrescriptionValidator.validate(prescription, in: steady).findings.map(\.message)
        }
    } else {
        guard let policy = try? ClinicPolicy.load(document) else { return 0 }
        for drug in Drug.allCases {
            _ = policy.policy(for: drug)
            for indication in Indication.allCases {
                _ = policy.allows(drug, for: indication)
                for tolerance in [nil] + OpioidTolerance.allCases.map(Optional.some) {
                    _ = policy.limits(for: drug, indication: indication, tolerance: tolerance)
                }
            }
        }
    }
    return 0
}

#if !FUZZING
/// Normal build: replay the files named on the command line through the
/// target (libFuzzer supplies `main` in the fuzzing build instead).
@main
struct Replay {
    static func main() {
        replayFiles(CommandLine.arguments.dropFirst(), through: fuzzTherapyFiles)
    }
}
#endif
