import PumpProgrammer
import StateFiles
import SystemPackage

/// `pumpwand-bench fill-audit STATE_DIR CONFIG_DIR ROWS`: gives a host's
/// state directory an audit log of about ROWS rows, MAC'd under the audit
/// key of CONFIG_DIR (created there as pumpctl would), so
/// scripts/perf_figures.py can time real pumpctl visits against a log of
/// that size. The rows are AuditBench's visits, none of them of the
/// simulated pump the visits talk to: they measure what other pumps'
/// history costs a visit, which the index should keep near nothing.
enum AuditFill {
    enum FillError: Error, CustomStringConvertible {
        case usage
        case notEmpty(String)
        var description: String {
            switch self {
            case .usage: "usage: pumpwand-bench fill-audit STATE_DIR CONFIG_DIR ROWS (ROWS 0 to 1000000)"
            case let .notEmpty(path): "\(path) already holds an audit log: fill an empty state directory"
            }
        }
    }

    static func run(_ arguments: [String]) throws {
        guard arguments.count == 3, let rows = Int(arguments[2]), (0...1_000_000).contains(rows) else { throw FillError.usage }
        let state = StateDirectory(path: FilePath(arguments[0]))
        let key = try AuditKey.loadOrCreate(in: StateDirectory(path: FilePath(arguments[1])))
        let log = try AuditLog(directory: state, key: key)
        guard try log.entries().isEmpty else { throw FillError.notEmpty(arguments[0]) }
        // A visit per transaction, as AuditBench fills its logs: one fsync
        // per row would time the disk for minutes and change nothing read.
        var index = 0
        while index * 10 < rows {
            try log.append(AuditBench.visit(index))
            index += 1
        }
        if rows > 0 { try log.sealHead() }
        print("audit log in \(arguments[0]): \(index * 10) rows")
    }
}
