import Testing
import WandProtocol
@testable import PumpSimulator

/// The pump's "last therapy change" (interrogate report) and the event a
/// host takes as that change (`PumpEventCode.marksTherapyChange`, the rule
/// PumpHistory reads the log by) are one rule: after every command of a
/// visit, the newest event the rule marks is stamped with the pump's last
/// change (PROTOCOL.md Q16, H163).
@Suite struct TherapyChangeRuleTests {
    static let start = SimulatorProtocolTests.start

    /// The stamp the host's rule finds in the log: the newest marked event's.
    static func hostsLastChange(_ pump: SimulatedPump) -> Int64? {
        pump.eventLog.entries.last { PumpEventCode(rawValue: $0.code)?.marksTherapyChange == true }?.time
    }

    @Test func theHostsRuleFindsThePumpsLastChangeAfterEveryCommand() throws {
        var host = SimulatedHost(simulation: .fresh(hostNow: Self.start), now: Self.start)
        try host.open()
        let initial = host.simulation.pump.lastChange
        let next = Prescriptions.continuous(rate: 300_000)
        let later = Prescriptions.continuous(rate: 250_000)
        func complete(_ id: UInt8, _ prescription: WirePrescription?) -> (RequestExpiry) -> PumpRequest {
            { .refillComplete(RefillComplete(commandId: commandID(id), expiry: $0, withdrawnNanolitres: 12_000_000, addedNanolitres: 18_000_000,
                                           drug: .baclofen, concentrationNanogramsPerMillilitre: 2_000_000,
                                           newPrescription: prescription)) }
        }
        // Each request is stamped with its expiry when it is sent.
        let visit: [(RequestExpiry) -> PumpRequest] = [
            { .refillBegin(RefillBegin(commandId: commandID(1), expiry: $0)) },
            complete(2, nil),
            { .stopInfusion(StopInfusion(commandId: commandID(3), expiry: $0)) },
            { .refillBegin(RefillBegin(commandId: commandID(4), expiry: $0)) },
            { .refillCancel(RefillCancel(commandId: commandID(5), expiry: $0)) },
            { .resumeInfusion(ResumeInfusion(commandId: commandID(6), expiry: $0)) },
            { .refillBegin(RefillBegin(commandId: commandID(7), expiry: $0)) },
            complete(8, next),
            { .stagePrescription(StagePrescription(commandId: commandID(9), expiry: $0, prescription: later)) },
            { .commitStagedPrescription(CommitStagedPrescription(commandId: commandID(10), expiry: $0, stagedHash: later.hash)) },
            { .refillBegin(RefillBegin(commandId: commandID(11), expiry: $0)) },
        ]
        var marked = 0
        for stamped in visit {
            try host.wait(seconds: 10)
            let request = stamped(host.expiry)
            #expect(try host.request(request).refusal == nil, "\(request.opcode)")
            let pump = host.simulation.pump
            #expect((Self.hostsLastChange(pump) ?? initial) == pump.lastChange, "after \(request.opcode)")
            #expect(try host.interrogate().lastChangeUTCSeconds == pump.lastChange)
            if Self.hostsLastChange(pump) != nil { marked += 1 }
        }
        // The last refill is abandoned: still one rule afterwards.
        try host.wait(seconds: SimulatedPump.refillTimeLimit)
        let pump = host.simulation.pump
        #expect(pump.mechanics.alarms.contains(.refillAbandoned))
        #expect(Self.hostsLastChange(pump) == pump.lastChange)
        #expect(marked > 0)
    }

    /// A refill complete without a prescription is not a therapy change on
    /// either side; with one, its commit event is.
    @Test func aRefillCompletedIsNotItselfATherapyChange() {
        #expect(!PumpEventCode.refillCompleted.marksTherapyChange)
        #expect(!PumpEventCode.refillAbandoned.marksTherapyChange)
        #expect(PumpEventCode.allCases.filter(\.marksTherapyChange) == [.prescriptionCommitted, .infusionStopped, .infusionResumed])
    }
}
