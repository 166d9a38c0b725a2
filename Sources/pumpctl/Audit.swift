import ArgumentParser
import PumpProgrammer

struct Audit: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "List the audit log of every command, response, override and alarm.",
        discussion: """
            The audit log is append-only and hash-chained; it lives in the state directory (audit.sqlite and audit.head). 'pumpctl audit verify' checks that no row was changed, deleted, reordered or removed from the end.
            """,
        subcommands: [List.self, Verify.self],
        defaultSubcommand: List.self
    )

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List the audit log, oldest first.")
        @OptionGroup(visibility: .hidden) var global: GlobalOptions

        func run() async throws {
            let log = try openLog(global)
            let entries: [AuditEntry]
            do { entries = try log.entries() } catch {
                throw Output.fail(CommandFailure(status: .internalError, message: error.description))
            }
            if global.json {
                try Output.json(AuditListing(entries: AuditRowView.views(entries).map(AuditListingRow.init)))
                return
            }
            guard !entries.isEmpty else {
                Output.line("The audit log is empty.")
                return
            }
            Output.line(AuditRowView.table(entries))
        }
    }

    struct Verify: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Check the audit log's hash chain; exit 76 when it was tampered with.")
        @OptionGroup(visibility: .hidden) var global: GlobalOptions

        func run() async throws {
            let log = try openLog(global)
            let verification: AuditVerification
            do { verification = try log.verify() } catch {
                throw Output.fail(CommandFailure(status: .internalError, message: error.description))
            }
            if global.json {
                try Output.json(verification)
            } else if verification.intact {
                Output.line("Audit log intact: \(verification.entries) rows, hash chain and head agree.")
            } else {
                Output.line("AUDIT LOG TAMPERED: \(verification.problems.count) problem(s) in \(verification.entries) rows")
                for problem in verification.problems {
                    Output.line("  row \(problem.sequence.map(String.init) ?? "-"): \(problem.problem)")
                }
            }
            if !verification.intact { throw ExitStatus.deviceFault.exitCode }
        }
    }
}

struct AuditListing: Encodable {
    var entries: [AuditListingRow]
}

private func openLog(_ global: GlobalOptions) throws -> AuditLog {
    do {
        return try AuditLog(directory: try global.stateDirectory())
    } catch let error as AuditError {
        throw Output.fail(CommandFailure(status: .internalError, message: error.description))
    }
}
