import Foundation
import Testing
import Therapy
import PumpProgrammer
import WandProtocol
@testable import pumpctl

/// How pumpctl renders what the pipeline decided: the overridden rule and
/// its reason before the prompt, a pump taken over by another programmer,
/// and Ctrl-C while an exchange was retried.
@Suite struct ClinicianWordingTests {
    let warning = Finding(code: .withdrawalRisk, severity: .soft, message: "stopping baclofen risks withdrawal")

    @Test func theReviewShowsTheOverriddenRuleAndTheReasonRecorded() {
        let lines = PlanText.findingLines([ReviewedFinding(finding: warning, disposition: .overridden(reason: "catheter revision"))])
        let text = lines.joined(separator: "\n")
        #expect(text.contains("OVERRIDDEN withdrawal.risk: stopping baclofen risks withdrawal"), "\(text)")
        #expect(text.contains("the audit log records this reason for overriding it: \"catheter revision\""), "\(text)")
        #expect(!text.contains("needs --override"), "\(text)")
        let residual = Finding(code: .refillResidualDiscrepancy, severity: .soft, message: "the residual differs from the expected one")
        let acknowledged = PlanText.findingLines([ReviewedFinding(finding: residual, disposition: .acknowledged(reason: "catheter patency confirmed"))])
        #expect(acknowledged.joined().contains("the audit log records this reason for going ahead: \"catheter patency confirmed\""), "\(acknowledged)")
        let needed = PlanText.findingLines([ReviewedFinding(finding: warning, disposition: .needsOverride)])
        #expect(needed == ["WARNING withdrawal.risk: stopping baclofen risks withdrawal (needs --override withdrawal.risk=REASON)"])
    }

    @Test func aSessionTakenOverSaysWhatHappenedAndWhatToDo() {
        let failure = PumpSession.failure(.sessionTakenOver(.interrogate), effect: .nothingSent)
        #expect(failure.code == "session_taken_over")
        #expect(failure.status == .communicationFailure)
        #expect(failure.pump == .nothingSent)
        #expect(failure.message.contains("another programmer"), "\(failure.message)")
        #expect(failure.message.contains("Close the other programmer's pumpctl"), "\(failure.message)")
        #expect(!failure.message.contains("wand's position"), "\(failure.message)")
    }

    @Test func ctrlCWithAnUnknownOutcomeIsACancellationThatSaysUnknown() {
        let pending = PendingCommand(commandID: String(repeating: "ab", count: 16), command: "stop", pumpSerial: "RP20-000001",
                                     sentAt: Date(timeIntervalSince1970: 1_800_000_000), parameters: [:])
        let failure = PumpSession.failure(.cancelled, effect: .unknown(pending, executed: []))
        #expect(failure.status == .cancelled)
        #expect(failure.code == "cancelled")
        #expect(failure.pump == .unknown)
        #expect(failure.message.contains("UNKNOWN"), "\(failure.message)")
        #expect(!failure.message.contains("Nothing was sent"), "\(failure.message)")
        let quiet = PumpSession.failure(.cancelled, effect: .nothingSent)
        #expect(quiet.status == .cancelled && quiet.pump == .nothingSent)
    }
}
