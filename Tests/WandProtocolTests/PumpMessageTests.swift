import PropertyBased
import Testing
@testable import WandProtocol

@Suite("Pump message catalog: vectors, canonical form, refusals")
struct PumpMessageTests {
    typealias F = Fixture
    static let id = F.commandIdHex

    /// Every request, as hand-written hex beside the value it must decode to.
    static let requestVectors: [(String, PumpRequest)] = [
        ("02 00", .interrogate(InterrogateRequest())),
        ("02 01", .interrogate(InterrogateRequest(includesNewestEvents: true))),
        ("03", .readPrescription(ReadPrescriptionRequest())),
        ("04 \(id) \(F.expiryHex) \(F.flexHex)", .stagePrescription(StagePrescription(commandId: F.commandId, expiry: F.expiry, prescription: F.flex))),
        ("05 \(id) \(F.expiryHex) \(F.hashAAHex)", .commitStagedPrescription(CommitStagedPrescription(commandId: F.commandId, expiry: F.expiry, stagedHash: F.hashAA))),
        ("06 \(id) \(F.expiryHex)", .discardStagedPrescription(DiscardStagedPrescription(commandId: F.commandId, expiry: F.expiry))),
        // therapeutic 01 | dose 100 000 ng = 0x186A0 | volume 50 000 nL = 0xC350 | 900 s = 0x384
        ("07 \(id) \(F.expiryHex) 01 A0860100 50C30000 84030000",
         .startBolus(StartBolus(commandId: F.commandId, expiry: F.expiry, kind: .therapeutic, doseNanograms: 100_000, volumeNanolitres: 50_000, durationSeconds: 900))),
        ("08 \(id) \(F.expiryHex)", .cancelBolus(CancelBolus(commandId: F.commandId, expiry: F.expiry))),
        ("09 \(id) \(F.expiryHex)", .stopInfusion(StopInfusion(commandId: F.commandId, expiry: F.expiry))),
        ("0A \(id) \(F.expiryHex)", .resumeInfusion(ResumeInfusion(commandId: F.commandId, expiry: F.expiry))),
        ("0B \(id) \(F.expiryHex)", .refillBegin(RefillBegin(commandId: F.commandId, expiry: F.expiry))),
        // withdrawn 1 500 000 = 0x16E360 | added 20 000 000 = 0x1312D00 | baclofen 2 mg/mL | with prescription
        ("0C \(id) \(F.expiryHex) 60E31600 002D3101 01 80841E00 01 \(F.continuousHex)",
         .refillComplete(RefillComplete(commandId: F.commandId, expiry: F.expiry, withdrawnNanolitres: 1_500_000, addedNanolitres: 20_000_000,
                                        drug: .baclofen, concentrationNanogramsPerMillilitre: 2_000_000, newPrescription: F.continuous))),
        ("0C \(id) \(F.expiryHex) 60E31600 002D3101 01 80841E00 00",
         .refillComplete(RefillComplete(commandId: F.commandId, expiry: F.expiry, withdrawnNanolitres: 1_500_000, addedNanolitres: 20_000_000,
                                        drug: .baclofen, concentrationNanogramsPerMillilitre: 2_000_000, newPrescription: nil))),
        ("0D \(id) \(F.expiryHex) 80841E00", .setAlarmConfiguration(SetAlarmConfiguration(commandId: F.commandId, expiry: F.expiry, lowReservoirThresholdNanolitres: 2_000_000))),
        ("0E 0300", .readEventLog(ReadEventLog(page: 3))),
        ("0F", .readClock(ReadClock())),
        // zone +60 min = 0x003C
        ("10 \(id) \(F.expiryHex) \(F.timeHex) 3C00", .setClock(SetClock(commandId: F.commandId, expiry: F.expiry, time: WireTime(utcSeconds: 1_700_000_000, zoneOffsetMinutes: 60)))),
        ("11 \(id)", .queryCommandOutcome(QueryCommandOutcome(commandId: F.commandId))),
        ("12 00", .closeSession(CloseSession())),
        ("12 01 \(String(repeating: "5A", count: 16)) 2A00000000000000 \(String(repeating: "AB", count: 32))",
         .closeSession(CloseSession(anchor: RecordAuditAnchor(logID: Array(repeating: 0x5A, count: 16), rowCount: 42,
                                                              rowMAC: Array(repeating: 0xAB, count: 32))))),
        // refill cancel: opcode 13, then the command id and the expiry alone
        ("13 \(id) \(F.expiryHex)", .refillCancel(RefillCancel(commandId: F.commandId, expiry: F.expiry))),
        // set fluid path: opcode 14, id, expiry, event 01 implant, catheter 260 000 nL = 0x03F7A0
        ("14 \(id) \(F.expiryHex) 01 A0F70300", .setFluidPath(SetFluidPath(commandId: F.commandId, expiry: F.expiry, event: .implant, catheterNanolitres: 260_000))),
        ("14 \(id) \(F.expiryHex) 02 A0F70300", .setFluidPath(SetFluidPath(commandId: F.commandId, expiry: F.expiry, event: .catheterReplaced, catheterNanolitres: 260_000))),
        // re-key: opcode 15, id, expiry, the new key (32 bytes A0 ... BF)
        ("15 \(id) \(F.expiryHex) A0A1A2A3A4A5A6A7A8A9AAABACADAEAFB0B1B2B3B4B5B6B7B8B9BABBBCBDBEBF",
         .rekey(Rekey(commandId: F.commandId, expiry: F.expiry, newKey: (0xA0..<0xC0).map { UInt8($0) })!)),
        // 0x16: mode, log id, row count, last row MAC (PROTOCOL.md 10.10 has a worked example).
        ("16 01 \(String(repeating: "5A", count: 16)) 2A00000000000000 \(F.hashAAHex)",
         .recordAuditAnchor(RecordAuditAnchor(logID: Array(repeating: 0x5A, count: 16), rowCount: 42, rowMAC: F.hashAA.bytes))),
    ]

