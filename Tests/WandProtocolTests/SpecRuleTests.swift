import Testing
@testable import WandProtocol

/// The format rules of hardware/PROTOCOL.md section 9.2 (Q1, Q4, Q7, Q10):
/// a field outside a range the document writes makes the whole message not
/// decode, with the field named, and a receipt counts only for the command
/// it names.
@Suite struct WireSpecRuleTests {
    static let id = CommandID(bytes: Array(1...16)) ?? CommandID.random()
    static let other = CommandID(bytes: Array(17...32)) ?? CommandID.random()
    static let expiry = RequestExpiry(utcSeconds: 1_800_000_010)

    static func bolus(volume: UInt32 = 10_000, duration: UInt32 = 600) -> PumpRequest {
        .startBolus(StartBolus(commandId: id, expiry: Self.expiry, kind: .therapeutic, doseNanograms: 20_000, volumeNanolitres: volume,
                               durationSeconds: duration))
    }

    static func refill(withdrawn: UInt32 = 0, added: UInt32 = 1_000_000, concentration: UInt32 = 2_000_000,
                       prescription: WirePrescription? = nil) -> PumpRequest {
        .refillComplete(RefillComplete(commandId: id, expiry: Self.expiry, withdrawnNanolitres: withdrawn, addedNanolitres: added, drug: .baclofen,
                                       concentrationNanogramsPerMillilitre: concentration, newPrescription: prescription))
    }

    static let prescription = WirePrescription(
        drug: .baclofen, concentrationNanogramsPerMillilitre: 2_000_000, indication: .spasticitySpinal, mode: .continuous,
        continuousVolumeRateNanolitresPerDay: 200_000, continuousDoseRateNanogramsPerDay: 400_000,
        catheterVolumeNanolitres: 260_000)

    static let outOfFormat: [(PumpRequest, WireError)] = [
        (bolus(volume: 0), .invalidValue(field: "bolus.volume", value: 0)),
        (bolus(volume: 40_000_001), .invalidValue(field: "bolus.volume", value: 40_000_001)),
        (bolus(duration: 0), .invalidValue(field: "bolus.duration", value: 0)),
        (bolus(duration: 86_401), .invalidValue(field: "bolus.duration", value: 86_401)),
        (refill(added: 0), .invalidValue(field: "refill.added", value: 0)),
        (refill(withdrawn: 40_000_001), .invalidValue(field: "refill.withdrawn", value: 40_000_001)),
        (refill(concentration: 100_000_001), .invalidValue(field: "refill.concentration", value: 100_000_001)),
        // A carried prescription for another strength than the refill's.
        (refill(concentration: 1_000_000, prescription: prescription),
         .invalidValue(field: "refill.newPrescription.concentration", value: 2_000_000)),
        (.setAlarmConfiguration(SetAlarmConfiguration(commandId: id, expiry: Self.expiry, lowReservoirThresholdNanolitres: 0)),
         .invalidValue(field: "alarm.lowReservoirThreshold", value: 0)),
        (.setFluidPath(SetFluidPath(commandId: id, expiry: Self.expiry, event: .implant, catheterNanolitres: 2_000_001)),
         .invalidValue(field: "fluidPath.catheter", value: 2_000_001)),
        (.setClock(SetClock(commandId: id, expiry: Self.expiry, time: WireTime(utcSeconds: -1, zoneOffsetMinutes: 0))),
         .invalidValue(field: "time.utcSeconds", value: -1)),
    ]

    /// Q1: each format range, one field just outside it.
    @Test(arguments: 0..<outOfFormat.count)
    func formatRangesDoNotDecode(case index: Int) {
        let (request, error) = Self.outOfFormat[index]
        #expect(throws: error) { _ = try PumpRequest(decoding: request.encoded) }
    }

    /// Q1: the reserved all-zero command id does not decode in any CID request.
    @Test func zeroCommandIdDoesNotDecode() {
        #expect(throws: WireError.invalidValue(field: "commandId", value: 0)) {
            _ = try PumpRequest(decoding: [PumpOpcode.stopInfusion.rawValue] + [UInt8](repeating: 0, count: 16))
        }
    }

    /// Q1: maximum per 24 h is the patient bolus's only format range; the
    /// other fields decode whatever they hold and are the pump's to refuse.
    @Test func patientBolusFormatRange() throws {
        var withBolus = Self.prescription
        withBolus.patientBolus = .init(doseNanograms: 0, volumeNanolitres: 0, durationSeconds: 0, lockoutSeconds: 0,
                                       maximumPer24Hours: 1)
        #expect(try WirePrescription(decodingFields: withBolus.encodedFields) == withBolus)
        withBolus.patientBolus?.maximumPer24Hours = 25
        #expect(throws: WireError.invalidValue(field: "prescription.patientBolus.maximumPer24Hours", value: 25)) {
            _ = try WirePrescription(decodingFields: withBolus.encodedFields)
        }
    }

    /// Q7: withdrawn 0 ... 40 000 000 nL decodes at both ends.
    @Test func withdrawnVolumeRange() throws {
        #expect(try PumpRequest(decoding: Self.refill(withdrawn: 0).encoded) == Self.refill(withdrawn: 0))
        #expect(try PumpRequest(decoding: Self.refill(withdrawn: 40_000_000).encoded) == Self.refill(withdrawn: 40_000_000))
    }

    /// Q10: the zone offset is a format range, not a 0x12 refusal.
    @Test(arguments: [Int16(-721), 841, Int16.min, Int16.max])
    func zoneOffsetOutsideRangeDoesNotDecode(offset: Int16) {
        let request = PumpRequest.setClock(SetClock(commandId: Self.id, expiry: Self.expiry, time: WireTime(utcSeconds: 1_800_000_000, zoneOffsetMinutes: offset)))
        #expect(throws: WireError.invalidValue(field: "time.zoneOffsetMinutes", value: Int64(offset))) {
            _ = try PumpRequest(decoding: request.encoded)
        }
    }

    /// Q4: a receipt answers only the request whose opcode and command id it names.
    @Test func receiptMustNameTheCommandSent() {
        let stop = PumpRequest.stopInfusion(StopInfusion(commandId: Self.id, expiry: Self.expiry))
        let mine = PumpReply.executed(.stopInfusion, CommandReceipt(commandId: Self.id, executedAtUTCSeconds: 1_800_000_000))
        let someoneElses = PumpReply.executed(.stopInfusion, CommandReceipt(commandId: Self.other, executedAtUTCSeconds: 1_800_000_000))
        let otherOpcode = PumpReply.executed(.resumeInfusion, CommandReceipt(commandId: Self.id, executedAtUTCSeconds: 1_800_000_000))
        #expect(mine.answers(stop))
        #expect(!someoneElses.answers(stop))
        #expect(!otherOpcode.answers(stop))
        // A receipt's time outside 0 ... 253 402 300 799 does not decode.
        let late = PumpReply.executed(.stopInfusion, CommandReceipt(commandId: Self.id, executedAtUTCSeconds: WireTime.maximumUTCSeconds + 1))
        #expect(throws: WireError.invalidValue(field: "receipt.executedAt", value: WireTime.maximumUTCSeconds + 1)) {
            _ = try PumpReply(decoding: late.encoded)
        }
    }
}
