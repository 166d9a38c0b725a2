import ArgumentParser
import Foundation
import PumpProgrammer
import SystemPackage
import Therapy

/// Options of the commands that talk to a pump.
struct SessionOptions: ParsableArguments {
    @Option(name: .customLong("expect-pump"), help: ArgumentHelp(
        "The pump serial on the patient's record: any other pump is refused.", valueName: "serial"))
    var expectPump: String?

    @Option(name: .long, help: ArgumentHelp(
        "The patient's medical record number: the pump must be the one linked to it (pumpctl patient set), any other is refused.",
        valueName: "number"))
    var patient: String?

    @Option(name: .customLong("second-operator"), help: ArgumentHelp(
        "The second provider confirming the change (required for a change of concentration).", valueName: "name"))
    var secondOperator: String?

    @Flag(name: .customLong("allow-demo-keys"), help: ArgumentHelp(
        "Use keyring keys imported from a DEMO-signed bundle with a pump that is not --simulator (wandsim, bench pumps).",
        discussion: "The DEMO signer's private key is published: its keys protect nothing and no patient's pump uses them."))
    var allowDemoKeys = false

    @Option(name: .customLong("policy"), help: ArgumentHelp(
        "Clinic policy file (JSON; see 'pumpctl calc policy'). Default: the shipped drug library.", valueName: "file"))
    var policyFile: String?
}

/// `--override CODE=REASON`, repeatable: accept one soft finding, saying why.
struct OverrideOptions: ParsableArguments {
    @Option(name: .customLong("override"), help: ArgumentHelp(
        "Accept a soft finding (warning) with a reason: --override 'dose.above-soft-max=consultant order'. Repeat for each.",
        valueName: "code=reason"))
    var overrides: [String] = []

    func parsed() throws -> [Override] {
        try overrides.map { text in
            guard let equals = text.firstIndex(of: "=") else {
                throw ValidationError("--override needs CODE=REASON, e.g. --override 'dose.above-soft-max=consultant order'")
            }
            let code = String(text[..<equals]).trimmingCharacters(in: .whitespaces)
            let reason = String(text[text.index(after: equals)...]).trimmingCharacters(in: .whitespaces)
            guard !code.isEmpty, !reason.isEmpty else { throw ValidationError("--override '\(text)': both the code and a reason are needed") }
            return Override(code: FindingCode(rawValue: code), reason: reason)
        }
    }
}