    static let receiptHex = "\(id) \(F.timeHex)"
    static let receipt = CommandReceipt(commandId: F.commandId, executedAtUTCSeconds: 1_700_000_000)

    /// Every reply form.
    static let replyVectors: [(String, PumpReply)] = [
        ("82 00 \(F.interrogateHex)", .interrogate(F.interrogateReport)),
        ("83 00 \(F.continuousHex) \(F.continuousHashHex)",
         .prescription(PrescriptionReport(prescription: F.continuous, hash: PrescriptionHash(unchecked: hex(F.continuousHashHex))))),
        ("84 00 \(id) \(F.hashAAHex)", .staged(StageReceipt(commandId: F.commandId, stagedHash: F.hashAA))),
        ("84 03", .refused(.stagePrescription, .prescriptionInvalid)),
        ("85 00 \(receiptHex)", .executed(.commitStagedPrescription, receipt)),
        ("85 04", .refused(.commitStagedPrescription, .stagedHashMismatch)),
        ("86 00 \(receiptHex)", .executed(.discardStagedPrescription, receipt)),
        ("87 00 \(receiptHex)", .executed(.startBolus, receipt)),
        ("88 00 \(receiptHex)", .executed(.cancelBolus, receipt)),
        ("89 00 \(receiptHex)", .executed(.stopInfusion, receipt)),
        ("8A 00 \(receiptHex)", .executed(.resumeInfusion, receipt)),
        ("8B 00 \(id) 60E31600 002D3101",
         .refillBegun(RefillBeginReport(commandId: F.commandId, expectedResidualNanolitres: 1_500_000, reservoirCapacityNanolitres: 20_000_000))),
        ("8C 00 \(receiptHex)", .executed(.refillComplete, receipt)),
        ("8C 07", .refused(.refillComplete, .concentrationChangeNeedsPrescription)),
        ("8D 00 \(receiptHex)", .executed(.setAlarmConfiguration, receipt)),
        // page 0, 2 pages, 17 events, 1 entry: index 16, time, code 1, detail 7
        ("8E 00 0000 0200 11000000 01 10000000 \(F.timeHex) 0100 07000000",
         .eventLog(EventLogPage(page: 0, pageCount: 2, totalEvents: 17,
                                events: [PumpEvent(index: 16, utcSeconds: 1_700_000_000, code: 1, detail: 7)]))),
        // zone -60 = 0xFFC4 -> C4 FF
        ("8F 00 \(F.timeHex) C4FF", .clock(WireTime(utcSeconds: 1_700_000_000, zoneOffsetMinutes: -60))),
        ("90 00 \(receiptHex)", .executed(.setClock, receipt)),
        // known 01, stored reply length 26 = 0x1A: 85 00 + id (16) + time (8)
        ("91 00 \(id) 01 1A00 85 00 \(receiptHex)",
         .outcome(CommandOutcomeReport(commandId: F.commandId, storedReply: hex("85 00 \(receiptHex)")))),
        ("91 00 \(id) 00 0000", .outcome(CommandOutcomeReport(commandId: F.commandId, storedReply: nil))),
        ("92 00", .sessionClosed),
        ("87 09", .refused(.startBolus, .bolusInProgress)),
        // refill cancelled (93 = 13 | 80): a CommandReceipt; refused 0F with no refill in progress
        ("93 00 \(receiptHex)", .executed(.refillCancel, receipt)),
        ("93 0F", .refused(.refillCancel, .notInRefill)),
        // fluid path set (94 = 14 | 80): a CommandReceipt; refused 18 while infusion runs
        ("94 00 \(receiptHex)", .executed(.setFluidPath, receipt)),
        ("94 18", .refused(.setFluidPath, .infusionRunning)),
        // re-keyed (95 = 15 | 80): a CommandReceipt; refused 10 during a refill
        ("95 00 \(receiptHex)", .executed(.rekey, receipt)),
        ("95 10", .refused(.rekey, .refillInProgress)),
        ("96 00 01 \(F.timeHex) \(String(repeating: "5A", count: 16)) 2A00000000000000 \(F.hashAAHex)",
         .auditAnchors(AuditAnchorReport(anchors: [WireAuditAnchor(utcSeconds: 1_700_000_000, logID: Array(repeating: 0x5A, count: 16),
                                                                   rowCount: 42, rowMAC: F.hashAA.bytes)]))),
        ("96 00 00", .auditAnchors(AuditAnchorReport(anchors: []))),
    ]

