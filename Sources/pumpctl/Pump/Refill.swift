import ArgumentParser
import Foundation
import PumpProgrammer
import Therapy

struct Refill: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "refill",
        abstract: "Record a refill: residual check, new drug, capacity, and the new alarm date.",
        discussion: """
            Withdraw the residual completely first and give what came back with --withdrawn. It is checked against the residual the pump expects before anything is sent; a difference beyond the policy's tolerance refuses the refill until it is acknowledged with --acknowledge-discrepancy REASON. Delivery pauses from refill-begin to refill-complete; a refill refused or abandoned after begin is cancelled on the pump so delivery resumes, and a refill left begun (shown by interrogate) is finished by running refill again or cancelled with --cancel. The concentration must match the pump's prescription, or a new prescription for the new concentration must be given with --prescription FILE (it is committed in the same step, and a second provider must be named with --second-operator); without one, pumpctl prints the prescription that keeps the daily dose. The pump delivers the old concentration still in its line at the prescribed dose (by dose at the catheter tip) until the new one arrives; the screen says when. Nothing is to be programmed for that.
            """
    )

    @OptionGroup(visibility: .hidden) var global: GlobalOptions
    @OptionGroup var session: SessionOptions
    @OptionGroup var overrides: OverrideOptions
    @Option(help: "Residual withdrawn, with unit (e.g. 3.5mL). Asked for at a terminal when not given.") var withdrawn: String?
    @Option(help: "Volume of new drug added, with unit (e.g. 20mL). Asked for at a terminal when not given.") var added: String?
    @Option(help: "Concentration of the new drug, with unit (e.g. 2000mcg/mL). Asked for at a terminal when not given.")
    var concentration: String?
    @Option(help: "The new drug, when it changes (baclofen, morphine, ziconotide).") var drug: String?
    @Option(help: "The prescription for the new concentration (JSON).") var prescription: String?
    @Option(name: .customLong("acknowledge-discrepancy"), help: ArgumentHelp(
        "Go on despite a residual discrepancy, saying why (recorded). Asked for at a terminal when the check finds one.", valueName: "reason"))
    var acknowledgeDiscrepancy: String?
    @Flag(help: "Cancel a refill in progress: delivery resumes with the prescription and reservoir unchanged.") var cancel = false

    /// A quantity typed or given for `option`; nothing is sent when it is not one.
    static func quantity<D: PhysicalDimension>(_ text: String, _ option: String) throws(ProgrammerError) -> Quantity<D> {
        do {
            return try Quantity<D>.parseWithUnit(text).quantity
        } catch {
            throw .input("\(option): \(error.description)")
        }
    }

    func run() async throws {
        if cancel {
            let (_, result) = try await PumpSession.change(global, session, RefillCancelCommand(), overrides: try overrides.parsed())
            if !global.json { Output.line("The refill was cancelled: delivery resumed.") }
            try PumpText.printAfter(result, global: global)
            return
        }
        let interactive = isatty(STDIN_FILENO) == 1 && !global.json
        guard interactive || (withdrawn != nil && added != nil && concentration != nil) else {
            throw ValidationError("Give --withdrawn, --added and --concentration (or run at a terminal to be asked for them).")
        }
        let drug: Drug? = try self.drug.map { name in
            guard let drug = Drug(rawValue: name.lowercased()) else {
                throw ValidationError("--drug \(name): not one of baclofen, morphine, ziconotide")
            }
            return drug
        }
        let newPrescription = try prescription.map { try CalcInput.prescription($0) }
        let request: RefillRequest
        do {
            var answers = Answers(
                withdrawn: try withdrawn.map { try Self.quantity($0, "--withdrawn") }, added: try added.map { try Self.quantity($0, "--added") },
                concentration: try concentration.map { try Self.quantity($0, "--concentration") }, acknowledgement: acknowledgeDiscrepancy)
            // At a terminal: whatever is missing is asked for, and the
            // residual check is shown (the discrepancy reason asked for) before
            // the rest; `--yes` with every value given goes straight on.
            if interactive && (answers.withdrawn == nil || answers.added == nil || answers.concentration == nil
                               || (answers.acknowledgement == nil && !global.yes)) {
                answers = try await askAtTerminal(answers)
            }
            guard let withdrawn = answers.withdrawn, let added = answers.added, let concentration = answers.concentration else {
                throw ExitStatus.internalError.exitCode
            }
            request = RefillRequest(withdrawn: withdrawn, added: added, drug: drug, concentration: concentration,
                                    newPrescription: newPrescription, discrepancyAcknowledgement: answers.acknowledgement)
        } catch let error as ProgrammerError {
            throw Output.fail(CommandFailure(status: .usage, message: error.description + " Nothing was sent to the pump."))
        }
        let (plan, result) = try await PumpSession.change(global, session, RefillCommand(request: request),
                                                          overrides: try overrides.parsed())
        guard let result, case .refill(let refill) = plan.change else { throw ExitStatus.internalError.exitCode }
        if global.json {
            try Output.json(RefillRecord(check: refill.check, added: refill.added, drug: refill.drug.rawValue,
                                         concentration: refill.concentration.valueAndUnit(in: refill.units.concentration), concentrationChanged: refill.concentrationChanged,
                                         discrepancyAcknowledgement: refill.discrepancyAcknowledgement,
                                         transition: refill.transition.map { TransitionJSON($0, units: refill.units) },
                                         status: result.after, reportPaths: result.reportPaths))
            return
        }
        if global.simulator { Output.line("SIMULATED PUMP (not a patient)") }
        Output.line("Refill recorded: \(Shown.volume(refill.added)) of \(refill.drug.rawValue) \(Shown.concentration(refill.concentration, drug: refill.drug)).")
        if refill.residualUnknown {
            Output.line("Residual: " + refill.residualWords)
        } else {
            Output.line("Residual: \(Shown.volume(refill.check.withdrawn)) withdrawn, \(Shown.volume(refill.check.expected)) expected, difference \(Shown.volume(refill.check.difference)) (tolerance \(Shown.volume(refill.check.tolerance)))"
                        + (refill.check.discrepancy ? " DISCREPANCY acknowledged: \(refill.discrepancyAcknowledgement ?? "")" : ""))
        }
        if let transition = refill.transition {
            for line in Shown.transition(transition, reservoir: .drug(refill.drug, refill.concentration), time: Screen.shared.zone.dateTime) {
                Output.line(line)
            }
        }
        if let after = result.after { PumpText.print(after) }
        for path in result.reportPaths { Output.line("Report: \(path)") }
    }
}

