import ArgumentParser
import FHIRPosting
import Foundation
import PumpProgrammer
import StateFiles
import SystemPackage
import Therapy

/// `pumpctl export fhir`: visits from the audit log as HL7 FHIR R5 bundles.
struct Export: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "export",
        abstract: "Export visits from the audit log for the clinic's record system.",
        subcommands: [FHIRBundles.self])

    struct FHIRBundles: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "fhir",
            abstract: "Write each visit as an HL7 FHIR R5 transaction Bundle (Patient, Device, MedicationRequest, MedicationAdministration, Observation, Provenance, AuditEvent).",
            discussion: """
                A visit is one session with a pump, as the audit log recorded it. Resource ids are derived from the audit log: every entry is a PUT by that id, but for the Patient and the Device, created only when the server has none with their identifier. Exporting a visit again updates the same resources rather than adding copies. A bolus or refill whose outcome is UNCERTAIN is exported with status unknown, never as completed. SIMULATED visits are left out unless --include-simulated; exported, they carry the HTEST security label. Without --output-dir, prints {"bundles": [...]} with --json, or the list of visits.
                """)
        @OptionGroup(visibility: .hidden) var global: GlobalOptions

        @Option(name: .long, help: ArgumentHelp("Only this visit (its id from the list).", valueName: "id"))
        var visit: String?
        @Option(name: .long, help: ArgumentHelp("Only visits that began at or after this time (RFC 3339, a date, or 7d ago).", valueName: "time"))
        var since: String?
        @Option(name: .long, help: ArgumentHelp("Only visits that began before this time.", valueName: "time"))
        var until: String?
        @Option(name: .customLong("output-dir"), help: ArgumentHelp("Write one file per visit here (VISIT.fhir.json).", valueName: "dir"))
        var outputDirectory: String?
        @Flag(name: .customLong("include-simulated"), help: "Export SIMULATED visits too (marked as test data).")
        var includeSimulated = false
        @Option(name: .long, help: ArgumentHelp(
            "Send each bundle as a transaction to this FHIR server base URL (http or https).",
            discussion: "https, or plain http to this computer only; no credentials in the URL. Retried on a lost connection, a timeout or HTTP 408/429/5xx: every entry has a stable id (and the Patient and Device are created only if absent), so a retry or a second export updates and never duplicates. A redirect is refused, not followed.",
            valueName: "url"))
        var post: String?
        @Option(name: .long, help: ArgumentHelp("Further tries after the first with --post (0 to 10).", valueName: "n"))
        var retries = 3

        func validate() throws {
            guard (0...10).contains(retries) else { throw ValidationError("--retries \(retries): give 0 to 10.") }
            if let post {
                do { _ = try FHIRPost.checkedBase(post) } catch {
                    // The message never repeats the URL: it may hold a password.
                    throw ValidationError("--post: \(error.description)")
                }
                guard outputDirectory == nil else { throw ValidationError("--post and --output-dir: choose one.") }
            }
        }

        /// The destination as the audit row names it: scheme, host, port and
        /// path, never userinfo, a query or a fragment.
        static func auditedDestination(_ text: String) -> String {
            guard var parts = URLComponents(string: text) else { return "unparsable URL" }
            parts.user = nil
            parts.password = nil
            parts.query = nil
            parts.fragment = nil
            return parts.string ?? "unparsable URL"
        }

        func run() async throws {
            let directory = try global.stateDirectory()
            // Patient data leaving the programmer is itself on the record: who exported which visits.
            let operatorName = try global.resolvedOperator()
            let entries: [AuditEntry]
            do { entries = try AuditLog(directory: directory).entries() } catch {
                throw Output.fail(CommandFailure(status: .internalError, message: error.description))
            }
            let from = try since.map { try CalcInput.time($0, option: "--since", dateAlone: .midnightUTC).utcSeconds }
            let to = try until.map { try CalcInput.time($0, option: "--until", dateAlone: .midnightUTC).utcSeconds }
            var chosen = AuditVisit.visits(in: entries).filter { visit in
                guard let start = try? Date(visit.start, strategy: Date.ISO8601FormatStyle(includingFractionalSeconds: true)) else { return false }
                let seconds = Int64(start.timeIntervalSince1970.rounded(.down))
                return (from.map { seconds >= $0 } ?? true) && (to.map { seconds < $0 } ?? true)
            }
            if let visit {
                chosen = chosen.filter { $0.id == visit }
                guard let found = chosen.first else {
                    throw Output.fail(CommandFailure(status: .notFound, message: "No visit \(visit) in the audit log (pumpctl export fhir lists them)."))
                }
                if found.simulated && !includeSimulated {
                    throw Output.fail(CommandFailure(status: .refusedByPolicy, message:
                        "REFUSED: visit \(visit) was SIMULATED (the simulated pump, not a patient's); it is not exported as clinical data. Give --include-simulated to export it marked as test data."))
                }
            }
            let simulated = chosen.filter(\.simulated)
            if !includeSimulated {
                chosen.removeAll(where: \.simulated)
                if !simulated.isEmpty { Output.note("Left out \(simulated.count) SIMULATED visit(s); --include-simulated exports them as test data.") }
            }
            guard outputDirectory != nil || global.json || post != nil else {
                listVisits(chosen)
                return
            }
            var bundles: [(AuditVisit, FHIR.Bundle)] = []
            var problems: [String] = []
            for visit in chosen {
                do { bundles.append((visit, try FHIRExport.bundle(visit, log: entries))) } catch { problems.append(error.description) }
            }
            for problem in problems { Output.note("Not exported: \(problem)") }
            if chosen.isEmpty, !simulated.isEmpty, !includeSimulated {
                throw Output.fail(CommandFailure(status: .refusedByPolicy, message:
                    "REFUSED: every visit chosen was SIMULATED; give --include-simulated to export them as test data."))
            }
            // Nothing to export is not an error: an empty listing and 0,
            // with --json as in text.
            if chosen.isEmpty {
                Output.note("No visits to export.")
                if global.json, post != nil { try Output.json(PostListing(sent: [], unconfirmed: [], problems: [])) }
                else if global.json, outputDirectory != nil { try Output.json(ExportListing(files: [], problems: [])) }
                else if global.json { try Output.json(EmptyBundleListing()) }
                return
            }
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
            // No pump serial on these rows: they belong to no visit, so
            // exporting never changes what a visit exports as. Written
            // before anything leaves: an export that cannot be audited is
            // not made.
            let log: AuditLog
            do { log = try AuditLog(directory: directory) } catch {
                throw Output.fail(CommandFailure(status: .internalError, message: "\(error.description) Nothing was exported."))
            }
            func audit(_ phase: AuditPhase, visits: [String], outcome: AuditOutcome?, extra: [String: String] = [:]) throws {
                do {
                    try log.append(AuditRecord(
                        operatorName: operatorName, pumpSerial: nil, command: "export", phase: phase,
                        parameters: ["format": "fhir-r5", "visits": visits.joined(separator: ","),
                                     "destination": post.map(Self.auditedDestination) ?? outputDirectory ?? "stdout",
                                     "simulated_included": includeSimulated ? "true" : "false"].merging(extra) { $1 },
                        outcome: outcome?.rawValue))
                    // One row per step of an export: the head follows each.
                    try log.sealHead()
                } catch {
                    throw Output.fail(CommandFailure(status: .internalError, message: "\(error.description) Nothing more was exported."))
                }
            }
            if !bundles.isEmpty {
                if post != nil { try audit(.intent, visits: bundles.map(\.0.id), outcome: nil) } else {
                    try audit(.event, visits: bundles.map(\.0.id), outcome: .exported)
                }
            }
            if let post, let url = try? FHIRPost.checkedBase(post) {
                // A fixed first delay keeps the retries quick in the tests' local server too.
                let poster = FHIRPoster(base: url, retries: retries, firstDelay: .milliseconds(500))
                // Ctrl-C is counted, not fatal: the poster in flight is
                // stopped and what became of each visit is recorded first.
                Interruption.install()
                var sent: [FHIRPost.Sent] = []
                var unconfirmed: [String] = []
                var postProblems: [String] = []
                var cancelled = false
                for (visit, bundle) in bundles {
                    if Interruption.requested {
                        cancelled = true
                        break
                    }
                    let body: Data
                    do { body = try encoder.encode(bundle) } catch {
                        postProblems.append("visit \(visit.id) could not be encoded: \(error)")
                        continue
                    }
                    do { sent.append(try poster.send(body, visit: visit.id, entries: bundle.entry.count)) } catch {
                        postProblems.append(error.description)
                        if case .stopped(_, .interrupted, _) = error { cancelled = true }
                        if error.sentUnconfirmed {
                            unconfirmed.append(error.visit)
                            Output.note("Sent, but the server's answer did not confirm it was stored: \(error.description)")
                        } else {
                            Output.note("Not sent: \(error.description)")
                        }
                        if cancelled { break }
                    }
                }
                let outcome: AuditOutcome = sent.count == bundles.count ? .exported : unconfirmed.isEmpty ? .notSent : .exportUnconfirmed
                try audit(.outcome, visits: sent.map(\.visit), outcome: outcome,
                          extra: ["not_sent": "\(bundles.count - sent.count - unconfirmed.count)",
                                  "unconfirmed": unconfirmed.joined(separator: ",")])
                problems += postProblems
                if global.json { try Output.json(PostListing(sent: sent, unconfirmed: unconfirmed, problems: problems)) } else {
                    for item in sent {
                        Output.line("Sent visit \(item.visit): HTTP \(item.status), \(item.entries.count) resources stored (\(item.attempts) attempt(s))")
                    }
                }
                if cancelled {
                    let left = bundles.count - sent.count - unconfirmed.count
                    let message = "Cancelled: \(sent.count) visit(s) stored, \(unconfirmed.count) sent but not confirmed (\(unconfirmed.joined(separator: ", "))), \(left) not sent. Sending again is safe: it updates, never duplicates. Nothing was sent to a pump."
                    guard global.json else { throw Output.fail(CommandFailure(status: .cancelled, message: message)) }
                    Output.note("pumpctl: \(message)")
                    throw ExitStatus.cancelled.exitCode
                }
                if !postProblems.isEmpty {
                    let notSent = postProblems.count - unconfirmed.count
                    let message = "\(sent.count) visit(s) stored, \(unconfirmed.count) sent but not confirmed, \(notSent) not sent (\(postProblems.joined(separator: " "))). "
                        + (unconfirmed.isEmpty ? "" : "Sending again is safe: it updates, never duplicates. ")
                        + "Nothing was sent to a pump."
                    // One JSON document per run: with --json the listing
                    // above is it (its problems say what failed), and the
                    // message goes to stderr only.
                    guard global.json else { throw Output.fail(CommandFailure(status: .communicationFailure, message: message)) }
                    Output.note("ERROR: \(message)")
                    throw ExitStatus.communicationFailure.exitCode
                }
            } else if let outputDirectory {
                var written: [String] = []
                let folder = FilePath(outputDirectory)
                do {
                    try StateDirectory(path: folder).create()
                    for (visit, bundle) in bundles {
                        let path = folder.appending("\(visit.id).fhir.json")
                        try AtomicFile.write(Array(try encoder.encode(bundle)) + [0x0A], to: path)
                        written.append(path.string)
                    }
                } catch let error as StateFileError {
                    // A folder others can write into is a permission to fix, as for the state directory.
                    let unsafe: Bool = switch error {
                    case .unsafeDirectory, .unsafePermissions: true
                    default: false
                    }
                    throw Output.fail(CommandFailure(status: unsafe ? .permissionDenied : .internalError,
                                                     message: "The export could not be written: \(error.description)",
                                                     code: unsafe ? "unsafe_output_directory" : nil))
                }
                if global.json { try Output.json(ExportListing(files: written, problems: problems)) } else {
                    for path in written { Output.line("Wrote \(path)") }
                }
            } else {
                // The bundles as FHIR spells them (camelCase), inside one object.
                let data = try encoder.encode(BundleListing(bundles: bundles.map(\.1), problems: problems))
                FileHandle.standardOutput.write(data + Data("\n".utf8))
            }
            if !problems.isEmpty { throw ExitStatus.refusedByPolicy.exitCode }
        }

        func listVisits(_ visits: [AuditVisit]) {
            guard !visits.isEmpty else {
                Output.line("No visits to export.")
                return
            }
            Output.line(Output.table(header: ["VISIT", "BEGAN", "PUMP", "PATIENT", "ROWS", ""], rows: visits.map {
                [$0.id, $0.start, $0.pumpSerial, $0.patient?.recordNumber ?? "NO PATIENT", "\($0.rows.count)", $0.simulated ? "SIMULATED" : ""]
            }))
            Output.line("Export with --output-dir DIR (one file per visit) or --json.")
        }
    }
}

struct ExportListing: Encodable {
    var files: [String]
    var problems: [String]
}

/// `--json export fhir --post`: docs/schemas/export-fhir-post.json.
struct PostListing: Encodable {
    var sent: [FHIRPost.Sent]
    /// Visits POSTed whose answer did not confirm they were stored.
    var unconfirmed: [String]
    var problems: [String]
}

/// `{"bundles": [], "problems": []}` with nothing to export.
struct EmptyBundleListing: Encodable {
    var bundles: [String] = []
    var problems: [String] = []
}

struct BundleListing: Encodable {
    var bundles: [FHIR.Bundle]
    var problems: [String]
}