    @Test("Every request opcode has a vector that decodes and re-encodes byte for byte")
    func requestVectors() throws {
        for (text, message) in Self.requestVectors {
            let bytes = hex(text)
            #expect(try PumpRequest(decoding: bytes) == message, "\(text)")
            #expect(message.encoded == bytes, "\(text)")
        }
        let covered = Set(Self.requestVectors.map { $0.1.opcode })
        #expect(covered == Set(PumpOpcode.allCases.filter { $0 != .openSession }))
    }

    @Test("Every reply form has a vector that decodes and re-encodes byte for byte")
    func replyVectors() throws {
        for (text, message) in Self.replyVectors {
            let bytes = hex(text)
            #expect(try PumpReply(decoding: bytes) == message, "\(text)")
            #expect(message.encoded == bytes, "\(text)")
        }
        let covered = Set(Self.replyVectors.map { $0.1.opcode })
        #expect(covered == Set(PumpOpcode.allCases.filter { $0 != .openSession }))
    }

    @Test("Prescription hashes equal SHA-256 of the canonical bytes computed independently")
    func prescriptionHashes() throws {
        #expect(F.continuous.canonicalEncoding == hex(F.continuousHex))
        #expect(F.continuous.hash.bytes == hex(F.continuousHashHex))
        #expect(F.flex.canonicalEncoding == hex(F.flexHex))
        #expect(F.flex.hash.bytes == hex(F.flexHashHex))
        #expect(try WirePrescription(decodingFields: hex(F.flexHex)) == F.flex)
    }

