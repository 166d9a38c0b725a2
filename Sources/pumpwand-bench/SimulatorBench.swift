import PumpSimulator
import WandProtocol

#if canImport(Glibc)
import Glibc
#endif

/// A year of simulated delivery: an RP-40 on a 13-step daily flex schedule
/// with four patient boluses a day, advanced from press to press. Delivery
/// is event-driven (closed form between step boundaries, bolus ends and
/// alarm crossings), so the cost is per interval, not per second.
enum SimulatorBench {
    enum BenchError: Error { case setup(String) }

    static let start: Int64 = 1_800_000_000
    static let day: Int64 = 86_400
    static let days: Int64 = 365

    /// 13 steps from 48 to 96 uL/day (about 0.07 mL/day), 4 x 5 uL boluses over
    /// 30 min with a 6 h lockout: about 33 mL in a year, inside the 40 mL reservoir.
    static func prescription() -> WirePrescription {
        let steps = (0..<13).map { index -> WirePrescription.Step in
            let rate = UInt32(48_000 + 4_000 * index)
            return .init(startMinute: UInt16(index * 110), volumeRateNanolitresPerDay: rate, doseRateNanogramsPerDay: rate * 2)
        }
        return WirePrescription(
            drug: .baclofen, concentrationNanogramsPerMillilitre: 2_000_000, indication: .spasticitySpinal, mode: .flex, cycle: .daily,
            steps: steps,
            patientBolus: .init(doseNanograms: 10_000, volumeNanolitres: 5_000, durationSeconds: 1_800, lockoutSeconds: 6 * 3_600,
                                maximumPer24Hours: 4),
            catheterVolumeNanolitres: 260_000)
    }

    static func pump() throws -> SimulatedPump {
        var pump = PumpSimulation.fresh(profile: .rp40, hostNow: start).pump
        pump.mechanics.reservoir = FineVolume(nanolitres: 40_000_000)
        let next = prescription()
        guard let id = CommandID(bytes: Array(repeating: 1, count: 16)), let commit = CommandID(bytes: Array(repeating: 2, count: 16)),
              pump.execute(.stagePrescription(.init(commandId: id, expiry: .after(pumpClock: pump.clock), prescription: next))).refusal == nil,
              pump.execute(.commitStagedPrescription(.init(commandId: commit, expiry: .after(pumpClock: pump.clock), stagedHash: next.hash))).refusal == nil
        else { throw BenchError.setup("the pump refused the benchmark prescription") }
        return pump
    }

    static func seconds(since start: timespec) -> Double {
        var now = timespec()
        clock_gettime(CLOCK_MONOTONIC, &now)
        return Double(now.tv_sec - start.tv_sec) + Double(now.tv_nsec - start.tv_nsec) / 1e9
    }

    static func run() throws {
        // The mechanics alone, counting intervals.
        var mechanics = try pump().mechanics
        var intervals = 0
        var began = timespec()
        clock_gettime(CLOCK_MONOTONIC, &began)
        for dayIndex in 0..<days {
            for press in 0..<Int64(4) {
                _ = mechanics.advance(to: start + dayIndex * day + press * 6 * 3_600, intervals: &intervals)
                mechanics.startBolus(kind: .patient, volume: FineVolume(nanolitres: 5_000), duration: 1_800, commandID: nil)
            }
        }
        _ = mechanics.advance(to: start + days * day, intervals: &intervals)
        let mechanicsTime = seconds(since: began)
        print("  mechanics: 365 days, \(intervals) intervals in \(String(format: "%.2f", mechanicsTime * 1000)) ms"
              + " (\(String(format: "%.0f", mechanicsTime / Double(max(1, intervals)) * 1e9)) ns/interval);"
              + " pumped \(mechanics.pumpedVolume.nanolitres) nL, reservoir left \(mechanics.reservoir.nanolitres) nL")

        // The whole pump: patient requests checked for lockout and 24 h maximum, event log kept.
        var whole = try pump()
        clock_gettime(CLOCK_MONOTONIC, &began)
        var granted = 0
        for dayIndex in 0..<days {
            for press in 0..<Int64(4) {
                whole.advance(to: start + dayIndex * day + press * 6 * 3_600)
                if whole.requestPatientBolus() { granted += 1 }
            }
        }
        whole.advance(to: start + days * day)
        let pumpTime = seconds(since: began)
        print("  pump with patient requests: 365 days in \(String(format: "%.2f", pumpTime * 1000)) ms;"
              + " \(granted) boluses granted, \(whole.bolusesDelivered) delivered")
        guard whole.bolusesDelivered == Int(days) * 4 else { throw BenchError.setup("expected every bolus delivered") }
    }
}
