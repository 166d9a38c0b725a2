import Foundation
import Testing
@testable import PumpProgrammer

/// Who operated is on every audit row: a placeholder or a broken name is
/// refused with a typed error that names the operator, not the patient.
@Suite struct OperatorNameTests {
    @Test(arguments: ["unknown", "Unknown ", "-", "?", "n/a", "nobody"])
    func aPlaceholderIsRefused(_ name: String) {
        #expect(throws: OperatorNameError.placeholder(field: "operator", name: name.trimmingCharacters(in: .whitespaces))) {
            try OperatorName.checked(name, field: "operator")
        }
    }

    @Test func aNameWithANewlineIsRefusedAsTheOperatorsNotThePatients() throws {
        let error = #expect(throws: OperatorNameError.self) { try OperatorName.checked("nurse\na", field: "operator") }
        guard case .invalid(let field, _)? = error else { Issue.record("not .invalid: \(String(describing: error))"); return }
        #expect(field == "operator")
        #expect(error?.description.hasPrefix("The operator's name has a control") == true, "\(String(describing: error?.description))")
        #expect(error?.description.contains("patient") == false)
    }

    @Test func aRealNameIsKeptAsTyped() throws {
        #expect(try OperatorName.checked(" nurse.a ", field: "operator") == "nurse.a")
        #expect(try OperatorName.checked("Dr. Grace Hopper", field: "second operator") == "Dr. Grace Hopper")
    }
}
