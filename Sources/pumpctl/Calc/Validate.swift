import ArgumentParser
import Foundation
import PumpProgrammer
import Therapy

struct Validate: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "validate",
        abstract: "Check a prescription against the clinic policy, the pump and the current prescription.",
        discussion: """
            Errors are hard limits: the prescription is refused and the exit status is 65. Warnings are soft
            limits: programming needs an override with a reason for each. Codes are stable (docs/therapy.md).
            """
    )

    @OptionGroup(visibility: .hidden) var global: GlobalOptions
    @Option(help: "Pending prescription file (JSON).") var prescription: String
    @Option(help: "Current prescription file (JSON), for titration and decimal-error checks.") var current: String?
    @Option(name: .customLong("last-change"), help: "When the current dose last changed (RFC 3339 with time and zone, e.g. 2026-11-28T05:59:40.851Z; a date alone is refused). Without it the 24 h rule is not checked, and the output says so.") var lastChange: String?
    @Option(help: "The time to validate at (RFC 3339 with time and zone; default now).") var now: String?
    @Option(help: "Clinic policy file (JSON); the shipped defaults otherwise.") var policy: String?
    @Option(help: "Pump model: RP-20 or RP-40 (simulated reference pumps).") var pump = "RP-20"

    struct Item: Encodable {
        var code: String
        var severity: String
        var message: String
    }

    struct Skipped: Encodable {
        var check: String
        var message: String
    }

    struct Result: Encodable {
        var errors: [Item]
        var warnings: [Item]
        var notChecked: [Skipped]
        var policy: PolicyIdentity
    }

    func run() async throws {
        let profile = try CalcInput.profile(pump)
        let (clinic, identity) = try CalcInput.policyInForce(policy)
        let pending = try CalcInput.prescription(prescription)
        let currentPrescription = try current.map { try CalcInput.prescription($0) }
        let last = try lastChange.map { try CalcInput.time($0, option: "--last-change") }
        let moment = try now.map { try CalcInput.time($0, option: "--now") } ?? CalcInput.now
        let report = PrescriptionValidator.validate(pending, in: ValidationContext(
            policy: clinic, profile: profile, current: currentPrescription, lastChange: last, now: moment))
        func items(_ findings: [Finding]) -> [Item] {
            findings.map { Item(code: $0.code.rawValue, severity: $0.severity.rawValue, message: $0.message) }
        }
        if global.json {
            try Output.json(Result(errors: items(report.errors), warnings: items(report.warnings),
                                   notChecked: report.notChecked.map { Skipped(check: $0.rawValue, message: $0.sentence) },
                                   policy: identity))
        } else if report.findings.isEmpty {
            Output.line(report.notChecked.isEmpty
                ? "No findings: the prescription is within the policy and the \(profile.model)'s limits."
                : "No findings in the checks that were made (see below).")
        } else {
            Output.line(Output.table(header: ["SEVERITY", "CODE", "MESSAGE"], rows: report.findings.map {
                [$0.severity == .hard ? "ERROR" : "WARNING", $0.code.rawValue, $0.message]
            }))
        }
        if !global.json {
            for skipped in report.notChecked { Output.line("NOT CHECKED: \(skipped.sentence).") }
            Output.line("Policy: \(identity.summary)")
        }
        if !report.errors.isEmpty {
            throw ExitStatus.refusedByPolicy.exitCode
        }
    }
}

struct PolicyCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "policy",
        abstract: "Print the shipped clinic policy (drug library and limits) as JSON, or check an edited one.",
        discussion: """
            A clinic policy may tighten any limit and never loosen a hard one beyond the shipped library's ceiling;
            --check refuses one that does (exit 64), as every command does. Save it, edit it, and pass it with
            --policy FILE to validate and refill-check:
              pumpctl calc policy > policy.json
              pumpctl calc policy --check policy.json
            """
    )

    @OptionGroup(visibility: .hidden) var global: GlobalOptions
    @Option(help: "Check a policy file and report whether it loads.") var check: String?

    func run() async throws {
        guard let check else {
            Output.line(ClinicPolicy.shippedDefaultsJSON)
            return
        }
        // Refused (exit 64) when inconsistent or when it loosens a hard
        // limit beyond the shipped library's ceiling.
        let (loaded, identity) = try CalcInput.policyInForce(check)
        if global.json {
            struct Result: Encodable { var valid: Bool; var name: String; var sha256: String; var drugs: [String]; var withinShippedCeilings: Bool }
            try Output.json(Result(valid: true, name: loaded.name, sha256: identity.sha256, drugs: loaded.drugs.map(\.drug.rawValue),
                                   withinShippedCeilings: true))
        } else {
            Output.line("\(check): valid policy '\(loaded.name)' for \(loaded.drugs.map(\.drug.rawValue).joined(separator: ", ")), within the shipped library's ceilings (sha256 \(identity.sha256)).")
        }
    }
}
