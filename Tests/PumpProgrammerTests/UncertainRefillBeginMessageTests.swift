import Foundation
import Testing
@testable import PumpProgrammer

/// An uncertain refill begin says what it may have done to the patient: a
/// refill begin pauses delivery, so "may or may not have been carried out"
/// alone would hide a withdrawal risk.
@Suite struct UncertainRefillBeginMessageTests {
    func message(for command: CommandKind) -> String {
        let pending = PendingCommand(commandID: "00010203040506070809101112131415", command: command.rawValue,
                                     pumpSerial: "RP20-DEMO-0001", sentAt: Date(timeIntervalSince1970: 1_800_000_000),
                                     parameters: [:])
        return ProgrammerError.uncertain(pending).description
    }

    @Test func anUncertainRefillBeginSaysDeliveryMayBePausedAndForHowLong() {
        let text = message(for: .refillBegin)
        #expect(text.contains("delivery is PAUSED (withdrawal risk)"), "\(text)")
        #expect(text.contains("after 30 minutes"), "\(text)")
        #expect(text.contains("run 'pumpctl interrogate' now"), "\(text)")
    }

    @Test func anotherUncertainCommandSaysNothingAboutAPause() {
        let text = message(for: .bolus)
        #expect(!text.contains("PAUSED"), "\(text)")
        #expect(text.contains("Do NOT repeat it"), "\(text)")
    }
}