/// The record of a refill, for `--json` (docs/schemas/refill.json). The
/// report files are `reports`, as in every other command: one name per
/// meaning (the first release's `report_paths` is gone).
struct RefillRecord: Encodable {
    var check: RefillCheck
    var added: Volume
    var drug: String
    var concentration: QuantityValue
    var concentrationChanged: Bool
    var discrepancyAcknowledgement: String?
    var transition: TransitionJSON?
    var status: PumpStatus?
    var reportPaths: [String]

    enum CodingKeys: String, CodingKey {
        case check, added, drug, concentration, concentrationChanged, discrepancyAcknowledgement, status, reports
        case lineTransition
    }

    func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(check, forKey: .check)
        try container.encode(added, forKey: .added)
        try container.encode(drug, forKey: .drug)
        try container.encode(concentration, forKey: .concentration)
        try container.encode(concentrationChanged, forKey: .concentrationChanged)
        try container.encode(discrepancyAcknowledgement, forKey: .discrepancyAcknowledgement)
        try container.encodeIfPresent(transition, forKey: .lineTransition)
        try container.encode(status, forKey: .status)
        try container.encode(reportPaths, forKey: .reports)
    }
}

/// What the line delivers before the new drug, for `--json`: each stretch
/// tip first, and when the reservoir's drug arrives.
struct TransitionJSON: Encodable {
    struct Stretch: Encodable {
        var drug: String?
        var concentration: QuantityValue?
        var volume: QuantityValue
        var duration: Duration?
    }
    var stretches: [Stretch]
    var newDrugArrives: String?

    init(_ transition: LineTransition, units: DisplayUnits) {
        stretches = transition.stretches.map { stretch in
            switch stretch.contents {
            case .noDrug:
                return Stretch(drug: nil, concentration: nil, volume: stretch.volume.valueAndUnit(), duration: stretch.duration)
            case .drug(let drug, let held):
                return Stretch(drug: drug.rawValue, concentration: held.valueAndUnit(in: DisplayUnits.of(drug, policy: nil).concentration),
                               volume: stretch.volume.valueAndUnit(), duration: stretch.duration)
            }
        }
        newDrugArrives = transition.reservoirDrugArrives?.iso8601
    }
}