    @Test("Non-canonical prescriptions are refused")
    func nonCanonicalPrescriptions() {
        // Stopped mode with a non-zero rate: 00 in mode, rate left at 0x30D40.
        #expect(throws: WireError.self) {
            try WirePrescription(decodingFields: hex("01 80841E00 01 00 400D0300 00000000 00 00 00 F0490200"))
        }
        // Continuous mode with a cycle byte set.
        #expect(throws: WireError.invalidValue(field: "prescription.cycle", value: 1)) {
            try WirePrescription(decodingFields: hex("01 80841E00 01 01 400D0300 801A0600 01 00 00 F0490200"))
        }
        // Flex whose first step does not start at minute 0 (starts at 1).
        #expect(throws: WireError.invalidValue(field: "prescription.step.startMinute", value: 1)) {
            try WirePrescription(decodingFields: hex("02 40787D01 03 02 00000000 00000000 01 01 0100 A0860100 A0252600 00 F0490200"))
        }
        // Flex steps not increasing (0, then 0).
        #expect(throws: WireError.self) {
            try WirePrescription(decodingFields: hex("02 40787D01 03 02 00000000 00000000 01 02 0000 A0860100 A0252600 0000 A0860100 A0252600 00 F0490200"))
        }
        // Daily flex step at minute 1440 (= 0x05A0), past the cycle.
        #expect(throws: WireError.invalidValue(field: "prescription.step.startMinute", value: 1440)) {
            try WirePrescription(decodingFields: hex("02 40787D01 03 02 00000000 00000000 01 02 0000 A0860100 A0252600 A005 A0860100 A0252600 00 F0490200"))
        }
        // 14 steps in one day (13 allowed).
        var fourteen = "02 40787D01 03 02 00000000 00000000 01 0E"
        for minute in 0..<14 { fourteen += " " + String(format16LE(UInt16(minute * 60))) + " A0860100 A0252600" }
        fourteen += " 00 F0490200"
        #expect(throws: WireError.tooMany(field: "prescription.steps", count: 14, maximum: 13)) {
            try WirePrescription(decodingFields: hex(fourteen))
        }
        // Concentration 0.
        #expect(throws: WireError.invalidValue(field: "prescription.concentration", value: 0)) {
            try WirePrescription(decodingFields: hex("01 00000000 01 01 400D0300 801A0600 00 00 00 F0490200"))
        }
        // Drug code 4 does not exist.
        #expect(throws: WireError.invalidValue(field: "prescription.drug", value: 4)) {
            try WirePrescription(decodingFields: hex("04 80841E00 01 01 400D0300 801A0600 00 00 00 F0490200"))
        }
    }

    @Test("A refill with a prescription for another concentration is refused")
    func refillPrescriptionMustMatch() {
        // Refill says 2 mg/mL (80 84 1E 00) but carries the 25 mg/mL morphine prescription.
        #expect(throws: WireError.self) {
            try PumpRequest(decoding: hex("0C \(Self.id) 60E31600 002D3101 01 80841E00 01 \(F.flexHex)"))
        }
    }

    @Test("Every truncation of every request vector is refused, and so is a trailing byte")
    func truncations() {
        for (text, _) in Self.requestVectors {
            let bytes = hex(text)
            for cut in 0..<bytes.count {
                #expect(throws: WireError.self) { try PumpRequest(decoding: Array(bytes[0..<cut])) }
            }
            #expect(throws: WireError.trailingBytes(count: 1)) { try PumpRequest(decoding: bytes + [0]) }
        }
        for (text, _) in Self.replyVectors {
            let bytes = hex(text)
            for cut in 0..<bytes.count {
                #expect(throws: WireError.self) { try PumpReply(decoding: Array(bytes[0..<cut])) }
            }
        }
    }

    @Test("Unknown opcodes and statuses are refused")
    func unknownCodes() {
        #expect(throws: WireError.unknownOpcode(0x7F)) { try PumpRequest(decoding: [0x7F]) }
        #expect(throws: WireError.unknownOpcode(0xFF)) { try PumpReply(decoding: [0xFF, 0x00]) }
        #expect(throws: WireError.unknownOpcode(0x01)) { try PumpRequest(decoding: [0x01]) }
        #expect(throws: WireError.unknownOpcode(0x02)) { try PumpReply(decoding: [0x02, 0x00]) }
        #expect(throws: WireError.invalidValue(field: "reply.status", value: 0x1C)) { try PumpReply(decoding: [0x82, 0x1C]) }
    }

    @Test("Every refusal code has a distinct meaning and survives the wire")
    func refusalCodes() throws {
        var meanings = Set<String>()
        for refusal in PumpRefusal.allCases {
            meanings.insert(refusal.meaning)
            let reply = PumpReply.refused(.startBolus, refusal)
            #expect(try PumpReply(decoding: reply.encoded) == reply)
        }
        #expect(meanings.count == PumpRefusal.allCases.count)
    }

    @Test("Property: generated requests and replies survive encode and decode")
    func roundTripProperty() async {
        await propertyCheck(count: 400, input: MessageGenerators.request) { request throws in
            #expect(try PumpRequest(decoding: request.encoded) == request)
        }
        await propertyCheck(count: 400, input: MessageGenerators.reply) { reply throws in
            #expect(try PumpReply(decoding: reply.encoded) == reply)
        }
    }
}

func format16LE(_ value: UInt16) -> String {
    hexString([UInt8(value & 0xFF), UInt8(value >> 8)])
}
