import Foundation
import PumpSimulator
import Testing
import Therapy
import WandProtocol
@testable import PumpProgrammer

/// The FuzzPumpStatus seeds are interrogate reports the simulated pump
/// really sends, so the fuzzer starts from replies the host accepts; and the
/// reports that once crashed every command are refused with a typed error.
///
/// Regenerate the seeds after a wire change with
/// `PUMPWAND_WRITE_FUZZ_SEEDS=1 swift test --skip-build --filter FuzzCorpusTests`.
@Suite struct FuzzCorpusTests {
    static let corpus = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("../Fuzz/corpus/FuzzPumpStatus").standardized

    /// Reports of a fresh demo pump, one mid-bolus-free continuous therapy
    /// and one running a patient-bolus-capable flex schedule.
    static func simulatedReports() throws -> [(String, InterrogateReport)] {
        let fresh = SimulatedVisit().transport.with { $0.pump.interrogateReport() }
        let continuous = try SimulatedVisit(holding: LimitsTests.continuous(.morphine, .mgPerML(10), .mgPerDay(3)))
            .transport.with { $0.pump.interrogateReport() }
        let stopped = try SimulatedVisit(holding: LimitsTests.stopped(.ziconotide, .mcgPerML(100)))
            .transport.with { $0.pump.interrogateReport() }
        return [("seed_demo_pump", fresh), ("seed_morphine_continuous", continuous), ("seed_ziconotide_stopped", stopped)]
    }

    @Test func seedsAreReportsTheHostAccepts() throws {
        let reports = try Self.simulatedReports()
        if ProcessInfo.processInfo.environment["PUMPWAND_WRITE_FUZZ_SEEDS"] == "1" {
            for (name, report) in reports {
                try Data(report.encodedFields).write(to: Self.corpus.appendingPathComponent("\(name).bin"))
            }
        }
        for (name, report) in reports {
            let seed = try Data(contentsOf: Self.corpus.appendingPathComponent("\(name).bin"))
            let decoded = try InterrogateReport(decodingFields: [UInt8](seed))
            #expect(decoded == report, "\(name).bin is not what the simulated pump sends now; regenerate it")
            _ = try PumpStatus(report: decoded, hostNow: Date(timeIntervalSince1970: TimeInterval(SimulatedVisit.start)),
                               simulated: true, unresolved: nil)
        }
    }

    /// A last change or a clock at the ends of Int64 is no real date: the
    /// status is refused as a device fault naming the clock, never a trap.
    @Test(arguments: [Int64.min, Int64.max, Int64.min + 1])
    func aReportWithNoRealLastChangeIsADeviceFault(seconds: Int64) throws {
        var report = SimulatedVisit().transport.with { $0.pump.interrogateReport() }
        report.lastChangeUTCSeconds = seconds
        let hostNow = Date(timeIntervalSince1970: TimeInterval(SimulatedVisit.start))
        #expect(throws: ProgrammerError.deviceFault("the pump reported a clock or last-change time outside any real date")) {
            _ = try PumpStatus(report: report, hostNow: hostNow, simulated: true, unresolved: nil)
        }
        report.lastChangeUTCSeconds = SimulatedVisit.start
        report.clock.utcSeconds = seconds
        #expect(throws: ProgrammerError.deviceFault("the pump reported a clock or last-change time outside any real date")) {
            _ = try PumpStatus(report: report, hostNow: hostNow, simulated: true, unresolved: nil)
        }
    }
}
