import Foundation
import Therapy

extension Programmer {
    /// Oldest open bolus whose end is still looked for in the pump's log:
    /// older ones have left the log's pages or were given up on, and stay
    /// `in-progress` in the record rather than be guessed.
    static let bolusEndLookBack: Int64 = 30 * 86_400

    /// Interrogates the pump (as `interrogate()`), and when this pump has a
    /// bolus the pump started and no audit row yet says how it ended, reads
    /// the pump's event log and records each end it finds
    /// (`recordBolusEnds`): without this only the next plan of a change
    /// wrote the end, and a visit exported after a plain read left a
    /// finished bolus `in-progress`. Reads only; sends nothing that changes
    /// the pump. A log that cannot be read records nothing: the bolus stays
    /// open, never ended without the pump's word.
    public func interrogateRecordingBolusEnds() async throws(ProgrammerError) -> (status: PumpStatus, resolution: Resolution?) {
        let (status, resolution) = try await interrogate()
        if let oldest = oldestOpenBolus() {
            let age = Int64(context.now().timeIntervalSince(oldest).rounded(.up))
            // An hour more than its age: the pump's clock may be behind.
            let window = min(max(age, 0) + 3_600, Self.bolusEndLookBack)
            if age <= Self.bolusEndLookBack {
                recordBolusEnds(in: await pumpHistory(status: status, window: window))
            }
        }
        return (status, resolution)
    }

    /// When the oldest bolus of this pump was sent that the pump carried out
    /// (its receipt, or a resolution as executed) and whose end no audit row
    /// records; nil when there is none.
    func oldestOpenBolus() -> Date? {
        // This pump's bolus rows through the index: every interrogate asks,
        // so its cost must follow this pump's boluses, not the whole log.
        guard let entries = try? audit.entries(pumpSerial: pumpSerial, commands: [CommandKind.bolus.rawValue]) else { return nil }
        var ended: Set<String> = []
        var started: [String: String] = [:]  // command id -> time of its intent row
        var carriedOut: Set<String> = []
        for entry in entries where entry.pumpSerial == pumpSerial && entry.command == CommandKind.bolus.rawValue {
            guard let id = entry.commandID else { continue }
            if entry.parameters["bolus_end"] != nil { ended.insert(id) }
            if entry.phase == .intent, started[id] == nil { started[id] = entry.time }
            if let outcome = entry.outcomeCode, [.done, .resolvedExecuted].contains(outcome) { carriedOut.insert(id) }
        }
        return carriedOut.subtracting(ended).compactMap { started[$0] }
            .compactMap { try? Date($0, strategy: Date.ISO8601FormatStyle(includingFractionalSeconds: true, timeZone: .gmt)) }
            .min()
    }
}
