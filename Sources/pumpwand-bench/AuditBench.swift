import Foundation
import PumpProgrammer
import StateFiles
import SystemPackage

#if canImport(Glibc)
import Glibc
#endif

/// The audit log's costs: an append (row durable, head once per command),
/// `audit verify` per row, and what review reads before `program
/// --dry-run` at 0, 10k and 50k rows, as ratios to the empty log (the
/// review's cost should follow one pump's history, not the log's size).
enum AuditBench {
    enum BenchError: Error { case setup(String) }

    static let serial = "RP20-000001"
    static let key: AuditKey? = try? AuditKey(bytes: Array(0..<32))

    /// The run's private folder in TMPDIR (mkdtemp: 0700); `run` removes
    /// it with the logs in it (up to 50 000 rows each) when it ends.
    static func scratchFolder() throws -> String {
        var base = NSTemporaryDirectory()
        while base.count > 1 && base.hasSuffix("/") { base.removeLast() }
        var template = Array((base + "/pumpwand-bench-audit-XXXXXX").utf8CString)
        guard let made = template.withUnsafeMutableBufferPointer({ $0.baseAddress.flatMap { mkdtemp($0) } }) else {
            throw BenchError.setup("no temporary folder")
        }
        return String(cString: made)
    }

    /// A fresh state directory (0700) in `scratch`.
    static func folder(in scratch: String) throws -> StateDirectory {
        let path = scratch + "/log-" + UUID().uuidString
        guard mkdir(path, 0o700) == 0 else { throw BenchError.setup("no temporary folder") }
        return StateDirectory(path: FilePath(path))
    }

    /// A visit's rows. The bench pump has the first 20 visits (its few
    /// years of refills); every later visit is another pump's, so the log
    /// grows while the bench pump's history stays the same.
    static func visit(_ index: Int) -> [AuditRecord] {
        let pump = index < 20 ? serial : String(format: "RP20-%06d", 2 + index % 39)
        let id = String(format: "%032x", index)
        let parameters = ["policy": "PumpWand shipped defaults", "policy_sha256": String(repeating: "ab", count: 32),
                          "prescription_hash": String(format: "%064x", index), "mode": "continuous",
                          "daily_dose": "\(100 + index % 400)mcg/day", "dose_increase": index % 3 == 0 ? "true" : "false"]
        func row(_ command: String, _ phase: AuditPhase, _ outcome: String?, _ commandID: String? = nil) -> AuditRecord {
            AuditRecord(operatorName: "bench.tech", pumpSerial: pump, command: command, phase: phase, commandID: commandID,
                        parameters: parameters, outcome: outcome)
        }
        return [
            row("session", .event, "session opened"), row("interrogate", .event, "read"),
            row("stage", .intent, nil, id), row("stage", .outcome, "done", id),
            row("commit", .intent, nil, id), row("commit", .outcome, "done", id),
            row("interrogate", .event, "matches"), row("bolus", .intent, nil, id),
            row("bolus", .outcome, "done", id), row("session", .event, "session closed"),
        ]
    }

    static func seconds(_ body: () throws -> Void) rethrows -> Double {
        var began = timespec()
        clock_gettime(CLOCK_MONOTONIC, &began)
        try body()
        var now = timespec()
        clock_gettime(CLOCK_MONOTONIC, &now)
        return Double(now.tv_sec - began.tv_sec) + Double(now.tv_nsec - began.tv_nsec) / 1e9
    }

    /// What review reads from the audit log (PumpHistory): this pump's
    /// commits and refills, three times (tolerance, last dose, increases),
    /// and its boluses once.
    static func review(_ log: AuditLog) throws {
        for _ in 0..<3 { _ = try log.entries(pumpSerial: serial, commands: ["commit", "refill-complete"]) }
        _ = try log.entries(pumpSerial: serial, commands: ["bolus"])
    }

    /// The same before the index: every row loaded and decoded each time.
    static func fullReview(_ log: AuditLog) throws {
        for _ in 0..<4 { _ = try log.entries().filter { $0.pumpSerial == serial } }
    }

    static func run() throws {
        guard let key else { throw BenchError.setup("no bench key") }
        let scratch = try scratchFolder()
        defer { try? FileManager.default.removeItem(atPath: scratch) }
        // Append: one durable row per call (as an intent before its send),
        // and the head once per command.
        let appendFolder = try folder(in: scratch)
        let appendLog = try AuditLog(directory: appendFolder, key: key)
        let rows = visit(0)
        let perCommand = try seconds {
            for _ in 0..<20 {
                for row in rows { try appendLog.append(row) }
                try appendLog.sealHead()
            }
        }
        print(String(format: "append, row durable + head per command: %8.1f us/row (%d rows, 20 commands)",
                     perCommand / Double(rows.count * 20) * 1e6, rows.count * 20))

        // Warm up (first use of GRDB, Foundation's JSON) before the baseline.
        do {
            let warm = try AuditLog(directory: try folder(in: scratch), key: key)
            try warm.append(visit(0))
            try review(warm)
            _ = try warm.verify()
        }
        var reviewBaseline = 0.0
        var fullBaseline = 0.0
        // "0" is the bench pump's own 20 visits (200 rows) and nothing else.
        for size in [0, 10_000, 50_000] {
            let directory = try folder(in: scratch)
            let log = try AuditLog(directory: directory, key: key)
            // Filled a visit per transaction (the bench's own shortcut:
            // 5 000 fsyncs would measure the disk, not the log).
            var index = 0
            while index * 10 < max(size, 200) {
                try log.append(visit(index))
                index += 1
            }
            try log.sealHead()
            var verification: AuditVerification?
            let verifyTime = try seconds { verification = try log.verify() }
            guard verification?.intact == true else { throw BenchError.setup("the bench log does not verify") }
            let repeats = 5
            let reviewTime = try seconds { for _ in 0..<repeats { try review(log) } } / Double(repeats)
            let fullTime = try seconds { try fullReview(log) }
            if size == 0 {
                reviewBaseline = reviewTime
                fullBaseline = fullTime
            }
            let perRow = verifyTime / Double(max(size, 200)) * 1e6
            print(String(format: "%6d rows: verify %6.2f us/row; review %8.3f ms = %5.1fx empty; full read (before the index) %8.1f ms = %6.1fx empty",
                         size, perRow, reviewTime * 1e3, reviewTime / max(reviewBaseline, 1e-9),
                         fullTime * 1e3, fullTime / max(fullBaseline, 1e-9)))
        }
    }
}
