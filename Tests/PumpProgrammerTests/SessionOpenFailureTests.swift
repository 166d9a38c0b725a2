import Testing
import WandProtocol
@testable import PumpProgrammer

/// How a failed v2 handshake reaches the technician, and which keys the
/// keyring offers the handshake.
@Suite struct SessionOpenFailureTests {
    @Test func aHandshakeThatFailsItsChecksIsACommunicationErrorNotADeviceFault() {
        // The channel has already retried once with fresh ephemerals.
        for reason in [SessionError.confirmationFailed, .malformedHandshake(.trailingBytes(count: 1))] {
            guard case .communication(let message) = PumpConnection.sessionFailure(.rejected(reason)) else {
                Issue.record("\(reason) should be a communication failure")
                continue
            }
            #expect(message.contains("nothing was sent"))
        }
        guard case .communication = PumpConnection.sessionFailure(.rejected(.refused(.unavailable))) else {
            Issue.record("a refusal should be a communication failure")
            return
        }
    }

    @Test func noMatchingKeyOrAnotherPumpsSerialIsAnInputErrorThatNamesNoSerialFromTheAir() {
        guard case .input(let unknown) = PumpConnection.sessionFailure(.rejected(.unknownPump)) else {
            Issue.record("an unknown key id should ask for the key file")
            return
        }
        #expect(unknown.contains("--key-file"))
        guard case .input(let mismatch) = PumpConnection.sessionFailure(.rejected(.serialMismatch(expected: "SP-1", found: "SP-2"))) else {
            Issue.record("a serial mismatch should be an input error")
            return
        }
        #expect(mismatch.contains("SP-1") && mismatch.contains("SP-2"))
    }

    @Test func theKeyringOffersEveryKeyWithItsSerialAndTheKeyFileForAnySerial() {
        let keyring = PumpKeyring(keys: ["SP-2": [UInt8](repeating: 2, count: 32), "SP-1": [UInt8](repeating: 1, count: 32)],
                                  anySerial: [UInt8](repeating: 9, count: 32))
        // The key file (a bring-up key, for any serial) first, then each serial's keys in order.
        #expect(keyring.candidates.map(\.serial) == [nil, "SP-1", "SP-2"])
        #expect(keyring.handshakeCandidates.map(\.role) == [.anySerial, .current, .current])
        let rekeyed = PumpKeyring(keys: ["SP-1": [UInt8](repeating: 1, count: 32)], pending: ["SP-1": [UInt8](repeating: 3, count: 32)])
        #expect(rekeyed.handshakeCandidates.map(\.role) == [.pending, .current])
        #expect(PumpKeyring(anySerial: [UInt8](repeating: 9, count: 31)).candidates.isEmpty)
    }

    @Test func theHostOpensAfreshBeforeThePumpsAnnouncedIdleTimeoutRunsOut() {
        #expect(PumpConnection.refreshLimit(pumpIdleTimeout: .seconds(120)) == .seconds(90))
        #expect(PumpConnection.refreshLimit(pumpIdleTimeout: .seconds(60)) == .seconds(45))
        #expect(PumpConnection.refreshLimit(pumpIdleTimeout: .seconds(3600)) == .seconds(90))
        #expect(PumpConnection.refreshLimit(pumpIdleTimeout: nil) == .seconds(90))
    }
}
