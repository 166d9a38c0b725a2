import ArgumentParser
import PumpProgrammer
import WandProtocol

struct Audit: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "audit",
        abstract: "List the audit log of every command, response, override and alarm.",
        discussion: """
            The audit log is append-only and MAC-chained (HMAC-SHA256 under the audit key, kept in the configuration directory, not beside the log); it lives in the state directory (audit.sqlite and audit.head). The close of every session carries the log's head (its log id, row count and last MAC) for the pump to record; the close is not awaited, so a lost one leaves the newest rows unwitnessed until the next session. 'pumpctl audit verify' checks that no row was changed, deleted, renumbered, reordered or removed from the end; with --pump it also checks this log's head as the pump recorded it, says how many rows the pump has not witnessed yet, counts (without judging) the heads of other computers' logs, and names any other log made with this audit key (exit 78).
            """,
        subcommands: [List.self, Verify.self],
        defaultSubcommand: List.self
    )

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "list", abstract: "List the audit log, oldest first.")
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
            commandName: "verify",
            abstract: "Check the audit log's MAC chain and head (and with --pump the pump's anchors); exit 76 when it was tampered with.",
            discussion: """
                Every row is checked against the audit key (audit.key in the configuration directory: $PUMPWAND_CONFIG_DIR, $XDG_CONFIG_HOME/pumpwand or ~/.config/pumpwand). With --pump, a session is opened with the pump and the anchors it holds are read (the session is recorded in the audit log like any other; no therapy is touched): a log with fewer rows than an anchor, or another row at an anchored count, was cut, rebuilt or replaced. Anchors or commands of another log made with this audit key (audit.key copied to another computer, or this log started afresh over an earlier one) are listed as such and exit 78 (docs/keys.md).
                """)
        @OptionGroup(visibility: .hidden) var global: GlobalOptions
        @OptionGroup var session: SessionOptions
        @Flag(name: .long, help: "Also check the anchors the pump holds (opens a session; needs the pump in range).")
        var pump = false

        func run() async throws {
            var anchors: [AuditAnchor]?
            var witness: (serial: String, simulated: Bool)?
            var rowsBefore: UInt64?
            var pumpCommands: [CommandID] = []
            if pump {
                // The rows as they are before the reading session adds its own.
                rowsBefore = (try? openLog(global).anchor())?.map(\.rowCount) ?? 0
                // Read-only for the pump: the anchors are read and no new one
                // is recorded for a log that is being judged.
                let read = try await PumpSession.run(global, session, anchoringAudit: false) { programmer throws(ProgrammerError) in
                    let anchors = try await programmer.pumpAuditAnchors()
                    // The pump's own record of recent commands: each one this
                    // log sent must still be in it.
                    let commands = try await programmer.interrogateReport().recentCommands.map(\.commandId)
                    return (anchors, await programmer.pumpSerial, await programmer.context.simulated, commands)
                }
                anchors = read.0
                witness = (read.1, read.2)
                pumpCommands = read.3
            }
            let log = try openLog(global)
            var verification: AuditVerification
            do { verification = try log.verify(anchors: anchors, witnessedAsOf: rowsBefore, pumpCommands: pumpCommands) } catch {
                throw Output.fail(CommandFailure(status: .internalError, message: error.description))
            }
            verification.pumpSerial = witness?.serial
            verification.simulated = witness?.simulated
            if global.json {
                try Output.json(verification)
            } else if verification.intact {
                if verification.verdict == .sameKeyOtherLogs {
                    Output.line("ANOTHER LOG WITH THIS AUDIT KEY: this log verifies, but the pump holds the record of another audit log made with the same audit key.")
                }
                var line = "Audit log intact: \(verification.entries) rows, MAC chain and head agree"
                if let checked = verification.anchorsChecked {
                    line += checked == 0 ? "; the pump holds no anchor of this log to compare" : ", and the pump's anchor of this log matches"
                }
                Output.line(line + ".")
                if verification.unsealedRows > 0 {
                    Output.line("  \(verification.unsealedRows) row(s) after the head: a command ended before sealing it; they are MAC-chained.")
                }
                for note in Self.witnessNotes(verification) { Output.line("  " + note) }
                for line in Self.sameKeyLines(verification) { Output.line(line) }
            } else {
                Output.line("AUDIT LOG TAMPERED: \(verification.problems.count) problem(s) in \(verification.entries) rows")
                for problem in verification.problems {
                    Output.line("  row \(problem.sequence.map(String.init) ?? "-"): \(problem.problem)")
                }
                for line in Self.sameKeyLines(verification) { Output.line(line) }
            }
            switch verification.verdict {
            case .intact: break
            case .sameKeyOtherLogs: throw ExitStatus.sameKeyOtherLog.exitCode
            case .tampered: throw ExitStatus.deviceFault.exitCode
            }
        }

        /// Other logs of this audit key on the pump: what the pump holds of
        /// each, both causes it can have, and what to do. Not tampering of
        /// this log, and never passed over as verified.
        static func sameKeyLines(_ verification: AuditVerification) -> [String] {
            let logs = verification.sameKeyOtherLogs ?? []
            guard !logs.isEmpty else { return [] }
            var lines: [String] = []
            for log in logs {
                var line = "  Log \(log.logID) (same audit key):"
                if let rows = log.rowCount {
                    let own = "this log has \(verification.entries) row(s)"
                    if verification.anchorsChecked == 0 {
                        line += " the pump holds its anchor of \(rows) row(s) and none of this log's; \(own)."
                    } else {
                        let when = log.anchorNewer == true ? "after" : "before"
                        line += " the pump holds its anchor of \(rows) row(s), recorded \(when) this log's newest anchor; \(own)."
                    }
                }
                if !log.commands.isEmpty {
                    line += " The pump carried out \(log.commands.count) command(s) of it: \(log.commands.joined(separator: ", ")); they are not this log's to have."
                }
                lines.append(line)
            }
            lines.append("  Either audit.key was copied to another computer, or this log replaced an earlier one on this computer (the old log deleted or moved and a new one started).")
            lines.append("  Find out which before relying on this log as the pump's whole history: if the key was copied, give each computer its own audit key (docs/keys.md: never copy audit.key); if a log was replaced, find the old log, and keep this state directory and audit.key unchanged for an investigation.")
            return lines
        }

        /// What the pump has not witnessed, and the anchors of other logs,
        /// said as facts: neither is tampering.
        static func witnessNotes(_ verification: AuditVerification) -> [String] {
            var notes: [String] = []
            if let unwitnessed = verification.unwitnessedRows, unwitnessed > 0 {
                if verification.anchorsChecked == 0 {
                    notes.append("NOT WITNESSED: the pump holds no anchor of this log, so none of its \(verification.entries) rows is witnessed (the closes that carried them were lost, this log never anchored in this pump, or eight other logs anchored since and pushed this one out). The next session's close anchors them.")
                } else {
                    notes.append("NOT WITNESSED: the newest \(unwitnessed) row(s) are after this log's newest anchor in the pump (the close that carried them was lost, or they were written since). The next session's close anchors them.")
                }
            }
            if let others = verification.otherLogsAnchors, others > 0 {
                notes.append("The pump also holds \(others) anchor(s) of other audit logs (other computers, or this log before its key changed); they are not compared with this one.")
            }
            return notes
        }
    }
}

struct AuditListing: Encodable {
    var entries: [AuditListingRow]
}

extension Audit {
    /// A log that may not be written to, as a command's failure: tampered
    /// or keyless logs exit 76 as `audit verify` does; storage trouble is
    /// an internal error.
    static func writeCheckFailure(_ error: AuditError) -> CommandFailure {
        switch error {
        case .tampered, .key(.missingForExistingLog):
            return CommandFailure(status: .deviceFault, message: error.description)
        case .storage, .simulatedRecordOnRealPump, .key:
            return CommandFailure(status: .internalError, message: error.description)
        }
    }
}

private func openLog(_ global: GlobalOptions) throws -> AuditLog {
    do {
        return try AuditLog(directory: try global.stateDirectory())
    } catch let error as AuditError {
        // A missing key for a log with rows is evidence, as tampering is.
        throw Output.fail(Audit.writeCheckFailure(error))
    }
}
