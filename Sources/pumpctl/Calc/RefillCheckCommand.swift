import ArgumentParser
import PumpProgrammer
import Therapy

struct RefillCheckCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "refill-check",
        abstract: "Compare the withdrawn residual volume with the expected one.",
        discussion: """
            The tolerance is the larger of the policy's minimum (0.5mL shipped) and its percent of the
            expected volume (20% shipped). A discrepancy suggests a pocket fill, pump or catheter problem:
            investigate before refilling. A discrepancy is reported, not an error: the exit status is 0.
            """
    )

    @OptionGroup(visibility: .hidden) var global: GlobalOptions
    @Option(help: "Residual volume the programmer expected, e.g. 4.2mL.") var expected: String
    @Option(help: "Residual volume withdrawn, e.g. 3.9mL.") var withdrawn: String
    @Option(help: "Clinic policy file (JSON); the shipped defaults otherwise.") var policy: String?

    func run() async throws {
        let expectedVolume: Volume = try CalcInput.quantity(expected, option: "--expected")
        let withdrawnVolume: Volume = try CalcInput.quantity(withdrawn, option: "--withdrawn")
        let (clinic, identity) = try CalcInput.policyInForce(policy)
        let check = RefillCheck(expected: expectedVolume, withdrawn: withdrawnVolume, tolerance: clinic.residualTolerance)
        struct Result: Encodable {
            var discrepancy: Bool
            var difference: QuantityValue
            var tolerance: QuantityValue
            var expected: QuantityValue
            var withdrawn: QuantityValue
            var policy: PolicyIdentity
        }
        if global.json {
            try Output.json(Result(discrepancy: check.discrepancy, difference: check.difference.valueAndUnit(in: .init("mL", basePerUnit: 1_000_000)),
                                   tolerance: check.tolerance.valueAndUnit(in: .init("mL", basePerUnit: 1_000_000)),
                                   expected: expectedVolume.valueAndUnit(), withdrawn: withdrawnVolume.valueAndUnit(), policy: identity))
            return
        }
        Output.line(Output.table(header: ["", ""], rows: [
            ["discrepancy", check.discrepancy ? "YES: investigate before refilling" : "no"],
            ["difference", (check.difference.baseValue > 0 ? "+" : "") + check.difference.description + " (withdrawn - expected)"],
            ["tolerance", check.tolerance.description],
            ["policy", identity.summary],
        ]).split(separator: "\n").dropFirst().joined(separator: "\n"))
    }
}
