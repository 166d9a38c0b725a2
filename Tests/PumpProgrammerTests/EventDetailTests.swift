import Testing
import Therapy
import WandProtocol
@testable import PumpProgrammer

/// Each event code's detail decoded as PROTOCOL.md's event table says.
struct EventDetailTests {
    @Test func volumesAreNanolitres() {
        #expect(EventDetail(code: PumpEventCode.bolusStarted.rawValue, detail: 25_000) == .volume(.uL(25)))
        #expect(EventDetail(code: PumpEventCode.refillCompleted.rawValue, detail: 20_000_000) == .volume(.uL(20_000)))
        #expect(EventDetail(code: PumpEventCode.alarmThresholdSet.rawValue, detail: 2_000_000) == .volume(.uL(2_000)))
        // The largest detail still fits a volume: no trap, no wrap.
        #expect(EventDetail(code: PumpEventCode.refillBegun.rawValue, detail: .max) == .volume(Volume(baseValue: Int64(UInt32.max))))
    }

    @Test func alarmsHashesClocksAndRefusals() {
        #expect(EventDetail(code: PumpEventCode.alarmRaised.rawValue, detail: 5) == .alarm(.motorStall))
        // An alarm code wider than 16 bits is not an alarm this build can name.
        #expect(EventDetail(code: PumpEventCode.alarmCleared.rawValue, detail: 0x1_0005) == .raw(0x1_0005))
        #expect(EventDetail(code: PumpEventCode.prescriptionCommitted.rawValue, detail: 0x0012_abcd) == .prescriptionHashPrefix("0012abcd"))
        // Two's complement: the clock moved back 5 minutes.
        #expect(EventDetail(code: PumpEventCode.clockSet.rawValue, detail: UInt32(bitPattern: -300)) == .clockMoved(seconds: -300))
        #expect(EventDetail(code: PumpEventCode.commandRefused.rawValue, detail: 0x07) == .refusedRequest(opcode: 7, .startBolus))
        #expect(EventDetail(code: PumpEventCode.commandRefused.rawValue, detail: 0x7f) == .refusedRequest(opcode: 0x7f, nil))
    }

    @Test func codesWithoutDetailAndUnknownCodes() {
        #expect(EventDetail(code: PumpEventCode.infusionStopped.rawValue, detail: 0) == EventDetail.none)
        // A detail where the table says 0 is kept, not hidden.
        #expect(EventDetail(code: PumpEventCode.infusionStopped.rawValue, detail: 9) == .raw(9))
        #expect(EventDetail(code: 0x7777, detail: 42) == .raw(42))
    }
}
