// libFuzzer target for the host's handling of a decoded pump reply: an
// interrogate report, as every command reads it before it checks anything.
//
// The input is the report's fields. A report that decodes is turned into
// the host's `PumpStatus` (time, drift, projections, the fluid path, the
// therapy mapping), which may refuse with a typed error but never trap, and
// then into what pumpctl shows and writes: the JSON status object (the
// `interrogate --json` encoder settings), the schedule steps, the line
// transition and the not-delivering sentence, the doses, volumes and rates
// as the screens format them, and the review `program` makes against the
// pump's figures (its therapy, last change, delivered dose and clock). A pump is an untrusted peer: a report
// with a last change at Int64.min once stopped every command.
// In a normal build `Replay.main` replays files named on the command line.
import Foundation
import FuzzSupport
import PumpProgrammer
import Therapy
import WandProtocol

/// This computer's clock: fixed, so a finding replays.
let fuzzHostNow = Date(timeIntervalSince1970: 1_767_225_600)

/// A prescription a technician might bring to any pump, reviewed against
/// what the fuzzed pump reports.
let fuzzPending = Prescription(drug: .baclofen, concentration: .mcgPerML(2000), indication: .spinal,
                               mode: .continuous(dailyDose: .mcgPerDay(450)))

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzPumpStatus(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    guard let report = try? InterrogateReport(decodingFields: bytes) else { return 0 }
    // The reply a pump sends must round-trip (the host compares reports it
    // re-reads with the ones it read before).
    guard report.encodedFields == bytes else { fuzzFinding("an interrogate report accepted a non-canonical encoding") }
    for simulated in [false, true] {
        guard let status = try? PumpStatus(report: report, hostNow: fuzzHostNow, simulated: simulated, unresolved: nil) else {
            continue
        }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        encoder.keyEncodingStrategy = .convertToSnakeCase
        encoder.dateEncodingStrategy = .iso8601
        _ = try? encoder.encode(status)
        _ = status.steps.map { "\($0.start) \(Shown.doseRate($0.doseRate, drug: status.drug)) \(Shown.volumeRate($0.rate))" }
        _ = status.notDelivering.map(PumpStatus.notDeliveringSentence)
        _ = status.lineTransition
        _ = status.hostClock.iso8601
        _ = status.lastChange.iso8601
        _ = status.lowReservoirAlarmDate?.iso8601
        _ = status.refillDate?.iso8601
        _ = status.deliveryStoppingAlarm?.name
        _ = status.model
        _ = Shown.volume(status.reservoirVolume)
        _ = Shown.volume(status.lineVolume)
        _ = Shown.concentration(status.concentration, drug: status.drug)
        _ = Shown.doseRate(status.dailyDose, drug: status.drug)
        _ = Shown.doseRate(status.prescribedDailyDose, drug: status.drug)
        _ = Shown.duration(seconds: status.clockDriftSeconds)
        if let bolus = status.bolusInProgress {
            _ = Shown.bolusVolume(.nL(Int64(bolus.remainingNanolitres)))
        }
        // The review `program` makes: the pump's figures (its therapy, last
        // change, delivered dose, clock) as the context a new prescription
        // and the pump's own are checked in.
        guard let policy = ClinicPolicy.shippedCeiling else { fuzzFinding("the shipped library does not load") }
        let context = ValidationContext(
            policy: policy, profile: status.profile ?? .rp20, current: status.prescription, lastChange: status.lastChange,
            now: status.hostClock, recentIncreases: [status.lastChange], currentDeliveredDose: status.dailyDose)
        for pending in [status.prescription, fuzzPending] {
            _ = PrescriptionValidator.validate(pending, in: context).findings.map(\.message)
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
        replayFiles(CommandLine.arguments.dropFirst(), through: fuzzPumpStatus)
    }
}
#endif
